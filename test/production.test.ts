import * as fs from 'fs';
import { scriptPath } from '../charts/scripts';
import * as path from 'path';
import { production, workshop } from '../charts/profiles';
import { CONFIG_HASH_ANNOTATION } from '../charts/statefulset-chart';
import { schemaProblems } from './support/k8s-schema';
import { container, K8sObject, only, synthStack, withChanges } from './support/synth';

const { objects } = synthStack(production);
const sts = only(objects, 'StatefulSet', 'mysql');
const pod = sts.spec.template.spec;
const ALL = ['init-mysql', 'clone-mysql', 'mysql', 'xtrabackup'];
const script = (name: string) => container(pod, name).command[2] as string;

describe('production: the objects', () => {
  test('StorageClass, VolumeSnapshotClass, PriorityClass, Namespace, ConfigMap, 3 Services, cert-manager objects, PDB, NetworkPolicies, the switchover ConfigMap and Job, StatefulSet, backups, monitoring', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'StorageClass/mysql-gp3',
      'VolumeSnapshotClass/mysql-ebs-snapshots',
      'PriorityClass/mysql-production',
      'Namespace/mysql-production',
      'ConfigMap/mysql-config',
      'Service/mysql',
      'Service/mysql-read',
      'Service/mysql-primary',
      'Issuer/mysql-selfsigned',
      'Certificate/mysql-ca',
      'Issuer/mysql-ca',
      'Certificate/mysql-server',
      'Certificate/mysql-client',
      'PodDisruptionBudget/mysql',
      'NetworkPolicy/mysql',
      'NetworkPolicy/mysql-backup',
      'NetworkPolicy/mysql-restore-drill',
      'NetworkPolicy/mysql-volume-snapshot',
      'NetworkPolicy/mysql-binlog-archiver',
      'NetworkPolicy/mysql-switchover',
      'ConfigMap/mysql-primary',
      'Job/mysql-switchover',
      'StatefulSet/mysql',
      'ServiceAccount/mysql-backup',
      'CronJob/mysql-backup',
      'CronJob/mysql-restore-drill',
      'PodDisruptionBudget/mysql-binlog-archiver',
      'Deployment/mysql-binlog-archiver',
      'ServiceAccount/mysql-volume-snapshot',
      'Role/mysql-volume-snapshot',
      'RoleBinding/mysql-volume-snapshot',
      'CronJob/mysql-volume-snapshot',
      'PodMonitor/mysql',
      'PrometheusRule/mysql',
      'ConfigMap/mysql-dashboard',
    ]);
  });
  test('every object passes its schema', () => {
    expect(objects.flatMap((o) => schemaProblems(o))).toEqual([]);
  });
  test('names the scripts depend on stay fixed; common labels never reach a selector', () => {
    expect(sts.spec.selector).toEqual({ matchLabels: { app: 'mysql' } });
    expect(only(objects, 'Service', 'mysql').spec.selector).toEqual({ app: 'mysql' });
    expect(only(objects, 'Service', 'mysql-read').spec.selector).toEqual({ app: 'mysql' });
    expect(sts.metadata.labels).toMatchObject({ app: 'mysql', 'app.kubernetes.io/name': 'mysql' });
  });
  test('writers get mysql-primary: a ClusterIP on 3306 selecting pod mysql-0 only (the controller labels pods by name)', () => {
    const svc = only(objects, 'Service', 'mysql-primary');
    expect(svc.spec).toEqual({
      ports: [{ name: 'mysql', port: 3306 }],
      selector: { app: 'mysql', 'statefulset.kubernetes.io/pod-name': 'mysql-0' },
    });
    expect(svc.spec.publishNotReadyAddresses).toBeUndefined();
  });
  test('the headless Service publishes pods that are not Ready: peer DNS never vanishes', () => {
    expect(only(objects, 'Service', 'mysql').spec.publishNotReadyAddresses).toBe(true);
    expect(only(objects, 'Service', 'mysql-read').spec.publishNotReadyAddresses).toBeUndefined();
  });
});

