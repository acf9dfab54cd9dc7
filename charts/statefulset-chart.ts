import { ApiObject, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { ProbeTimingConfig, ResolvedConfig, ResourcesConfig } from './config';
import { configMapName } from './namespace-chart';
import { readScript } from './scripts';

export interface StatefulSetChartProps extends ChartProps {
  /** The validated stack config. */
  readonly config: ResolvedConfig;
}

/**
 * uid and gid of the `mysql` user in the official mysql images (docker-library/mysql Dockerfiles create
 * it with `--uid 999 --gid 999`). The XtraBackup containers run as this user too, so the files they
 * clone are mysqld's own and the files mysqld writes are readable for backups; the pod's fsGroup makes
 * a fresh EBS volume writable for it before mysqld has ever run.
 */
export const MYSQL_UID = 999;

/** Where things are mounted inside the containers. */
export const PATHS = {
  dataDir: '/var/lib/mysql',
  confDir: '/etc/mysql/conf.d',
  initConfDir: '/mnt/conf.d',
  configMapDir: '/mnt/config-map',
} as const;

/** Name of the per-pod data volume claim template (claims are `data-<name>-N`). */
export const DATA_VOLUME = 'data';

/**
 * The MySQL StatefulSet: pod 0 is the primary, every other pod a replica that clones its data from the
 * pod before it and replicates from pod 0.
 *
 * Init containers: `init-mysql` (server-id and primary/replica option file), `clone-mysql` (stream a
 * backup from the previous pod). Containers: `mysql` and the `xtrabackup` sidecar (starts replication
 * once after a clone, then serves backups). One EBS volume per pod from `volumeClaimTemplates`.
 */
export class StatefulSetChart extends Chart {
  /**
   * The StatefulSet: a plain ApiObject built from typed `KubeStatefulSetProps`, because the typed class
   * re-serializes its props on output and would drop the claim templates' apiVersion/kind.
   */
  public readonly statefulSet: ApiObject;

  constructor(scope: Construct, id: string, props: StatefulSetChartProps) {
    super(scope, id, props);
    const c = props.config;
    const labels = { app: c.name };
    const podName: k8s.EnvVar = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };
    const dataMount: k8s.VolumeMount = { name: DATA_VOLUME, mountPath: PATHS.dataDir, subPath: 'mysql' };
    const confMount: k8s.VolumeMount = { name: 'conf', mountPath: PATHS.confDir };
    const asMysqlUser: k8s.SecurityContext = { runAsUser: MYSQL_UID, runAsGroup: MYSQL_UID };
    const pullPolicy = c.images.pullPolicy;

    const initMysql: k8s.Container = {
      name: 'init-mysql',
      image: c.images.mysql,
      imagePullPolicy: pullPolicy,
      command: ['bash', '-c', readScript('init-mysql', c.flavor)],
      env: [
        podName,
        { name: 'SERVER_ID_OFFSET', value: String(c.serverIdOffset) },
        { name: 'CONFIG_MAP_DIR', value: PATHS.configMapDir },
        { name: 'CONF_DIR', value: PATHS.initConfDir },
        { name: 'PRIMARY_CNF', value: c.mysqlFiles.primaryKey },
        { name: 'REPLICA_CNF', value: c.mysqlFiles.replicaKey },
      ],
      volumeMounts: [
        { name: 'conf', mountPath: PATHS.initConfDir },
        { name: 'config-map', mountPath: PATHS.configMapDir, readOnly: true },
      ],
    };

    const peerEnv: k8s.EnvVar[] = [
      podName,
      { name: 'SERVICE_NAME', value: c.name },
      { name: 'DATA_DIR', value: PATHS.dataDir },
      { name: 'BACKUP_PORT', value: String(c.backupPort) },
    ];

    const cloneMysql: k8s.Container = {
      name: 'clone-mysql',
      image: c.images.xtrabackup,
      imagePullPolicy: pullPolicy,
      command: ['bash', '-c', readScript('clone-mysql', c.flavor)],
      env: peerEnv,
      securityContext: asMysqlUser,
      volumeMounts: [dataMount, confMount],
    };

    const mysql: k8s.Container = {
      name: 'mysql',
      image: c.images.mysql,
      imagePullPolicy: pullPolicy,
      env: [{ name: 'MYSQL_ALLOW_EMPTY_PASSWORD', value: '1' }],
      ports: [{ name: 'mysql', containerPort: c.mysqlPort }],
      volumeMounts: [dataMount, confMount],
      resources: resources(c.resources.mysql),
      livenessProbe: probe(['mysqladmin', 'ping'], c.probes.liveness),
      // A query over TCP: proves mysqld accepts network clients, not just that it runs.
      readinessProbe: probe(['mysql', '-h', '127.0.0.1', '-e', 'SELECT 1'], c.probes.readiness),
    };

    const sidecar: k8s.Container = {
      name: 'xtrabackup',
      image: c.images.xtrabackup,
      imagePullPolicy: pullPolicy,
      command: ['bash', '-c', readScript('xtrabackup-sidecar', c.flavor)],
      env: peerEnv,
      ports: [{ name: 'xtrabackup', containerPort: c.backupPort }],
      securityContext: asMysqlUser,
      volumeMounts: [dataMount, confMount],
      resources: resources(c.resources.xtrabackup),
    };

    const architectures = c.placement.architectures;
    const affinity: k8s.Affinity | undefined =
      architectures.length === 0
        ? undefined
        : {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: 'kubernetes.io/arch', operator: 'In', values: [...architectures] },
                    ],
                  },
                ],
              },
            },
          };
    const nodeSelector =
      Object.keys(c.placement.nodeSelector).length > 0 ? { ...c.placement.nodeSelector } : undefined;

    const spec: k8s.KubeStatefulSetProps = {
      metadata: { name: c.name, namespace: c.namespace, labels },
      spec: {
        selector: { matchLabels: labels },
        serviceName: c.name,
        replicas: c.replicas,
        template: {
          metadata: { labels },
          spec: {
            securityContext: { fsGroup: MYSQL_UID, fsGroupChangePolicy: 'OnRootMismatch' },
            affinity,
            nodeSelector,
            initContainers: [initMysql, cloneMysql],
            containers: [mysql, sidecar],
            volumes: [
              { name: 'conf', emptyDir: {} },
              { name: 'config-map', configMap: { name: configMapName(c) } },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: DATA_VOLUME, labels },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: c.storage.storageClassName,
              resources: { requests: { storage: k8s.Quantity.fromString(c.storage.size) } },
            },
          },
        ],
      },
    };
    const json = k8s.toJson_KubeStatefulSetProps(spec)!;
    // The typed PersistentVolumeClaim has no apiVersion/kind, but the API server fills them in on
    // volumeClaimTemplates; without them Argo CD reports the StatefulSet as OutOfSync forever
    // (argoproj/argo-cd#16707).
    json.spec.volumeClaimTemplates = json.spec.volumeClaimTemplates.map((t: object) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      ...t,
    }));
    this.statefulSet = new ApiObject(this, 'statefulset', { ...k8s.KubeStatefulSet.GVK, ...json });
  }
}

function resources(r: ResourcesConfig): k8s.ResourceRequirements | undefined {
  const q = (v: string | undefined) => (v === undefined ? undefined : k8s.Quantity.fromString(v));
  const requests = dropUndefined({ cpu: q(r.cpuRequest), memory: q(r.memoryRequest) });
  const limits = dropUndefined({ cpu: q(r.cpuLimit), memory: q(r.memoryLimit) });
  if (!requests && !limits) return undefined;
  return { requests, limits };
}

function probe(command: string[], t: ProbeTimingConfig): k8s.Probe {
  return {
    exec: { command },
    initialDelaySeconds: t.initialDelaySeconds,
    periodSeconds: t.periodSeconds,
    timeoutSeconds: t.timeoutSeconds,
    failureThreshold: t.failureThreshold,
  };
}

function dropUndefined<T>(o: Record<string, T | undefined>): Record<string, T> | undefined {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined) as [string, T][];
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}
