import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import {
  Certificate,
  CertificateSpecPrivateKeyAlgorithm,
  CertificateSpecPrivateKeyEncoding,
  CertificateSpecPrivateKeyRotationPolicy,
  CertificateSpecUsages,
  Issuer,
} from '../imports/cert-manager.io';
import * as k8s from '../imports/k8s';
import { ProbeTimingConfig, ResolvedConfig } from './config';
import { objectLabels } from './labels';
import { primaryServiceName } from './services-chart';

export interface TlsChartProps extends ChartProps {
  /** The validated stack config; `tls` must be set. */
  readonly config: ResolvedConfig;
}

/** Where the certificate Secrets are mounted (whole Secret volumes, no subPath, so renewals appear). */
export const TLS_PATHS = {
  server: '/etc/mysql/tls/server',
  client: '/etc/mysql/tls/client',
} as const;

/** The ConfigMap key of the mysqld TLS option file that init-mysql copies into conf.d. */
export const TLS_CNF_KEY = 'tls.cnf';

/** Names of the objects and Secrets of one stack's TLS setup. */
export function tlsNames(c: ResolvedConfig) {
  return {
    selfSignedIssuer: `${c.name}-selfsigned`,
    caCertificate: `${c.name}-ca`,
    caSecret: `${c.name}-ca`,
    caIssuer: `${c.name}-ca`,
    serverCertificate: `${c.name}-server`,
    serverSecret: `${c.name}-server-tls`,
    clientCertificate: `${c.name}-client`,
    clientSecret: `${c.name}-client-tls`,
    /**
     * The client certificate's common name: the replication user must present it (REQUIRE SUBJECT) and
     * the backup listener accepts only it. At most 52 + 12 characters, within X.509's 64.
     */
    clientCommonName: `${c.name}-replication`,
  };
}

/**
 * DNS names of the server certificate: the Services (headless, read and, if configured, primary) in every form a client in the cluster may use,
 * every pod behind the headless Service (`*.<headless>.<namespace>.svc…`), and the short forms
 * `<name>-N.<name>` the scripts connect to. The short forms are listed per pod: a wildcard needs two
 * labels after it in OpenSSL's name check, so `*.<name>` would match nothing.
 */
export function serverDnsNames(c: ResolvedConfig): string[] {
  const domain = c.tls!.clusterDomain;
  const forms = (host: string) => [
    host,
    `${host}.${c.namespace}`,
    `${host}.${c.namespace}.svc`,
    `${host}.${c.namespace}.svc.${domain}`,
  ];
  const pods = Array.from({ length: c.replicas }, (_, i) => `${c.name}-${i}.${c.name}`);
  return [
    ...forms(c.name),
    ...forms(`${c.name}-read`),
    ...(c.primaryService ? forms(primaryServiceName(c)) : []),
    `*.${c.name}.${c.namespace}`,
    `*.${c.name}.${c.namespace}.svc`,
    `*.${c.name}.${c.namespace}.svc.${domain}`,
    ...pods,
  ];
}

/** The `[mysqld]` options that make mysqld serve the cert-manager certificate and refuse plaintext TCP. */
export function tlsCnf(): string {
  return [
    '# cert-manager certificate (Secret volume, renewed in place; tls-reload runs ALTER INSTANCE RELOAD TLS).',
    '[mysqld]',
    `ssl_ca=${TLS_PATHS.server}/ca.crt`,
    `ssl_cert=${TLS_PATHS.server}/tls.crt`,
    `ssl_key=${TLS_PATHS.server}/tls.key`,
    '# Every TCP client must use TLS; the Unix socket (mysqladmin ping) stays allowed.',
    'require_secure_transport=ON',
    '',
  ].join('\n');
}

const privateKey = {
  algorithm: CertificateSpecPrivateKeyAlgorithm.RSA,
  size: 2048,
  encoding: CertificateSpecPrivateKeyEncoding.PKCS1,
  // A fresh key on every renewal.
  rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS,
};

/**
 * cert-manager objects for one stack: the certificates of mysqld (server) and of replication and
 * clones (client), issued by the configured issuer or by a bootstrap CA in the namespace
 * (self-signed Issuer → CA Certificate → CA Issuer). cert-manager writes the keys into Secrets of type
 * `kubernetes.io/tls` (`tls.crt`, `tls.key`, `ca.crt`) in the cluster: no key material is in `dist/`.
 */
export class TlsChart extends Chart {
  public readonly serverCertificate: Certificate;
  public readonly clientCertificate: Certificate;
  /** Present when no issuer is configured. */
  public readonly bootstrap?: { selfSigned: Issuer; ca: Certificate; caIssuer: Issuer };