describe('production: supported MySQL', () => {
  test('MySQL 8.4 LTS with Percona XtraBackup 8.4 for the clone and the sidecar', () => {
    expect(container(pod, 'init-mysql').image).toBe('mysql:8.4.10');
    expect(container(pod, 'mysql').image).toBe('mysql:8.4.10');
    expect(container(pod, 'clone-mysql').image).toBe('percona/percona-xtrabackup:8.4.0-6.1');
    expect(container(pod, 'xtrabackup').image).toBe('percona/percona-xtrabackup:8.4.0-6.1');
  });
  test('the sidecar speaks MySQL 8.4 (no CHANGE MASTER, START SLAVE or MASTER_ options)', () => {
    const s = script('xtrabackup').replace(/^\s*#.*$/gm, '');
    expect(s).toMatch(/CHANGE REPLICATION SOURCE TO/);
    expect(s).toMatch(/START REPLICA/);
    expect(s).not.toMatch(/CHANGE MASTER|START SLAVE|MASTER_[A-Z]/);
    const file = (...p: string[]) =>
      fs.readFileSync(path.join(__dirname, '..', 'charts', 'scripts', ...p), 'utf8');
    // The exporter's user function first (charts/exporter.ts), then the sidecar.
    expect(s).toBe(
      `${file('monitoring', 'exporter-user.sh')}\n${file('mysql84', 'xtrabackup-sidecar.sh')}`.replace(
        /^\s*#.*$/gm,
        '',
      ),
    );
  });
  test('GTID replication on every pod; replicas are super-read-only', () => {
    const cm = only(objects, 'ConfigMap', 'mysql-config');
    for (const key of ['primary.cnf', 'replica.cnf'])
      expect(cm.data[key]).toMatch(/gtid_mode=ON\nenforce_gtid_consistency=ON/);
    expect(cm.data['replica.cnf']).toMatch(/super_read_only=ON/);
    expect(cm.data['primary.cnf']).not.toMatch(/read_only/);
  });
  test('multi-arch images: no node architecture pin', () => {
    expect(pod.affinity.nodeAffinity).toBeUndefined();
  });
});

describe('production: credentials', () => {
  test('root password from the Secret as a file, never an empty password', () => {
    expect(container(pod, 'mysql').env).toEqual([
      { name: 'MYSQL_ROOT_PASSWORD_FILE', value: '/etc/mysql/credentials/root-password' },
    ]);
    expect(JSON.stringify(objects)).not.toMatch(/MYSQL_ALLOW_EMPTY_PASSWORD|MASTER_PASSWORD=''/);
  });
  test('the Secret is mounted read-only, readable by the mysql group only, every key (a rotation adds -previous keys)', () => {
    expect(pod.volumes).toContainEqual({
      name: 'credentials',
      secret: { secretName: 'mysql-credentials', defaultMode: 0o440 },
    });
    for (const name of ['init-mysql', 'mysql', 'xtrabackup', 'exporter-config']) {
      expect(container(pod, name).volumeMounts).toContainEqual({
        name: 'credentials',
        mountPath: '/etc/mysql/credentials',
        readOnly: true,
      });
    }
    expect(container(pod, 'clone-mysql').volumeMounts.map((m: K8sObject) => m.name)).not.toContain(
      'credentials',
    );
    // No subPath anywhere: a subPath mount of a Secret never sees an update.
    for (const c of [...pod.initContainers, ...pod.containers])
      for (const m of c.volumeMounts.filter((v: K8sObject) => v.name === 'credentials'))
        expect(m.subPath).toBeUndefined();
  });
  test('the sidecar follows the Secret volume (CREDENTIALS_DIR) and may refresh the option files; mysql only reads them', () => {
    const x = container(pod, 'xtrabackup');
    expect(x.env).toContainEqual({ name: 'CREDENTIALS_DIR', value: '/etc/mysql/credentials' });
    expect(x.volumeMounts).toContainEqual({
      name: 'client-cnf',
      mountPath: '/run/mysql-client',
      readOnly: false,
    });
    expect(container(pod, 'mysql').volumeMounts).toContainEqual({
      name: 'client-cnf',
      mountPath: '/run/mysql-client',
      readOnly: true,
    });
  });
  test('probes read credentials from an in-memory option file, never from the command line', () => {
    const mysql = container(pod, 'mysql');
    const cnf = '--defaults-extra-file=/run/mysql-client/root.cnf';
    expect(mysql.readinessProbe.exec.command).toEqual(['mysql', cnf, '-h', '127.0.0.1', '-e', 'SELECT 1']);
    expect(mysql.livenessProbe.exec.command).toEqual(['mysqladmin', cnf, 'ping']);
    expect(mysql.startupProbe.exec.command).toEqual(['mysqladmin', cnf, 'ping']);
    expect(pod.volumes).toContainEqual({
      name: 'client-cnf',
      emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
    });
    const commands = JSON.stringify(objects.map((o) => o.spec?.template?.spec?.containers ?? []));
    expect(commands).not.toMatch(/--password|"-p[^o]/);
  });
  test('a dedicated replication user, not root, for replication and backups', () => {
    expect(container(pod, 'xtrabackup').env).toContainEqual({ name: 'REPLICATION_USER', value: 'repl' });
    expect(script('xtrabackup')).toMatch(/replication\.cnf/);
  });
  test('nothing secret in dist/: no Secret object, no password values', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const o of objects) {
      for (const c of [
        ...(o.spec?.template?.spec?.containers ?? []),
        ...(o.spec?.template?.spec?.initContainers ?? []),
      ]) {
        for (const e of c.env ?? []) expect(e.name).not.toMatch(/PASSWORD$/);
      }
    }
  });
  test('optionally an ExternalSecret (External Secrets Operator) fills the Secret from AWS Secrets Manager', () => {
    const withEso = synthStack(
      withChanges(production, {
        'credentials.externalSecret': { secretStoreName: 'aws-secrets-manager', remoteKey: 'prod/mysql' },
      }),
    ).objects;
    const es = only(withEso, 'ExternalSecret', 'mysql-credentials');
    expect(es.apiVersion).toBe('external-secrets.io/v1');
    expect(es.metadata.namespace).toBe('mysql-production');
    expect(es.spec).toEqual({
      refreshInterval: '1h',
      secretStoreRef: { name: 'aws-secrets-manager', kind: 'ClusterSecretStore' },
      target: { name: 'mysql-credentials', creationPolicy: 'Owner', deletionPolicy: 'Retain' },
      data: [
        { secretKey: 'root-password', remoteRef: { key: 'prod/mysql', property: 'root-password' } },
        {
          secretKey: 'replication-password',
          remoteRef: { key: 'prod/mysql', property: 'replication-password' },
        },
        { secretKey: 'exporter-password', remoteRef: { key: 'prod/mysql', property: 'exporter-password' } },
      ],
      // every property, so that the -previous keys of a rotation come and go with the store's secret
      dataFrom: [{ extract: { key: 'prod/mysql' } }],
    });
    expect(schemaProblems(es)).toEqual([]);
  });
});

