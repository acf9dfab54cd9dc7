import { MysqlStackConfig } from './config';

/**
 * `workshop`: the Amazon EKS workshop's replicated MySQL ("Stateful Container-EBS"), object for object,
 * so that the page's kubectl walkthrough works verbatim against `dist/workshop/`. Changed from the page
 * only where the page no longer works on today's EKS (see README, "What changed from the seed").
 */
export const workshop: MysqlStackConfig = {
  profile: 'workshop',
  name: 'mysql',
  namespace: 'mysql',
  replicas: 2,
  flavor: 'mysql57',
  // Exact versions, never a floating tag (test/images.test.ts); what each image contains, with sources,
  // and how to pin digests: README, "Images".
  images: {
    mysql: 'mysql:5.7.44',
    // gcr.io/google-samples/xtrabackup:1.0 is a schema-1 image on a registry that no longer exists.
    xtrabackup: 'percona/percona-xtrabackup:2.4.29',
  },
  storage: {
    storageClassName: 'mysql-gp2',
    volumeType: 'gp2',
    encrypted: true,
    reclaimPolicy: 'Delete',
    mountOptions: ['debug'],
    size: '10Gi',
  },
  mysqlFiles: {
    primaryKey: 'master.cnf',
    primary: '# Apply this config only on the leader.\n[mysqld]\nlog-bin\n',
    replicaKey: 'slave.cnf',
    replica: '# Apply this config only on followers.\n[mysqld]\nsuper-read-only\n',
  },
  resources: {
    mysql: { cpuRequest: '500m', memoryRequest: '1Gi' },
    xtrabackup: { cpuRequest: '100m', memoryRequest: '100Mi' },
  },
  probes: {
    liveness: { initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5 },
    readiness: { initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 1 },
  },
  placement: {
    // mysql:5.7 and XtraBackup 2.4 are published for amd64 only: keep the pods off Graviton nodes.
    architectures: ['amd64'],
  },
  gitops: {
    // Not 'confirm': Argo CD before 2.14 ignores Prune=confirm/Delete=confirm and would prune the
    // Namespace, and with it the claims of these Delete volumes (README, "GitOps with Argo CD").
    protection: 'forbid',
    argocd: { repoURL: 'https://github.com/example-org/mysql-gitops.git' },
  },
  // The workshop's cluster need not run the Prometheus Operator, and `kubectl apply -f dist/workshop/`
  // must not fail on an unknown kind: the alerts ship as a rules file in a ConfigMap instead of a
  // PrometheusRule, and Prometheus scrapes the pods with the README's plain scrape config.
  monitoring: { prometheusOperator: false },
};

/**
 * `production`: the same topology on supported software, hardened for real data. MySQL 8.4 LTS with
 * GTID replication, passwords from a Secret, Pod Security Standards `restricted`, pods spread over
 * zones and nodes with a PodDisruptionBudget, gp3 volumes that outlive their claims, a NetworkPolicy,
 * and pods that roll when their config changes. See README, "The production profile".
 */
