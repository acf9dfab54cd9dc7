/**
 * `dist/` as committed at a base revision: what a pull request is reviewed against. The base is the
 * merge-base of HEAD with the default branch (what GitHub shows as the pull request's diff), or a
 * revision given with `--base`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

function git(repo: string, args: readonly string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.error) throw new Error(`cannot run git: ${r.error.message}`);
  return { ok: r.status === 0, out: r.stdout.trim(), err: r.stderr.trim() };
}

/** The top folder of the git repository holding `dir`. */
export function repoRoot(dir: string): string {
  const r = git(dir, ['rev-parse', '--show-toplevel']);
  if (!r.ok)
    throw new Error(
      `${dir} is not inside a git repository (${r.err}); use --dist/--new to compare two folders`,
    );
  return r.out;
}

/** The default branch as git knows it: origin's HEAD, else origin/main, origin/master, main, master. */
export function defaultBranch(repo: string): string {
  const head = git(repo, ['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD']);
  if (head.ok && head.out) return head.out;
  for (const ref of ['origin/main', 'origin/master', 'main', 'master']) {
    if (git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).ok) return ref;
  }
  throw new Error(
    'cannot find the default branch (origin/HEAD, origin/main, main or master); pass --base REF',
  );
}

export interface Base {
  /** The revision as the user would name it, e.g. `merge-base of HEAD and main (1a2b3c4)`. */
  readonly label: string;
  /** The full commit id. */
  readonly commit: string;
}

/** Resolves `--base REF`, or the merge-base of HEAD with the default branch. */
export function resolveBase(repo: string, ref?: string): Base {
  if (ref !== undefined) {
    const r = git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    if (!r.ok) throw new Error(`--base ${ref}: no such revision in ${repo}`);
    return { label: `${ref} (${r.out.slice(0, 7)})`, commit: r.out };
  }
  const branch = defaultBranch(repo);
  const r = git(repo, ['merge-base', 'HEAD', branch]);
  if (!r.ok)
    throw new Error(
      `no merge-base of HEAD and ${branch} (${r.err || 'unrelated histories'}); pass --base REF`,
    );
  return { label: `the merge-base of HEAD and ${branch} (${r.out.slice(0, 7)})`, commit: r.out };
}

/**
 * Writes the tree of `distRel` (e.g. `dist`) at `commit` into `into`; an empty folder when the base has
 * no such tree (the first commit of dist/).
 */
export function extractTree(repo: string, commit: string, distRel: string, into: string): void {
  fs.mkdirSync(into, { recursive: true });
  const ls = git(repo, ['ls-tree', '-r', '-z', '--name-only', commit, '--', distRel]);
  if (!ls.ok) throw new Error(`git ls-tree ${commit} failed: ${ls.err}`);
  for (const file of ls.out.split('\0').filter((f) => f.length > 0)) {
    const r = spawnSync('git', ['-C', repo, 'cat-file', 'blob', `${commit}:${file}`], {
      maxBuffer: 64 * 2 ** 20,
    });
    if (r.status !== 0)
      throw new Error(`git cat-file ${commit}:${file} failed: ${r.stderr.toString().trim()}`);
    const target = path.join(into, path.relative(distRel, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, r.stdout);
  }
}