  constructor(scope: Construct, id: string, props: TlsChartProps) {
    super(scope, id, props);
    const c = props.config;
    const tls = c.tls;
    if (!tls) throw new Error('TlsChart needs config.tls');
    const n = tlsNames(c);
    const meta = (name: string) => ({ name, namespace: c.namespace, labels: objectLabels(c) });
    const secretTemplate = { labels: objectLabels(c) };

    let issuerRef: { name: string; kind: string; group: string };
    if (tls.issuer) {
      issuerRef = { ...tls.issuer };
    } else {
      const selfSigned = new Issuer(this, 'selfsigned', {
        metadata: meta(n.selfSignedIssuer),
        spec: { selfSigned: {} },
      });
      const ca = new Certificate(this, 'ca', {
        metadata: meta(n.caCertificate),
        spec: {
          isCa: true,
          commonName: `${c.name}.${c.namespace} CA`.slice(0, 64),
          secretName: n.caSecret,
          secretTemplate,
          // Ten years: the leaf certificates trust this CA through their ca.crt (see README, "TLS").
          duration: '87600h',
          renewBefore: '720h',
          privateKey: { ...privateKey, rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.NEVER },
          usages: [CertificateSpecUsages.CERT_SIGN, CertificateSpecUsages.CRL_SIGN],
          issuerRef: { name: n.selfSignedIssuer, kind: 'Issuer', group: 'cert-manager.io' },
        },
      });
      const caIssuer = new Issuer(this, 'ca-issuer', {
        metadata: meta(n.caIssuer),
        spec: { ca: { secretName: n.caSecret } },
      });
      this.bootstrap = { selfSigned, ca, caIssuer };
      issuerRef = { name: n.caIssuer, kind: 'Issuer', group: 'cert-manager.io' };
    }

    this.serverCertificate = new Certificate(this, 'server', {
      metadata: meta(n.serverCertificate),
      spec: {
        secretName: n.serverSecret,
        secretTemplate,
        dnsNames: serverDnsNames(c),
        // Local clients that verify (the exporter) connect to 127.0.0.1.
        ipAddresses: ['127.0.0.1'],
        duration: tls.duration,
        renewBefore: tls.renewBefore,
        privateKey,
        usages: [
          CertificateSpecUsages.SERVER_AUTH,
          CertificateSpecUsages.DIGITAL_SIGNATURE,
          CertificateSpecUsages.KEY_ENCIPHERMENT,
        ],
        issuerRef,
      },
    });
    this.clientCertificate = new Certificate(this, 'client', {
      metadata: meta(n.clientCertificate),
      spec: {
        secretName: n.clientSecret,
        secretTemplate,
        commonName: n.clientCommonName,
        duration: tls.duration,
        renewBefore: tls.renewBefore,
        privateKey,
        usages: [
          CertificateSpecUsages.CLIENT_AUTH,
          CertificateSpecUsages.DIGITAL_SIGNATURE,
          CertificateSpecUsages.KEY_ENCIPHERMENT,
        ],
        issuerRef,
      },
    });
  }
}

/** The Secret volumes of the certificates, readable by the fsGroup (the mysql user) only. */
export function tlsVolumes(c: ResolvedConfig): k8s.Volume[] {
  if (!c.tls) return [];
  const n = tlsNames(c);
  const items = ['tls.crt', 'tls.key', 'ca.crt'].map((key) => ({ key, path: key }));
  return [
    { name: 'tls-server', secret: { secretName: n.serverSecret, defaultMode: 0o440, items } },
    { name: 'tls-client', secret: { secretName: n.clientSecret, defaultMode: 0o440, items } },
  ];
}

/**
 * The sidecar's TLS settings: the client certificate for replication and the local xtrabackup, the
 * subject the replication user must present (REQUIRE SUBJECT), and the server certificate and client
 * name of the mutual-TLS backup listener.
 */
export function tlsSidecarEnv(c: ResolvedConfig): k8s.EnvVar[] {
  if (!c.tls) return [];
  return [
    { name: 'TLS_CLIENT_DIR', value: TLS_PATHS.client },
    { name: 'REPLICATION_SUBJECT', value: `/CN=${tlsNames(c).clientCommonName}` },
    { name: 'TLS_SERVER_DIR', value: TLS_PATHS.server },
    { name: 'BACKUP_CLIENT_NAME', value: tlsNames(c).clientCommonName },
  ];
}

/** The clone's TLS setting: present the client certificate, verify the serving pod's certificate and name. */
export function tlsCloneEnv(c: ResolvedConfig): k8s.EnvVar[] {
  return c.tls ? [{ name: 'TLS_CLIENT_DIR', value: TLS_PATHS.client }] : [];
}

/**
 * The backup job's TLS settings (its script's BACKUP_TLS_*): the client certificate for the backup port
 * and the replication user's queries. All pods serve one certificate, so the stream's server name is
 * the headless Service's (`<name>.<namespace>.svc`, in the certificate): "a pod of this StatefulSet".
 */
