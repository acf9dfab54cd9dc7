import { ApiObject, App, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { Application } from '../imports/argoproj.io';
import { ArgoCdProtection, ResolvedConfig } from './config';
import { objectLabels } from './labels';

/**
 * Argo CD applies lower waves first and waits for them to be healthy: the Namespace and the storage
 * classes, then what the pods mount or connect through, then the policies, then the database.
 */
export const SYNC_WAVES: Readonly<Record<string, number>> = {
  Namespace: -2,
  StorageClass: -2,
  VolumeSnapshotClass: -2,
  PriorityClass: -2,
  ConfigMap: -1,
  Secret: -1,
  ExternalSecret: -1,
  Service: -1,
  ServiceAccount: -1,
  Role: -1,
  RoleBinding: -1,
  Issuer: -1,
  Certificate: -1,
  PodDisruptionBudget: 0,
  NetworkPolicy: 0,
  // The switchover Job (a Sync hook): after the NetworkPolicies that admit it, before the StatefulSet.
  Job: 0,
  StatefulSet: 1,
  CronJob: 2,
  // The binlog archiver streams from the primary, which wave 1 creates.
  Deployment: 2,
  // After the database: they need the Prometheus Operator's CRDs, and watch what wave 1 created.
  PodMonitor: 2,
  PrometheusRule: 2,
};

/**
 * The wave of the switchover Job (with the NetworkPolicies, which sort before Jobs within a wave), and of
 * what follows the primary: the `<name>-primary` Service and ConfigMap change only after the Job succeeded.
 */
export const SWITCHOVER_WAVE = 0;
export const FOLLOWS_PRIMARY_WAVE = 1;

/** Objects whose wave is not their kind's (see setSyncWave). */
const waveOverrides = new WeakMap<ApiObject, number>();

/**
 * Gives one object another wave than its kind's: what a switchover changes (the `<name>-primary` Service
 * and ConfigMap) must follow the switchover Job, not precede it.
 */
export function setSyncWave(obj: ApiObject, wave: number): void {
  waveOverrides.set(obj, wave);
}

/**
 * Kinds whose deletion loses data (the StatefulSet's pods, a Retain StorageClass, the Namespace with its
 * claims) or availability (without its PriorityClass no pod of the StatefulSet can be created again).
 */
export const PROTECTED_KINDS: readonly string[] = [
  'Namespace',
  'StorageClass',
  'VolumeSnapshotClass',
  'PriorityClass',
  'StatefulSet',
];

const SYNC_OPTIONS: Record<ArgoCdProtection, string | undefined> = {
  forbid: 'Prune=false,Delete=false',
  confirm: 'Prune=confirm,Delete=confirm',
  allow: undefined,
};

/**
 * Annotates every object of the app for Argo CD: a sync wave by kind, and on the protected kinds the
 * sync options of the configured protection.
 * @throws if an object's kind has no wave, so that a new kind cannot slip into the wrong order
 */
export function annotateForArgoCd(app: App, config: ResolvedConfig): void {
  const options = SYNC_OPTIONS[config.gitops.protection];
  for (const obj of app.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject)) {
    const wave = waveOverrides.get(obj) ?? SYNC_WAVES[obj.kind];
    if (wave === undefined)
      throw new Error(`No Argo CD sync wave for kind ${obj.kind}; add it to SYNC_WAVES in charts/argocd.ts`);
    obj.metadata.addAnnotation('argocd.argoproj.io/sync-wave', String(wave));
    if (options && PROTECTED_KINDS.includes(obj.kind))
      obj.metadata.addAnnotation('argocd.argoproj.io/sync-options', options);
  }
}

export interface ArgoCdApplicationChartProps extends ChartProps {
  /** The validated stack config; `gitops.argocd` must be set. */
  readonly config: ResolvedConfig;
}

/**
 * The Argo CD Application that syncs one profile's `dist/<profile>/` folder. It is written to
 * `dist/argocd/`, outside the synced folder, so an app-of-apps Application can point at `dist/argocd/`.
 */
export class ArgoCdApplicationChart extends Chart {
  public readonly application: Application;

  constructor(scope: Construct, id: string, props: ArgoCdApplicationChartProps) {
    super(scope, id, props);
    const c = props.config;
    const argo = c.gitops.argocd;
    if (!argo) throw new Error(`profile "${c.profile}" has no gitops.argocd config`);
    this.application = new Application(this, 'application', {
      metadata: {
        name: `${c.name}-${c.profile}`,
        namespace: argo.namespace,
        labels: objectLabels(c),
        annotations: argo.serverSideDiff
          ? { 'argocd.argoproj.io/compare-options': 'ServerSideDiff=true' }
          : undefined,
      },
      spec: {
        project: argo.project,
        source: { repoUrl: argo.repoURL, targetRevision: argo.targetRevision, path: argo.path },
        destination: { server: argo.destinationServer, namespace: c.namespace },
        syncPolicy: {
          automated: argo.automated ? { prune: true, selfHeal: true } : undefined,
          // The Namespace is part of the folder (with its Pod Security labels); prune last, so that a
          // removed object goes only after everything else is in place.
          // FailOnSharedResource: refuse to sync an object another Application already manages.
          syncOptions: ['PruneLast=true', 'FailOnSharedResource=true'],
          retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '3m' } },
        },
      },
    });
  }
}
