import {
  ARGOCD_PROTECTIONS,
  CPU_ARCHITECTURES,
  EBS_VOLUME_TYPES,
  EbsVolumeType,
  FS_TYPES,
  IMAGE_PULL_POLICIES,
  MYSQL_FLAVORS,
  POD_SECURITY_LEVELS,
  SECRET_STORE_KINDS,
  MysqlStackConfig,
  ProbeTimingConfig,
  RECLAIM_POLICIES,
  ResolvedConfig,
  ResourcesConfig,
} from './config';

/** Thrown when a profile's config is invalid; lists every problem found, one per line. */
export class ConfigError extends Error {
  constructor(
    public readonly profile: string,
    public readonly problems: readonly string[],
  ) {
    super(
      `Invalid config for profile "${profile}" (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// The grammar of resource.Quantity (k8s.io/apimachinery/pkg/api/resource).
const QUANTITY =
  /^[+-]?((\d+(\.\d*)?)|(\.\d+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?((\d+(\.\d*)?)|(\.\d+))))?$/;
// registry/repository[:tag][@sha256:digest], as the Docker reference grammar allows (lower-case path).
const IMAGE_REFERENCE =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;
const LABEL_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CNF_KEY = /^[-._a-zA-Z0-9]+$/;

const BINARY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL_SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The numeric value of a Kubernetes quantity (bytes for sizes, cores for CPU), or undefined if malformed. */
export function parseQuantity(q: string): number | undefined {
  if (!QUANTITY.test(q)) return undefined;
  const m = /^([+-]?[\d.]+)(.*)$/.exec(q)!;
  const num = Number(m[1]);
  const suffix = m[2];
  if (suffix in BINARY_SUFFIX) return num * BINARY_SUFFIX[suffix];
  if (suffix in DECIMAL_SUFFIX) return num * DECIMAL_SUFFIX[suffix];
  return Number(q); // exponent form, e.g. 1e3
}

/** Smallest volume size (GiB) AWS accepts for each EBS type. */
export const EBS_MIN_SIZE_GIB: Record<EbsVolumeType, number> = {
  gp2: 1,
  gp3: 1,
  io1: 4,
  io2: 4,
  st1: 125,
  sc1: 125,
  standard: 1,
};
/** EBS types that take a provisioned `iops` parameter. */
export const EBS_IOPS_TYPES: readonly EbsVolumeType[] = ['gp3', 'io1', 'io2'];
/** EBS types that take a provisioned `throughput` parameter. */
export const EBS_THROUGHPUT_TYPES: readonly EbsVolumeType[] = ['gp3'];

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);
const oneOf = (xs: readonly unknown[]): string => xs.map(show).join(', ');

/** Collects problems with their field paths; `check` records one when `ok` is false. */
class Problems {
  readonly list: string[] = [];
  check(ok: boolean, field: string, value: unknown, allowed: string): void {
    if (!ok) this.list.push(`${field} is ${show(value)}; ${allowed}`);
  }
  dnsLabel(field: string, value: unknown): void {
    this.check(
      typeof value === 'string' && value.length <= 63 && DNS1123_LABEL.test(value),
      field,
      value,
      'expected a DNS-1123 label: at most 63 characters, lower-case letters, digits and "-", starting and ending with a letter or digit',
    );
  }
  integer(field: string, value: unknown, min: number, max: number): void {
    this.check(
      typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max,
      field,
      value,
      `expected a whole number from ${min} to ${max}`,
    );
  }
  optionalBoolean(field: string, value: unknown): void {
    if (value !== undefined) this.check(typeof value === 'boolean', field, value, 'expected true or false');
  }
  member<T>(field: string, value: unknown, allowed: readonly T[]): void {
    this.check(allowed.includes(value as T), field, value, `expected one of ${oneOf(allowed)}`);
  }
  labels(field: string, labels: Readonly<Record<string, string>>): void {
    for (const [k, v] of Object.entries(labels)) {
      this.check(
        LABEL_NAME.test(k),
        `${field} key`,
        k,
        'expected a label name such as "app.kubernetes.io/part-of"',
      );
      this.check(
        typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v),
        `${field}[${JSON.stringify(k)}]`,
        v,
        'expected a label value: at most 63 characters, letters, digits, "-", "_" and "."',
      );
    }
  }
  dnsSubdomain(field: string, value: unknown): void {
    this.check(
      typeof value === 'string' && value.length <= 253 && DNS1123_SUBDOMAIN.test(value),
      field,
      value,
      'expected a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", at most 253 characters',
    );
  }
  quantity(field: string, value: unknown, example: string): void {
    const n = typeof value === 'string' ? parseQuantity(value) : undefined;
    this.check(
      n !== undefined && n > 0,
      field,
      value,
      `expected a positive Kubernetes quantity such as "${example}"`,
    );
  }
}

function checkResources(p: Problems, field: string, r: ResourcesConfig): void {
  const pairs: [keyof ResourcesConfig, string][] = [
    ['cpuRequest', '500m'],
    ['cpuLimit', '1'],
    ['memoryRequest', '1Gi'],
    ['memoryLimit', '2Gi'],
  ];
  for (const [key, example] of pairs) {
    if (r[key] !== undefined) p.quantity(`${field}.${key}`, r[key], example);
  }
  for (const kind of ['cpu', 'memory'] as const) {
    const req = r[`${kind}Request`];
    const lim = r[`${kind}Limit`];
    const reqN = req === undefined ? undefined : parseQuantity(req);
    const limN = lim === undefined ? undefined : parseQuantity(lim);
    if (reqN !== undefined && limN !== undefined) {
      p.check(
        reqN <= limN,
        `${field}.${kind}Request`,
        req,
        `must not exceed ${field}.${kind}Limit (${show(lim)}); raise the limit or lower the request`,
      );
    }
  }
}

function checkProbe(p: Problems, field: string, probe: ProbeTimingConfig): void {
  if (probe.initialDelaySeconds !== undefined)
    p.integer(`${field}.initialDelaySeconds`, probe.initialDelaySeconds, 0, 3600);
  if (probe.periodSeconds !== undefined) p.integer(`${field}.periodSeconds`, probe.periodSeconds, 1, 3600);
  if (probe.timeoutSeconds !== undefined) p.integer(`${field}.timeoutSeconds`, probe.timeoutSeconds, 1, 3600);
  if (probe.failureThreshold !== undefined)
    p.integer(`${field}.failureThreshold`, probe.failureThreshold, 1, 1000);
}

/**
 * Checks every field of a profile's config and fills in the defaults.
 * @throws ConfigError listing every problem, each naming the field, the bad value and what is allowed.
 */
export function validateConfig(config: MysqlStackConfig): ResolvedConfig {
  const p = new Problems();
  p.dnsLabel('profile', config.profile);
  p.check(
    config.profile !== 'argocd',
    'profile',
    config.profile,
    'is reserved for the Argo CD Applications folder dist/argocd/; choose another name',
  );
  p.dnsLabel('name', config.name);
  // `<name>-read` and pod names `<name>-<ordinal>` must stay valid labels too.
  if (typeof config.name === 'string' && DNS1123_LABEL.test(config.name)) {
    p.check(
      config.name.length <= 52,
      'name',
      config.name,
      'expected at most 52 characters, so that pod names "<name>-<ordinal>" and their controller-revision label stay within 63',
    );
  }
  p.dnsLabel('namespace', config.namespace);
  p.integer('replicas', config.replicas, 1, 100);
  p.member('flavor', config.flavor, MYSQL_FLAVORS);

  // Images
  const images = config.images ?? ({} as MysqlStackConfig['images']);
  for (const key of ['mysql', 'xtrabackup'] as const) {
    p.check(
      typeof images[key] === 'string' && IMAGE_REFERENCE.test(images[key]),
      `images.${key}`,
      images[key],
      'expected an image reference such as "mysql:5.7" or "repo/name@sha256:<64 hex digits>"',
    );
  }
  if (images.pullPolicy !== undefined) p.member('images.pullPolicy', images.pullPolicy, IMAGE_PULL_POLICIES);

  // Storage
  const s = config.storage;
  p.check(
    typeof s.storageClassName === 'string' &&
      s.storageClassName.length <= 253 &&
      DNS1123_SUBDOMAIN.test(s.storageClassName),
    'storage.storageClassName',
    s.storageClassName,
    'expected a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", at most 253 characters',
  );
  p.member('storage.volumeType', s.volumeType, EBS_VOLUME_TYPES);
  p.check(typeof s.encrypted === 'boolean', 'storage.encrypted', s.encrypted, 'expected true or false');
  if (s.kmsKeyId !== undefined) {
    p.check(
      KMS_KEY_ARN.test(s.kmsKeyId),
      'storage.kmsKeyId',
      s.kmsKeyId,
      'expected a KMS key ARN such as "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"',
    );
    p.check(
      s.encrypted === true,
      'storage.kmsKeyId',
      s.kmsKeyId,
      'is only used when storage.encrypted is true; set encrypted: true or remove kmsKeyId',
    );
  }
  if (s.iops !== undefined) {
    p.check(
      EBS_IOPS_TYPES.includes(s.volumeType),
      'storage.iops',
      s.iops,
      `is only accepted for volume types ${oneOf(EBS_IOPS_TYPES)}, not ${show(s.volumeType)}; remove it or change storage.volumeType`,
    );
    p.integer('storage.iops', s.iops, 100, 256000);
  }
  if (s.throughput !== undefined) {
    p.check(
      EBS_THROUGHPUT_TYPES.includes(s.volumeType),
      'storage.throughput',
      s.throughput,
      `is only accepted for volume type "gp3", not ${show(s.volumeType)}; remove it or use volumeType "gp3"`,
    );
    p.integer('storage.throughput', s.throughput, 125, 2000);
  }
  if (s.fsType !== undefined) p.member('storage.fsType', s.fsType, FS_TYPES);
  p.member('storage.reclaimPolicy', s.reclaimPolicy, RECLAIM_POLICIES);
  p.optionalBoolean('storage.allowVolumeExpansion', s.allowVolumeExpansion);
  for (const [i, opt] of (s.mountOptions ?? []).entries()) {
    p.check(
      typeof opt === 'string' && /^[\w.=,-]+$/.test(opt),
      `storage.mountOptions[${i}]`,
      opt,
      'expected a mount option such as "noatime"',
    );
  }
  p.quantity('storage.size', s.size, '10Gi');
  const bytes = typeof s.size === 'string' ? parseQuantity(s.size) : undefined;
  if (bytes !== undefined && bytes > 0 && EBS_VOLUME_TYPES.includes(s.volumeType)) {
    const min = EBS_MIN_SIZE_GIB[s.volumeType];
    p.check(
      bytes >= min * 2 ** 30,
      'storage.size',
      s.size,
      `EBS ${s.volumeType} volumes are at least ${min}Gi; use "${min}Gi" or more`,
    );
  }

  // MySQL files
  const f = config.mysqlFiles;
  for (const key of ['primaryKey', 'replicaKey'] as const) {
    p.check(
      typeof f[key] === 'string' && f[key].length <= 253 && CNF_KEY.test(f[key]) && f[key].endsWith('.cnf'),
      `mysqlFiles.${key}`,
      f[key],
      'expected a ConfigMap key ending in ".cnf" (letters, digits, "-", "_" and "."), since mysqld only reads *.cnf from conf.d',
    );
  }
  p.check(
    f.primaryKey !== f.replicaKey,
    'mysqlFiles.replicaKey',
    f.replicaKey,
    'must differ from mysqlFiles.primaryKey',
  );
  for (const key of ['primary', 'replica'] as const) {
    p.check(
      typeof f[key] === 'string' && /^\s*(#.*\n\s*)*\[mysqld\]/m.test(f[key]),
      `mysqlFiles.${key}`,
      f[key],
      'expected MySQL option file text with a "[mysqld]" section',
    );
  }

  // Numbers with defaults
  const serverIdOffset = config.serverIdOffset ?? 100;
  p.integer('serverIdOffset', serverIdOffset, 1, 4294967295 - 100);
  const mysqlPort = config.mysqlPort ?? 3306;
  const backupPort = config.backupPort ?? 3307;
  p.integer('mysqlPort', mysqlPort, 1, 65535);
  p.integer('backupPort', backupPort, 1, 65535);
  p.check(mysqlPort !== backupPort, 'backupPort', backupPort, 'must differ from mysqlPort');

  checkResources(p, 'resources.mysql', config.resources.mysql);
  checkResources(p, 'resources.xtrabackup', config.resources.xtrabackup);
  checkProbe(p, 'probes.liveness', config.probes.liveness);
  checkProbe(p, 'probes.readiness', config.probes.readiness);
  if (config.probes.startup !== undefined) checkProbe(p, 'probes.startup', config.probes.startup);
  if (config.resources.init !== undefined) checkResources(p, 'resources.init', config.resources.init);

  const placement = config.placement ?? {};
  const architectures = placement.architectures ?? [];
  for (const [i, a] of architectures.entries())
    p.member(`placement.architectures[${i}]`, a, CPU_ARCHITECTURES);
  const nodeSelector = placement.nodeSelector ?? {};
  p.labels('placement.nodeSelector', nodeSelector);
  if (config.flavor === 'mysql57') {
    p.check(
      architectures.length === 1 && architectures[0] === 'amd64',
      'placement.architectures',
      architectures,
      'must be ["amd64"] for the mysql57 flavor: mysql:5.7 and XtraBackup 2.4 are published for amd64 only',
    );
  }

  // Credentials
  const cred = config.credentials;
  if (config.flavor === 'mysql84') {
    p.check(
      cred !== undefined,
      'credentials',
      cred,
      'is required by the mysql84 flavor: set credentials.secretName (no empty passwords)',
    );
  }
  if (config.flavor === 'mysql57') {
    p.check(
      cred === undefined,
      'credentials',
      cred,
      'is not supported by the mysql57 flavor, which runs the seed\'s passwordless root; use flavor "mysql84" or remove credentials',
    );
  }
  const replicationUser = cred?.replicationUser ?? 'repl';
  if (cred !== undefined) {
    p.dnsSubdomain('credentials.secretName', cred.secretName);
    p.check(
      /^[A-Za-z0-9_]{1,32}$/.test(replicationUser) && replicationUser !== 'root',
      'credentials.replicationUser',
      replicationUser,
      'expected a MySQL user name of 1 to 32 letters, digits and "_", other than "root"',
    );
    const es = cred.externalSecret;
    if (es !== undefined) {
      p.dnsSubdomain('credentials.externalSecret.secretStoreName', es.secretStoreName);
      if (es.secretStoreKind !== undefined)
        p.member('credentials.externalSecret.secretStoreKind', es.secretStoreKind, SECRET_STORE_KINDS);
      p.check(
        typeof es.remoteKey === 'string' && /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(es.remoteKey),
        'credentials.externalSecret.remoteKey',
        es.remoteKey,
        'expected a secret name such as "prod/mysql" (letters, digits and /_+=.@-)',
      );
      if (es.refreshInterval !== undefined)
        p.check(
          /^(\d+(h|m|s))+$/.test(es.refreshInterval),
          'credentials.externalSecret.refreshInterval',
          es.refreshInterval,
          'expected a duration such as "1h", "30m" or "1h30m"',
        );
    }
  }

  // Security
  const security = config.security ?? { podSecurity: 'baseline' };
  p.member('security.podSecurity', security.podSecurity, POD_SECURITY_LEVELS);
  p.optionalBoolean('security.readOnlyRootFilesystem', security.readOnlyRootFilesystem);

  // Availability
  const availability = config.availability ?? {};
  if (availability.maxUnavailable !== undefined)
    p.integer('availability.maxUnavailable', availability.maxUnavailable, 1, 100);

  // Network policy
  for (const [i, client] of (config.networkPolicy?.clients ?? []).entries()) {
    p.dnsLabel(`networkPolicy.clients[${i}].namespace`, client.namespace);
    p.labels(`networkPolicy.clients[${i}].podLabels`, client.podLabels ?? {});
  }

  // Storage extras
  if (s.snapshotClass !== undefined) {
    p.dnsSubdomain('storage.snapshotClass.name', s.snapshotClass.name);
    p.member('storage.snapshotClass.deletionPolicy', s.snapshotClass.deletionPolicy, RECLAIM_POLICIES);
  }

  if (config.terminationGracePeriodSeconds !== undefined)
    p.integer('terminationGracePeriodSeconds', config.terminationGracePeriodSeconds, 1, 3600);
  const labels = config.labels ?? {};
  p.labels('labels', labels);
  p.check(!('app' in labels), 'labels key', 'app', 'is reserved: "app" is the selector label, set from name');

  // GitOps
  const gitops = config.gitops ?? {};
  const protection = gitops.protection ?? 'forbid';
  p.member('gitops.protection', protection, ARGOCD_PROTECTIONS);
  const argo = gitops.argocd;
  if (argo !== undefined) {
    p.check(
      typeof argo.repoURL === 'string' && /^(https:\/\/|ssh:\/\/|git@)[^\s]+$/.test(argo.repoURL),
      'gitops.argocd.repoURL',
      argo.repoURL,
      'expected a Git URL such as "https://github.com/org/gitops.git" or "git@github.com:org/gitops.git"',
    );
    if (argo.targetRevision !== undefined)
      p.check(
        /^[^\s]+$/.test(argo.targetRevision),
        'gitops.argocd.targetRevision',
        argo.targetRevision,
        'expected a branch, tag or commit',
      );
    if (argo.path !== undefined)
      p.check(
        /^[\w.-]+(\/[\w.-]+)*$/.test(argo.path) && !argo.path.split('/').includes('..'),
        'gitops.argocd.path',
        argo.path,
        'expected a relative path inside the repository, such as "dist/production"',
      );
    if (argo.namespace !== undefined) p.dnsLabel('gitops.argocd.namespace', argo.namespace);
    if (argo.project !== undefined) p.dnsSubdomain('gitops.argocd.project', argo.project);
    if (argo.destinationServer !== undefined)
      p.check(
        /^https:\/\/[^\s]+$/.test(argo.destinationServer),
        'gitops.argocd.destinationServer',
        argo.destinationServer,
        'expected an https:// API server URL',
      );
  }

  if (p.list.length > 0) throw new ConfigError(String(config.profile), p.list);

  return {
    ...config,
    serverIdOffset,
    mysqlPort,
    backupPort,
    images: { pullPolicy: 'IfNotPresent', ...images },
    placement: { architectures, nodeSelector },
    credentials:
      cred === undefined
        ? undefined
        : {
            secretName: cred.secretName,
            replicationUser,
            externalSecret:
              cred.externalSecret === undefined
                ? undefined
                : { secretStoreKind: 'ClusterSecretStore', refreshInterval: '1h', ...cred.externalSecret },
          },
    security: { readOnlyRootFilesystem: false, ...security },
    availability,
    rollOnConfigChange: config.rollOnConfigChange ?? false,
    labels,
    gitops: {
      protection,
      argocd:
        argo === undefined
          ? undefined
          : {
              targetRevision: 'main',
              path: `dist/${config.profile}`,
              namespace: 'argocd',
              project: 'default',
              destinationServer: 'https://kubernetes.default.svc',
              automated: true,
              serverSideDiff: false,
              ...argo,
            },
    },
  };
}
