/**
 * `npm run diff`: what a change to the charts or profiles does to `dist/`, per object. Three modes:
 * - review (the default): `dist/` as committed at a base (the merge-base of HEAD with the default
 *   branch, or `base.ref`) against a fresh synth of the working tree: what a pull request changes, also
 *   after `npm run synth` has already updated the working tree's `dist/`;
 * - stale: the working tree's `dist/` against a fresh synth (is `dist/` up to date?);
 * - folders: two folders directly (`newDir`).
 * The CLI (main.ts) is a thin wrapper around `runDiff`, which the tests call directly.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { MysqlStackConfig } from '../../charts/config';
import { synthesize } from '../../charts/synth';
import { diffManifests, formatReport, loadManifests } from './diff-manifests';
import { extractTree, repoRoot, resolveBase } from './git-base';

export interface RunDiffOptions {
  /** The output folder of the working tree (`dist/`). */
  readonly distDir: string;
  /**
   * Review mode: compare `distDir` as committed at this base with a fresh synth.
   * @default - stale mode: compare `distDir` as it is in the working tree
   */
  readonly base?: {
    /**
     * A revision (`origin/main`, a commit id).
     * @default - the merge-base of HEAD with the default branch
     */
    readonly ref?: string;
  };
  /**
   * Compare with this folder instead of a fresh synth (two folders directly).
   * @default - synthesize `profiles` into a temporary folder, removed afterwards
   */
  readonly newDir?: string;
  /** The profiles to synthesize; required unless `newDir` is given. */
  readonly profiles?: Readonly<Record<string, MysqlStackConfig>>;
  /**
   * Only these profiles (as `MYSQL_PROFILES` for `npm run synth`): the other folders are not compared.
   * @default - every profile, and every folder of both sides (a folder that synth no longer writes shows
   * its objects as removed)
   */
  readonly only?: readonly string[];
}

export interface RunDiffResult {
  /** 0: no change; 1: changes found; 2: error (synth failed, unreadable YAML, bad usage). */
  readonly exitCode: 0 | 1 | 2;
  /** The report (exit 0 or 1). */
  readonly stdout: string;
  /** The error message (exit 2). */
  readonly stderr: string;
}

function display(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return `${rel && !rel.startsWith('..') ? rel : dir}/`;
}

export function runDiff(options: RunDiffOptions): RunDiffResult {
  const only = options.only && options.only.length > 0 ? [...new Set(options.only)] : undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mysql-diff-'));
  try {
    let newDir = options.newDir;
    let newName = newDir ? display(newDir) : 'a fresh synth';
    if (!newDir) {
      if (!options.profiles) throw new Error('runDiff: either profiles or newDir is required');
      newDir = path.join(tmp, 'new');
      try {
        synthesize({ profiles: options.profiles, only, distDir: newDir });
      } catch (err) {
        return { exitCode: 2, stdout: '', stderr: `error: synth failed: ${message(err)}\n` };
      }
      newName = `a fresh synth (${only ? only.join(', ') : 'all profiles'})`;
    } else if (!fs.existsSync(newDir)) {
      throw new Error(`${newDir}: no such folder`);
    }
    let oldDir = options.distDir;
    let oldName = display(options.distDir);
    if (options.base !== undefined) {
      const repo = repoRoot(path.dirname(path.resolve(options.distDir)));
      const base = resolveBase(repo, options.base.ref);
      const distAbs = path.join(
        fs.realpathSync(path.dirname(path.resolve(options.distDir))),
        path.basename(options.distDir),
      );
      const distRel = path.relative(fs.realpathSync(repo), distAbs) || '.';
      oldDir = path.join(tmp, 'base');
      extractTree(repo, base.commit, distRel, oldDir);
      oldName = `${display(options.distDir)} at ${base.label}`;
    }
    const newManifests = loadManifests(newDir, only);
    const result = diffManifests(loadManifests(oldDir, only), newManifests);
    let report = formatReport(result, oldName, newName);
    if (options.base !== undefined && fs.existsSync(options.distDir)) {
      // The review shows what the charts make; say so too when the working tree's dist/ is not that.
      const stale = diffManifests(loadManifests(options.distDir, only), newManifests).changes.length;
      if (stale > 0)
        report +=
          `\nNOTE: ${display(options.distDir)} in the working tree differs from this synth in ${stale} object(s): ` +
          'run `npm run synth` and commit dist/ (`npm run diff -- --stale` lists them).\n';
    }
    return { exitCode: result.changes.length === 0 ? 0 : 1, stdout: report, stderr: '' };
  } catch (err) {
    return { exitCode: 2, stdout: '', stderr: `error: ${message(err)}\n` };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
