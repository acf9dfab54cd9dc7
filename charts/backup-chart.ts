import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { readFileSync } from 'fs';
import { join } from 'path';
import * as k8s from '../imports/k8s';
import { BACKUP_FOLDER, ResolvedBackupConfig, toTimeUtc } from './backup-config';
import { ResolvedConfig } from './config';
import { parseQuantity } from './config';
import {
  resourceRequirements,
  restrictedContainerSecurityContext,
  restrictedJobPodSpec,
} from './pod-security';
import { jobNetworkPolicies } from './policy-chart';
import { polarisExemptions } from './policy-checks';
import { TLS_PATHS, tlsBackupJobEnv, tlsMounts, tlsVolumes } from './tls-chart';

/** The backup scripts, real files under `charts/scripts/backup/`, read at synth time. */
export type BackupScriptName =
  'backup-to-s3' | 'binlog-archiver' | 'restore-from-s3' | 'restore-mysqld' | 'volume-snapshot';

export function backupScriptPath(name: BackupScriptName): string {
  return join(__dirname, 'scripts', 'backup', `${name}.sh`);
}

/** Shared functions (`charts/scripts/backup/lib-*.sh`) and the backup scripts that call them. */
const LIBRARIES: Record<'aws-s3' | 'client-cnf', readonly BackupScriptName[]> = {
  'aws-s3': ['backup-to-s3', 'binlog-archiver', 'restore-from-s3'],
  'client-cnf': ['backup-to-s3', 'binlog-archiver', 'volume-snapshot'],
};

/** Path of a shared backup function's file. */
export function backupLibraryPath(name: keyof typeof LIBRARIES): string {
  return join(__dirname, 'scripts', 'backup', `lib-${name}.sh`);
}

/**
 * A backup script's text as its container runs it: the shared functions it calls first (so its image needs a
 * library's tools only where the script calls it), then the script.
 */
export function readBackupScript(name: BackupScriptName): string {
  const libs = (Object.keys(LIBRARIES) as (keyof typeof LIBRARIES)[]).filter((l) =>
    LIBRARIES[l].includes(name),
  );
  return [
    ...libs.map((l) => readFileSync(backupLibraryPath(l), 'utf8')),
    readFileSync(backupScriptPath(name), 'utf8'),
  ].join('\n');
}

const DATA_DIR = '/var/lib/mysql';
const TMP = '/tmp';
const CREDENTIALS_DIR = '/etc/mysql/credentials';

/** Object names the alerts of the monitoring chart and the README depend on. */
export const backupNames = (c: ResolvedConfig) => ({
  serviceAccount: `${c.name}-backup`,
  backupCronJob: `${c.name}-backup`,
  drillCronJob: `${c.name}-restore-drill`,
  /** The `app` label of the backup job's pods; the NetworkPolicy admits them to the MySQL and backup ports. */
  backupPodApp: `${c.name}-backup`,
  drillPodApp: `${c.name}-restore-drill`,
  /** The volume snapshot job: its CronJob, ServiceAccount, Role, pods' `app` label and its snapshots' label. */
  snapshots: `${c.name}-volume-snapshot`,
  /** The binlog archiver: its Deployment and its pods' `app` label. */
  archiver: `${c.name}-binlog-archiver`,
});

/** The ConfigMap key of the binlog retention option file (with `backup.pitr`), which every pod uses. */
export const BINLOG_CNF_KEY = 'binlog.cnf';
export const binlogCnf = (retentionSeconds: number) =>
  [
    '# Binary log retention for point-in-time recovery (backup.pitr.binlogRetentionSeconds): how long the',
    '# primary keeps binary logs the archiver has not uploaded yet.',
    '[mysqld]',
    `binlog_expire_logs_seconds=${retentionSeconds}`,
    '',
  ].join('\n');

/** The server id mysqlbinlog presents to the primary: outside the StatefulSet's range (serverIdOffset + ordinal). */
export const ARCHIVER_SERVER_ID = 4294967000;

