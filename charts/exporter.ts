/**
 * The mysqld_exporter sidecar's pieces of the MySQL pod: its init container (`exporter-config`, which
 * writes the exporter's option file), the `exporter` container, its in-memory volume, and what the
 * xtrabackup sidecar needs to create the exporter's MySQL user on the primary. The StatefulSet chart
 * adds them to the pod when `monitoring.exporter` is on; the Prometheus objects are in
 * `monitoring-chart.ts`.
 */
import * as k8s from '../imports/k8s';
import { TLS_PATHS, tlsMounts } from './tls-chart';
import { ResolvedConfig } from './config';
import { readMonitoringScript } from './scripts';

/** Names and paths of the exporter's parts. */
export const EXPORTER = {
  container: 'exporter',
  initContainer: 'exporter-config',
  portName: 'metrics',
  volume: 'exporter-cnf',
  cnfDir: '/run/mysqld-exporter',
  cnfFile: '/run/mysqld-exporter/exporter.cnf',
  /** The image's USER: `nobody` (prometheus/mysqld_exporter Dockerfile, busybox base). */
  uid: 65534,
} as const;

/** The credentials Secret's key of the exporter's password (production profile). */
export const EXPORTER_PASSWORD_KEY = 'exporter-password';

/**
 * The exporter's flags, valid for both v0.20.0 (the pinned image) and v0.14.0 (Debian's package, the
 * harness' stand-in): `--config.my-cnf`, `--web.listen-address` and the `--collect.*` switches exist in
 * both (mysqld_exporter.go at both tags). Not used: `--mysqld.address`/`--mysqld.username` (v0.15 and
 * later only); the option file names the host and port instead, which both versions read.
 * Collectors: global status and variables (up, uptime, connections, max_connections, read_only),
 * replication status (SHOW REPLICA STATUS on 8.4, SHOW SLAVE STATUS on 5.7) and the binary log sizes.
 */
export function exporterArgs(c: ResolvedConfig): string[] {
  return [
    `--config.my-cnf=${EXPORTER.cnfFile}`,
    `--web.listen-address=:${c.monitoring.port}`,
    '--collect.global_status',
    '--collect.global_variables',
    '--collect.slave_status',
    '--collect.binlog_size',
  ];
}

/** What the pod needs from its credentials Secret for the exporter, if anything. */
export interface ExporterCredentials {
  /** Where the credentials Secret is mounted, and the volume mounts that mount it. */
  readonly dir: string;
  readonly mounts: k8s.VolumeMount[];
}

/** The exporter's parts of the MySQL pod. */
export interface ExporterPodParts {
  readonly initContainer: k8s.Container;
  readonly container: k8s.Container;
  readonly volume: k8s.Volume;
  /** Env of the xtrabackup sidecar, for `ensure_exporter_user`. */
  readonly sidecarEnv: k8s.EnvVar[];
  /** Put in front of the sidecar's script: defines `ensure_exporter_user`. */
  readonly sidecarLibrary: string;
  /** The scripts, for the pod template's config hash. */
  readonly scripts: Record<string, string>;
}

/**
 * The exporter's parts; `init` describes the init container's image, security context and resources,
 * `resources` are the exporter's own (from `monitoring.resources`).
 */
export function exporterPodParts(
  c: ResolvedConfig,
  init: {
    readonly image: string;
    readonly securityContext?: k8s.SecurityContext;
    readonly resources?: k8s.ResourceRequirements;
    readonly credentials?: ExporterCredentials;
  },
  resources: k8s.ResourceRequirements | undefined,
): ExporterPodParts {
  const m = c.monitoring;
  const passwordEnv: k8s.EnvVar[] = init.credentials
    ? [{ name: 'EXPORTER_PASSWORD_FILE', value: `${init.credentials.dir}/${EXPORTER_PASSWORD_KEY}` }]
    : [];
  const scripts = {
    'exporter-config': readMonitoringScript('exporter-config'),
    'exporter-user': readMonitoringScript('exporter-user'),
  };
  const cnfMount = (readOnly: boolean): k8s.VolumeMount => ({
    name: EXPORTER.volume,
    mountPath: EXPORTER.cnfDir,
    readOnly: readOnly || undefined,
  });
  const initContainer: k8s.Container = {
    name: EXPORTER.initContainer,
    image: init.image,
    imagePullPolicy: c.images.pullPolicy,
    command: ['bash', '-c', scripts['exporter-config']],
    env: [
      { name: 'EXPORTER_CNF', value: EXPORTER.cnfFile },
      { name: 'EXPORTER_USER', value: m.user },
      ...passwordEnv,
      { name: 'MYSQL_PORT', value: String(c.mysqlPort) },
      ...(c.tls ? [{ name: 'EXPORTER_SSL_CA', value: `${TLS_PATHS.server}/ca.crt` }] : []),
      // Named in the script's error when a tool it needs is missing from the image.
      { name: 'CONTAINER_IMAGE', value: init.image },
    ],
    volumeMounts: [cnfMount(false), ...(init.credentials?.mounts ?? [])],
    securityContext: init.securityContext,
    resources: init.resources,
  };
  // GET / is the exporter's landing page: it answers without querying MySQL, so a MySQL outage shows
  // up as mysql_up 0 and never restarts the exporter.
  const probe = (failureThreshold: number): k8s.Probe => ({
    httpGet: { path: '/', port: k8s.IntOrString.fromString(EXPORTER.portName) },
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold,
  });
  const container: k8s.Container = {
    name: EXPORTER.container,
    image: m.image,
    imagePullPolicy: c.images.pullPolicy,
    args: exporterArgs(c),
    ports: [{ name: EXPORTER.portName, containerPort: m.port }],
    volumeMounts: [cnfMount(true), ...tlsMounts(c, ['server'])],
    // The exporter needs nothing: the image's own non-root user, no capabilities, a read-only root, in
    // every profile. It reads its option file through the pod's fsGroup.
    securityContext: {
      runAsNonRoot: true,
      runAsUser: EXPORTER.uid,
      runAsGroup: EXPORTER.uid,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    resources,
    livenessProbe: probe(6),
    readinessProbe: probe(3),
  };
  return {
    initContainer,
    container,
    volume: {
      name: EXPORTER.volume,
      emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') },
    },
    sidecarEnv: [
      { name: 'EXPORTER_USER', value: m.user },
      ...passwordEnv,
      ...(c.credentials ? [] : [{ name: 'MYSQL_PORT', value: String(c.mysqlPort) }]),
    ],
    sidecarLibrary: scripts['exporter-user'],
    scripts,
  };
}