export const production: MysqlStackConfig = {
  profile: 'production',
  name: 'mysql',
  // Its own namespace, so that both profiles (and their Argo CD Applications) can share a cluster.
  namespace: 'mysql-production',
  replicas: 3,
  flavor: 'mysql84',
  // Percona's Operator for MySQL 1.2.0 certifies XtraBackup 8.4.0-6.1 with MySQL 8.4.10 (README, "Images").
  images: {
    mysql: 'mysql:8.4.10',
    xtrabackup: 'percona/percona-xtrabackup:8.4.0-6.1',
  },
  storage: {
    storageClassName: 'mysql-gp3',
    volumeType: 'gp3',
    iops: 3000,
    throughput: 125,
    encrypted: true,
    fsType: 'ext4',
    reclaimPolicy: 'Retain',
    allowVolumeExpansion: true,
    size: '50Gi',
    retainClaims: true,
    snapshotClass: { name: 'mysql-ebs-snapshots', deletionPolicy: 'Retain' },
  },
  mysqlFiles: {
    primaryKey: 'primary.cnf',
    primary: [
      '# Ordinal 0, the primary. Binary logging is on by default in MySQL 8.4.',
      '[mysqld]',
      'gtid_mode=ON',
      'enforce_gtid_consistency=ON',
      'skip_name_resolve=ON',
      'innodb_buffer_pool_size=1G',
      '',
    ].join('\n'),
    replicaKey: 'replica.cnf',
    replica: [
      '# Ordinals 1 and up: read-only replicas of the primary, writable only by replication.',
      '[mysqld]',
      'gtid_mode=ON',
      'enforce_gtid_consistency=ON',
      'skip_name_resolve=ON',
      'innodb_buffer_pool_size=1G',
      'super_read_only=ON',
      '',
    ].join('\n'),
  },
  resources: {
    mysql: { cpuRequest: '1', memoryRequest: '2Gi', cpuLimit: '2', memoryLimit: '2Gi' },
    xtrabackup: { cpuRequest: '100m', memoryRequest: '256Mi', cpuLimit: '1', memoryLimit: '1Gi' },
    init: { cpuRequest: '100m', memoryRequest: '256Mi', cpuLimit: '1', memoryLimit: '1Gi' },
  },
  monitoring: {
    // kube-prometheus-stack selects PodMonitors and PrometheusRules by its release label.
    selectorLabels: { release: 'kube-prometheus-stack' },
    scrapers: [{ namespace: 'monitoring' }],
  },
  probes: {
    liveness: { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    readiness: { periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2 },
    // Up to 30 minutes for crash recovery before liveness takes over.
    startup: { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 180 },
  },
  credentials: {
    secretName: 'mysql-credentials',
    replicationUser: 'repl',
  },
  security: {
    podSecurity: 'restricted',
    readOnlyRootFilesystem: true,
  },
  availability: {
    spreadAcrossZones: true,
    onePodPerNode: true,
    maxUnavailable: 1,
  },
  networkPolicy: {
    clients: [{ namespace: 'app' }],
  },
  // Writers connect to mysql-primary; peers and readers as before.
  primaryService: true,
  // cert-manager certificates from a bootstrap CA in the namespace (see README, "TLS"); set tls.issuer
  // to your own Issuer or ClusterIssuer for production use.
  tls: {},
  terminationGracePeriodSeconds: 120,
  rollOnConfigChange: true,
  // Example bucket, key and role: set your own (README "Backups").
  backup: {
    bucket: 'example-org-mysql-backups',
    region: 'eu-west-1',
    kmsKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    roleArn: 'arn:aws:iam::111122223333:role/mysql-production-backup',
    schedule: { schedule: '17 2 * * *' },
    restoreDrill: { schedule: '47 5 * * *' },
    volumeSnapshots: { schedule: '37 */6 * * *', keep: 8 },
    // Binary logs to S3 continuously: restore.toTime (README "Restore"); RPO about 5 minutes.
    pitr: {},
  },
  gitops: {
    // Argo CD never prunes or deletes the StatefulSet, StorageClass, VolumeSnapshotClass or Namespace.
    protection: 'forbid',
    argocd: { repoURL: 'https://github.com/example-org/mysql-gitops.git', serverSideDiff: true },
  },
  // Scheduled before, and evicted after, ordinary pods: a replacement pod must run in its volume's zone.
  priorityClass: { name: 'mysql-production', value: 1_000_000 },
  // app.kubernetes.io/instance is the StatefulSet's name (Polaris' metadataAndInstanceMismatched). Argo CD
  // 3.x tracks resources by its argocd.argoproj.io/tracking-id annotation; with label tracking (2.x's
  // default) it overwrites this label with the Application's name when it syncs (README, "Policy checks").
  labels: {
    'app.kubernetes.io/name': 'mysql',
    'app.kubernetes.io/instance': 'mysql',
    'app.kubernetes.io/component': 'database',
    'app.kubernetes.io/managed-by': 'cdk8s',
  },
};

/** Every profile the app synthesizes, by name; each goes to `dist/<name>/`. */
export const PROFILES: Readonly<Record<string, MysqlStackConfig>> = {
  workshop,
  production,
};
