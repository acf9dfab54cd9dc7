/**
 * The cdk8s app: synthesizes every profile in charts/profiles.ts into dist/<profile>/.
 *
 *   npm run synth                      all profiles
 *   MYSQL_PROFILES=workshop npm run synth
 *   cdk8s synth                        the same, through the cdk8s CLI (see cdk8s.yaml)
 *
 * dist/ is replaced only when every chosen profile synthesized; on any error it is left as it was.
 */
import * as path from 'path';
import { PROFILES } from './charts/profiles';
import { synthesize } from './charts/synth';

const distDir = path.join(__dirname, 'dist');
const staging = process.env.CDK8S_OUTDIR ? path.resolve(process.env.CDK8S_OUTDIR) : undefined;
const only = (process.env.MYSQL_PROFILES ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s.length > 0);

try {
  const result = synthesize({
    profiles: PROFILES,
    only,
    distDir,
    // `cdk8s -o dist synth` would stage into the folder being published; stage in a temp folder instead.
    stagingDir: staging && !staging.startsWith(distDir) ? staging : undefined,
  });
  for (const { dir, files } of result.published) {
    // stderr: the cdk8s CLI captures the app's stdout and never shows it.
    process.stderr.write(`synthesized ${dir}/ (${files.join(', ')})\n`);
  }
} catch (err) {
  process.stderr.write(
    `error: ${err instanceof Error ? err.message : String(err)}\ndist/ was left unchanged.\n`,
  );
  process.exitCode = 1;
}
