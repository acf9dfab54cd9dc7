import { ApiObject, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { createHash } from 'crypto';
import * as k8s from '../imports/k8s';
import { ProbeTimingConfig, ResolvedConfig } from './config';
import { exporterPodParts } from './exporter';
import { objectLabels, selectorLabels } from './labels';
import { MYSQL_UID, resourceRequirements } from './pod-security';
import { polarisExemptions } from './policy-checks';
import { configMapData, configMapName } from './namespace-chart';
import { SEMISYNC_PRIMARY_CNF_KEY, SEMISYNC_REPLICA_CNF_KEY, semiSyncOf } from './semisync-config';
import { BINLOG_CNF_KEY, backupNames, restoreInitContainers } from './backup-chart';
import { readScript, ScriptName } from './scripts';
import { PRIMARY_ORDINAL_KEY, switchoverNames } from './switchover-chart';
import {
  TLS_CNF_KEY,
  tlsCloneEnv,
  tlsMounts,
  tlsReloadContainer,
  tlsSidecarEnv,
  tlsVolumes,
} from './tls-chart';

export interface StatefulSetChartProps extends ChartProps {
  /** The validated stack config. */
  readonly config: ResolvedConfig;
}

/** Where things are mounted inside the containers. */
export const PATHS = {
  dataDir: '/var/lib/mysql',
  confDir: '/etc/mysql/conf.d',
  initConfDir: '/mnt/conf.d',
  configMapDir: '/mnt/config-map',
  credentialsDir: '/etc/mysql/credentials',
  /** mysql84: the `<name>-primary` ConfigMap, which the sidecar re-reads every round. */
  primaryDir: '/etc/mysql/primary',
  clientCnfDir: '/run/mysql-client',
  socketDir: '/var/run/mysqld',
  tmp: '/tmp',
} as const;

/** Name of the per-pod data volume claim template (claims are `data-<name>-N`). */
export const DATA_VOLUME = 'data';

/**
 * Where a new replica clones its data from, per flavor. The seed clones from the previous pod, which
 * spreads the load. MySQL 8.4 keeps replication settings in InnoDB tables, so a backup of a replica
 * carries that replica's channel along; the 8.4 flavor clones from the primary.
 */
const CLONE_FROM = { mysql57: 'previous', mysql84: 'primary' } as const;

/**
 * What an empty pod 0 does while a replica holds data, per flavor: with GTIDs it clones the most
 * advanced replica (auto-positioned replicas resume from it); with the workshop's binlog file/position
 * replication the replicas' coordinates would mean nothing on a rebuilt primary, so it refuses.
 */
const EMPTY_PRIMARY = { mysql57: 'refuse', mysql84: 'clone' } as const;

/**
 * The xtrabackup sidecar writes its readiness verdict here every few seconds once it serves backups
 * ("<epoch> ready|not-ready <reason>"); its readiness probe (replica-ready.sh) reads it.
 */
export const SIDECAR_STATE_FILE = '/tmp/replication-state';
/** A verdict older than this fails the sidecar's readiness probe (a stuck sidecar). */
export const SIDECAR_STATE_STALE_SECONDS = 30;

/** The pod-template annotation holding the hash of the ConfigMap and the scripts. */
export const CONFIG_HASH_ANNOTATION = 'checksum/config';

/**
 * The MySQL StatefulSet: pod 0 is the primary, every other pod a replica that clones its data from the
 * pod before it and replicates from pod 0.
 *
 * Init containers: `init-mysql` (server-id, primary/replica option file, client option files) and
 * `clone-mysql` (stream a backup from the previous pod). Containers: `mysql` and the `xtrabackup`
 * sidecar (starts replication once after a clone, then serves backups). One EBS volume per pod.
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
    const pod = new PodParts(c);
    const scripts: Partial<Record<ScriptName, string>> = {
      'init-mysql': readScript('init-mysql', c.flavor),
      'clone-mysql': readScript('clone-mysql', c.flavor),
      'xtrabackup-sidecar': readScript('xtrabackup-sidecar', c.flavor),
      'replica-ready': readScript('replica-ready', c.flavor),
      'xtrabackup-liveness': readScript('xtrabackup-liveness', c.flavor),
      ...(c.tls
        ? {
            'tls-reload': readScript('tls-reload', c.flavor),
            'tls-reload-probe': readScript('tls-reload-probe', c.flavor),
          }
        : {}),
    };
    // The mysqld_exporter sidecar (charts/exporter.ts), its init container and volume.
    const exporter = c.monitoring.exporter
      ? exporterPodParts(
          c,
          {
            image: c.images.mysql,
            securityContext: pod.securityContext('mysql-image'),
            resources: resourceRequirements(c.resources.init),
            credentials: c.credentials && {
              dir: PATHS.credentialsDir,
              mounts: [{ name: 'credentials', mountPath: PATHS.credentialsDir, readOnly: true }],
            },
          },
          resourceRequirements(c.monitoring.resources),
        )
      : undefined;

    // mysql84: the primary's ordinal, from the `<name>-primary` ConfigMap when the container starts (so a
    // switchover rolls no pod, and a pod restarted after one follows it); mysql57 keeps ordinal 0.
    const primaryEnv: k8s.EnvVar[] =
      c.flavor === 'mysql84'
        ? [
            {
              name: 'PRIMARY_ORDINAL',
              valueFrom: {
                configMapKeyRef: { name: switchoverNames(c).configMap, key: PRIMARY_ORDINAL_KEY },
              },
            },
          ]
        : [];

    const initMysql: k8s.Container = {
      name: 'init-mysql',
      image: c.images.mysql,
      imagePullPolicy: c.images.pullPolicy,
      command: ['bash', '-c', scripts['init-mysql']!],
      env: [
        pod.podNameEnv,
        ...primaryEnv,
        { name: 'SERVER_ID_OFFSET', value: String(c.serverIdOffset) },
        { name: 'CONFIG_MAP_DIR', value: PATHS.configMapDir },
        { name: 'CONF_DIR', value: PATHS.initConfDir },
        { name: 'PRIMARY_CNF', value: c.mysqlFiles.primaryKey },
        { name: 'REPLICA_CNF', value: c.mysqlFiles.replicaKey },
        ...extraCnf(c),
        ...roleCnf(c),
        // Named in the script's error when a tool it needs is missing from the image.
        { name: 'CONTAINER_IMAGE', value: c.images.mysql },
        ...pod.credentialEnv('init'),
      ],
      volumeMounts: [
        { name: 'conf', mountPath: PATHS.initConfDir },
        { name: 'config-map', mountPath: PATHS.configMapDir, readOnly: true },
        ...pod.credentialMounts('init'),
      ],
      securityContext: pod.securityContext('mysql-image'),
      resources: resourceRequirements(c.resources.init),
    };

    const peerEnv: k8s.EnvVar[] = [
      pod.podNameEnv,
      ...primaryEnv,
      { name: 'SERVICE_NAME', value: c.name },
      { name: 'DATA_DIR', value: PATHS.dataDir },
      { name: 'BACKUP_PORT', value: String(c.backupPort) },
      { name: 'CONTAINER_IMAGE', value: c.images.xtrabackup },
    ];

    const cloneMysql: k8s.Container = {
      name: 'clone-mysql',
      image: c.images.xtrabackup,
      imagePullPolicy: c.images.pullPolicy,
      command: ['bash', '-c', scripts['clone-mysql']!],
      env: [
        ...peerEnv,
        { name: 'CLONE_FROM', value: CLONE_FROM[c.flavor] },
        { name: 'EMPTY_PRIMARY', value: EMPTY_PRIMARY[c.flavor] },
        ...(c.credentials
          ? [
              { name: 'MYSQL_PORT', value: String(c.mysqlPort) },
              { name: 'CLIENT_CNF_DIR', value: PATHS.clientCnfDir },
            ]
          : []),
        ...tlsCloneEnv(c),
      ],
      volumeMounts: [
        pod.dataMount,
        pod.confMount,
        ...pod.clientCnfMount(),
        ...tlsMounts(c, ['client']),
        ...pod.tmpMounts(),
      ],
      securityContext: pod.securityContext('xtrabackup-image'),
      resources: resourceRequirements(c.resources.init),
    };

    const mysql: k8s.Container = {
      name: 'mysql',
      image: c.images.mysql,
      imagePullPolicy: c.images.pullPolicy,
      env: c.credentials
        ? [{ name: 'MYSQL_ROOT_PASSWORD_FILE', value: `${PATHS.credentialsDir}/root-password` }]
        : [{ name: 'MYSQL_ALLOW_EMPTY_PASSWORD', value: '1' }],
      ports: [{ name: 'mysql', containerPort: c.mysqlPort }],
      volumeMounts: [
        pod.dataMount,
        pod.confMount,
        ...pod.credentialMounts('mysql'),
        // The server certificate for mysqld; the client one for a replica's receiver thread, which reads
        // SOURCE_SSL_CA/CERT/KEY inside mysqld.
        ...tlsMounts(c, ['server', 'client']),
        ...pod.tmpMounts(),
        ...(c.security.readOnlyRootFilesystem ? [{ name: 'run-mysqld', mountPath: PATHS.socketDir }] : []),
      ],
      resources: resourceRequirements(c.resources.mysql),
      securityContext: pod.securityContext('mysql-image'),
      startupProbe: c.probes.startup && probe(pod.client('mysqladmin', ['ping']), c.probes.startup),
      livenessProbe: probe(pod.client('mysqladmin', ['ping']), c.probes.liveness),
      // A query over TCP: proves mysqld accepts network clients, not just that it runs.
      readinessProbe: probe(pod.client('mysql', ['-h', '127.0.0.1', '-e', 'SELECT 1']), c.probes.readiness),
    };

    const sidecar: k8s.Container = {
      name: 'xtrabackup',
      image: c.images.xtrabackup,
      imagePullPolicy: c.images.pullPolicy,
      command: [
        'bash',
        '-c',
        exporter
          ? `${exporter.sidecarLibrary}\n${scripts['xtrabackup-sidecar']}`
          : scripts['xtrabackup-sidecar']!,
      ],
      env: [
        ...peerEnv,
        ...(c.credentials ? [{ name: 'MYSQL_PORT', value: String(c.mysqlPort) }] : []),
        ...pod.credentialEnv('sidecar'),
        { name: 'STATE_FILE', value: SIDECAR_STATE_FILE },
        { name: 'REPLICA_READINESS', value: c.replication.readiness },
        { name: 'MAX_LAG_SECONDS', value: String(c.replication.maxLagSeconds) },
        // A returning former primary turns the source side off and the replica side on before it rejoins.
        ...(semiSyncOf(c) ? [{ name: 'SEMISYNC', value: 'true' }] : []),
        ...(exporter?.sidecarEnv ?? []),
        ...tlsSidecarEnv(c),
        // The same ordinal as a file the kubelet updates in place: a primary that kept running through a
        // failover it did not see learns that another pod is the primary (and fences itself if that one is
        // writable too; README "Failover").
        ...(c.flavor === 'mysql84'
          ? [{ name: 'PRIMARY_ORDINAL_FILE', value: `${PATHS.primaryDir}/${PRIMARY_ORDINAL_KEY}` }]
          : []),
      ],
      ports: [{ name: 'xtrabackup', containerPort: c.backupPort }],
      volumeMounts: [
        pod.dataMount,
        pod.confMount,
        ...(c.flavor === 'mysql84' ? [{ name: 'primary', mountPath: PATHS.primaryDir, readOnly: true }] : []),
        ...pod.credentialMounts('sidecar'),
        ...tlsMounts(c, ['server', 'client']),
        ...pod.tmpMounts(),
      ],
      securityContext: pod.securityContext('xtrabackup-image'),
      resources: resourceRequirements(c.resources.xtrabackup),
      // Ready once it serves backups and, on a replica, while it replicates within the lag bound
      // (the sidecar's verdict; the probe prints its reason). So OrderedReady creates the next pod
      // only when this one can give it a good backup, and mysql-read skips a broken replica.
      // Not a tcpSocket probe: every connection to the backup port streams a full backup.
      readinessProbe: probe(
        [
          'bash',
          '-c',
          scripts['replica-ready']!,
          'replica-ready',
          SIDECAR_STATE_FILE,
          String(SIDECAR_STATE_STALE_SECONDS),
        ],
        c.probes.readiness,
      ),
      // Restarts a sidecar whose backup server stopped accepting connections, read from the kernel's
      // socket table without ever connecting (charts/scripts/common/xtrabackup-liveness.sh).
      livenessProbe: probe(
        ['bash', '-c', scripts['xtrabackup-liveness']!, 'xtrabackup-liveness'],
        c.probes.liveness,
      ),
    };

    const tlsReload = c.tls
      ? [
          tlsReloadContainer(c, {
            image: c.images.mysql,
            imagePullPolicy: c.images.pullPolicy,
            script: scripts['tls-reload']!,
            securityContext: pod.securityContext('mysql-image'),
            clientCnfMount: pod.credentialMounts('sidecar')[1],
            clientCnfDir: PATHS.clientCnfDir,
            tmpMounts: pod.tmpMounts(),
            tmpDir: PATHS.tmp,
            probeScript: scripts['tls-reload-probe']!,
            livenessTiming: c.probes.liveness,
            readinessTiming: c.probes.readiness,
            resources: resourceRequirements(c.tls.reloaderResources),
          }),
        ]
      : [];

    const annotations = c.rollOnConfigChange
      ? { [CONFIG_HASH_ANNOTATION]: configHash(c, { ...scripts, ...exporter?.scripts }) }
      : undefined;

    const podSpec: k8s.PodSpec = {
      // Restoring reads S3 with the backup jobs' ServiceAccount (IRSA or Pod Identity).
      serviceAccountName: c.restore ? backupNames(c).serviceAccount : undefined,
      automountServiceAccountToken: c.security.podSecurity === 'restricted' ? false : undefined,
      priorityClassName: c.priorityClass?.name,
      securityContext: pod.podSecurityContext(),
      terminationGracePeriodSeconds: c.terminationGracePeriodSeconds,
      affinity: pod.affinity(),
      nodeSelector:
        Object.keys(c.placement.nodeSelector).length > 0 ? { ...c.placement.nodeSelector } : undefined,
      topologySpreadConstraints: c.availability.spreadAcrossZones
        ? [
            {
              topologyKey: 'topology.kubernetes.io/zone',
              maxSkew: 1,
              whenUnsatisfiable: 'DoNotSchedule',
              labelSelector: { matchLabels: selectorLabels(c) },
            },
          ]
        : undefined,
      initContainers: [
        initMysql,
        ...restoreInitContainers(c, {
          data: pod.dataMount,
          conf: pod.confMount,
          tmp: pod.tmpMounts(),
          securityContext: (image) => pod.securityContext(image),
          resources: resourceRequirements(c.resources.init),
        }),
        cloneMysql,
        ...(exporter ? [exporter.initContainer] : []),
      ],
      containers: [mysql, sidecar, ...tlsReload, ...(exporter ? [exporter.container] : [])],
      volumes: [...pod.volumes(), ...(exporter ? [exporter.volume] : [])],
    };
    const exemptions = polarisExemptions(podSpec);

    const spec: k8s.KubeStatefulSetProps = {
      metadata: {
        name: c.name,
        namespace: c.namespace,
        labels: objectLabels(c),
        annotations: Object.keys(exemptions).length > 0 ? exemptions : undefined,
      },
      spec: {
        selector: { matchLabels: selectorLabels(c) },
        serviceName: c.name,
        replicas: c.replicas,
        persistentVolumeClaimRetentionPolicy: c.storage.retainClaims
          ? { whenDeleted: 'Retain', whenScaled: 'Retain' }
          : undefined,
        template: {
          metadata: { labels: objectLabels(c), annotations },
          spec: podSpec,
        },
        volumeClaimTemplates: [
          {
            metadata: { name: DATA_VOLUME, labels: objectLabels(c) },
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

/** The pieces of the pod spec that depend on credentials and hardening, in one place. */
class PodParts {
  readonly podNameEnv: k8s.EnvVar = {
    name: 'POD_NAME',
    valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
  };
  readonly dataMount: k8s.VolumeMount = { name: DATA_VOLUME, mountPath: PATHS.dataDir, subPath: 'mysql' };
  readonly confMount: k8s.VolumeMount = { name: 'conf', mountPath: PATHS.confDir };
  private readonly restricted: boolean;

  constructor(private readonly c: ResolvedConfig) {
    this.restricted = c.security.podSecurity === 'restricted';
  }

  /**
   * A mysql client command; with credentials it reads them from the option file init-mysql wrote, so
   * no password is ever on a command line.
   */
  client(tool: 'mysql' | 'mysqladmin', args: string[]): string[] {
    return this.c.credentials
      ? [tool, `--defaults-extra-file=${PATHS.clientCnfDir}/root.cnf`, ...args]
      : [tool, ...args];
  }

  credentialEnv(who: 'init' | 'sidecar'): k8s.EnvVar[] {
    const cred = this.c.credentials;
    if (!cred) return [];
    const env: k8s.EnvVar[] = [{ name: 'CLIENT_CNF_DIR', value: PATHS.clientCnfDir }];
    if (who === 'init')
      env.push({ name: 'ROOT_PASSWORD_FILE', value: `${PATHS.credentialsDir}/root-password` });
    env.push(
      { name: 'REPLICATION_USER', value: cred.replicationUser },
      { name: 'REPLICATION_PASSWORD_FILE', value: `${PATHS.credentialsDir}/replication-password` },
    );
    // The sidecar follows the Secret volume while it runs (rotation, README "Credentials").
    if (who === 'sidecar') env.push({ name: 'CREDENTIALS_DIR', value: PATHS.credentialsDir });
    return env;
  }

  credentialMounts(who: 'init' | 'mysql' | 'sidecar'): k8s.VolumeMount[] {
    if (!this.c.credentials) return [];
    return [
      { name: 'credentials', mountPath: PATHS.credentialsDir, readOnly: true },
      // init-mysql writes the option files, the sidecar refreshes them from the Secret; mysql only reads them.
      { name: 'client-cnf', mountPath: PATHS.clientCnfDir, readOnly: who === 'mysql' },
    ];
  }

  /** The client option files, read-only (clone-mysql asks the peers as the replication user). */
  clientCnfMount(): k8s.VolumeMount[] {
    return this.c.credentials ? [{ name: 'client-cnf', mountPath: PATHS.clientCnfDir, readOnly: true }] : [];
  }

  tmpMounts(): k8s.VolumeMount[] {
    return this.c.security.readOnlyRootFilesystem ? [{ name: 'tmp', mountPath: PATHS.tmp }] : [];
  }

  podSecurityContext(): k8s.PodSecurityContext {
    const base: k8s.PodSecurityContext = { fsGroup: MYSQL_UID, fsGroupChangePolicy: 'OnRootMismatch' };
    if (!this.restricted) return base;
    return {
      ...base,
      runAsNonRoot: true,
      runAsUser: MYSQL_UID,
      runAsGroup: MYSQL_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    };
  }

  /**
   * Baseline: the mysql image keeps its root entrypoint (it chowns the data directory and drops to the
   * mysql user, and the seed's walkthrough moves /usr/bin/mysql), the XtraBackup image runs as 999.
   * Restricted: the pod runs everything as 999; each container also drops every capability and may not
   * escalate privileges.
   */
  securityContext(image: 'mysql-image' | 'xtrabackup-image'): k8s.SecurityContext | undefined {
    const readOnly = this.c.security.readOnlyRootFilesystem ? { readOnlyRootFilesystem: true } : {};
    if (this.restricted) {
      return { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, ...readOnly };
    }
    const user = image === 'xtrabackup-image' ? { runAsUser: MYSQL_UID, runAsGroup: MYSQL_UID } : {};
    const sc = { ...user, ...readOnly };
    return Object.keys(sc).length > 0 ? sc : undefined;
  }

  affinity(): k8s.Affinity | undefined {
    const archs = this.c.placement.architectures;
    const nodeAffinity: k8s.NodeAffinity | undefined =
      archs.length === 0
        ? undefined
        : {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: [...archs] }] },
              ],
            },
          };
    const podAntiAffinity: k8s.PodAntiAffinity | undefined = this.c.availability.onePodPerNode
      ? {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selectorLabels(this.c) } },
          ],
        }
      : undefined;
    return nodeAffinity || podAntiAffinity ? { nodeAffinity, podAntiAffinity } : undefined;
  }

  volumes(): k8s.Volume[] {
    const volumes: k8s.Volume[] = [
      { name: 'conf', emptyDir: {} },
      { name: 'config-map', configMap: { name: configMapName(this.c) } },
    ];
    if (this.c.flavor === 'mysql84')
      // No subPath: the kubelet updates the file in place after a sync changes `primary`.
      volumes.push({ name: 'primary', configMap: { name: switchoverNames(this.c).configMap } });
    if (this.c.credentials) {
      volumes.push(
        {
          name: 'credentials',
          secret: {
            secretName: this.c.credentials.secretName,
            // Readable by the fsGroup (the mysql user), nobody else.
            defaultMode: 0o440,
            // Every key, no subPath: the kubelet updates the files in place, and the -previous keys of a
            // rotation appear and disappear with the Secret.
          },
        },
        // Client option files with passwords: in memory, never on a disk.
        { name: 'client-cnf', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
      );
    }
    volumes.push(...tlsVolumes(this.c));
    if (this.c.security.readOnlyRootFilesystem) {
      volumes.push({ name: 'tmp', emptyDir: {} }, { name: 'run-mysqld', emptyDir: {} });
    }
    return volumes;
  }
}

