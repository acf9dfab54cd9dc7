/**
 * The typed configuration of one deployment of the replicated MySQL stack.
 *
 * A *profile* (see `profiles.ts`) is a named, complete `MysqlStackConfig`. Every field is checked by
 * `validateConfig` before any chart is built, so a bad value fails the synth with a message that names
 * the field, the value and what is allowed, and `dist/` is never touched.
 */

/** The MySQL major version family; each flavor has its own scripts under `charts/scripts/<flavor>/`. */
export type MysqlFlavor = 'mysql57' | 'mysql84';
export const MYSQL_FLAVORS: readonly MysqlFlavor[] = ['mysql57', 'mysql84'];

/** EBS volume types accepted by the `ebs.csi.aws.com` driver's `type` parameter. */
export type EbsVolumeType = 'gp2' | 'gp3' | 'io1' | 'io2' | 'st1' | 'sc1' | 'standard';
export const EBS_VOLUME_TYPES: readonly EbsVolumeType[] = [
  'gp2',
  'gp3',
  'io1',
  'io2',
  'st1',
  'sc1',
  'standard',
];

export type FsType = 'ext4' | 'xfs' | 'ext3' | 'ext2';
export const FS_TYPES: readonly FsType[] = ['ext4', 'xfs', 'ext3', 'ext2'];

export type ReclaimPolicy = 'Delete' | 'Retain';
export const RECLAIM_POLICIES: readonly ReclaimPolicy[] = ['Delete', 'Retain'];

export type ImagePullPolicy = 'IfNotPresent' | 'Always' | 'Never';
export const IMAGE_PULL_POLICIES: readonly ImagePullPolicy[] = ['IfNotPresent', 'Always', 'Never'];

export type CpuArchitecture = 'amd64' | 'arm64';
export const CPU_ARCHITECTURES: readonly CpuArchitecture[] = ['amd64', 'arm64'];

/** Container images. Tags or digests (`repo@sha256:…`) are both accepted. */
export interface ImagesConfig {
  /** The MySQL server image, also used by the `init-mysql` init container. */
  readonly mysql: string;
  /** The Percona XtraBackup image used by the `clone-mysql` init container and the `xtrabackup` sidecar. */
  readonly xtrabackup: string;
  /**
   * @default 'IfNotPresent'
   */
  readonly pullPolicy?: ImagePullPolicy;
}

/** The StorageClass for the EBS CSI driver and the per-pod volume claimed from it. */
export interface StorageConfig {
  /** Name of the StorageClass (cluster-scoped). */
  readonly storageClassName: string;
  /** EBS volume type (`type` parameter of `ebs.csi.aws.com`). */
  readonly volumeType: EbsVolumeType;
  /** Encrypt the EBS volumes. */
  readonly encrypted: boolean;
  /**
   * KMS key ARN for encryption; requires `encrypted: true`.
   * @default - the account's default EBS key (aws/ebs)
   */
  readonly kmsKeyId?: string;
  /**
   * Provisioned IOPS; only for `gp3`, `io1`, `io2`.
   * @default - the volume type's baseline
   */
  readonly iops?: number;
  /**
   * Provisioned throughput in MiB/s; only for `gp3`.
   * @default - the volume type's baseline (125 MiB/s for gp3)
   */
  readonly throughput?: number;
  /**
   * Filesystem created on the volume (`csi.storage.k8s.io/fstype`).
   * @default - the driver's default (ext4); the parameter is omitted
   */
  readonly fsType?: FsType;
  /** What happens to a volume when its claim is deleted. */
  readonly reclaimPolicy: ReclaimPolicy;
  /**
   * Allow growing a claim by editing it.
   * @default - unset (Kubernetes treats it as false)
   */
  readonly allowVolumeExpansion?: boolean;
  /**
   * Mount options for the volumes.
   * @default []
   */
  readonly mountOptions?: readonly string[];
  /** Size of each pod's data volume, a Kubernetes quantity such as `10Gi`. */
  readonly size: string;
  /**
   * Keep the claims (and so the volumes) when the StatefulSet is deleted or scaled down, via
   * `persistentVolumeClaimRetentionPolicy` Retain/Retain.
   * @default - unset: Kubernetes' default, which also retains
   */
  readonly retainClaims?: boolean;
  /** @default - no VolumeSnapshotClass */
  readonly snapshotClass?: SnapshotClassConfig;
}

/** CPU/memory of one container, as Kubernetes quantities. */
export interface ResourcesConfig {
  /** @default - no CPU request */
  readonly cpuRequest?: string;
  /** @default - no memory request */
  readonly memoryRequest?: string;
  /** @default - no CPU limit */
  readonly cpuLimit?: string;
  /** @default - no memory limit */
  readonly memoryLimit?: string;
}

/** Timings of one probe, in seconds (except `failureThreshold`, a count). */
export interface ProbeTimingConfig {
  /** @default 0 */
  readonly initialDelaySeconds?: number;
  /** @default 10 */
  readonly periodSeconds?: number;
  /** @default 1 */
  readonly timeoutSeconds?: number;
  /** @default 3 */
  readonly failureThreshold?: number;
}

