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
  images: {
    mysql: 'mysql:5.7',
    // gcr.io/google-samples/xtrabackup:1.0 is a schema-1 image on a registry that no longer exists.
    xtrabackup: 'percona/percona-xtrabackup:2.4',
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
};

/** Every profile the app synthesizes, by name; each goes to `dist/<name>/`. */
export const PROFILES: Readonly<Record<string, MysqlStackConfig>> = {
  workshop,
};
