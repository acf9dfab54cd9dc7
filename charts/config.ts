/**
 * The configuration of one deployment of the replicated MySQL stack: one strict zod schema, from which
 * the TypeScript types are derived (`MysqlStackConfig` is what a profile writes, `ResolvedConfig` what
 * the charts read, with every default filled in).
 *
 * A *profile* (see `profiles.ts`) is a named, complete `MysqlStackConfig`. `validateConfig` checks it
 * at run time before any chart is built: every type, every range, unknown keys (with a "did you mean"),
 * the limits of Amazon EBS and the rules between fields. A bad value fails the synth with a message that
 * names the field, the value and what is allowed, and `dist/` is never touched.
 *
 * Adding a field: add it to its object below with a `/** … @default … *\/` comment (the comment is what
 * editors show on the derived type), using the field types of `config-kit.ts` so that its message reads
 * like the others; a rule between fields goes into `crossFieldRules`; add a `fails if …` test to
 * test/config.test.ts.
 */
import * as z from 'zod';
import {
  bool,
  ConfigError,
  dnsLabel,
  dnsSubdomain,
  int,
  labels,
  list,
  member,
  oneOf,
  parseQuantity,
  problemsOf,
  quantity,
  show,
  strict,
  text,
} from './config-kit';
import { backupRules, backupSchema, resolveBackup, restoreSchema } from './backup-config';
import { EBS_LIMITS, gibQuantity } from './ebs-limits';
import { DEFAULT_EXPORTER_IMAGE, githubReadme } from './monitoring-config';

export { ConfigError, parseQuantity } from './config-kit';

/** The MySQL major version family; each flavor has its own scripts under `charts/scripts/<flavor>/`. */
export const MYSQL_FLAVORS = ['mysql57', 'mysql84'] as const;
export type MysqlFlavor = (typeof MYSQL_FLAVORS)[number];

/** EBS volume types accepted by the `ebs.csi.aws.com` driver's `type` parameter. */
export const EBS_VOLUME_TYPES = ['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'] as const;
export type EbsVolumeType = (typeof EBS_VOLUME_TYPES)[number];

export const FS_TYPES = ['ext4', 'xfs', 'ext3', 'ext2'] as const;
export const RECLAIM_POLICIES = ['Delete', 'Retain'] as const;
export const IMAGE_PULL_POLICIES = ['IfNotPresent', 'Always', 'Never'] as const;
export const CPU_ARCHITECTURES = ['amd64', 'arm64'] as const;
export const POD_SECURITY_LEVELS = ['baseline', 'restricted'] as const;
export const SECRET_STORE_KINDS = ['SecretStore', 'ClusterSecretStore'] as const;
export const PREEMPTION_POLICIES = ['PreemptLowerPriority', 'Never'] as const;
/**
 * What Argo CD may do to the objects whose loss loses data or availability (the StatefulSet, the
 * StorageClass, the Namespace, the VolumeSnapshotClass): `forbid` (Prune=false, Delete=false: never
 * pruned, left behind when the Application is deleted), `confirm` (Prune=confirm, Delete=confirm: only
 * after a person approves) or `allow` (no annotation).
 */
export const ARGOCD_PROTECTIONS = ['forbid', 'confirm', 'allow'] as const;
/**
 * How replicas report readiness: `replicating` (Ready only while replicating within the lag bound) or
 * `serving` (the off switch: Ready once the sidecar serves backups).
 */
export const REPLICA_READINESS = ['replicating', 'serving'] as const;
export const ISSUER_KINDS = ['Issuer', 'ClusterIssuer'] as const;
export type ArgoCdProtection = (typeof ARGOCD_PROTECTIONS)[number];

/** EBS types that take a provisioned `iops` parameter. */
export const EBS_IOPS_TYPES: readonly EbsVolumeType[] = ['gp3', 'io1', 'io2'];
/** EBS types that take a provisioned `throughput` parameter. */
export const EBS_THROUGHPUT_TYPES: readonly EbsVolumeType[] = ['gp3'];

// registry/repository[:tag][@sha256:digest], as the Docker reference grammar allows (lower-case path).
const IMAGE_REFERENCE =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;

/** A CronJob name: its Jobs append 11 characters, so at most 52. */
const cronJobName = () =>
  text(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'expected a CronJob name: lower-case letters, digits and "-", at most 52 characters',
    52,
  );

const image = () =>
  text(
    IMAGE_REFERENCE,
    'expected an image reference such as "mysql:5.7" or "repo/name@sha256:<64 hex digits>"',
  );

/** Container images. Tags or digests (`repo@sha256:…`) are both accepted. */
const imagesSchema = strict(
  {
    /** The MySQL server image, also used by the `init-mysql` init container. */
    mysql: image(),
    /** The Percona XtraBackup image used by the `clone-mysql` init container and the `xtrabackup` sidecar. */
    xtrabackup: image(),
    /** @default 'IfNotPresent' */
    pullPolicy: member(IMAGE_PULL_POLICIES).default('IfNotPresent'),
  },
  'the container images',
);

/** An optional VolumeSnapshotClass for the EBS CSI driver. */
const snapshotClassSchema = strict(
  {
    name: dnsSubdomain(),
    /** What happens to the EBS snapshot when its VolumeSnapshot is deleted. */
    deletionPolicy: member(RECLAIM_POLICIES),
  },
  'a VolumeSnapshotClass',
);