describe('production: restricted pods', () => {
  test('every container runs as uid 999, non-root, no escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(pod.securityContext).toEqual({
      fsGroup: 999,
      fsGroupChangePolicy: 'OnRootMismatch',
      runAsNonRoot: true,
      runAsUser: 999,
      runAsGroup: 999,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const name of ALL) {
      expect(container(pod, name).securityContext).toEqual({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
      });
    }
  });
  test('read-only root filesystems, with emptyDirs where the images write', () => {
    expect(container(pod, 'mysql').volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'run-mysqld', mountPath: '/var/run/mysqld' },
      ]),
    );
    for (const name of ['clone-mysql', 'xtrabackup']) {
      expect(container(pod, name).volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    }
  });
  test('no service account token in the pods', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
  });
});

describe('production: cloning', () => {
  test('replicas clone from the primary (an 8.4 replica backup would carry its replication channel)', () => {
    expect(container(pod, 'clone-mysql').env).toContainEqual({ name: 'CLONE_FROM', value: 'primary' });
  });
  test('an empty mysql-0 clones the most advanced replica, asking the peers as the replication user', () => {
    const clone = container(pod, 'clone-mysql');
    expect(clone.env).toEqual(
      expect.arrayContaining([
        { name: 'EMPTY_PRIMARY', value: 'clone' },
        { name: 'MYSQL_PORT', value: '3306' },
        { name: 'CLIENT_CNF_DIR', value: '/run/mysql-client' },
      ]),
    );
    expect(clone.volumeMounts).toContainEqual({
      name: 'client-cnf',
      mountPath: '/run/mysql-client',
      readOnly: true,
    });
  });
  test('the sidecar is Ready only on a fresh "ready" verdict of its replication watch (replica-ready.sh)', () => {
    const x = container(pod, 'xtrabackup');
    const cmd = x.readinessProbe.exec.command;
    expect(cmd.slice(0, 2)).toEqual(['bash', '-c']);
    expect(cmd[2]).toBe(fs.readFileSync(scriptPath('replica-ready', 'mysql84'), 'utf8'));
    expect(cmd.slice(3)).toEqual(['replica-ready', '/tmp/replication-state', '30']);
    expect(x.env).toEqual(
      expect.arrayContaining([
        { name: 'STATE_FILE', value: '/tmp/replication-state' },
        { name: 'REPLICA_READINESS', value: 'replicating' },
        { name: 'MAX_LAG_SECONDS', value: '60' },
      ]),
    );
  });
  test('app.kubernetes.io/instance is the StatefulSet name on every namespaced object, never in a selector', () => {
    // Argo CD 3.x tracks by annotation (argocd.argoproj.io/tracking-id); with label tracking it rewrites
    // only metadata labels, which is why the label must stay out of the (immutable) selectors.
    for (const o of objects.filter((x) => x.metadata.namespace !== undefined)) {
      expect(o.metadata.labels?.['app.kubernetes.io/instance']).toBe(sts.metadata.name);
    }
    expect(Object.keys(sts.spec.selector.matchLabels)).toEqual(['app']);
  });
});

