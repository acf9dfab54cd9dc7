/**
 * The cdk8s app: synthesizes every profile in charts/profiles.ts into dist/<profile>/, and the Argo CD
 * Applications of every profile into dist/argocd/.
 *
 *   npm run synth                      all profiles
 *   MYSQL_PROFILES=workshop npm run synth   only dist/workshop/ (and dist/argocd/, from every profile)
 *   cdk8s synth                        the same, through the cdk8s CLI (see cdk8s.yaml)
 *
 * dist/ is replaced all at once, only when every chosen profile synthesized; on any error it is left as
 * it was, and the message says so only when it is true.
 */
import * as path from 'path';
import { PROFILES } from './charts/profiles';
import { PublishError } from './charts/publish';
import { synthesize } from './charts/synth';

const distDir = path.join(__dirname, 'dist');
const cliOut = process.env.CDK8S_OUTDIR ? path.resolve(process.env.CDK8S_OUTDIR) : undefined;
// `cdk8s synth -o dist` (or `output: dist` in cdk8s.yaml): the CLI has deleted its output folder, here
// dist/ itself, before it started this app.
const cliDeletedDist =
  cliOut !== undefined &&
  (cliOut === distDir || cliOut.startsWith(distDir + path.sep) || distDir.startsWith(cliOut + path.sep));
const only = (process.env.MYSQL_PROFILES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);

// stderr: the cdk8s CLI captures the app's stdout and never shows it.
const say = (text: string): boolean => process.stderr.write(text + '\n');
const CLI_DELETED =
  '!!! The cdk8s CLI was pointed at dist/ (`cdk8s synth -o dist`, or `output: dist` in cdk8s.yaml) and DELETED dist/\n' +
  '!!! before this app ran. Restore the committed tree with `git checkout -- dist/` (or `git restore dist/`), and\n' +
  '!!! synthesize with `npm run synth` or plain `cdk8s synth` (cdk8s.yaml sends the CLI to .cdk8s.out/).';

try {
  const result = synthesize({
    profiles: PROFILES,
    only,
    distDir,
    copyTo: cliOut !== undefined && !cliDeletedDist ? cliOut : undefined,
  });
  if (result.recovered) say(`note: ${result.recovered}`);
  for (const { dir, files } of result.published) say(`synthesized ${dir}/ (${files.join(', ')})`);
  if (cliDeletedDist) {
    const missing = Object.keys(PROFILES).filter(
      (p) => !result.published.some((r) => path.basename(r.dir) === p),
    );
    say(CLI_DELETED);
    if (missing.length === 0) {
      say(
        '!!! This run rebuilt every folder of dist/, so nothing is lost this time; a failed run would have left it empty.',
      );
    } else {
      say(
        `!!! This run rebuilt only ${result.published.map((r) => r.dir).join(', ')}; dist/${missing.join(', dist/')} are gone.`,
      );
      process.exitCode = 1;
    }
  }
} catch (err) {
  say(`error: ${err instanceof Error ? err.message : String(err)}`);
  if (cliDeletedDist) say(CLI_DELETED);
  else if (!(err instanceof PublishError)) {
    const recovered = (err as { recovered?: string }).recovered;
    say(
      recovered ? `dist/ was left as this run found it, after it ${recovered}.` : 'dist/ was left unchanged.',
    );
  }
  process.exitCode = 1;
}