/** The StorageClass for the EBS CSI driver and the per-pod volume claimed from it. */
const storageSchema = strict(
  {
    /** Name of the StorageClass (cluster-scoped). */
    storageClassName: dnsSubdomain(),
    /** EBS volume type (`type` parameter of `ebs.csi.aws.com`). */
    volumeType: member(EBS_VOLUME_TYPES),
    /** Encrypt the EBS volumes. */
    encrypted: bool(),
    /**
     * KMS key ARN for encryption; requires `encrypted: true`.
     * @default - the account's default EBS key (aws/ebs)
     */
    kmsKeyId: text(
      KMS_KEY_ARN,
      'expected a KMS key ARN such as "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
    ).optional(),
    /**
     * Provisioned IOPS; only for `gp3`, `io1`, `io2` (required by `io1` and `io2`). Limits per type:
     * `ebs-limits.ts`.
     * @default - the volume type's baseline (3000 for gp3)
     */
    iops: int(100, 256000).optional(),
    /**
     * Provisioned throughput in MiB/s; only for `gp3`.
     * @default - the volume type's baseline (125 MiB/s for gp3)
     */
    throughput: int(125, 2000).optional(),
    /**
     * Filesystem created on the volume (`csi.storage.k8s.io/fstype`).
     * @default - the driver's default (ext4); the parameter is omitted
     */
    fsType: member(FS_TYPES).optional(),
    /** What happens to a volume when its claim is deleted. */
    reclaimPolicy: member(RECLAIM_POLICIES),
    /**
     * Allow growing a claim by editing it.
     * @default - unset (Kubernetes treats it as false)
     */
    allowVolumeExpansion: bool().optional(),
    /**
     * Mount options for the volumes.
     * @default []
     */
    mountOptions: list(
      text(/^[\w.=,-]+$/, 'expected a mount option such as "noatime"'),
      '["noatime"]',
    ).optional(),
    /** Size of each pod's data volume, a Kubernetes quantity such as `10Gi`. */
    size: quantity('10Gi'),
    /**
     * Keep the claims (and so the volumes) when the StatefulSet is deleted or scaled down, via
     * `persistentVolumeClaimRetentionPolicy` Retain/Retain.
     * @default - unset: Kubernetes' default, which also retains
     */
    retainClaims: bool().optional(),
    /** @default - no VolumeSnapshotClass */
    snapshotClass: snapshotClassSchema.optional(),
  },
  'the storage settings',
);

/** CPU/memory of one container, as Kubernetes quantities. */
const resourcesSchema = strict(
  {
    /** @default - no CPU request */
    cpuRequest: quantity('500m').optional(),
    /** @default - no memory request */
    memoryRequest: quantity('1Gi').optional(),
    /** @default - no CPU limit */
    cpuLimit: quantity('1').optional(),
    /** @default - no memory limit */
    memoryLimit: quantity('2Gi').optional(),
  },
  'container resources',
);
export type ResourcesConfig = z.output<typeof resourcesSchema>;

/** Timings of one probe, in seconds (except `failureThreshold`, a count). */
const probeTimingSchema = strict(
  {
    /** @default 0 */
    initialDelaySeconds: int(0, 3600).optional(),
    /** @default 10 */
    periodSeconds: int(1, 3600).optional(),
    /** @default 1 */
    timeoutSeconds: int(1, 3600).optional(),
    /** @default 3 */
    failureThreshold: int(1, 1000).optional(),
  },
  'probe timings',
);
export type ProbeTimingConfig = z.output<typeof probeTimingSchema>;

const probesSchema = strict(
  {
    /** Liveness of the `mysql` container (`mysqladmin ping`). */
    liveness: probeTimingSchema,
    /** Readiness of the `mysql` container (a `SELECT 1` over TCP with the `mysql` client). */
    readiness: probeTimingSchema,
    /**
     * A startup probe (`mysqladmin ping`) that holds off liveness until mysqld is up, so crash recovery
     * is never killed; its `periodSeconds × failureThreshold` is the time mysqld gets to start.
     * @default - no startup probe
     */
    startup: probeTimingSchema.optional(),
  },
  'the probes',
);

/**
 * Semi-synchronous replication (mysql84 flavor only; README, "What can be lost (RPO)"): the primary
 * acknowledges a commit only once `waitForReplicaCount` replicas have written it to their relay log
 * (wait point AFTER_SYNC), so a failover to the most advanced replica loses no acknowledged write. Its
 * cost: every commit waits one round trip to a replica, and with no replica acknowledging, a commit
 * stalls up to `timeoutSeconds` before the primary falls back to asynchronous replication (the alert
 * `MySQLSemiSyncFellBackToAsync` reports it).
 */
const semiSyncSchema = strict(
  {
    /**
     * Load the semi-sync plugins on every pod, enable the source side on the primary and the replica side
     * on the replicas (roles move with the switchover Job and the sidecar).
     * @default false
     */
    enabled: bool().default(false),
    /**
     * How long a commit waits for the acknowledgements before the primary falls back to asynchronous
     * replication (`rpl_semi_sync_source_timeout`, in milliseconds there). Whole milliseconds.
     * @default 10
     */
    timeoutSeconds: z
      .number({
        error: 'expected a number of seconds above 0, at most 3600, in whole milliseconds (e.g. 0.5 or 10)',
      })
      .gt(0, {
        error: 'expected a number of seconds above 0, at most 3600, in whole milliseconds (e.g. 0.5 or 10)',
      })
      .max(3600, {
        error: 'expected a number of seconds above 0, at most 3600, in whole milliseconds (e.g. 0.5 or 10)',
      })
      .refine((v) => Number.isInteger(Math.round(v * 1e6) / 1e3), {
        error: 'expected a number of seconds above 0, at most 3600, in whole milliseconds (e.g. 0.5 or 10)',
      })
      .default(10),
    /**
     * How many replicas must acknowledge each commit (`rpl_semi_sync_source_wait_for_replica_count`);
     * at most replicas - 1.
     * @default 1
     */
    waitForReplicaCount: int(1, 99).default(1),
  },
  'the semi-synchronous replication settings',
);

/**
 * How replicas report readiness. The xtrabackup sidecar checks replication every few seconds and its
 * readiness probe reports the verdict, so a replica that stopped replicating leaves the read Service.
 */