describe('production: resources and probes', () => {
  test('requests and limits on every container, init containers included', () => {
    for (const name of ALL) {
      const r = container(pod, name).resources;
      expect(Object.keys(r.requests).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(r.limits).sort()).toEqual(['cpu', 'memory']);
    }
  });
  test('a startup probe gives mysqld at least 10 minutes before liveness can kill it', () => {
    const s = container(pod, 'mysql').startupProbe;
    expect(s.periodSeconds * s.failureThreshold).toBeGreaterThanOrEqual(600);
  });
  test('a termination grace period long enough for a clean InnoDB shutdown', () => {
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
  });
});

describe('production: zones and disruption', () => {
  test('spread over zones, never two pods on one node', () => {
    expect(pod.topologySpreadConstraints).toEqual([
      {
        topologyKey: 'topology.kubernetes.io/zone',
        maxSkew: 1,
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { app: 'mysql' } },
      },
    ]);
    expect(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
      { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'mysql' } } },
    ]);
  });
  test('a PodDisruptionBudget lets drains take one pod at a time', () => {
    expect(only(objects, 'PodDisruptionBudget', 'mysql').spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { app: 'mysql' } },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });
});

describe('production: storage that keeps data', () => {
  test('gp3, encrypted, expandable, Retain', () => {
    const sc = only(objects, 'StorageClass');
    expect(sc.parameters).toEqual({
      type: 'gp3',
      iops: '3000',
      throughput: '125',
      encrypted: 'true',
      'csi.storage.k8s.io/fstype': 'ext4',
    });
    expect(sc).toMatchObject({
      allowVolumeExpansion: true,
      reclaimPolicy: 'Retain',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
  });
  test('an optional KMS key encrypts with a customer managed key', () => {
    const arn = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const sc = only(synthStack(withChanges(production, { 'storage.kmsKeyId': arn })).objects, 'StorageClass');
    expect(sc.parameters.kmsKeyId).toBe(arn);
  });
  test('claims survive deleting or scaling down the StatefulSet', () => {
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
  });
  test('a VolumeSnapshotClass for EBS snapshots that outlive their VolumeSnapshot', () => {
    expect(only(objects, 'VolumeSnapshotClass')).toEqual({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: expect.objectContaining({ name: 'mysql-ebs-snapshots' }),
      driver: 'ebs.csi.aws.com',
      deletionPolicy: 'Retain',
    });
  });
});

describe('production: network', () => {
  const np = only(objects, 'NetworkPolicy', 'mysql').spec;
  test('selects the MySQL pods for ingress and egress', () => {
    expect(np.podSelector).toEqual({ matchLabels: { app: 'mysql' } });
    expect(np.policyTypes).toEqual(['Ingress', 'Egress']);
  });
  test('peers reach each other on 3306 and 3307; clients only on 3306, only from the named namespace; the backup, snapshot and switchover jobs; Prometheus only the metrics port', () => {
    expect(np.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { app: 'mysql' } } }],
        ports: [
          { protocol: 'TCP', port: 3306 },
          { protocol: 'TCP', port: 3307 },
        ],
      },
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'app' } },
            podSelector: { matchLabels: {} },
          },
        ],
        ports: [{ protocol: 'TCP', port: 3306 }],
      },
      {
        from: [{ podSelector: { matchLabels: { app: 'mysql-backup' } } }],
        ports: [
          { protocol: 'TCP', port: 3306 },
          { protocol: 'TCP', port: 3307 },
        ],
      },
      {
        from: [{ podSelector: { matchLabels: { app: 'mysql-binlog-archiver' } } }],
        ports: [{ protocol: 'TCP', port: 3306 }],
      },
      {
        from: [{ podSelector: { matchLabels: { app: 'mysql-volume-snapshot' } } }],
        ports: [{ protocol: 'TCP', port: 3306 }],
      },
      {
        from: [{ podSelector: { matchLabels: { app: 'mysql-switchover' } } }],
        ports: [{ protocol: 'TCP', port: 3306 }],
      },
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: { matchLabels: {} },
          },
        ],
        ports: [{ protocol: 'TCP', port: 9104 }],
      },
    ]);
  });
  test('egress only to peers and cluster DNS', () => {
    expect(np.egress).toHaveLength(2);
    expect(np.egress[1].ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
  });
  test('client pods can be narrowed by label', () => {
    const objs = synthStack(
      withChanges(production, {
        networkPolicy: { clients: [{ namespace: 'shop', podLabels: { role: 'api' } }] },
      }),
    ).objects;
    expect(only(objs, 'NetworkPolicy', 'mysql').spec.ingress[1].from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
        podSelector: { matchLabels: { role: 'api' } },
      },
    ]);
  });
});

describe('production: roll on change', () => {
  const hash = (config: typeof production) =>
    only(synthStack(config).objects, 'StatefulSet').spec.template.metadata.annotations[
      CONFIG_HASH_ANNOTATION
    ];
  test('the pod template carries a sha256 of the config and scripts', () => {
    expect(sts.spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
  });
  test('changing the MySQL config changes the hash, so the pods roll', () => {
    expect(
      hash(
        withChanges(production, {
          'mysqlFiles.replica': production.mysqlFiles.replica + 'max_connections=500\n',
        }),
      ),
    ).not.toBe(hash(production));
  });
  test('changing something else (replicas) keeps it', () => {
    expect(hash(withChanges(production, { replicas: 5 }))).toBe(hash(production));
  });
  test("the workshop keeps the seed's plain template (no annotation)", () => {
    expect(
      only(synthStack(workshop).objects, 'StatefulSet').spec.template.metadata.annotations,
    ).toBeUndefined();
  });
});
