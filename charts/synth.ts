import { App, YamlOutputType } from 'cdk8s';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArgoCdApplicationChart } from './argocd';
import { MysqlStackConfig, ResolvedConfig } from './config';
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

/**
 * Only these files are published: a folder that `kubectl apply -f` reads must hold nothing else. The
 * kustomization is named `Kustomization` (a name kustomize and Argo CD recognize) because `kubectl
 * apply -f` skips files without a .yaml/.yml/.json extension but would try to apply kustomization.yaml.
 */
const MANIFEST = /\.k8s\.yaml$/;
const KUSTOMIZATION = 'Kustomization';

/** The folder of Argo CD Applications, beside the profile folders. */
export const ARGOCD_DIR = 'argocd';

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
    const configs: ResolvedConfig[] = [];
    for (const name of names) {
      configs.push(synthFolder(staging, name, (app) => addMysqlStack(app, options.profiles[name]).config));
    }
    const folders = [...names];
    // The Applications folder lists every profile, so it is rebuilt only when all of them are.
    const withArgoCd = configs.filter((c) => c.gitops.argocd !== undefined);
    checkDistinctDestinations(withArgoCd);
    if (names.length === Object.keys(options.profiles).length && withArgoCd.length > 0) {
      synthFolder(staging, ARGOCD_DIR, (app) => {
        for (const c of withArgoCd) new ArgoCdApplicationChart(app, c.profile, { config: c });
      });
      folders.push(ARGOCD_DIR);
    }
    return { published: folders.map((f) => publish(path.join(staging, f), path.join(options.distDir, f))) };
  } finally {
    if (ownStaging) fs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Two Applications syncing into the same namespace of the same cluster would fight over every object
 * (self-heal rolling the database back and forth between profiles).
 */
function checkDistinctDestinations(configs: readonly ResolvedConfig[]): void {
  const seen = new Map<string, string>();
  for (const c of configs) {
    const key = `${c.gitops.argocd!.destinationServer} namespace ${c.namespace}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new UsageError(
        `Profiles "${other}" and "${c.profile}" both have Argo CD sync into ${key}; ` +
          'give one of them another namespace or gitops.argocd.destinationServer.',
      );
    }
    seen.set(key, c.profile);
  }
}

/** Synthesizes the charts `build` adds to a fresh app into `<staging>/<folder>/`, with a kustomization. */
function synthFolder<T>(staging: string, folder: string, build: (app: App) => T): T {
  const outdir = path.join(staging, folder);
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({
    outdir,
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
    recordConstructMetadata: false,
  });
  const result = build(app);
  app.synth();
  writeKustomization(outdir);
  return result;
}

function selectProfiles(
  profiles: Readonly<Record<string, MysqlStackConfig>>,
  only?: readonly string[],
): string[] {
  const known = Object.keys(profiles);
  for (const [key, config] of Object.entries(profiles)) {
    if (config.profile !== key) {
      throw new UsageError(
        `Profile "${key}" has profile: "${config.profile}"; they must match, since the key names the folder ` +
          'dist/<key>/ and the Argo CD Application syncs dist/<profile>/.',
      );
    }
  }
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

/** Writes a kustomization listing the folder's manifests, so it also works with `kubectl apply -k`. */
function writeKustomization(dir: string): void {
  const resources = fs
    .readdirSync(dir)
    .filter((f) => MANIFEST.test(f))
    .sort();
  fs.writeFileSync(
    path.join(dir, KUSTOMIZATION),
    [
      '# Generated by `npm run synth`: lets `kubectl apply -k` and kustomize-based tools read this folder.',
      '# Named Kustomization (no extension) so that `kubectl apply -f` on the folder skips it.',
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      ...resources.map((r) => `  - ${r}`),
      '',
    ].join('\n'),
  );
}

/** Copies the manifests of one staged folder into a fresh folder beside `target`, then swaps it in. */
function publish(stagedDir: string, target: string): { dir: string; files: string[] } {
  const files = fs
    .readdirSync(stagedDir)
    .filter((f) => MANIFEST.test(f) || f === KUSTOMIZATION)
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