const replicationSchema = strict(
  {
    /**
     * `replicating`: a replica is Ready only while both replication threads run and it lags at most
     * `maxLagSeconds`; `serving` (the off switch): Ready once its sidecar serves backups, whatever
     * replication does (the reason is still logged).
     * @default 'replicating'
     */
    readiness: member(REPLICA_READINESS).default('replicating'),
    /**
     * The most `Seconds_Behind_Source` (`Seconds_Behind_Master` on 5.7) a Ready replica may have.
     * @default 60
     */
    maxLagSeconds: int(0, 86400).default(60),
    /** @default - off: asynchronous replication */
    semiSync: semiSyncSchema.prefault({}),
  },
  'the replication settings',
);

/** How the switchover Job (charts/switchover-chart.ts) moves the primary to `primary`. */
const switchoverSchema = strict(
  {
    /**
     * A planned switchover refuses a target whose `Seconds_Behind_Source` is larger: it would keep the
     * primary fenced (writes refused) while the target catches up.
     * @default 5
     */
    maxLagSeconds: int(0, 3600).default(5),
    /**
     * How long the fenced primary waits for the target to apply every transaction
     * (`WAIT_FOR_EXECUTED_GTID_SET`); on timeout the old primary is unfenced and the Job fails.
     * @default 30
     */
    waitSeconds: int(1, 3600).default(30),
    /** The Job's container. @default - 50m/64Mi requests, 500m/128Mi limits */
    resources: resourcesSchema.prefault({
      cpuRequest: '50m',
      memoryRequest: '64Mi',
      cpuLimit: '500m',
      memoryLimit: '128Mi',
    }),
  },
  'the switchover settings',
);

/** Where the pods may run. */
const placementSchema = strict(
  {
    /**
     * CPU architectures the images support; the pods are pinned to them with a required node
     * affinity on `kubernetes.io/arch`.
     * @default - no architecture constraint (multi-arch images)
     */
    architectures: list(member(CPU_ARCHITECTURES), '["amd64"]').default([]),
    /**
     * Extra node labels every pod's node must carry.
     * @default {}
     */
    nodeSelector: labels().default({}),
  },
  'the placement',
);

const cnfKey = () =>
  text(
    /^[-._a-zA-Z0-9]+\.cnf$/,
    'expected a ConfigMap key ending in ".cnf" (letters, digits, "-", "_" and "."), since mysqld only reads *.cnf from conf.d',
    253,
  );