export interface ProbesConfig {
  /** Liveness of the `mysql` container (`mysqladmin ping`). */
  readonly liveness: ProbeTimingConfig;
  /** Readiness of the `mysql` container (a `SELECT 1` over TCP with the `mysql` client). */
  readonly readiness: ProbeTimingConfig;
  /**
   * A startup probe (`mysqladmin ping`) that holds off liveness until mysqld is up, so crash recovery
   * is never killed; its `periodSeconds × failureThreshold` is the time mysqld gets to start.
   * @default - no startup probe
   */
  readonly startup?: ProbeTimingConfig;
}

/** Where the pods may run. */
export interface PlacementConfig {
  /**
   * CPU architectures the images support; the pods are pinned to them with a required node
   * affinity on `kubernetes.io/arch`.
   * @default - no architecture constraint (multi-arch images)
   */
  readonly architectures?: readonly CpuArchitecture[];
  /**
   * Extra node labels every pod's node must carry.
   * @default {}
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

/** MySQL server configuration files, delivered through the ConfigMap. */
export interface MysqlFilesConfig {
  /** ConfigMap key of the primary's config file (ordinal 0). */
  readonly primaryKey: string;
  /** Contents of the primary's config file. */
  readonly primary: string;
  /** ConfigMap key of the replicas' config file (ordinal ≥ 1). */
  readonly replicaKey: string;
  /** Contents of the replicas' config file. */
  readonly replica: string;
}

export type PodSecurityLevel = 'baseline' | 'restricted';
export const POD_SECURITY_LEVELS: readonly PodSecurityLevel[] = ['baseline', 'restricted'];

export type SecretStoreKind = 'SecretStore' | 'ClusterSecretStore';
export const SECRET_STORE_KINDS: readonly SecretStoreKind[] = ['SecretStore', 'ClusterSecretStore'];

/**
 * Generates an External Secrets Operator `ExternalSecret` that fills the credentials Secret from a
 * secret store such as AWS Secrets Manager.
 */
export interface ExternalSecretConfig {
  /** Name of the (Cluster)SecretStore to read from. */
  readonly secretStoreName: string;
  /** @default 'ClusterSecretStore' */
  readonly secretStoreKind?: SecretStoreKind;
  /** The secret's name in the store, e.g. the AWS Secrets Manager secret `prod/mysql`. */
  readonly remoteKey: string;
  /** How often the operator re-reads the store. @default '1h' */
  readonly refreshInterval?: string;
}

/** Where the MySQL passwords come from. Nothing secret is ever written into `dist/`. */
export interface CredentialsConfig {
  /**
   * Name of the Secret (in the stack's namespace) holding the passwords under the keys `root-password`
   * and `replication-password`. Created by the user (see README) unless `externalSecret` is set.
   */
  readonly secretName: string;
  /** The dedicated replication and backup user. @default 'repl' */
  readonly replicationUser?: string;
  /** @default - the user creates the Secret */
  readonly externalSecret?: ExternalSecretConfig;
}

/** How the pods ride out node failures, zone failures and voluntary disruptions. */
export interface AvailabilityConfig {
  /** Spread the pods over `topology.kubernetes.io/zone` (maxSkew 1, DoNotSchedule). @default false */
  readonly spreadAcrossZones?: boolean;
  /** Never schedule two pods on one node (required pod anti-affinity). @default false */
  readonly onePodPerNode?: boolean;
  /**
   * A PodDisruptionBudget allowing this many pods down at once during drains and upgrades.
   * @default - no PodDisruptionBudget
   */
  readonly maxUnavailable?: number;
}

/** A client allowed to reach MySQL on `mysqlPort` through the NetworkPolicy. */
export interface NetworkClientConfig {
  /** The client's namespace. */
  readonly namespace: string;
  /** @default - every pod in that namespace */
  readonly podLabels?: Readonly<Record<string, string>>;
}

export interface NetworkPolicyConfig {
  /** Who may connect to MySQL. The pods always reach each other (3306, backup port) and DNS. */
  readonly clients: readonly NetworkClientConfig[];
}

/** An optional VolumeSnapshotClass for the EBS CSI driver. */
export interface SnapshotClassConfig {
  readonly name: string;
  /** What happens to the EBS snapshot when its VolumeSnapshot is deleted. */
  readonly deletionPolicy: ReclaimPolicy;
}

/** Pod hardening. */
export interface SecurityConfig {
  /**
   * The Pod Security Standards level the pods meet; the namespace is labelled to enforce it.
   * `restricted` runs every container as uid 999, non-root, without privilege escalation or
   * capabilities, with the RuntimeDefault seccomp profile.
   */
  readonly podSecurity: PodSecurityLevel;
  /** Read-only root filesystems, with emptyDirs for the paths the images write. @default false */
  readonly readOnlyRootFilesystem?: boolean;
}

/**
 * What Argo CD may do to the objects whose loss loses data or availability (the StatefulSet, the
 * StorageClass, the Namespace, the VolumeSnapshotClass): `forbid` (Prune=false, Delete=false: never
 * pruned, left behind when the Application is deleted), `confirm` (Prune=confirm, Delete=confirm: only
 * after a person approves) or `allow` (no annotation).
 */
export type ArgoCdProtection = 'forbid' | 'confirm' | 'allow';
export const ARGOCD_PROTECTIONS: readonly ArgoCdProtection[] = ['forbid', 'confirm', 'allow'];

/** An Argo CD Application for the profile, written to `dist/argocd/<profile>.k8s.yaml`. */
export interface ArgoCdApplicationConfig {
  /** The GitOps repository holding this project's `dist/`. */
  readonly repoURL: string;
  /** @default 'main' */
  readonly targetRevision?: string;
  /** @default 'dist/<profile>' */
  readonly path?: string;
  /** Namespace Argo CD runs in. @default 'argocd' */
  readonly namespace?: string;
  /** @default 'default' */
  readonly project?: string;
  /** @default 'https://kubernetes.default.svc' (the cluster Argo CD runs in) */
  readonly destinationServer?: string;
  /** Sync automatically, pruning and self-healing (protected objects are still never pruned). @default true */
  readonly automated?: boolean;
  /** Compare with Server-Side Diff (Argo CD 2.10 and later). @default false */
  readonly serverSideDiff?: boolean;
}

export interface GitOpsConfig {
  /** @default 'forbid' */
  readonly protection?: ArgoCdProtection;
  /** @default - no Application is generated */
  readonly argocd?: ArgoCdApplicationConfig;
}

export interface MysqlStackConfig {
  /** Profile name; the output folder is `dist/<profile>/`. A DNS-1123 label. */
  readonly profile: string;
  /**
   * Name of the StatefulSet, its headless Service and the `app` label (pods are `<name>-N`, reachable as
   * `<name>-N.<name>`); the read Service is `<name>-read`, the ConfigMap `<name>-config`. DNS-1123 label.
   */
  readonly name: string;
  /** Namespace of every namespaced object; the chart creates it. DNS-1123 label. */
  readonly namespace: string;
  /** Number of MySQL pods: ordinal 0 is the primary, the rest are read replicas. At least 1. */
  readonly replicas: number;
  /** MySQL major version family; selects the scripts and SQL dialect. */
  readonly flavor: MysqlFlavor;
  readonly images: ImagesConfig;
  readonly storage: StorageConfig;
  readonly mysqlFiles: MysqlFilesConfig;
  /**
   * Added to the pod ordinal to make the MySQL `server-id` (0 is reserved by MySQL).
   * @default 100
   */
  readonly serverIdOffset?: number;
  /** @default 3306 */
  readonly mysqlPort?: number;
  /** Port on which the sidecar streams backups to the next peer. @default 3307 */
  readonly backupPort?: number;
  readonly resources: {
    readonly mysql: ResourcesConfig;
    readonly xtrabackup: ResourcesConfig;
    /** The init containers (`init-mysql`, `clone-mysql`). @default - none */
    readonly init?: ResourcesConfig;
  };
  readonly probes: ProbesConfig;
  /** @default - anywhere */
  readonly placement?: PlacementConfig;
  /**
   * Passwords for root and the replication user. Required by the `mysql84` flavor; the `mysql57`
   * flavor runs the seed's passwordless root and accepts none.
   * @default - none (passwordless root, `MYSQL_ALLOW_EMPTY_PASSWORD`)
   */
  readonly credentials?: CredentialsConfig;
  /** @default - baseline, writable root filesystems */
  readonly security?: SecurityConfig;
  /** @default - no spreading, no PodDisruptionBudget */
  readonly availability?: AvailabilityConfig;
  /** @default - no NetworkPolicy */
  readonly networkPolicy?: NetworkPolicyConfig;
  /**
   * Seconds Kubernetes waits after SIGTERM before killing mysqld; give InnoDB time for a clean shutdown.
   * @default - Kubernetes' default (30)
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * Annotate the pod template with a hash of the ConfigMap and the scripts, so that changing either
   * rolls the pods.
   * @default false
   */
  readonly rollOnConfigChange?: boolean;
  /**
   * Labels added to every object's metadata (never to selectors, which are immutable).
   * @default {}
   */
  readonly labels?: Readonly<Record<string, string>>;
  /** Argo CD sync waves are always written; this sets pruning protection and the Application. @default - protection 'forbid', no Application */
  readonly gitops?: GitOpsConfig;
}

/** A config whose optional fields are all filled in, as the charts consume it. */
export interface ResolvedConfig extends MysqlStackConfig {
  readonly serverIdOffset: number;
  readonly mysqlPort: number;
  readonly backupPort: number;
  readonly images: Required<ImagesConfig>;
  readonly placement: Required<PlacementConfig>;
  readonly credentials?: Required<Omit<CredentialsConfig, 'externalSecret'>> & {
    readonly externalSecret?: Required<ExternalSecretConfig>;
  };
  readonly security: Required<SecurityConfig>;
  readonly availability: AvailabilityConfig;
  readonly rollOnConfigChange: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly gitops: {
    readonly protection: ArgoCdProtection;
    readonly argocd?: Required<ArgoCdApplicationConfig>;
  };
}