/** `s3://<bucket>/<prefix>`: where backups go, each in `base/<UTC time>/`. */
export const backupUri = (b: ResolvedBackupConfig) => `s3://${b.bucket}/${b.prefix}`;
/** Where the archiver puts the binary logs: `binlogs/<server_uuid>/` beside `base/`. */
export const binlogUri = (b: ResolvedBackupConfig) => `${backupUri(b)}/binlogs`;
/** The archive that belongs to a backup folder `s3://<bucket>/<prefix>/base/<id>`: `s3://<bucket>/<prefix>/binlogs`. */
export function binlogUriOfBackup(folder: string): string {
  const m = BACKUP_FOLDER.exec(folder);
  if (!m) throw new Error(`not a backup folder: ${folder}`);
  return `s3://${m[1]}/${m[2]}/binlogs`;
}

/**
 * The stream of one backup is at most about the data volume's size; `aws s3 cp -` needs an upper bound
 * (`--expected-size`) to choose a part size that fits S3's 10,000 parts. Twice the volume leaves room for
 * the redo log XtraBackup copies while it runs; a larger bound only makes the parts larger.
 */
export const expectedStreamBytes = (c: ResolvedConfig) => 2 * Math.ceil(parseQuantity(c.storage.size)!);

export interface BackupChartProps extends ChartProps {
  /** The validated stack config; `backup` must be set. */
  readonly config: ResolvedConfig;
}

/**
 * Backups to S3: the jobs' ServiceAccount (IRSA annotation, or EKS Pod Identity), the `<name>-backup`
 * CronJob (one physical backup from the healthiest replica through its sidecar's backup stream, uploaded
 * with SSE-KMS and verified) and, when configured, the `<name>-restore-drill` CronJob (restores the latest
 * backup into a scratch claim, starts mysqld on it and checks every table).
 */
export class BackupChart extends Chart {
  public readonly serviceAccount: k8s.KubeServiceAccount;
  public readonly backupCronJob: k8s.KubeCronJob;
  public readonly drillCronJob?: k8s.KubeCronJob;
  public readonly snapshotCronJob?: k8s.KubeCronJob;
  public readonly archiverDeployment?: k8s.KubeDeployment;