const cnfText = () =>
  text(/^\s*(#.*\n\s*)*\[mysqld\]/m, 'expected MySQL option file text with a "[mysqld]" section');

/** MySQL server configuration files, delivered through the ConfigMap. */
const mysqlFilesSchema = strict(
  {
    /** ConfigMap key of the primary's config file (ordinal 0). */
    primaryKey: cnfKey(),
    /** Contents of the primary's config file. */
    primary: cnfText(),
    /** ConfigMap key of the replicas' config file (ordinal ≥ 1). */
    replicaKey: cnfKey(),
    /** Contents of the replicas' config file. */
    replica: cnfText(),
  },
  'the MySQL option files',
);

/**
 * Generates an External Secrets Operator `ExternalSecret` that fills the credentials Secret from a
 * secret store such as AWS Secrets Manager.
 */
const externalSecretSchema = strict(
  {
    /** Name of the (Cluster)SecretStore to read from. */
    secretStoreName: dnsSubdomain(),
    /** @default 'ClusterSecretStore' */
    secretStoreKind: member(SECRET_STORE_KINDS).default('ClusterSecretStore'),
    /** The secret's name in the store, e.g. the AWS Secrets Manager secret `prod/mysql`. */
    remoteKey: text(
      /^[A-Za-z0-9/_+=.@-]{1,512}$/,
      'expected a secret name such as "prod/mysql" (letters, digits and /_+=.@-)',
    ),
    /** How often the operator re-reads the store. @default '1h' */
    refreshInterval: text(/^(\d+(h|m|s))+$/, 'expected a duration such as "1h", "30m" or "1h30m"').default(
      '1h',
    ),
  },
  'an ExternalSecret',
);

/** Where the MySQL passwords come from. Nothing secret is ever written into `dist/`. */
const credentialsSchema = strict(
  {
    /**
     * Name of the Secret (in the stack's namespace) holding the passwords under the keys `root-password`
     * and `replication-password`. Created by the user (see README) unless `externalSecret` is set.
     */
    secretName: dnsSubdomain(),
    /** The dedicated replication and backup user. @default 'repl' */
    replicationUser: text(
      /^(?!root$)[A-Za-z0-9_]{1,32}$/,
      'expected a MySQL user name of 1 to 32 letters, digits and "_", other than "root"',
    ).default('repl'),
    /** @default - the user creates the Secret */
    externalSecret: externalSecretSchema.optional(),
  },
  'the credentials',
);

/** Seconds in a Go duration of hours, minutes and seconds (as cert-manager reads it), or undefined. */
export function goDurationSeconds(d: string): number | undefined {
  const m = /^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(d);
  return m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : undefined;
}
const DURATION_ALLOWED =
  'expected a duration of at least 1h such as "2160h" (cert-manager takes hours, minutes and seconds)';
const RENEW_ALLOWED = (duration: string) =>
  `expected a duration of at least 5m and shorter than tls.duration (${show(duration)}), such as "720h"`;
const goDuration = (allowed: string) => text(/^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/, allowed);

/** A cert-manager issuer you run yourself, e.g. a ClusterIssuer backed by your company's CA. */
const tlsIssuerSchema = strict(
  {
    /** The Issuer's or ClusterIssuer's name. */
    name: dnsSubdomain(),
    /** `Issuer` must live in the stack's namespace. @default 'ClusterIssuer' */
    kind: member(ISSUER_KINDS).default('ClusterIssuer'),
    /** API group of the issuer (another for external issuers, e.g. `awspca.cert-manager.io`). @default 'cert-manager.io' */
    group: dnsSubdomain().default('cert-manager.io'),
  },
  'a cert-manager issuer',
);

/**
 * Authenticated TLS from cert-manager (which must be installed in the cluster): a server certificate
 * for mysqld and the backup stream, a client certificate for replication and clones. mysqld requires
 * TLS from every TCP client (`require_secure_transport=ON`), replicas verify the primary's name, the
 * replication user must present the client certificate, and the backup port serves only holders of it.
 * Renewed certificates reach mysqld without a restart (`ALTER INSTANCE RELOAD TLS`).
 */
const tlsSchema = strict(
  {
    /**
     * Who signs the certificates.
     * @default - a bootstrap CA in the namespace: a self-signed Issuer signs a CA Certificate
     * (`<name>-ca`), whose Issuer signs the server and client certificates
     */
    issuer: tlsIssuerSchema.optional(),
    /** Lifetime of the server and client certificates. @default '2160h' (90 days) */
    duration: goDuration(DURATION_ALLOWED).default('2160h'),
    /** Renew this long before expiry; less than `duration`. @default '720h' (30 days) */
    renewBefore: goDuration(
      'expected a duration of at least 5m and shorter than tls.duration, such as "720h" (hours, minutes and seconds)',
    ).default('720h'),
    /** The cluster's DNS domain, for the certificates' DNS names. @default 'cluster.local' */
    clusterDomain: dnsSubdomain().default('cluster.local'),
    /** Seconds between the `tls-reload` container's checks of the mounted certificate files. @default 30 */
    reloadPollSeconds: int(1, 3600).default(30),
    /** Resources of the `tls-reload` container. @default - 10m/16Mi requests, 100m/64Mi limits */
    reloaderResources: resourcesSchema.prefault({
      cpuRequest: '10m',
      memoryRequest: '16Mi',
      cpuLimit: '100m',
      memoryLimit: '64Mi',
    }),
  },
  'the TLS settings',
);

/** Pod hardening. */
const securitySchema = strict(
  {
    /**
     * The Pod Security Standards level the pods meet; the namespace is labelled to enforce it.
     * `restricted` runs every container as uid 999, non-root, without privilege escalation or
     * capabilities, with the RuntimeDefault seccomp profile.
     */
    podSecurity: member(POD_SECURITY_LEVELS),
    /** Read-only root filesystems, with emptyDirs for the paths the images write. @default false */
    readOnlyRootFilesystem: bool().default(false),
  },
  'the security settings',
);

/**
 * The pods' PriorityClass (`priorityClassName`): how the scheduler ranks them against other pods when a
 * node or zone runs short, and whether it may evict lower-priority pods to place them.
 */
const priorityClassSchema = strict(
  {
    /** The PriorityClass the pods name. A DNS-1123 subdomain; only an existing class may start with `system-`. */
    name: dnsSubdomain(),
    /**
     * Create the PriorityClass (cluster-scoped, in `dist/<profile>/`) with this priority, 0 to 1000000000
     * (higher values are reserved for the `system-` classes). It is never the cluster's global default.
     * @default - not created: the pods name a class a cluster admin created (README, "Policy checks")
     */
    value: int(0, 1_000_000_000).optional(),
    /** Whether these pods may evict lower-priority pods; only with `value`. @default 'PreemptLowerPriority' */
    preemptionPolicy: member(PREEMPTION_POLICIES).optional(),
    /** The created class's description; only with `value`. @default - a sentence naming the StatefulSet */
    description: text(/\S/, 'expected a description (any non-blank text)').optional(),
  },
  'the PriorityClass',
);

/** How the pods ride out node failures, zone failures and voluntary disruptions. */
const availabilitySchema = strict(
  {
    /** Spread the pods over `topology.kubernetes.io/zone` (maxSkew 1, DoNotSchedule). @default false */
    spreadAcrossZones: bool().optional(),
    /** Never schedule two pods on one node (required pod anti-affinity). @default false */
    onePodPerNode: bool().optional(),
    /**
     * A PodDisruptionBudget allowing this many pods down at once during drains and upgrades.
     * @default - no PodDisruptionBudget
     */
    maxUnavailable: int(1, 100).optional(),
  },
  'the availability settings',
);

/** A client allowed to reach MySQL on `mysqlPort` through the NetworkPolicy. */
const networkClientSchema = strict(
  {
    /** The client's namespace. */
    namespace: dnsLabel(),
    /** @default - every pod in that namespace */
    podLabels: labels().optional(),
  },
  'a NetworkPolicy client',
);

const networkPolicySchema = strict(
  {
    /** Who may connect to MySQL. The pods always reach each other (3306, backup port) and DNS. */
    clients: list(networkClientSchema, '[{ namespace: "app" }]'),
  },
  'the NetworkPolicy settings',
);

/** An Argo CD Application for the profile, written to `dist/argocd/<profile>.k8s.yaml`. */
const argoCdApplicationSchema = strict(
  {
    /** The GitOps repository holding this project's `dist/`. */
    repoURL: text(
      /^(https:\/\/|ssh:\/\/|git@)[^\s]+$/,
      'expected a Git URL such as "https://github.com/org/gitops.git" or "git@github.com:org/gitops.git"',
    ),
    /** @default 'main' */
    targetRevision: text(/^[^\s]+$/, 'expected a branch, tag or commit').default('main'),
    /** @default 'dist/<profile>' */
    path: text(
      /^(?!.*(^|\/)\.\.(\/|$))[\w.-]+(\/[\w.-]+)*$/,
      'expected a relative path inside the repository, such as "dist/production"',
    ).optional(),
    /** Namespace Argo CD runs in. @default 'argocd' */
    namespace: dnsLabel().default('argocd'),
    /** @default 'default' */
    project: dnsSubdomain().default('default'),
    /** @default 'https://kubernetes.default.svc' (the cluster Argo CD runs in) */
    destinationServer: text(/^https:\/\/[^\s]+$/, 'expected an https:// API server URL').default(
      'https://kubernetes.default.svc',
    ),
    /** Sync automatically, pruning and self-healing (protected objects are still never pruned). @default true */
    automated: bool().default(true),
    /** Compare with Server-Side Diff (Argo CD 2.10 and later). @default false */
    serverSideDiff: bool().default(false),
  },
  'an Argo CD Application',
);

/** Thresholds of the alerts (`monitoring-rules.ts`); every one is in the README's Monitoring section. */
const alertsSchema = strict(
  {
    /** `MySQLReplicationLagging` fires above this many seconds behind the source. @default 300 */
    replicationLagSeconds: int(1, 86400).default(300),
    /** `MySQLTooManyConnections` fires above this share of `max_connections`, in percent. @default 80 */
    connectionsPercent: int(1, 100).default(80),
    /** `MySQLVolumeNearlyFull` fires when less than this share of a data volume is free, in percent. @default 10 */
    volumeFreePercent: int(1, 99).default(10),
    /** `MySQLRestarted` fires while mysqld's uptime is below this many seconds. @default 600 */
    restartedWithinSeconds: int(60, 86400).default(600),
    /** `MySQLBinlogGrowing` fires when the binary logs grew by more than this in an hour. @default '1Gi' */
    binlogGrowthPerHour: quantity('1Gi').default('1Gi'),
    /** The backup CronJob (in the stack's namespace) the backup alerts watch. @default '<name>-backup' */
    backupCronJob: cronJobName().optional(),
    /** `MySQLBackupStale` fires when its last success is older than this. @default 26 */
    backupMaxAgeHours: int(1, 24 * 366).default(26),
    /** The restore-drill CronJob the restore-drill alerts watch. @default '<name>-restore-drill' */
    restoreDrillCronJob: cronJobName().optional(),
    /** `MySQLRestoreDrillStale` fires when its last success is older than this. @default 192 (8 days) */
    restoreDrillMaxAgeHours: int(1, 24 * 366).default(192),
  },
  'the alert thresholds',
);

/** The mysqld_exporter sidecar, the Prometheus Operator objects, the alerts and the Grafana dashboard. */
const monitoringSchema = strict(
  {
    /** Run the mysqld_exporter sidecar (container `exporter`, port `metrics`) in every pod. @default true */
    exporter: bool().default(true),
    /** @default 'prom/mysqld-exporter:v0.20.0' */
    image: image().default(DEFAULT_EXPORTER_IMAGE),
    /** The exporter's metrics port. @default 9104 */
    port: int(1, 65535).default(9104),
    /** The exporter's MySQL user, created by the primary's sidecar. @default 'exporter' */
    user: text(
      /^(?!root$)[A-Za-z0-9_]{1,32}$/,
      'expected a MySQL user name of 1 to 32 letters, digits and "_", other than "root"',
    ).default('exporter'),
    /** @default { cpuRequest: '50m', memoryRequest: '64Mi', cpuLimit: '250m', memoryLimit: '128Mi' } */
    resources: resourcesSchema.default({
      cpuRequest: '50m',
      memoryRequest: '64Mi',
      cpuLimit: '250m',
      memoryLimit: '128Mi',
    }),
    /**
     * Generate a PodMonitor and a PrometheusRule (the Prometheus Operator's CRDs must be installed);
     * `false`: the alerts as a rules-file ConfigMap, scraped with the README's plain scrape config.
     * @default true
     */
    prometheusOperator: bool().default(true),
    /** The PodMonitor's scrape interval. @default '30s' */
    scrapeInterval: text(/^[1-9]\d*(s|m|h)$/, 'expected a duration such as "30s" or "1m"').default('30s'),
    /**
     * Labels on the PodMonitor and PrometheusRule that the Prometheus' `podMonitorSelector` and
     * `ruleSelector` match (kube-prometheus-stack: `release: <its release name>`).
     * @default {}
     */
    selectorLabels: labels().default({}),
    /** Who may scrape the metrics port through the NetworkPolicy. @default [{ namespace: 'monitoring' }] */
    scrapers: list(networkClientSchema, '[{ namespace: "monitoring" }]').default([
      { namespace: 'monitoring' },
    ]),
    /** A Grafana dashboard ConfigMap labelled `grafana_dashboard: "1"`. @default true */
    dashboard: bool().default(true),
    /**
     * The README the alerts' `runbook_url`s point into (each alert adds `#<its anchor>`).
     * @default - derived from a GitHub `gitops.argocd.repoURL` and its `targetRevision`; otherwise the
     * relative path `README.md` (set it to make the runbook a link in your alerts)
     */
    runbookUrl: text(
      /^https?:\/\/[^\s#]+$/,
      'expected the http(s) URL of this project\'s README.md, without "#"',
    ).optional(),
    alerts: alertsSchema.prefault({}),
  },
  'the monitoring settings',
);

const gitOpsSchema = strict(
  {
    /** @default 'forbid' */
    protection: member(ARGOCD_PROTECTIONS).default('forbid'),
    /** @default - no Application is generated */
    argocd: argoCdApplicationSchema.optional(),
  },
  'the GitOps settings',
);

const fields = strict(
  {
    /** Profile name; the output folder is `dist/<profile>/`. A DNS-1123 label. */
    profile: dnsLabel(),
    /**
     * Name of the StatefulSet, its headless Service and the `app` label (pods are `<name>-N`, reachable as
     * `<name>-N.<name>`); the read Service is `<name>-read`, the ConfigMap `<name>-config`. DNS-1123 label.
     */
    name: dnsLabel(),
    /** Namespace of every namespaced object; the chart creates it. DNS-1123 label. */
    namespace: dnsLabel(),
    /** Number of MySQL pods: ordinal `primary` (0 by default) is the primary, the rest are read replicas. At least 1. */
    replicas: int(1, 100),
    /**
     * The ordinal of the primary. Changing it is the only way the primary moves: the switchover Job
     * (mysql84) fences the old primary, waits for the new one to apply every transaction, promotes it and
     * repoints the others (README, "Planned switchover"). The mysql57 flavor (the workshop) keeps 0.
     * @default 0
     */
    primary: int(0, 99).default(0),
    /**
     * Emergency failover: when the current primary does not answer, the switchover Job promotes `primary`
     * if it is the most advanced reachable replica, without the old primary (asynchronous replication:
     * what never reached a replica is lost; README, "Failover"). Set it back to false afterwards.
     * @default false
     */
    failover: bool().default(false),
    /** @default - maxLagSeconds 5, waitSeconds 30 */
    switchover: switchoverSchema.prefault({}),
    /** MySQL major version family; selects the scripts and SQL dialect. */
    flavor: member(MYSQL_FLAVORS),
    images: imagesSchema,
    storage: storageSchema,
    mysqlFiles: mysqlFilesSchema,
    /**
     * Added to the pod ordinal to make the MySQL `server-id` (0 is reserved by MySQL).
     * @default 100
     */
    serverIdOffset: int(1, 4294967295 - 100).default(100),
    /** @default 3306 */
    mysqlPort: int(1, 65535).default(3306),
    /** Port on which the sidecar streams backups to the next peer. @default 3307 */
    backupPort: int(1, 65535).default(3307),
    resources: strict(
      {
        mysql: resourcesSchema,
        xtrabackup: resourcesSchema,
        /** The init containers (`init-mysql`, `clone-mysql`). @default - none */
        init: resourcesSchema.optional(),
      },
      'the resources of each container',
    ),
    probes: probesSchema,
    /** @default - replicas are Ready only while replicating, at most 60 s behind */
    replication: replicationSchema.prefault({}),
    /**
     * Add the Service `<name>-primary` (ClusterIP, pod 0 only, while Ready) for writers.
     * @default false
     */
    primaryService: bool().default(false),
    /** @default - anywhere */
    placement: placementSchema.prefault({}),
    /**
     * Passwords for root and the replication user. Required by the `mysql84` flavor; the `mysql57`
     * flavor runs the seed's passwordless root and accepts none.
     * @default - none (passwordless root, `MYSQL_ALLOW_EMPTY_PASSWORD`)
     */
    credentials: credentialsSchema.optional(),
    /** @default - baseline, writable root filesystems */
    security: securitySchema.prefault({ podSecurity: 'baseline' }),
    /** @default - no spreading, no PodDisruptionBudget */
    availability: availabilitySchema.prefault({}),
    /** @default - no NetworkPolicy */
    networkPolicy: networkPolicySchema.optional(),
    /** @default - no priorityClassName: the cluster's default priority (usually 0) */
    priorityClass: priorityClassSchema.optional(),
    /**
     * Authenticated TLS with cert-manager certificates; mysql84 flavor only (see README, "TLS").
     * @default - no TLS setup (mysql84: MySQL's self-signed certificates, encrypted but not verified)
     */
    tls: tlsSchema.optional(),
    /**
     * Seconds Kubernetes waits after SIGTERM before killing mysqld; give InnoDB time for a clean shutdown.
     * @default - Kubernetes' default (30)
     */
    terminationGracePeriodSeconds: int(1, 3600).optional(),
    /**
     * Annotate the pod template with a hash of the ConfigMap and the scripts, so that changing either
     * rolls the pods.
     * @default false
     */
    rollOnConfigChange: bool().default(false),
    /**
     * Labels added to every object's metadata (never to selectors, which are immutable).
     * @default {}
     */
    labels: labels().default({}),
    /** Argo CD sync waves are always written; this sets pruning protection and the Application. @default - protection 'forbid', no Application */
    gitops: gitOpsSchema.prefault({}),
    /** Scheduled physical backups to S3 and the restore drill (see `backup-config.ts`). @default - no backups */
    backup: backupSchema.optional(),
    /** Seed mysql-0 of this (new, empty) StatefulSet from a backup. @default - start empty */
    restore: restoreSchema.optional(),
    /** The mysqld_exporter sidecar, alerts and dashboard. @default - all on, default thresholds */
    monitoring: monitoringSchema.prefault({}),
  },
  'a profile config',
);

type Fields = z.output<typeof fields>;

/** Adds a problem at `path` unless `ok`; `AS_WRITTEN` shows the value as the profile wrote it (no defaults). */
type Check = (ok: boolean, path: readonly (string | number)[], value: unknown, allowed: string) => void;
const AS_WRITTEN = Symbol('as written');

/** The rules between fields, and the AWS limits; run once every field has its right type. */
function crossFieldRules(c: Fields, check: Check): void {
  check(
    c.profile !== 'argocd',
    ['profile'],
    c.profile,
    'is reserved for the Argo CD Applications folder dist/argocd/; choose another name',
  );
  // `<name>-read` and pod names `<name>-<ordinal>` must stay valid labels too.
  check(
    c.name.length <= 52,
    ['name'],
    c.name,
    'expected at most 52 characters, so that pod names "<name>-<ordinal>" and their controller-revision label stay within 63',
  );
  check(c.backupPort !== c.mysqlPort, ['backupPort'], c.backupPort, 'must differ from mysqlPort');
  check(
    c.primary < c.replicas,
    ['primary'],
    c.primary,
    `must be the ordinal of an existing pod, below replicas (${c.replicas}): ${c.name}-0 … ${c.name}-${c.replicas - 1}; raise replicas or choose another primary`,
  );
  if (c.flavor === 'mysql57') {
    check(
      c.primary === 0,
      ['primary'],
      c.primary,
      "must be 0 with the mysql57 flavor: it keeps the workshop page's fixed primary (file/position replication, no switchover Job); use mysql84 to move the primary",
    );
    check(
      !c.failover,
      ['failover'],
      c.failover,
      'is only for the mysql84 flavor (the switchover Job); remove it',
    );
    check(
      !c.replication.semiSync.enabled,
      ['replication', 'semiSync', 'enabled'],
      c.replication.semiSync.enabled,
      'is only for the mysql84 flavor: the mysql57 flavor (the workshop) keeps the page\'s asynchronous replication; remove it or use flavor "mysql84"',
    );
  }
  if (c.replication.semiSync.enabled)
    check(
      c.replication.semiSync.waitForReplicaCount <= c.replicas - 1,
      ['replication', 'semiSync', 'waitForReplicaCount'],
      c.replication.semiSync.waitForReplicaCount,
      c.replicas > 1
        ? `must be at most replicas - 1 (${c.replicas - 1}): only the replicas acknowledge a commit; lower it or raise replicas`
        : 'needs a replica to acknowledge commits, and replicas is 1: raise replicas or disable semiSync',
    );
  check(
    c.mysqlFiles.primaryKey !== c.mysqlFiles.replicaKey,
    ['mysqlFiles', 'replicaKey'],
    c.mysqlFiles.replicaKey,
    'must differ from mysqlFiles.primaryKey',
  );

  // Storage: fields that only some volume types take, and the EBS limits of the type.
  const s = c.storage;
  const limits = EBS_LIMITS[s.volumeType];
  if (s.kmsKeyId !== undefined)
    check(
      s.encrypted,
      ['storage', 'kmsKeyId'],
      s.kmsKeyId,
      'is only used when storage.encrypted is true; set encrypted: true or remove kmsKeyId',
    );
  // The seed's `debug` is an ext2/3/4 option; XFS refuses it ("xfs: Unknown parameter 'debug'"), so
  // every volume would fail to mount and every pod stay ContainerCreating.
  if (s.fsType === 'xfs')
    check(
      !(s.mountOptions ?? []).includes('debug'),
      ['storage', 'mountOptions'],
      s.mountOptions,
      'contains "debug", which XFS refuses at mount time (storage.fsType is "xfs"); remove "debug" or use fsType "ext4"',
    );
  const gib = Math.ceil(parseQuantity(s.size)! / 2 ** 30); // the driver rounds up to whole GiB
  check(
    gib >= limits.minGiB,
    ['storage', 'size'],
    s.size,
    `EBS ${s.volumeType} volumes are at least ${limits.minGiB}Gi; use "${limits.minGiB}Gi" or more`,
  );
  check(
    gib <= limits.maxGiB,
    ['storage', 'size'],
    s.size,
    `EBS ${s.volumeType} volumes are at most ${gibQuantity(limits.maxGiB)} (${limits.maxGiB} GiB); use "${gibQuantity(limits.maxGiB)}" or less`,
  );
  if (s.iops !== undefined && limits.iops === undefined) {
    check(
      false,
      ['storage', 'iops'],
      s.iops,
      `is only accepted for volume types ${oneOf(EBS_IOPS_TYPES)}, not ${show(s.volumeType)}; remove it or change storage.volumeType`,
    );
  } else if (limits.iops !== undefined) {
    const l = limits.iops;
    check(
      s.iops !== undefined || l.baseline > 0,
      ['storage', 'iops'],
      s.iops,
      `is required for EBS ${s.volumeType} volumes (${l.min} to ${l.max} IOPS, at most ${l.perGiB} per GiB)`,
    );
    if (s.iops !== undefined) {
      check(
        s.iops >= l.min && s.iops <= l.max,
        ['storage', 'iops'],
        s.iops,
        `EBS ${s.volumeType} volumes take ${l.min} to ${l.max} IOPS`,
      );
      const most = Math.max(l.baseline, l.perGiB * gib);
      check(
        s.iops <= most,
        ['storage', 'iops'],
        s.iops,
        `EBS ${s.volumeType} allows at most ${l.perGiB} IOPS per GiB, ${most} for ${show(s.size)}; ` +
          `lower iops or raise storage.size to "${Math.ceil(s.iops / l.perGiB)}Gi"`,
      );
    }
  }
  if (s.throughput !== undefined && limits.throughput === undefined) {
    check(
      false,
      ['storage', 'throughput'],
      s.throughput,
      `is only accepted for volume type "gp3", not ${show(s.volumeType)}; remove it or use volumeType "gp3"`,
    );
  } else if (s.throughput !== undefined && limits.throughput !== undefined) {
    const l = limits.throughput;
    const iops = s.iops ?? limits.iops?.baseline ?? 0;
    const most = Math.max(l.baseline, Math.floor(l.perIops * iops));
    check(
      s.throughput <= most,
      ['storage', 'throughput'],
      s.throughput,
      `EBS ${s.volumeType} allows at most ${l.perIops} MiB/s per provisioned IOPS, ${most} MiB/s for ${iops} IOPS; ` +
        `lower throughput or raise storage.iops to ${Math.ceil(s.throughput / l.perIops)}`,
    );
  }

  // Resources: a request above its limit is refused by the API server.
  const resources: [string, ResourcesConfig | undefined][] = [
    ['mysql', c.resources.mysql],
    ['xtrabackup', c.resources.xtrabackup],
    ['init', c.resources.init],
    ['monitoring', c.monitoring.resources],
  ];
  for (const [container, r] of resources) {
    if (r === undefined) continue;
    for (const kind of ['cpu', 'memory'] as const) {
      const req = r[`${kind}Request`];
      const lim = r[`${kind}Limit`];
      if (req === undefined || lim === undefined) continue;
      const at = container === 'monitoring' ? ['monitoring', 'resources'] : ['resources', container];
      check(
        parseQuantity(req)! <= parseQuantity(lim)!,
        [...at, `${kind}Request`],
        req,
        `must not exceed ${at.join('.')}.${kind}Limit (${show(lim)}); raise the limit or lower the request`,
      );
    }
  }

  if (c.flavor === 'mysql57') {
    check(
      c.placement.architectures.length === 1 && c.placement.architectures[0] === 'amd64',
      ['placement', 'architectures'],
      c.placement.architectures,
      'must be ["amd64"] for the mysql57 flavor: mysql:5.7 and XtraBackup 2.4 are published for amd64 only',
    );
    check(
      c.credentials === undefined,
      ['credentials'],
      AS_WRITTEN,
      'is not supported by the mysql57 flavor, which runs the seed\'s passwordless root; use flavor "mysql84" or remove credentials',
    );
  }
  if (c.tls !== undefined) {
    check(
      c.flavor === 'mysql84',
      ['tls'],
      AS_WRITTEN,
      'is supported by the mysql84 flavor only; the mysql57 flavor keeps the workshop page\'s open setup (remove tls or use flavor "mysql84")',
    );
    const duration = goDurationSeconds(c.tls.duration)!;
    const renewBefore = goDurationSeconds(c.tls.renewBefore)!;
    check(duration >= 3600, ['tls', 'duration'], c.tls.duration, DURATION_ALLOWED);
    check(
      renewBefore >= 300 && renewBefore < duration,
      ['tls', 'renewBefore'],
      c.tls.renewBefore,
      RENEW_ALLOWED(c.tls.duration),
    );
    for (const kind of ['cpu', 'memory'] as const) {
      const req = c.tls.reloaderResources[`${kind}Request`];
      const lim = c.tls.reloaderResources[`${kind}Limit`];
      if (req === undefined || lim === undefined) continue;
      check(
        parseQuantity(req)! <= parseQuantity(lim)!,
        ['tls', 'reloaderResources', `${kind}Request`],
        req,
        `must not exceed tls.reloaderResources.${kind}Limit (${show(lim)}); raise the limit or lower the request`,
      );
    }
    for (const key of ['primaryKey', 'replicaKey'] as const)
      check(
        c.mysqlFiles[key] !== 'tls.cnf',
        ['mysqlFiles', key],
        c.mysqlFiles[key],
        'must not be "tls.cnf" with tls set: that ConfigMap key holds the TLS options; choose another name',
      );
  }
  if (c.flavor === 'mysql84')
    check(
      c.credentials !== undefined,
      ['credentials'],
      c.credentials,
      'is required by the mysql84 flavor: set credentials.secretName (no empty passwords)',
    );
  check(!('app' in c.labels), ['labels'], 'app', 'is reserved: "app" is the selector label, set from name');
  backupRules(c, check);

  // Monitoring
  const m = c.monitoring;
  check(
    m.port !== c.mysqlPort && m.port !== c.backupPort,
    ['monitoring', 'port'],
    m.port,
    `must differ from mysqlPort (${c.mysqlPort}) and backupPort (${c.backupPort})`,
  );

  const pc = c.priorityClass;
  if (pc?.value !== undefined) {
    // The API server refuses to create a PriorityClass named system-*.
    check(
      !pc.name.startsWith('system-'),
      ['priorityClass', 'name'],
      pc.name,
      'starts with "system-", which is reserved for Kubernetes\' own classes: choose another name, or remove priorityClass.value to use an existing class',
    );
  } else if (pc !== undefined) {
    for (const f of ['preemptionPolicy', 'description'] as const)
      check(
        pc[f] === undefined,
        ['priorityClass', f],
        pc[f],
        'applies only to a PriorityClass this stack creates: set priorityClass.value, or set it on your existing class',
      );
  }
}

/** The README of the GitOps repository, when it is on GitHub. */
const runbookFromGitOps = (c: Fields) =>
  c.gitops.argocd && githubReadme(c.gitops.argocd.repoURL, c.gitops.argocd.targetRevision);

/** The whole schema: every field, then the rules between them, then the defaults that depend on others. */
export const mysqlStackConfigSchema = fields
  .superRefine((c, ctx) => {
    // Zod runs refinements after continuable issues too; the rules need every field well-typed.
    if (ctx.issues.length > 0) return;
    crossFieldRules(c, (ok, path, value, allowed) => {
      if (!ok)
        ctx.addIssue({
          code: 'custom',
          path: [...path],
          input: value,
          message: allowed,
          params: {
            subject: path.length === 1 && path[0] === 'labels' ? 'key' : undefined,
            asWritten: value === AS_WRITTEN,
          },
        });
    });
  })
  .transform((c) => ({
    ...c,
    backup: resolveBackup(c),
    monitoring: {
      ...c.monitoring,
      runbookUrl: c.monitoring.runbookUrl ?? runbookFromGitOps(c) ?? 'README.md',
      alerts: {
        ...c.monitoring.alerts,
        backupCronJob: c.monitoring.alerts.backupCronJob ?? `${c.name}-backup`,
        restoreDrillCronJob: c.monitoring.alerts.restoreDrillCronJob ?? `${c.name}-restore-drill`,
      },
    },
    gitops: {
      ...c.gitops,
      argocd: c.gitops.argocd && { ...c.gitops.argocd, path: c.gitops.argocd.path ?? `dist/${c.profile}` },
    },
  }));

/** A profile's config as written in `profiles.ts`: optional fields may be left out. */
export type MysqlStackConfig = z.input<typeof mysqlStackConfigSchema>;
/** A config whose optional fields are all filled in, as the charts consume it. */
export type ResolvedConfig = z.output<typeof mysqlStackConfigSchema>;

/**
 * Checks every field of a profile's config and fills in the defaults.
 * @throws ConfigError listing every problem, each naming the field, the bad value and what is allowed.
 */
export function validateConfig(config: MysqlStackConfig): ResolvedConfig {
  const result = mysqlStackConfigSchema.safeParse(config, { reportInput: true });
  if (result.success) return result.data;
  const profile = (config as { profile?: unknown } | undefined)?.profile;
  throw new ConfigError(String(profile), problemsOf(mysqlStackConfigSchema, config, result.error.issues));
}