/** sha256 of the ConfigMap's data and the scripts: changes whenever either does. */
function configHash(c: ResolvedConfig, scripts: Record<string, string>): string {
  const input = JSON.stringify({ ...configMapData(c), scripts });
  return createHash('sha256').update(input).digest('hex');
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

/** init-mysql's PRIMARY_EXTRA_CNF / REPLICA_EXTRA_CNF: the option files of one role only (semi-sync's sides). */
function roleCnf(c: ResolvedConfig): k8s.EnvVar[] {
  return semiSyncOf(c)
    ? [
        { name: 'PRIMARY_EXTRA_CNF', value: SEMISYNC_PRIMARY_CNF_KEY },
        { name: 'REPLICA_EXTRA_CNF', value: SEMISYNC_REPLICA_CNF_KEY },
      ]
    : [];
}

/** init-mysql's EXTRA_CNF: the ConfigMap's option files every ordinal uses (TLS, binlog retention). */
function extraCnf(c: ResolvedConfig): k8s.EnvVar[] {
  const keys = [...(c.tls ? [TLS_CNF_KEY] : []), ...(c.backup?.pitr ? [BINLOG_CNF_KEY] : [])];
  return keys.length ? [{ name: 'EXTRA_CNF', value: keys.join(' ') }] : [];
}
