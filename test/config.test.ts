import { production, PROFILES, workshop } from '../charts/profiles';
import { ConfigError, parseQuantity, validateConfig } from '../charts/config';
import { configProblem, withChanges } from './support/synth';

/** The single problem reported for a config changed from a profile (the workshop by default). */
const problemFor = (changes: Record<string, unknown>, base = workshop) => configProblem(base, changes);

describe('every profile is valid', () => {
  test.each(Object.keys(PROFILES))('%s', (name) => {
    expect(() => validateConfig(PROFILES[name])).not.toThrow();
  });
});

describe('validation: each rule names the field, the bad value and what is allowed', () => {
  test('fails if replicas is 0', () => {
    expect(problemFor({ replicas: 0 })).toBe('replicas is 0; expected a whole number from 1 to 100');
  });
  test('fails if replicas is not a whole number', () => {
    expect(problemFor({ replicas: 2.5 })).toBe('replicas is 2.5; expected a whole number from 1 to 100');
  });
  test('fails if the name is not a DNS-1123 label', () => {
    expect(problemFor({ name: 'My_SQL' })).toMatch(/^name is "My_SQL"; expected a DNS-1123 label/);
  });
  test('fails if the name leaves no room for pod ordinals', () => {
    expect(problemFor({ name: 'a'.repeat(53) })).toMatch(/^name is "a{53}"; expected at most 52 characters/);
  });
  test('fails if the namespace is not a DNS-1123 label', () => {
    expect(problemFor({ namespace: 'mysql.prod' })).toMatch(
      /^namespace is "mysql.prod"; expected a DNS-1123 label/,
    );
  });
  test('fails if the profile name is not a DNS-1123 label', () => {
    expect(problemFor({ profile: 'Workshop' })).toMatch(/^profile is "Workshop"; expected a DNS-1123 label/);
  });
  test('fails if the flavor is unknown', () => {
    expect(problemFor({ flavor: 'mysql80' })).toBe(
      'flavor is "mysql80"; expected one of "mysql57", "mysql84"',
    );
  });
  test('fails if an image reference is malformed', () => {
    expect(problemFor({ 'images.mysql': 'MySQL 5.7' })).toMatch(
      /^images\.mysql is "MySQL 5\.7"; expected an image reference/,
    );
  });
  test('accepts an image pinned by digest', () => {
    expect(() =>
      validateConfig(
        withChanges(workshop, {
          'images.xtrabackup': `percona/percona-xtrabackup:2.4@sha256:${'a'.repeat(64)}`,
        }),
      ),
    ).not.toThrow();
  });
  test('fails if the pull policy is unknown', () => {
    expect(problemFor({ 'images.pullPolicy': 'Sometimes' })).toBe(
      'images.pullPolicy is "Sometimes"; expected one of "IfNotPresent", "Always", "Never"',
    );
  });
  test('fails if the volume size is not a Kubernetes quantity', () => {
    expect(problemFor({ 'storage.size': '10GB' })).toBe(
      'storage.size is "10GB"; expected a positive Kubernetes quantity such as "10Gi"',
    );
  });
  test('fails if the volume is smaller than EBS allows for its type', () => {
    expect(problemFor({ 'storage.volumeType': 'st1', 'storage.mountOptions': [] })).toBe(
      'storage.size is "10Gi"; EBS st1 volumes are at least 125Gi; use "125Gi" or more',
    );
  });
  test('fails if the EBS volume type is one the driver does not accept', () => {
    expect(problemFor({ 'storage.volumeType': 'gp4' })).toBe(
      'storage.volumeType is "gp4"; expected one of "gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"',
    );
  });
  test('fails if iops is set for a type without provisioned IOPS', () => {
    expect(problemFor({ 'storage.iops': 4000 })).toBe(
      'storage.iops is 4000; is only accepted for volume types "gp3", "io1", "io2", not "gp2"; remove it or change storage.volumeType',
    );
  });
  test('fails if throughput is set for a type other than gp3', () => {
    expect(problemFor({ 'storage.volumeType': 'io2', 'storage.iops': 1000, 'storage.throughput': 250 })).toBe(
      'storage.throughput is 250; is only accepted for volume type "gp3", not "io2"; remove it or use volumeType "gp3"',
    );
  });
  test('fails if gp3 iops is out of range', () => {
    expect(problemFor({ 'storage.volumeType': 'gp3', 'storage.iops': 50 })).toBe(
      'storage.iops is 50; expected a whole number from 100 to 256000',
    );
  });
  test('accepts gp3 with iops and throughput', () => {
    expect(() =>
      validateConfig(
        withChanges(workshop, {
          'storage.volumeType': 'gp3',
          'storage.size': '12Gi', // 500 IOPS per GiB
          'storage.iops': 6000,
          'storage.throughput': 250,
        }),
      ),
    ).not.toThrow();
  });
  test('fails if the KMS key is not an ARN', () => {
    expect(problemFor({ 'storage.kmsKeyId': 'my-key' })).toMatch(
      /^storage\.kmsKeyId is "my-key"; expected a KMS key ARN/,
    );
  });
  test('fails if a KMS key is given for unencrypted volumes', () => {
    expect(
      problemFor({
        'storage.encrypted': false,
        'storage.kmsKeyId': 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      }),
    ).toMatch(/^storage\.kmsKeyId is ".*"; is only used when storage\.encrypted is true/);
  });
  test('fails if the filesystem type is unknown', () => {
    expect(problemFor({ 'storage.fsType': 'btrfs' })).toBe(
      'storage.fsType is "btrfs"; expected one of "ext4", "xfs", "ext3", "ext2"',
    );
  });
  test('fails if the reclaim policy is unknown', () => {
    expect(problemFor({ 'storage.reclaimPolicy': 'Recycle' })).toBe(
      'storage.reclaimPolicy is "Recycle"; expected one of "Delete", "Retain"',
    );
  });
  test('fails if the StorageClass name is not a DNS-1123 subdomain', () => {
    expect(problemFor({ 'storage.storageClassName': 'MySQL GP2' })).toMatch(
      /^storage\.storageClassName is "MySQL GP2"; expected a DNS-1123 subdomain/,
    );
  });
  test('fails if a mount option is malformed', () => {
    expect(problemFor({ 'storage.mountOptions': ['debug', 'rm -rf'] })).toBe(
      'storage.mountOptions[1] is "rm -rf"; expected a mount option such as "noatime"',
    );
  });
  test('fails if xfs is combined with the debug mount option (XFS refuses it at mount time)', () => {
    expect(problemFor({ 'storage.fsType': 'xfs', 'storage.mountOptions': ['noatime', 'debug'] })).toBe(
      'storage.mountOptions is ["noatime","debug"]; contains "debug", which XFS refuses at mount time (storage.fsType is "xfs"); remove "debug" or use fsType "ext4"',
    );
  });
  test('accepts debug with ext4 and xfs without debug', () => {
    for (const changes of [
      { 'storage.fsType': 'ext4', 'storage.mountOptions': ['debug'] },
      { 'storage.fsType': 'xfs', 'storage.mountOptions': ['noatime'] },
    ])
      expect(() => validateConfig(withChanges(workshop, changes))).not.toThrow();
  });
  test('fails if a resource quantity is malformed', () => {
    expect(problemFor({ 'resources.mysql.memoryRequest': '1 GB' })).toBe(
      'resources.mysql.memoryRequest is "1 GB"; expected a positive Kubernetes quantity such as "1Gi"',
    );
  });
  test('fails if a request exceeds its limit', () => {
    expect(problemFor({ 'resources.xtrabackup.cpuLimit': '50m' })).toBe(
      'resources.xtrabackup.cpuRequest is "100m"; must not exceed resources.xtrabackup.cpuLimit ("50m"); raise the limit or lower the request',
    );
  });
  test('fails if a probe timing is out of range', () => {
    expect(problemFor({ 'probes.readiness.periodSeconds': 0 })).toBe(
      'probes.readiness.periodSeconds is 0; expected a whole number from 1 to 3600',
    );
  });
  test('fails if the ports collide', () => {
    expect(problemFor({ backupPort: 3306 })).toBe('backupPort is 3306; must differ from mysqlPort');
  });
  test('fails if a port is out of range', () => {
    expect(problemFor({ mysqlPort: 70000 })).toBe(
      'mysqlPort is 70000; expected a whole number from 1 to 65535',
    );
  });
  test('fails if the server-id offset is 0 (MySQL reserves server-id 0)', () => {
    expect(problemFor({ serverIdOffset: 0 })).toBe(
      'serverIdOffset is 0; expected a whole number from 1 to 4294967195',
    );
  });
  test('fails if a ConfigMap key is not a .cnf file', () => {
    expect(problemFor({ 'mysqlFiles.primaryKey': 'master.conf' })).toMatch(
      /^mysqlFiles\.primaryKey is "master\.conf"; expected a ConfigMap key ending in "\.cnf"/,
    );
  });
  test('fails if the primary and replica keys are the same', () => {
    expect(problemFor({ 'mysqlFiles.replicaKey': 'master.cnf' })).toBe(
      'mysqlFiles.replicaKey is "master.cnf"; must differ from mysqlFiles.primaryKey',
    );
  });
  test('fails if an option file has no [mysqld] section', () => {
    expect(problemFor({ 'mysqlFiles.replica': 'read-only\n' })).toBe(
      'mysqlFiles.replica is "read-only\\n"; expected MySQL option file text with a "[mysqld]" section',
    );
  });
  test('fails if a node architecture is unknown', () => {
    expect(problemFor({ 'placement.architectures': ['x86_64'] }, production)).toBe(
      'placement.architectures[0] is "x86_64"; expected one of "amd64", "arm64"',
    );
  });
  test('fails if the mysql57 flavor could land on arm64 (Graviton) nodes', () => {
    expect(problemFor({ 'placement.architectures': ['amd64', 'arm64'] })).toBe(
      'placement.architectures is ["amd64","arm64"]; must be ["amd64"] for the mysql57 flavor: mysql:5.7 and XtraBackup 2.4 are published for amd64 only',
    );
  });
  test('fails if the mysql84 flavor has no credentials (no empty passwords)', () => {
    expect(problemFor({ credentials: undefined }, production)).toBe(
      'credentials is undefined; is required by the mysql84 flavor: set credentials.secretName (no empty passwords)',
    );
  });
  test('fails if the mysql57 flavor is given credentials', () => {
    expect(problemFor({ credentials: { secretName: 'x' } })).toMatch(
      /^credentials is \{"secretName":"x"\}; is not supported by the mysql57 flavor/,
    );
  });
  test('fails if the replication user is root', () => {
    expect(problemFor({ 'credentials.replicationUser': 'root' }, production)).toBe(
      'credentials.replicationUser is "root"; expected a MySQL user name of 1 to 32 letters, digits and "_", other than "root"',
    );
  });
  test('fails if the credentials Secret name is invalid', () => {
    expect(problemFor({ 'credentials.secretName': 'MySQL_Creds' }, production)).toMatch(
      /^credentials\.secretName is "MySQL_Creds"; expected a DNS-1123 subdomain/,
    );
  });
  test('fails if the ExternalSecret store kind is unknown', () => {
    expect(
      problemFor(
        {
          'credentials.externalSecret': {
            secretStoreName: 'aws',
            remoteKey: 'prod/mysql',
            secretStoreKind: 'Vault',
          },
        },
        production,
      ),
    ).toBe(
      'credentials.externalSecret.secretStoreKind is "Vault"; expected one of "SecretStore", "ClusterSecretStore"',
    );
  });
  test('fails if the ExternalSecret refresh interval is not a duration', () => {
    expect(
      problemFor(
        {
          'credentials.externalSecret': {
            secretStoreName: 'aws',
            remoteKey: 'prod/mysql',
            refreshInterval: 'hourly',
          },
        },
        production,
      ),
    ).toBe(
      'credentials.externalSecret.refreshInterval is "hourly"; expected a duration such as "1h", "30m" or "1h30m"',
    );
  });
  test('fails if the ExternalSecret remote key has spaces', () => {
    expect(
      problemFor(
        { 'credentials.externalSecret': { secretStoreName: 'aws', remoteKey: 'prod mysql' } },
        production,
      ),
    ).toMatch(/^credentials\.externalSecret\.remoteKey is "prod mysql"; expected a secret name/);
  });
  test('fails if the Pod Security level is unknown', () => {
    expect(problemFor({ 'security.podSecurity': 'privileged' }, production)).toBe(
      'security.podSecurity is "privileged"; expected one of "baseline", "restricted"',
    );
  });
  test('fails if the PodDisruptionBudget allows 0 pods down (drains would hang)', () => {
    expect(problemFor({ 'availability.maxUnavailable': 0 }, production)).toBe(
      'availability.maxUnavailable is 0; expected a whole number from 1 to 100',
    );
  });
  test('fails if a NetworkPolicy client namespace is invalid', () => {
    expect(problemFor({ networkPolicy: { clients: [{ namespace: 'Apps' }] } }, production)).toMatch(
      /^networkPolicy\.clients\[0\]\.namespace is "Apps"; expected a DNS-1123 label/,
    );
  });
  test('fails if the PriorityClass value is above what a user-defined class may have', () => {
    expect(problemFor({ 'priorityClass.value': 2_000_000_000 }, production)).toBe(
      'priorityClass.value is 2000000000; expected a whole number from 0 to 1000000000',
    );
  });
  test('fails if a PriorityClass to create is named system-* (reserved by Kubernetes)', () => {
    expect(problemFor({ 'priorityClass.name': 'system-mysql' }, production)).toBe(
      'priorityClass.name is "system-mysql"; starts with "system-", which is reserved for Kubernetes\' own classes: choose another name, or remove priorityClass.value to use an existing class',
    );
  });
  test('accepts naming an existing class, system ones included, without creating it', () => {
    expect(() =>
      validateConfig(withChanges(production, { priorityClass: { name: 'system-cluster-critical' } })),
    ).not.toThrow();
  });
  test('fails if a preemption policy is given for a class the stack does not create', () => {
    expect(problemFor({ priorityClass: { name: 'db', preemptionPolicy: 'Never' } }, production)).toBe(
      'priorityClass.preemptionPolicy is "Never"; applies only to a PriorityClass this stack creates: set priorityClass.value, or set it on your existing class',
    );
  });
  test('fails if the preemption policy is unknown', () => {
    expect(problemFor({ 'priorityClass.preemptionPolicy': 'Always' }, production)).toBe(
      'priorityClass.preemptionPolicy is "Always"; expected one of "PreemptLowerPriority", "Never"',
    );
  });
  test('fails if the PriorityClass name is not a DNS-1123 subdomain', () => {
    expect(problemFor({ 'priorityClass.name': 'High_Priority' }, production)).toMatch(
      /^priorityClass\.name is "High_Priority"; expected a DNS-1123 subdomain/,
    );
  });
  test('fails if the snapshot deletion policy is unknown', () => {
    expect(problemFor({ 'storage.snapshotClass.deletionPolicy': 'Keep' }, production)).toBe(
      'storage.snapshotClass.deletionPolicy is "Keep"; expected one of "Delete", "Retain"',
    );
  });
  test('fails if the termination grace period is 0 (mysqld would be killed mid-shutdown)', () => {
    expect(problemFor({ terminationGracePeriodSeconds: 0 }, production)).toBe(
      'terminationGracePeriodSeconds is 0; expected a whole number from 1 to 3600',
    );
  });
  test('fails if replication.maxLagSeconds is not a whole number of seconds', () => {
    expect(problemFor({ 'replication.maxLagSeconds': 1.5 }, production)).toBe(
      'replication.maxLagSeconds is 1.5; expected a whole number from 0 to 86400',
    );
    expect(problemFor({ 'replication.maxLagSeconds': -1 }, production)).toBe(
      'replication.maxLagSeconds is -1; expected a whole number from 0 to 86400',
    );
  });
  test('fails if replication.semiSync is enabled on the mysql57 flavor (the workshop keeps asynchronous replication)', () => {
    expect(problemFor({ 'replication.semiSync': { enabled: true } })).toBe(
      'replication.semiSync.enabled is true; is only for the mysql84 flavor: the mysql57 flavor (the workshop) keeps the page\'s asynchronous replication; remove it or use flavor "mysql84"',
    );
  });
  test('fails if replication.semiSync.waitForReplicaCount is more than replicas - 1, or below 1', () => {
    expect(
      problemFor({ 'replication.semiSync': { enabled: true, waitForReplicaCount: 3 } }, production),
    ).toBe(
      'replication.semiSync.waitForReplicaCount is 3; must be at most replicas - 1 (2): only the replicas acknowledge a commit; lower it or raise replicas',
    );
    expect(
      problemFor({ 'replication.semiSync': { enabled: true, waitForReplicaCount: 0 } }, production),
    ).toBe('replication.semiSync.waitForReplicaCount is 0; expected a whole number from 1 to 99');
    expect(
      problemFor({ replicas: 1, primary: 0, 'replication.semiSync': { enabled: true } }, production),
    ).toBe(
      'replication.semiSync.waitForReplicaCount is 1; needs a replica to acknowledge commits, and replicas is 1: raise replicas or disable semiSync',
    );
  });
  test('fails if replication.semiSync.timeoutSeconds is not a positive number of whole milliseconds', () => {
    for (const bad of [0, -1, 0.0005, 3601, '10'])
      expect(
        problemFor({ 'replication.semiSync': { enabled: true, timeoutSeconds: bad } }, production),
      ).toMatch(
        /^replication\.semiSync\.timeoutSeconds is .*; expected a number of seconds above 0, at most 3600, in whole milliseconds \(e\.g\. 0\.5 or 10\)$/,
      );
  });
  test('replication.semiSync: off by default; enabled on production it fills in the defaults', () => {
    expect(validateConfig(production).replication.semiSync).toEqual({
      enabled: false,
      timeoutSeconds: 10,
      waitForReplicaCount: 1,
    });
    const c = validateConfig(
      withChanges(production, { 'replication.semiSync': { enabled: true, timeoutSeconds: 0.25 } }),
    );
    expect(c.replication.semiSync).toEqual({ enabled: true, timeoutSeconds: 0.25, waitForReplicaCount: 1 });
  });
  test('fails if replication.readiness is unknown (the off switch is "serving")', () => {
    expect(problemFor({ 'replication.readiness': 'off' }, production)).toBe(
      'replication.readiness is "off"; expected one of "replicating", "serving"',
    );
  });
  test('fails if a common label would clash with the selector label', () => {
    expect(problemFor({ 'labels.app': 'db' }, production)).toBe(
      'labels key is "app"; is reserved: "app" is the selector label, set from name',
    );
  });
  test('fails if a startup probe timing is out of range', () => {
    expect(problemFor({ 'probes.startup.failureThreshold': 0 }, production)).toBe(
      'probes.startup.failureThreshold is 0; expected a whole number from 1 to 1000',
    );
  });
  test('fails if an init container request exceeds its limit', () => {
    expect(problemFor({ 'resources.init.memoryRequest': '2Gi' }, production)).toBe(
      'resources.init.memoryRequest is "2Gi"; must not exceed resources.init.memoryLimit ("1Gi"); raise the limit or lower the request',
    );
  });
  test('fails if a node selector value is not a label value', () => {
    expect(problemFor({ 'placement.nodeSelector': { 'node.kubernetes.io/pool': 'db pool' } })).toMatch(
      /^placement\.nodeSelector\["node\.kubernetes\.io\/pool"\] is "db pool"; expected a label value/,
    );
  });

  test('reports every problem at once, under the profile name', () => {
    expect(() => validateConfig(withChanges(workshop, { replicas: 0, 'storage.size': 'big' }))).toThrow(
      'Invalid config for profile "workshop" (2 problems):\n' +
        '  - replicas is 0; expected a whole number from 1 to 100\n' +
        '  - storage.size is "big"; expected a positive Kubernetes quantity such as "10Gi"',
    );
  });

  test('fills in the documented defaults', () => {
    const r = validateConfig(workshop);
    expect(r).toMatchObject({ serverIdOffset: 100, mysqlPort: 3306, backupPort: 3307 });
    expect(r.images.pullPolicy).toBe('IfNotPresent');
  });
});

