import { ApiObject, App, YamlOutputType } from 'cdk8s';
import * as fs from 'fs';
import * as path from 'path';
import { ArgoCdApplicationChart } from './argocd';
import { useFastYaml } from './fast-yaml';
import { MysqlStackConfig, ResolvedConfig, validateConfig } from './config';
import { addResolvedMysqlStack } from './mysql-stack';
import {
  abandonStaging,
  publish,
  PublishError,
  recoverDist,
  stagingFolder,
  startStaging,
  StepHook,
} from './publish';

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
   * Names of the profiles to synthesize. `dist/argocd/` is always rebuilt from every profile, so every
   * profile's config is checked on every run.
   * @default - every profile
   */
  readonly only?: readonly string[];
  /** The committed output folder; each profile is published to `<distDir>/<profile>/`. */
  readonly distDir: string;
  /**
   * A folder that also receives a copy of what was published: the cdk8s CLI's output folder
   * (`CDK8S_OUTDIR`), in which the CLI looks for manifests after the app ran.
   * @default - none
   */
  readonly copyTo?: string;
  /**
   * Called after each filesystem step of the publish (tests crash the process here).
   * @default - nothing
   */
  readonly onStep?: StepHook;
}

export interface SynthResult {
  /** Published folders, relative to the current directory, with their files. */
  readonly published: ReadonlyArray<{ readonly dir: string; readonly files: readonly string[] }>;
  /** What recovering an interrupted earlier run did, if anything. */
  readonly recovered?: string;
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
 * Synthesizes the chosen profiles and, only when every one of them succeeded, replaces their
 * `<distDir>/<profile>/` folders and `<distDir>/argocd/` all at once (see `publish.ts`). Any error (an
 * invalid config, an unknown profile, a chart that throws, a full disk) leaves `distDir` exactly as it
 * was: for GitOps, an emptied `dist/` would make Argo CD prune the database. An interrupted earlier
 * run is finished (or undone) first.
 */
export function synthesize(options: SynthOptions): SynthResult {
  useFastYaml();
  const { distDir } = options;
  const recovered = fs.existsSync(distDir) ? recoverDist(distDir) : undefined;
  try {
    return synthesizeRecovered(options, recovered);
  } catch (err) {
    // The message must not claim dist/ is as the user left it when recovery changed it.
    if (recovered !== undefined && err instanceof Error) Object.assign(err, { recovered });
    throw err;
  }
}

function synthesizeRecovered(options: SynthOptions, recovered: string | undefined): SynthResult {
  const { distDir } = options;
  const step = options.onStep ?? (() => {});
  const names = selectProfiles(options.profiles, options.only);
  // Every config, not only the chosen ones: dist/argocd/ lists them all, and the cross-profile rules
  // need them all.
  const resolved = new Map(Object.entries(options.profiles).map(([k, c]) => [k, validateConfig(c)]));
  const all = [...resolved.values()];
  checkDistinctDestinations(all.filter((c) => c.gitops.argocd !== undefined));
  checkNamespaces(all);

  startStaging(distDir);
  try {
    const clusterScoped = new ClusterScopedObjects();
    for (const name of names) {
      synthFolder(stagingFolder(distDir, name), (app) => {
        clusterScoped.add(name, addResolvedMysqlStack(app, resolved.get(name)!).config, app);
      });
    }
    const folders = [...names];
    const withArgoCd = all.filter((c) => c.gitops.argocd !== undefined);
    if (withArgoCd.length > 0) {
      synthFolder(stagingFolder(distDir, ARGOCD_DIR), (app) => {
        for (const c of withArgoCd) new ArgoCdApplicationChart(app, c.profile, { config: c });
      });
      folders.push(ARGOCD_DIR);
    }
    const published = folders.map((f) => ({ dir: f, files: manifestFiles(stagingFolder(distDir, f)) }));
    publish(distDir, folders, step);
    if (options.copyTo !== undefined) copyPublished(distDir, folders, options.copyTo);
    return {
      recovered,
      published: published.map(({ dir, files }) => ({
        dir: path.relative(process.cwd(), path.join(distDir, dir)) || '.',
        files,
      })),
    };
  } catch (err) {
    if (!(err instanceof PublishError)) abandonStaging(distDir);
    throw err;
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

/**
 * Refuses two profiles that would overwrite each other's objects on one cluster: the same namespace
 * (unless Argo CD sends them to different clusters).
 */
function checkNamespaces(configs: readonly ResolvedConfig[]): void {
  for (const [i, a] of configs.entries()) {
    for (const b of configs.slice(i + 1)) {
      if (a.namespace !== b.namespace || onDifferentClusters(a, b)) continue;
      throw new UsageError(
        `Profiles "${a.profile}" and "${b.profile}" both use namespace "${a.namespace}": applied to one cluster, ` +
          "each would overwrite the other's StatefulSet, Services and ConfigMap. Give one of them another " +
          'namespace (or Argo CD destinations on different clusters, gitops.argocd.destinationServer).',
      );
    }
  }
}

const onDifferentClusters = (a: ResolvedConfig, b: ResolvedConfig): boolean =>
  a.gitops.argocd !== undefined &&
  b.gitops.argocd !== undefined &&
  a.gitops.argocd.destinationServer !== b.gitops.argocd.destinationServer;

/** JSON with sorted keys, so that equal objects compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The cluster-scoped objects (StorageClass, Namespace, VolumeSnapshotClass) of the profiles synthesized
 * so far: two profiles may emit the same one only with the same content, since on one cluster the
 * second apply would silently rewrite the first profile's object.
 */
class ClusterScopedObjects {
  private readonly seen = new Map<string, { profile: string; json: string; config: ResolvedConfig }>();

  add(profile: string, config: ResolvedConfig, app: App): void {
    for (const chart of app.charts) {
      for (const obj of chart.node.findAll()) {
        if (!(obj instanceof ApiObject) || obj.metadata.namespace !== undefined) continue;
        const key = `${obj.kind} "${obj.name}"`;
        const json = canonical(obj.toJson());
        const other = this.seen.get(key);
        if (other === undefined) {
          this.seen.set(key, { profile, json, config });
        } else if (other.json !== json && !onDifferentClusters(other.config, config)) {
          throw new UsageError(
            `Profiles "${other.profile}" and "${profile}" both emit the cluster-scoped ${key} with different ` +
              "content: on one cluster, applying one would rewrite the other's. Give one of them its own name " +
              '(e.g. storage.storageClassName or storage.snapshotClass.name) or make them identical.',
          );
        }
      }
    }
  }
}

/** The manifests and kustomization of a staged folder. */
function manifestFiles(dir: string): string[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => MANIFEST.test(f) || f === KUSTOMIZATION)
    .sort();
  if (files.length === 0) throw new Error(`Synthesis produced no manifests in ${dir}`);
  // Anything else cdk8s wrote (construct metadata) must not be published.
  for (const f of fs.readdirSync(dir))
    if (!files.includes(f)) fs.rmSync(path.join(dir, f), { recursive: true });
  return files;
}

/** Copies the published folders to the cdk8s CLI's output folder, which it checks after the app ran. */
function copyPublished(distDir: string, folders: readonly string[], copyTo: string): void {
  for (const f of folders) {
    const to = path.join(copyTo, f);
    fs.rmSync(to, { recursive: true, force: true });
    fs.cpSync(path.join(distDir, f), to, { recursive: true });
  }
}

/** Synthesizes the charts `build` adds to a fresh app into `outdir`, with a kustomization. */
function synthFolder<T>(outdir: string, build: (app: App) => T): T {
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