export function tlsBackupJobEnv(c: ResolvedConfig): k8s.EnvVar[] {
  if (!c.tls) return [];
  return [
    { name: 'BACKUP_TLS_CA', value: `${TLS_PATHS.client}/ca.crt` },
    { name: 'BACKUP_TLS_CERT', value: `${TLS_PATHS.client}/tls.crt` },
    { name: 'BACKUP_TLS_KEY', value: `${TLS_PATHS.client}/tls.key` },
    { name: 'BACKUP_TLS_SERVER_NAME', value: `${c.name}.${c.namespace}.svc` },
  ];
}

/** Which certificate a container mounts: the server's (mysqld, the backup listener) and/or the client's. */
export function tlsMounts(c: ResolvedConfig, which: readonly ('server' | 'client')[]): k8s.VolumeMount[] {
  if (!c.tls) return [];
  return which.map((w) => ({ name: `tls-${w}`, mountPath: TLS_PATHS[w], readOnly: true }));
}

/** What the `tls-reload` container takes from the pod: its hardening and the client option files' mount. */
export interface TlsReloadContainerProps {
  readonly image: string;
  readonly imagePullPolicy: string;
  readonly script: string;
  readonly securityContext?: k8s.SecurityContext;
  readonly clientCnfMount: k8s.VolumeMount;
  readonly clientCnfDir: string;
  /** The pod's writable `/tmp` mounts, where the heartbeat lives. @default - none (a writable root filesystem) */
  readonly tmpMounts?: readonly k8s.VolumeMount[];
  /** The writable directory for the heartbeat file. */
  readonly tmpDir: string;
  /** The probes' script (`charts/scripts/tls/tls-reload-probe.sh`). */
  readonly probeScript: string;
  /** The liveness probe's timing (the pod's `probes.liveness`). */
  readonly livenessTiming: ProbeTimingConfig;
  /** The readiness probe's timing (the pod's `probes.readiness`). */
  readonly readinessTiming: ProbeTimingConfig;
  readonly resources?: k8s.ResourceRequirements;
}

/**
 * How old the reload loop's heartbeat may get: a round is a poll interval of sleep, up to 10 s to
 * connect (the script's --connect-timeout) and the statement; twice the interval plus 30 s leaves room
 * for a slow round and fails one that hangs.
 */
export function tlsReloadHeartbeatMaxAge(pollSeconds: number): number {
  return 2 * pollSeconds + 30;
}

/**
 * The `tls-reload` container (mysql image): runs `ALTER INSTANCE RELOAD TLS` whenever the mounted server
 * certificate changes, so a renewal reaches mysqld without a restart.
 */
export function tlsReloadContainer(c: ResolvedConfig, p: TlsReloadContainerProps): k8s.Container {
  return {
    name: 'tls-reload',
    image: p.image,
    imagePullPolicy: p.imagePullPolicy,
    command: ['bash', '-c', p.script],
    env: [
      { name: 'TLS_DIR', value: TLS_PATHS.server },
      { name: 'CLIENT_CNF_DIR', value: p.clientCnfDir },
      { name: 'MYSQL_PORT', value: String(c.mysqlPort) },
      { name: 'POLL_SECONDS', value: String(c.tls!.reloadPollSeconds) },
      { name: 'HEARTBEAT_FILE', value: `${p.tmpDir}/tls-reload-heartbeat` },
      {
        name: 'HEARTBEAT_MAX_AGE_SECONDS',
        value: String(tlsReloadHeartbeatMaxAge(c.tls!.reloadPollSeconds)),
      },
      // Named in the script's error when a tool it needs is missing from the image.
      { name: 'CONTAINER_IMAGE', value: p.image },
    ],
    volumeMounts: [...tlsMounts(c, ['server']), p.clientCnfMount, ...(p.tmpMounts ?? [])],
    // Restarts a reload loop that stopped going round (a hung statement): its heartbeat grows stale.
    livenessProbe: heartbeatProbe(p.probeScript, 'liveness', p.livenessTiming),
    // Ready once mysqld has loaded the mounted certificate (charts/scripts/tls/tls-reload-probe.sh).
    readinessProbe: heartbeatProbe(p.probeScript, 'readiness', p.readinessTiming),
    securityContext: p.securityContext,
    resources: p.resources,
  };
}

function heartbeatProbe(script: string, which: 'liveness' | 'readiness', t: ProbeTimingConfig): k8s.Probe {
  return {
    exec: { command: ['bash', '-c', script, 'tls-reload-probe', which] },
    initialDelaySeconds: t.initialDelaySeconds,
    periodSeconds: t.periodSeconds,
    timeoutSeconds: t.timeoutSeconds,
    failureThreshold: t.failureThreshold,
  };
}
