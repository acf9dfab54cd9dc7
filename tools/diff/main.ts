/**
 * Prints what the current charts and profiles change in the committed dist/, object by object, with a
 * WARNING for changes a live cluster refuses or that lose data and a NOTE for changes that roll or delete
 * the database pods.
 *
 *   node -r ./tools/ts-register.js tools/diff/main.ts                      fresh synth vs dist/
 *   MYSQL_PROFILES=workshop node -r ./tools/ts-register.js tools/diff/main.ts
 *   node -r ./tools/ts-register.js tools/diff/main.ts --dist old/ --new new/   two folders directly
 *
 * Exit status: 0 no change, 1 changes found, 2 error (the synth failed, a file is not valid YAML, …).
 * dist/ is only read, never written.
 */
import * as path from 'path';
import { PROFILES } from '../../charts/profiles';
import { runDiff } from './run-diff';

const USAGE = `usage: diff [--dist <dir>] [--new <dir>]
  --dist <dir>  the committed output folder (default: dist/ of this repository)
  --new <dir>   compare with this folder instead of a fresh synth
  MYSQL_PROFILES=a,b in the environment limits the synth and the comparison to those profiles.
exit status: 0 no change, 1 changes found, 2 error
`;

function main(argv: readonly string[]): number {
  let distDir = path.join(__dirname, '..', '..', 'dist');
  let newDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${arg} needs a folder`);
      return path.resolve(v);
    };
    if (arg === '--dist') distDir = value();
    else if (arg === '--new') newDir = value();
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else throw new Error(`unknown argument ${arg}`);
  }
  const only = (process.env.MYSQL_PROFILES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const result = runDiff({ distDir, newDir, profiles: PROFILES, only });
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
