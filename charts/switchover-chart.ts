import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { readFileSync } from 'fs';
import { join } from 'path';
import * as k8s from '../imports/k8s';
import { FOLLOWS_PRIMARY_WAVE, setSyncWave, SWITCHOVER_WAVE } from './argocd';
import { ResolvedConfig } from './config';
import {
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedJobPodSpec,
} from './pod-security';
import { jobNetworkPolicies } from './policy-chart';
import { polarisExemptions } from './policy-checks';
import { semiSyncOf } from './semisync-config';
import { TLS_PATHS, tlsMounts, tlsVolumes } from './tls-chart';

/** The switchover script, a real file under `charts/scripts/switchover/`, read at synth time. */
export function switchoverScriptPath(): string {
  return join(__dirname, 'scripts', 'switchover', 'switchover.sh');
}

/** Names the scripts, the Service and the README depend on. */
export const switchoverNames = (c: ResolvedConfig) => ({
  /** The Job, and its pods' `app` label (the NetworkPolicies admit them to mysqld). */
  job: `${c.name}-switchover`,
  /** The ConfigMap whose key `ordinal` is the primary's ordinal (config `primary`). */
  configMap: `${c.name}-primary`,
});

/** The ConfigMap key holding the primary's ordinal; the pods read it as PRIMARY_ORDINAL when they start. */
export const PRIMARY_ORDINAL_KEY = 'ordinal';

const CREDENTIALS_DIR = '/etc/mysql/credentials';
const TMP = '/tmp';

export interface SwitchoverChartProps extends ChartProps {
  /** The validated stack config (mysql84 flavor: credentials are set). */
  readonly config: ResolvedConfig;
}

/**
 * Where the primary is, and the Job that moves it there:
 * - the ConfigMap `<name>-primary` (`ordinal: "<primary>"`): init-mysql, clone-mysql and the sidecar read it
 *   when their container starts (PRIMARY_ORDINAL), so a pod restarted after a switchover follows it. It is
 *   not in the pod template, so changing it rolls no pod;
 * - the Job `<name>-switchover` (charts/scripts/switchover/switchover.sh): fences the current primary,
 *   waits for `primary` to apply every transaction, promotes it, repoints the others; does nothing when
 *   `primary` is already the primary. An Argo CD Sync hook (recreated on every sync, kept until the next
 *   one for its log) in the wave before the StatefulSet, the `<name>-primary` Service and the ConfigMap;
 *   applied by hand with `kubectl apply` for non-Argo users (README, "Planned switchover"). Its pod needs no
 *   Kubernetes API (no ServiceAccount token), runs restricted, and reaches only mysqld.
 */
export class SwitchoverChart extends Chart {
  public readonly configMap: k8s.KubeConfigMap;
  public readonly job: k8s.KubeJob;

  constructor(scope: Construct, id: string, props: SwitchoverChartProps) {
    super(scope, id, props);
    const c = props.config;
    if (!c.credentials) throw new Error(`profile "${c.profile}": the switchover Job needs credentials`);
    const names = switchoverNames(c);
    const labels = (app: string) => ({ ...c.labels, app });

    this.configMap = new k8s.KubeConfigMap(this, 'primary', {
      metadata: { name: names.configMap, namespace: c.namespace, labels: labels(c.name) },
      data: { [PRIMARY_ORDINAL_KEY]: String(c.primary) },
    });
    setSyncWave(this.configMap, FOLLOWS_PRIMARY_WAVE);

    const s = c.switchover;
    const container: k8s.Container = {
      name: 'switchover',
      image: c.images.mysql,
      imagePullPolicy: c.images.pullPolicy,
      command: ['bash', '-c', readFileSync(switchoverScriptPath(), 'utf8')],
      env: [
        { name: 'STATEFULSET', value: c.name },
        { name: 'SERVICE_NAME', value: c.name },
        { name: 'REPLICAS', value: String(c.replicas) },
        { name: 'TARGET', value: String(c.primary) },
        { name: 'FAILOVER', value: String(c.failover) },
        { name: 'MYSQL_PORT', value: String(c.mysqlPort) },
        { name: 'MAX_LAG_SECONDS', value: String(s.maxLagSeconds) },
        { name: 'WAIT_SECONDS', value: String(s.waitSeconds) },
        // The promoted server gets semi-sync's source side, every repointed one its replica side.
        ...(semiSyncOf(c) ? [{ name: 'SEMISYNC', value: 'true' }] : []),
        { name: 'ROOT_PASSWORD_FILE', value: `${CREDENTIALS_DIR}/root-password` },
        { name: 'REPLICATION_USER', value: c.credentials.replicationUser },
        { name: 'REPLICATION_PASSWORD_FILE', value: `${CREDENTIALS_DIR}/replication-password` },
        { name: 'CLIENT_CNF_DIR', value: TMP },
        ...(c.tls
          ? [
              // Verify every server's certificate and name; the replicas present the client certificate
              // mounted in their own pods, at the same path.
              { name: 'TLS_CA_FILE', value: `${TLS_PATHS.client}/ca.crt` },
              { name: 'SOURCE_TLS_DIR', value: TLS_PATHS.client },
            ]
          : []),
        { name: 'CONTAINER_IMAGE', value: c.images.mysql },
      ],
      volumeMounts: [
        { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
        { name: 'tmp', mountPath: TMP },
        ...tlsMounts(c, ['client']),
      ],
      securityContext: restrictedContainerSecurityContext(),
      resources: resourceRequirements(s.resources),
    };
    const pod = restrictedJobPodSpec(c, {
      containers: [container],
      volumes: [
        {
          name: 'credentials',
          secret: {
            secretName: c.credentials.secretName,
            defaultMode: 0o440,
            items: [
              { key: 'root-password', path: 'root-password' },
              { key: 'replication-password', path: 'replication-password' },
            ],
          },
        },
        // root's option file: in memory, never on the node's disk.
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
        ...tlsVolumes(c).filter((v) => v.name === 'tls-client'),
      ],
    });
    const exemptions = polarisExemptions(pod, {
      name: names.job,
      labels: labels(names.job),
      instance: c.name,
      ingressDeniedByNetworkPolicy: jobNetworkPolicies(c).some(([, app]) => app === names.job),
    });
    this.job = new k8s.KubeJob(this, 'job', {
      metadata: {
        name: names.job,
        namespace: c.namespace,
        labels: labels(names.job),
        annotations: {
          // A hook is created anew on every sync (the previous one is deleted first, so its log stays
          // until then): a Job's pod template is immutable, and every sync must check the primary.
          'argocd.argoproj.io/hook': 'Sync',
          'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
          ...exemptions,
        },
      },
      spec: {
        // A refused or failed switchover needs a person: no retry.
        backoffLimit: 0,
        // The survey, a wait per replica (a failover drains each one's relay log) and the repointing.
        activeDeadlineSeconds: s.waitSeconds * (c.replicas + 1) + 120,
        template: { metadata: { labels: labels(names.job) }, spec: pod },
      },
    });
    setSyncWave(this.job, SWITCHOVER_WAVE);
  }
}
