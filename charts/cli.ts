/**
 * What `main.ts` does for the command line: reads the environment (MYSQL_PROFILES, the cdk8s CLI's
 * CDK8S_OUTDIR), synthesizes, and tells the user what happened on stderr (the cdk8s CLI captures the app's
 * stdout and never shows it), including the loud warning when the CLI deleted `dist/` before the app ran.
 */
import * as path from 'path';
import { MysqlStackConfig } from './config';
import { PublishError } from './publish';
import { synthesize } from './synth';

/** What one run of the app is given. */
export interface CliProps {
  /** Every profile, by name (charts/profiles.ts). */
  readonly profiles: Readonly<Record<string, MysqlStackConfig>>;
  /** The `dist/` folder the app publishes to. */
  readonly distDir: string;
  /** The environment: `MYSQL_PROFILES`, `CDK8S_OUTDIR`. @default process.env */
  readonly env?: Record<string, string | undefined>;
  /** Where messages go. @default standard error */
  readonly say?: (text: string) => void;
}

const CLI_DELETED =
  '!!! The cdk8s CLI was pointed at dist/ (`cdk8s synth -o dist`, or `output: dist` in cdk8s.yaml) and DELETED dist/\n' +
  '!!! before this app ran. Restore the committed tree with `git checkout -- dist/` (or `git restore dist/`), and\n' +
  '!!! synthesize with `npm run synth` or plain `cdk8s synth` (cdk8s.yaml sends the CLI to .cdk8s.out/).';

/** Runs the app once; returns the process exit status (0 or 1). */
export function runCli(props: CliProps): number {
  const env = props.env ?? process.env;
  const say = props.say ?? ((text: string) => void process.stderr.write(text + '\n'));
  const { distDir, profiles } = props;
  const cliOut = env.CDK8S_OUTDIR ? path.resolve(env.CDK8S_OUTDIR) : undefined;
  // `cdk8s synth -o dist` (or `output: dist` in cdk8s.yaml): the CLI has deleted its output folder, here
  // dist/ itself, before it started this app.
  const cliDeletedDist =
    cliOut !== undefined &&
    (cliOut === distDir || cliOut.startsWith(distDir + path.sep) || distDir.startsWith(cliOut + path.sep));
  const only = (env.MYSQL_PROFILES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

  try {
    const result = synthesize({
      profiles,
      only,
      distDir,
      copyTo: cliOut !== undefined && !cliDeletedDist ? cliOut : undefined,
    });
    if (result.recovered) say(`note: ${result.recovered}`);
    for (const { dir, files } of result.published) say(`synthesized ${dir}/ (${files.join(', ')})`);
    if (!cliDeletedDist) return 0;
    const missing = Object.keys(profiles).filter(
      (p) => !result.published.some((r) => path.basename(r.dir) === p),
    );
    say(CLI_DELETED);
    if (missing.length === 0) {
      say(
        '!!! This run rebuilt every folder of dist/, so nothing is lost this time; a failed run would have left it empty.',
      );
      return 0;
    }
    say(
      `!!! This run rebuilt only ${result.published.map((r) => r.dir).join(', ')}; dist/${missing.join(', dist/')} are gone.`,
    );
    return 1;
  } catch (err) {
    say(`error: ${err instanceof Error ? err.message : String(err)}`);
    if (cliDeletedDist) say(CLI_DELETED);
    else if (!(err instanceof PublishError)) {
      const recovered = (err as { recovered?: string }).recovered;
      say(
        recovered
          ? `dist/ was left as this run found it, after it ${recovered}.`
          : 'dist/ was left unchanged.',
      );
    }
    return 1;
  }
}