  constructor(scope: Construct, id: string, props: BackupChartProps) {
    super(scope, id, props);
    const c = props.config;
    const b = c.backup;
    if (!b) throw new Error(`profile "${c.profile}" has no backup config`);
    if (!c.credentials) throw new Error(`profile "${c.profile}": backups need credentials`);
    const names = backupNames(c);
    const labels = (app?: string) => ({ ...c.labels, app: app ?? c.name });
    // Polaris' exemptions for a CronJob, written only while their reasons hold (README, "Policy checks").
    const exemptions = (name: string, app: string, job: k8s.PodSpec, apiAccess?: string) => {
      const a = polarisExemptions(job, {
        name,
        labels: labels(app),
        instance: c.name,
        ingressDeniedByNetworkPolicy: jobNetworkPolicies(c).some(([, a]) => a === app),
        apiAccess,
      });
      return Object.keys(a).length > 0 ? a : undefined;
    };

    this.serviceAccount = new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: {
        name: names.serviceAccount,
        namespace: c.namespace,
        labels: labels(),
        annotations: b.roleArn ? { 'eks.amazonaws.com/role-arn': b.roleArn } : undefined,
      },
      // The IRSA and Pod Identity webhooks add their own projected token; no Kubernetes API token is needed.
      automountServiceAccountToken: false,
    });

    const backup: k8s.Container = {
      name: 'backup',
      image: c.images.xtrabackup,
      imagePullPolicy: c.images.pullPolicy,
      command: ['bash', '-c', readBackupScript('backup-to-s3')],
      env: [
        ...awsEnv(b),
        { name: 'STATEFULSET', value: c.name },
        { name: 'SERVICE_NAME', value: c.name },
        { name: 'REPLICAS', value: String(c.replicas) },
        { name: 'MYSQL_PORT', value: String(c.mysqlPort) },
        { name: 'BACKUP_PORT', value: String(c.backupPort) },
        { name: 'BACKUP_URI', value: backupUri(b) },
        { name: 'KMS_KEY_ID', value: b.kmsKeyArn },
        { name: 'EXPECTED_SIZE', value: String(expectedStreamBytes(c)) },
        { name: 'MAX_LAG_SECONDS', value: String(b.maxLagSeconds) },
        { name: 'VERIFY', value: b.verify },
        { name: 'REPLICATION_USER', value: c.credentials.replicationUser },
        { name: 'REPLICATION_PASSWORD_FILE', value: `${CREDENTIALS_DIR}/replication-password` },
        { name: 'CONTAINER_IMAGE', value: c.images.xtrabackup },
        ...tlsBackupJobEnv(c),
      ],
      volumeMounts: [
        { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
        { name: 'tmp', mountPath: TMP },
        ...tlsMounts(c, ['client']),
      ],
      securityContext: restrictedContainerSecurityContext(),
      resources: resourceRequirements(b.resources),
    };
    const backupPod = podSpec(
      c,
      names.serviceAccount,
      [backup],
      [
        {
          name: 'credentials',
          secret: {
            secretName: c.credentials.secretName,
            defaultMode: 0o440,
            items: [{ key: 'replication-password', path: 'replication-password' }],
          },
        },
        { name: 'tmp', emptyDir: {} },
        ...tlsVolumes(c).filter((v) => v.name === 'tls-client'),
      ],
    );
    this.backupCronJob = new k8s.KubeCronJob(this, 'backup', {
      metadata: {
        name: names.backupCronJob,
        namespace: c.namespace,
        labels: labels(names.backupPodApp),
        annotations: exemptions(names.backupCronJob, names.backupPodApp, backupPod),
      },
      spec: cronJobSpec(b.schedule, {
        // One retry: a replica restarting mid-stream is worth a second try; each try is its own folder.
        backoffLimit: 1,
        template: { metadata: { labels: labels(names.backupPodApp) }, spec: backupPod },
      }),
    });

    const drill = b.restoreDrill;
    if (drill) {
      const scratch = 'scratch';
      const dataMount: k8s.VolumeMount = { name: scratch, mountPath: DATA_DIR, subPath: 'mysql' };
      const fetch: k8s.Container = {
        name: 'restore-from-s3',
        image: c.images.xtrabackup,
        imagePullPolicy: c.images.pullPolicy,
        command: ['bash', '-c', readBackupScript('restore-from-s3')],
        env: [
          ...awsEnv(b),
          { name: 'TARGET_DIR', value: DATA_DIR },
          { name: 'RESTORE_FROM', value: 'latest' },
          { name: 'BACKUP_URI', value: backupUri(b) },
          { name: 'CONTAINER_IMAGE', value: c.images.xtrabackup },
        ],
        volumeMounts: [dataMount, { name: 'tmp', mountPath: TMP }],
        securityContext: restrictedContainerSecurityContext(),
        resources: resourceRequirements(b.resources),
      };
      const check: k8s.Container = {
        name: 'restore-check',
        image: c.images.mysql,
        imagePullPolicy: c.images.pullPolicy,
        command: ['bash', '-c', readBackupScript('restore-mysqld')],
        env: [
          { name: 'ACTION', value: 'drill' },
          { name: 'DATA_DIR', value: DATA_DIR },
          { name: 'WORK_DIR', value: TMP },
          { name: 'CONTAINER_IMAGE', value: c.images.mysql },
        ],
        volumeMounts: [dataMount, { name: 'tmp', mountPath: TMP }],
        securityContext: restrictedContainerSecurityContext(),
        // mysqld on the restored data: the same memory as the database's own container.
        resources: resourceRequirements(c.resources.mysql),
      };
      const drillPod: k8s.PodSpec = {
        ...podSpec(
          c,
          names.serviceAccount,
          [check],
          [
            {
              name: scratch,
              // A temporary claim from the stack's StorageClass, deleted with the pod.
              ephemeral: {
                volumeClaimTemplate: {
                  metadata: { labels: labels(names.drillPodApp) },
                  spec: {
                    accessModes: ['ReadWriteOnce'],
                    storageClassName: c.storage.storageClassName,
                    resources: { requests: { storage: k8s.Quantity.fromString(drill.scratchSize) } },
                  },
                },
              },
            },
            { name: 'tmp', emptyDir: {} },
          ],
        ),
        initContainers: [fetch],
      };
      this.drillCronJob = new k8s.KubeCronJob(this, 'restore-drill', {
        metadata: {
          name: names.drillCronJob,
          namespace: c.namespace,
          labels: labels(names.drillPodApp),
          annotations: exemptions(names.drillCronJob, names.drillPodApp, drillPod),
        },
        spec: cronJobSpec(drill, {
          // A drill that fails must alert, not retry until it passes.
          backoffLimit: 0,
          template: { metadata: { labels: labels(names.drillPodApp) }, spec: drillPod },
        }),
      });
    }

    if (b.pitr) this.archiverDeployment = this.archiver(c, b, b.pitr, names, labels);

    const vs = b.volumeSnapshots;
    const snapshotClass = c.storage.snapshotClass;
    if (vs && snapshotClass) {
      const meta = { name: names.snapshots, namespace: c.namespace, labels: labels(names.snapshots) };
      // Its own identity: it needs a Kubernetes API token (the backup jobs do not) and no AWS role.
      new k8s.KubeServiceAccount(this, 'snapshot-service-account', {
        metadata: meta,
        automountServiceAccountToken: true,
      });
      // RBAC cannot restrict delete to labelled objects: the script deletes only snapshots labelled
      // app=<name>-volume-snapshot; the Role allows nothing else than VolumeSnapshots in this namespace.
      new k8s.KubeRole(this, 'snapshot-role', {
        metadata: meta,
        rules: [
          {
            apiGroups: ['snapshot.storage.k8s.io'],
            resources: ['volumesnapshots'],
            verbs: ['get', 'list', 'create', 'delete'],
          },
        ],
      });
      new k8s.KubeRoleBinding(this, 'snapshot-role-binding', {
        metadata: meta,
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: names.snapshots },
        subjects: [{ kind: 'ServiceAccount', name: names.snapshots, namespace: c.namespace }],
      });
      const snapshot: k8s.Container = {
        name: 'volume-snapshot',
        image: c.images.xtrabackup,
        imagePullPolicy: c.images.pullPolicy,
        command: ['bash', '-c', readBackupScript('volume-snapshot')],
        env: [
          { name: 'STATEFULSET', value: c.name },
          { name: 'SERVICE_NAME', value: c.name },
          { name: 'REPLICAS', value: String(c.replicas) },
          { name: 'NAMESPACE', value: c.namespace },
          { name: 'MYSQL_PORT', value: String(c.mysqlPort) },
          { name: 'MAX_LAG_SECONDS', value: String(b.maxLagSeconds) },
          { name: 'SNAPSHOT_CLASS', value: snapshotClass.name },
          { name: 'SNAPSHOT_APP', value: names.snapshots },
          { name: 'KEEP', value: String(vs.keep) },
          { name: 'ROOT_PASSWORD_FILE', value: `${CREDENTIALS_DIR}/root-password` },
          { name: 'CONTAINER_IMAGE', value: c.images.xtrabackup },
        ],
        volumeMounts: [
          { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
          { name: 'tmp', mountPath: TMP },
        ],
        securityContext: restrictedContainerSecurityContext(),
        resources: resourceRequirements(b.resources),
      };
      const spec = podSpec(
        c,
        names.snapshots,
        [snapshot],
        [
          {
            name: 'credentials',
            secret: {
              secretName: c.credentials.secretName,
              defaultMode: 0o440,
              items: [{ key: 'root-password', path: 'root-password' }],
            },
          },
          { name: 'tmp', emptyDir: {} },
        ],
      );
      const snapshotPod: k8s.PodSpec = { ...spec, automountServiceAccountToken: true };
      this.snapshotCronJob = new k8s.KubeCronJob(this, 'volume-snapshot', {
        metadata: {
          ...meta,
          annotations: exemptions(
            names.snapshots,
            names.snapshots,
            snapshotPod,
            'It creates, lists and deletes VolumeSnapshots through the Kubernetes API',
          ),
        },
        spec: cronJobSpec(vs, {
          // No retry: a retry would stop the SQL thread again; the next run is the retry.
          backoffLimit: 0,
          template: { metadata: { labels: labels(names.snapshots) }, spec: snapshotPod },
        }),
      });
    }
  }

  /**
   * The binlog archiver: one pod (strategy Recreate, so never two) streaming the primary's binary logs to
   * S3 with the backup ServiceAccount's role; a liveness probe restarts it when its loop stops reporting.
   */
  private archiver(
    c: ResolvedConfig,
    b: ResolvedBackupConfig,
    pitr: NonNullable<ResolvedBackupConfig['pitr']>,
    names: ReturnType<typeof backupNames>,
    labels: (app?: string) => Record<string, string>,
  ): k8s.KubeDeployment {
    const spool = '/var/lib/binlog-archiver';
    // Alive: the loop wrote its heartbeat within three upload intervals plus a minute (an upload in flight).
    const staleAfter = 3 * pitr.uploadIntervalSeconds + 60;
    const container: k8s.Container = {
      name: 'binlog-archiver',
      image: c.images.xtrabackup,
      imagePullPolicy: c.images.pullPolicy,
      command: ['bash', '-c', readBackupScript('binlog-archiver')],
      env: [
        ...awsEnv(b),
        { name: 'PRIMARY_HOST', value: `${c.name}-0.${c.name}` },
        { name: 'MYSQL_PORT', value: String(c.mysqlPort) },
        { name: 'BINLOG_URI', value: binlogUri(b) },
        { name: 'KMS_KEY_ID', value: b.kmsKeyArn },
        { name: 'REPLICATION_USER', value: c.credentials!.replicationUser },
        { name: 'REPLICATION_PASSWORD_FILE', value: `${CREDENTIALS_DIR}/replication-password` },
        { name: 'SPOOL_DIR', value: spool },
        { name: 'CONNECTION_SERVER_ID', value: String(ARCHIVER_SERVER_ID) },
        { name: 'ROTATE_SECONDS', value: String(pitr.rotateSeconds) },
        { name: 'UPLOAD_INTERVAL_SECONDS', value: String(pitr.uploadIntervalSeconds) },
        { name: 'CONTAINER_IMAGE', value: c.images.xtrabackup },
        ...(c.tls
          ? [
              { name: 'ARCHIVER_TLS_CA', value: `${TLS_PATHS.client}/ca.crt` },
              { name: 'ARCHIVER_TLS_CERT', value: `${TLS_PATHS.client}/tls.crt` },
              { name: 'ARCHIVER_TLS_KEY', value: `${TLS_PATHS.client}/tls.key` },
            ]
          : []),
      ],
      volumeMounts: [
        { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
        { name: 'spool', mountPath: spool },
        { name: 'tmp', mountPath: TMP },
        ...tlsMounts(c, ['client']),
      ],
      livenessProbe: {
        exec: {
          command: ['bash', '-c', `beat=$(<${spool}/heartbeat) && (( $(date +%s) - beat < ${staleAfter} ))`],
        },
        // The first heartbeat comes after the first upload interval.
        initialDelaySeconds: pitr.uploadIntervalSeconds + 30,
        periodSeconds: 30,
        timeoutSeconds: 5,
        failureThreshold: 3,
      },
      // Ready (the Deployment Available, Argo CD Healthy) while the loop reports within two intervals.
      readinessProbe: {
        exec: {
          command: [
            'bash',
            '-c',
            `beat=$(<${spool}/heartbeat) && (( $(date +%s) - beat < ${2 * pitr.uploadIntervalSeconds + 30} ))`,
          ],
        },
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 1,
      },
      securityContext: restrictedContainerSecurityContext(),
      resources: resourceRequirements(b.resources),
    };
    const spec: k8s.PodSpec = {
      ...podSpec(
        c,
        names.serviceAccount,
        [container],
        [
          {
            name: 'credentials',
            secret: {
              secretName: c.credentials!.secretName,
              defaultMode: 0o440,
              items: [{ key: 'replication-password', path: 'replication-password' }],
            },
          },
          // The files mysqlbinlog writes until they are uploaded: a few binary logs at most.
          { name: 'spool', emptyDir: {} },
          { name: 'tmp', emptyDir: {} },
          ...tlsVolumes(c).filter((v) => v.name === 'tls-client'),
        ],
      ),
      restartPolicy: 'Always',
      // SIGTERM: the script uploads what is closed, then exits.
      terminationGracePeriodSeconds: 60,
      // One pod: a zone constraint only says where a replacement may go (anywhere, preferring spread).
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: { app: names.archiver } },
        },
      ],
    };
    const app = names.archiver;
    // Drains may evict it at any time: it resumes from what S3 holds.
    new k8s.KubePodDisruptionBudget(this, 'binlog-archiver-pdb', {
      metadata: { name: app, namespace: c.namespace, labels: labels(app) },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: { app } } },
    });
    return new k8s.KubeDeployment(this, 'binlog-archiver', {
      metadata: {
        name: app,
        namespace: c.namespace,
        labels: labels(app),
        annotations: polarisAnnotations(c, app, labels(app), spec),
      },
      spec: {
        replicas: 1,
        // Never two archivers: both would rotate the primary's binary logs.
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { app } },
        template: { metadata: { labels: labels(app) }, spec },
      },
    });
  }
}

