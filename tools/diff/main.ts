/**
 * Prints what the current charts and profiles change in the committed dist/, object by object, with a
 * WARNING for changes a live cluster refuses or that lose data and a NOTE for changes that roll or delete
 * the database pods.
 *
 *   npm run diff                       dist/ at the merge-base with the default branch vs a fresh synth
 *   npm run diff -- --base origin/main dist/ as committed at that revision vs a fresh synth
 *   npm run diff -- --stale            the working tree's dist/ vs a fresh synth (is dist/ stale?)
 *   npm run diff -- --dist old/ --new new/   two folders directly
 *   MYSQL_PROFILES=workshop npm run diff    only those profiles
 *
 * Exit status: 0 no change, 1 changes found, 2 error (the synth failed, a file is not valid YAML, …).
 * dist/ is only read, never written.
 */
import * as path from 'path';
import { PROFILES } from '../../charts/profiles';
import { runDiff } from './run-diff';

const USAGE = `usage: diff [--base <ref> | --stale] [--dist <dir>] [--new <dir>]
  (default)     review: dist/ as committed at the merge-base of HEAD with the default branch,
                against a fresh synth of the working tree (what the pull request changes)
  --base <ref>  review against dist/ as committed at <ref> (CI passes the pull request's base)
  --stale       the working tree's dist/ against a fresh synth: exit 1 if dist/ is stale
  --dist <dir>  the output folder (default: dist/ of this repository)
  --new <dir>   compare the --dist folder with this folder instead (no git, no synth)
  MYSQL_PROFILES=a,b in the environment limits the synth and the comparison to those profiles.
exit status: 0 no change, 1 changes found, 2 error
`;

function main(argv: readonly string[]): number {
  let distDir = path.join(__dirname, '..', '..', 'dist');
  let newDir: string | undefined;
  let baseRef: string | undefined;
  let stale = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--dist') distDir = path.resolve(value());
    else if (arg === '--new') newDir = path.resolve(value());
    else if (arg === '--base') baseRef = value();
    else if (arg === '--stale') stale = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else throw new Error(`unknown argument ${arg}`);
  }
  const only = (process.env.MYSQL_PROFILES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (stale && baseRef !== undefined) throw new Error('--stale and --base exclude each other');
  if (newDir !== undefined && (stale || baseRef !== undefined))
    throw new Error('--new compares two folders: it takes neither --stale nor --base');
  const review = newDir === undefined && !stale;
  const result = runDiff({
    distDir,
    newDir,
    profiles: PROFILES,
    only,
    base: review ? { ref: baseRef } : undefined,
  });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  return result.exitCode;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exitCode = 2;
}
