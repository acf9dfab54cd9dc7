import { App, YamlOutputType } from 'cdk8s';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MysqlStackConfig } from './config';
import { addMysqlStack } from './mysql-stack';

/** Thrown for a request the app cannot serve (e.g. an unknown profile name). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface SynthOptions {
  /** Every known profile, by name. */
  readonly profiles: Readonly<Record<string, MysqlStackConfig>>;
  /**
   * Names of the profiles to synthesize.
   * @default - every profile
   */
  readonly only?: readonly string[];
  /** The committed output folder; each profile is published to `<distDir>/<profile>/`. */
  readonly distDir: string;
  /**
   * Where to synthesize before publishing. The cdk8s CLI passes its own output folder here
   * (`CDK8S_OUTDIR`), which it empties before running the app.
   * @default - a temporary folder, removed afterwards
   */
  readonly stagingDir?: string;
}

export interface SynthResult {
  /** Published folders, relative to the current directory, with their files. */
  readonly published: ReadonlyArray<{ readonly dir: string; readonly files: readonly string[] }>;
}

/** Only these files are published: a folder that `kubectl apply -f` reads must hold nothing else. */
const MANIFEST = /\.k8s\.yaml$/;

/**
 * Synthesizes the chosen profiles into a staging folder, and only when every one of them succeeded
 * replaces `<distDir>/<profile>/` with the result, one rename per profile. Any error (an invalid config,
 * an unknown profile, a chart that throws) leaves `distDir` exactly as it was: for GitOps, an emptied
 * `dist/` would make Argo CD prune the database.
 */
export function synthesize(options: SynthOptions): SynthResult {
  const names = selectProfiles(options.profiles, options.only);
  const ownStaging = options.stagingDir === undefined;
  const staging = options.stagingDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mysql-synth-'));
  try {
    for (const name of names) {
      const outdir = path.join(staging, name);
      fs.rmSync(outdir, { recursive: true, force: true });
      const app = new App({
        outdir,
        yamlOutputType: YamlOutputType.FILE_PER_CHART,
        recordConstructMetadata: false,
      });
      addMysqlStack(app, options.profiles[name]);
      app.synth();
    }
    return {
      published: names.map((name) => publish(path.join(staging, name), path.join(options.distDir, name))),
    };
  } finally {
    if (ownStaging) fs.rmSync(staging, { recursive: true, force: true });
  }
}

function selectProfiles(
  profiles: Readonly<Record<string, MysqlStackConfig>>,
  only?: readonly string[],
): string[] {
  const known = Object.keys(profiles);
  if (only === undefined || only.length === 0) return known;
  const unknown = only.filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    throw new UsageError(
      `Unknown profile ${unknown.map((n) => `"${n}"`).join(', ')}; known profiles: ${known.join(', ')}. ` +
        'Set MYSQL_PROFILES to a comma-separated list of known profiles, or leave it unset for all.',
    );
  }
  return [...new Set(only)];
}

/** Copies the manifests of one staged profile into a fresh folder beside `target`, then swaps it in. */
function publish(stagedDir: string, target: string): { dir: string; files: string[] } {
  const files = fs
    .readdirSync(stagedDir)
    .filter((f) => MANIFEST.test(f))
    .sort();
  if (files.length === 0) throw new Error(`Synthesis produced no manifests in ${stagedDir}`);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const fresh = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.new-`));
  fs.chmodSync(fresh, 0o755);
  const old = `${fresh.replace('.new-', '.old-')}`;
  try {
    for (const f of files) fs.copyFileSync(path.join(stagedDir, f), path.join(fresh, f));
    if (fs.existsSync(target)) fs.renameSync(target, old);
    fs.renameSync(fresh, target);
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
    fs.rmSync(old, { recursive: true, force: true });
  }
  return { dir: path.relative(process.cwd(), target) || '.', files };
}