function polarisAnnotations(
  c: ResolvedConfig,
  app: string,
  labels: Record<string, string>,
  spec: k8s.PodSpec,
): Record<string, string> | undefined {
  const a = polarisExemptions(spec, {
    name: app,
    labels,
    instance: c.name,
    ingressDeniedByNetworkPolicy: jobNetworkPolicies(c).some(([, x]) => x === app),
    singleReplica:
      "One archiver by design: a second would stream the same binary logs and rotate the primary's too; strategy Recreate keeps it at one, and a restarted archiver resumes from what S3 holds",
  });
  return Object.keys(a).length > 0 ? a : undefined;
}

/**
 * The init containers that seed mysql-0 of a new StatefulSet from `restore.from`: restore-from-s3 (fetch,
 * verify, prepare; the XtraBackup image) and restore-mysqld (drop the replication settings the backup
 * carried, on an offline mysqld; the mysql image). Both are no-ops on replicas and once restored.
 */
export function restoreInitContainers(
  c: ResolvedConfig,
  mounts: {
    readonly data: k8s.VolumeMount;
    readonly conf: k8s.VolumeMount;
    readonly tmp: readonly k8s.VolumeMount[];
    readonly securityContext: (image: 'mysql-image' | 'xtrabackup-image') => k8s.SecurityContext | undefined;
    readonly resources?: k8s.ResourceRequirements;
  },
): k8s.Container[] {
  const b = c.backup;
  const from = c.restore?.from;
  if (!from || !b) return [];
  return [
    {
      name: 'restore-from-s3',
      image: c.images.xtrabackup,
      imagePullPolicy: c.images.pullPolicy,
      command: ['bash', '-c', readBackupScript('restore-from-s3')],
      env: [
        ...awsEnv(b),
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'TARGET_DIR', value: mounts.data.mountPath },
        { name: 'RESTORE_FROM', value: from },
        ...(c.restore?.toTime
          ? [
              { name: 'RESTORE_TO_TIME', value: toTimeUtc(c.restore.toTime) },
              { name: 'BINLOG_URI', value: binlogUriOfBackup(from) },
            ]
          : []),
        { name: 'CONTAINER_IMAGE', value: c.images.xtrabackup },
      ],
      volumeMounts: [mounts.data, ...mounts.tmp],
      securityContext: mounts.securityContext('xtrabackup-image'),
      resources: mounts.resources,
    },
    {
      name: 'restore-mysqld',
      image: c.images.mysql,
      imagePullPolicy: c.images.pullPolicy,
      command: ['bash', '-c', readBackupScript('restore-mysqld')],
      env: [
        { name: 'ACTION', value: 'finish' },
        { name: 'DATA_DIR', value: mounts.data.mountPath },
        { name: 'WORK_DIR', value: TMP },
        { name: 'CONTAINER_IMAGE', value: c.images.mysql },
      ],
      // conf.d holds tls.cnf with tls set: its mysqld reads the server certificate too.
      volumeMounts: [mounts.data, mounts.conf, ...mounts.tmp, ...tlsMounts(c, ['server'])],
      securityContext: mounts.securityContext('mysql-image'),
      resources: mounts.resources,
    },
  ];
}

