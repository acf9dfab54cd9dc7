/**
 * The cdk8s app: synthesizes every profile in charts/profiles.ts into dist/<profile>/, and the Argo CD
 * Applications of every profile into dist/argocd/.
 *
 *   npm run synth                      all profiles
 *   MYSQL_PROFILES=workshop npm run synth   only dist/workshop/ (and dist/argocd/, from every profile)
 *   cdk8s synth                        the same, through the cdk8s CLI (see cdk8s.yaml)
 *
 * dist/ is replaced all at once, only when every chosen profile synthesized; on any error it is left as
 * it was, and the message says so only when it is true (charts/cli.ts).
 */
import * as path from 'path';
import { runCli } from './charts/cli';
import { PROFILES } from './charts/profiles';

process.exitCode = runCli({ profiles: PROFILES, distDir: path.join(__dirname, 'dist') });