describe('parseQuantity', () => {
  test.each([
    ['10Gi', 10 * 2 ** 30],
    ['500m', 0.5],
    ['1', 1],
    ['1.5G', 1.5e9],
    ['1e3', 1000],
  ])('%s', (q, value) => expect(parseQuantity(q)).toBe(value));
  test.each(['10GB', '', 'Gi', '1 Gi', '--1'])('rejects %p', (q) => expect(parseQuantity(q)).toBeUndefined());
});

/** Every problem reported for a config changed from a profile. */
function problemsFor(changes: Record<string, unknown>, base = workshop): readonly string[] {
  try {
    validateConfig(withChanges(base, changes));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error(`config with ${JSON.stringify(changes)} was accepted`);
}

type BadInput = [string, Record<string, unknown>, typeof workshop, readonly (string | RegExp)[]];
const W = workshop;
const P = production;
/** Kinds of bad input a user really writes, each with the whole message it gets. */
const BAD_INPUTS: BadInput[] = [
  [
    'a boolean written as a string',
    { 'availability.spreadAcrossZones': 'false' },
    P,
    ['availability.spreadAcrossZones is "false"; expected true or false'],
  ],
  [
    'a boolean written as a word',
    { rollOnConfigChange: 'no' },
    W,
    ['rollOnConfigChange is "no"; expected true or false'],
  ],
  [
    'a typo in a key',
    { 'storage.allowVolumeExpnsion': true },
    W,
    [
      'storage.allowVolumeExpnsion is true; storage has no field "allowVolumeExpnsion": did you mean "allowVolumeExpansion"?',
    ],
  ],
  [
    'a typo in a top-level key',
    { replica: 3 },
    W,
    ['replica is 3; the config has no field "replica": did you mean "replicas"?'],
  ],
  [
    'a key in the wrong case',
    { 'probes.liveness.PeriodSeconds': 10 },
    W,
    [
      'probes.liveness.PeriodSeconds is 10; probes.liveness has no field "PeriodSeconds": did you mean "periodSeconds"?',
    ],
  ],
  [
    'an unknown key far from any field',
    { 'storage.colour': 'red' },
    W,
    [
      /^storage\.colour is "red"; storage has no field "colour"; its fields are storageClassName, volumeType, encrypted, /,
    ],
  ],
  [
    'a typo in a list item key',
    { networkPolicy: { clients: [{ namespace: 'app', podLabel: { a: 'b' } }] } },
    P,
    [
      'networkPolicy.clients[0].podLabel is {"a":"b"}; networkPolicy.clients[0] has no field "podLabel": did you mean "podLabels"?',
    ],
  ],
  [
    'a missing resources block',
    { resources: undefined },
    W,
    [
      'resources is missing; expected the resources of each container (an object with the fields mysql, xtrabackup, init)',
    ],
  ],
  [
    'a missing storage block',
    { storage: undefined },
    W,
    [
      /^storage is missing; expected the storage settings \(an object with the fields storageClassName, volumeType, /,
    ],
  ],
  [
    'a missing probe',
    { 'probes.readiness': undefined },
    W,
    [
      'probes.readiness is missing; expected probe timings (an object with the fields initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold)',
    ],
  ],
  [
    'a missing required string',
    { 'security.podSecurity': undefined },
    P,
    ['security.podSecurity is missing; expected one of "baseline", "restricted"'],
  ],
  [
    'a string where a block belongs',
    { images: 'mysql:5.7' },
    W,
    [
      'images is "mysql:5.7"; expected the container images (an object with the fields mysql, xtrabackup, pullPolicy)',
    ],
  ],
  [
    'a single mount option instead of a list',
    { 'storage.mountOptions': 'debug' },
    W,
    ['storage.mountOptions is "debug"; expected a list such as ["noatime"]'],
  ],
  [
    'an object where a list belongs',
    { networkPolicy: { clients: { namespace: 'app' } } },
    P,
    ['networkPolicy.clients is {"namespace":"app"}; expected a list such as [{ namespace: "app" }]'],
  ],
  ['NaN replicas', { replicas: NaN }, W, ['replicas is NaN; expected a whole number from 1 to 100']],
  [
    'infinite replicas',
    { replicas: Infinity },
    W,
    ['replicas is Infinity; expected a whole number from 1 to 100'],
  ],
  [
    'a number written as a string',
    { mysqlPort: '3306' },
    W,
    ['mysqlPort is "3306"; expected a whole number from 1 to 65535'],
  ],
  [
    'a fractional grace period',
    { terminationGracePeriodSeconds: 30.5 },
    P,
    ['terminationGracePeriodSeconds is 30.5; expected a whole number from 1 to 3600'],
  ],
  [
    'an image tag as a number',
    { 'images.mysql': 5.7 },
    W,
    [/^images\.mysql is 5\.7; expected an image reference/],
  ],
  [
    'a gp2 volume above the EBS maximum',
    { 'storage.size': '100Ti' },
    W,
    ['storage.size is "100Ti"; EBS gp2 volumes are at most 16Ti (16384 GiB); use "16Ti" or less'],
  ],
  [
    'a gp3 volume above the EBS maximum (64 TiB since 2025)',
    { 'storage.size': '65Ti' },
    P,
    ['storage.size is "65Ti"; EBS gp3 volumes are at most 64Ti (65536 GiB); use "64Ti" or less'],
  ],
  [
    'a magnetic volume above 1 TiB',
    { 'storage.volumeType': 'standard', 'storage.size': '2Ti' },
    W,
    ['storage.size is "2Ti"; EBS standard volumes are at most 1Ti (1024 GiB); use "1Ti" or less'],
  ],
  [
    'gp3 IOPS below its baseline',
    { 'storage.iops': 1000 },
    P,
    ['storage.iops is 1000; EBS gp3 volumes take 3000 to 80000 IOPS'],
  ],
  [
    'gp3 IOPS above 500 per GiB',
    { 'storage.iops': 30000 },
    P,
    [
      'storage.iops is 30000; EBS gp3 allows at most 500 IOPS per GiB, 25000 for "50Gi"; lower iops or raise storage.size to "60Gi"',
    ],
  ],
  [
    'gp3 throughput above 0.25 MiB/s per IOPS',
    { 'storage.throughput': 1000 },
    P,
    [
      'storage.throughput is 1000; EBS gp3 allows at most 0.25 MiB/s per provisioned IOPS, 750 MiB/s for 3000 IOPS; lower throughput or raise storage.iops to 4000',
    ],
  ],
  [
    'io1 without IOPS',
    { 'storage.volumeType': 'io1' },
    W,
    ['storage.iops is undefined; is required for EBS io1 volumes (100 to 64000 IOPS, at most 50 per GiB)'],
  ],
  [
    'io1 IOPS above 50 per GiB',
    { 'storage.volumeType': 'io1', 'storage.iops': 1000 },
    W,
    [
      'storage.iops is 1000; EBS io1 allows at most 50 IOPS per GiB, 500 for "10Gi"; lower iops or raise storage.size to "20Gi"',
    ],
  ],
  [
    'a label name with a space',
    { 'labels.bad key': 'x' },
    P,
    [/^labels key is "bad key"; expected a label name/],
  ],
  [
    'a node selector that is not an object',
    { 'placement.nodeSelector': 'pool' },
    W,
    [
      'placement.nodeSelector is "pool"; expected labels: an object of label names to label values, such as {"tier": "db"}',
    ],
  ],
  [
    'an Argo CD flag as a string',
    { 'gitops.argocd.automated': 'true' },
    P,
    ['gitops.argocd.automated is "true"; expected true or false'],
  ],
  [
    'a wrong-case key that also leaves a required one missing',
    { 'credentials.externalSecret': { secretStoreName: 'aws', remotekey: 'prod/mysql' } },
    P,
    [
      'credentials.externalSecret.remoteKey is missing; expected a secret name such as "prod/mysql" (letters, digits and /_+=.@-)',
      'credentials.externalSecret.remotekey is "prod/mysql"; credentials.externalSecret has no field "remotekey": did you mean "remoteKey"?',
    ],
  ],
  [
    'a null block',
    { security: null },
    P,
    [
      /^security is null; expected the security settings \(an object with the fields podSecurity, readOnlyRootFilesystem\)$/,
    ],
  ],
];

describe('a table of bad input, each with its whole message', () => {
  test('has at least 30 kinds', () => expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(30));
  test.each(BAD_INPUTS)('fails on %s', (_title, changes, base, expected) => {
    const problems = problemsFor(changes, base);
    expect(problems).toHaveLength(expected.length);
    expected.forEach((e, i) =>
      typeof e === 'string' ? expect(problems[i]).toBe(e) : expect(problems[i]).toMatch(e),
    );
  });
  test('fails on a config that is not an object', () => {
    expect(() => validateConfig('workshop' as never)).toThrow(
      /^Invalid config for profile "undefined" \(1 problem\):\n  - config is "workshop"; expected a profile config/,
    );
  });
  test('accepts the largest gp3 volume with the most IOPS and throughput (2025 limits)', () => {
    expect(() =>
      validateConfig(
        withChanges(production, {
          'storage.size': '64Ti',
          'storage.iops': 80000,
          'storage.throughput': 2000,
        }),
      ),
    ).not.toThrow();
  });
});