/** Region and a writable HOME (the AWS CLI's cache) for the AWS CLI; credentials come from IRSA or Pod Identity. */
function awsEnv(b: ResolvedBackupConfig): k8s.EnvVar[] {
  return [
    { name: 'AWS_REGION', value: b.region },
    { name: 'HOME', value: TMP },
  ];
}

function cronJobSpec(
  s: { schedule: string; timeZone: string; startingDeadlineSeconds: number; activeDeadlineSeconds: number },
  job: { backoffLimit: number; template: k8s.PodTemplateSpec },
): k8s.CronJobSpec {
  return {
    schedule: s.schedule,
    timeZone: s.timeZone,
    // Never two at once: a second backup would double the load on the replica.
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: s.startingDeadlineSeconds,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    jobTemplate: {
      spec: {
        backoffLimit: job.backoffLimit,
        activeDeadlineSeconds: s.activeDeadlineSeconds,
        template: job.template,
      },
    },
  };
}

/** A restricted pod that runs once, as the backup ServiceAccount `serviceAccountName`. */
const podSpec = (
  c: ResolvedConfig,
  serviceAccountName: string,
  containers: k8s.Container[],
  volumes: k8s.Volume[],
): k8s.PodSpec => restrictedJobPodSpec(c, { serviceAccountName, containers, volumes });
