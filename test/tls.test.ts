import * as fs from 'fs';
import * as path from 'path';
import { production, workshop } from '../charts/profiles';
import { TLS_PATHS, tlsReloadHeartbeatMaxAge } from '../charts/tls-chart';
import { DIST, distFolders } from './support/dist';
import { schemaProblems } from './support/k8s-schema';
import { K8sObject, configProblem, container, only, synthStack, withChanges } from './support/synth';

const { objects } = synthStack(production);
const pod = only(objects, 'StatefulSet', 'mysql').spec.template.spec;
const cert = (name: string) => only(objects, 'Certificate', name).spec;

const problemFor = (changes: Record<string, unknown>, base = production) => configProblem(base, changes);

describe('tls: cert-manager objects (production, bootstrap CA)', () => {
  test('self-signed Issuer -> CA Certificate -> CA Issuer -> server and client Certificates', () => {
    expect(only(objects, 'Issuer', 'mysql-selfsigned').spec).toEqual({ selfSigned: {} });
    const ca = cert('mysql-ca');
    expect(ca).toMatchObject({
      isCA: true,
      secretName: 'mysql-ca',
      issuerRef: { name: 'mysql-selfsigned', kind: 'Issuer', group: 'cert-manager.io' },
    });
    expect(only(objects, 'Issuer', 'mysql-ca').spec).toEqual({ ca: { secretName: 'mysql-ca' } });
    for (const leaf of ['mysql-server', 'mysql-client']) {
      expect(cert(leaf).issuerRef).toEqual({ name: 'mysql-ca', kind: 'Issuer', group: 'cert-manager.io' });
      expect(cert(leaf).privateKey.rotationPolicy).toBe('Always');
      expect(cert(leaf).isCA).toBeUndefined();
    }
    expect(cert('mysql-server').usages).toContain('server auth');
    expect(cert('mysql-server').usages).not.toContain('client auth');
    expect(cert('mysql-client').usages).toContain('client auth');
    expect(cert('mysql-client').usages).not.toContain('server auth');
    expect(cert('mysql-client').commonName).toBe('mysql-replication');
  });

  test('the server certificate names both Services, every pod by FQDN and the short forms the scripts use', () => {
    const names: string[] = cert('mysql-server').dnsNames;
    for (const svc of ['mysql', 'mysql-read', 'mysql-primary'])
      for (const suffix of [
        '',
        '.mysql-production',
        '.mysql-production.svc',
        '.mysql-production.svc.cluster.local',
      ])
        expect(names).toContain(`${svc}${suffix}`);
    expect(names).toEqual(
      expect.arrayContaining([
        '*.mysql.mysql-production',
        '*.mysql.mysql-production.svc',
        '*.mysql.mysql-production.svc.cluster.local',
        'mysql-0.mysql',
        'mysql-1.mysql',
        'mysql-2.mysql',
      ]),
    );
    // The replicas connect to <name>-0.<service>, built from POD_NAME and SERVICE_NAME of the sidecar.
    const env = (c: string) =>
      Object.fromEntries(container(pod, c).env.map((e: K8sObject) => [e.name, e.value]));
    expect(names).toContain(`mysql-0.${env('xtrabackup').SERVICE_NAME}`);
    expect(names).toContain(`mysql-0.${env('clone-mysql').SERVICE_NAME}`);
  });

  test('a different cluster domain and replica count change the names', () => {
    const { objects: o } = synthStack(
      withChanges(production, { replicas: 4, 'tls.clusterDomain': 'corp.internal' }),
    );
    const names: string[] = only(o, 'Certificate', 'mysql-server').spec.dnsNames;
    expect(names).toContain('*.mysql.mysql-production.svc.corp.internal');
    expect(names).toContain('mysql-3.mysql');
    expect(names.filter((n) => n.endsWith('cluster.local'))).toEqual([]);
  });

  test('a user-named ClusterIssuer replaces the bootstrap', () => {
    const { objects: o } = synthStack(withChanges(production, { 'tls.issuer': { name: 'corp-ca' } }));
    expect(o.filter((x) => x.kind === 'Issuer')).toEqual([]);
    expect(o.filter((x) => x.kind === 'Certificate').map((x) => x.metadata.name)).toEqual([
      'mysql-server',
      'mysql-client',
    ]);
    expect(only(o, 'Certificate', 'mysql-server').spec.issuerRef).toEqual({
      name: 'corp-ca',
      kind: 'ClusterIssuer',
      group: 'cert-manager.io',
    });
    const { objects: o2 } = synthStack(
      withChanges(production, {
        'tls.issuer': { name: 'pca', kind: 'Issuer', group: 'awspca.cert-manager.io' },
      }),
    );
    expect(only(o2, 'Certificate', 'mysql-client').spec.issuerRef).toEqual({
      name: 'pca',
      kind: 'Issuer',
      group: 'awspca.cert-manager.io',
    });
  });

  test('every cert-manager object passes its CRD schema and syncs before the StatefulSet', () => {
    const cm = objects.filter((o) => String(o.apiVersion).startsWith('cert-manager.io/'));
    expect(cm).toHaveLength(5);
    expect(cm.flatMap((o) => schemaProblems(o))).toEqual([]);
    for (const o of cm) expect(o.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-1');
  });

  test('no key material in dist/', () => {
    for (const folder of distFolders())
      for (const file of fs.readdirSync(path.join(DIST, folder))) {
        const text = fs.readFileSync(path.join(DIST, folder, file), 'utf8');
        expect(`${folder}/${file}: ${/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/.test(text)}`).toBe(
          `${folder}/${file}: false`,
        );
      }
  });
});

describe('tls: the pod', () => {
  const volume = (name: string) => pod.volumes.find((v: K8sObject) => v.name === name);
  const mounts = (c: string) =>
    container(pod, c).volumeMounts.filter((m: K8sObject) => m.name.startsWith('tls-'));

  test('whole Secret volumes (no subPath, so renewals appear), readable by the mysql group only', () => {
    expect(volume('tls-server').secret).toMatchObject({ secretName: 'mysql-server-tls', defaultMode: 0o440 });
    expect(volume('tls-client').secret).toMatchObject({ secretName: 'mysql-client-tls', defaultMode: 0o440 });
    for (const v of ['tls-server', 'tls-client'])
      expect(volume(v).secret.items.map((i: K8sObject) => i.key)).toEqual(['tls.crt', 'tls.key', 'ca.crt']);
    const all = [...pod.initContainers, ...pod.containers].flatMap((c: K8sObject) => c.volumeMounts);
    for (const m of all.filter((x: K8sObject) => x.name.startsWith('tls-'))) {
      expect(m.subPath).toBeUndefined();
      expect(m.readOnly).toBe(true);
    }
  });

  test('who mounts which certificate', () => {
    expect(mounts('init-mysql')).toEqual([]);
    // A replica's receiver thread runs inside mysqld and reads the client certificate there.
    expect(mounts('mysql').map((m: K8sObject) => m.name)).toEqual(['tls-server', 'tls-client']);
    expect(mounts('clone-mysql').map((m: K8sObject) => m.name)).toEqual(['tls-client']);
    expect(mounts('xtrabackup').map((m: K8sObject) => m.name)).toEqual(['tls-server', 'tls-client']);
    expect(mounts('tls-reload').map((m: K8sObject) => m.name)).toEqual(['tls-server']);
  });

  test('mysqld reads the mounted files and refuses plaintext TCP (tls.cnf, copied by init-mysql)', () => {
    const cm = only(objects, 'ConfigMap', 'mysql-config');
    expect(cm.data['tls.cnf']).toContain(`ssl_ca=${TLS_PATHS.server}/ca.crt`);
    expect(cm.data['tls.cnf']).toContain(`ssl_cert=${TLS_PATHS.server}/tls.crt`);
    expect(cm.data['tls.cnf']).toContain(`ssl_key=${TLS_PATHS.server}/tls.key`);
    expect(cm.data['tls.cnf']).toMatch(/^require_secure_transport=ON$/m);
    // binlog.cnf: the binlog retention of backup.pitr (test/backup.test.ts).
    expect(container(pod, 'init-mysql').env).toContainEqual({
      name: 'EXTRA_CNF',
      value: 'tls.cnf binlog.cnf',
    });
    expect(mounts('mysql')[0].mountPath).toBe(TLS_PATHS.server);
  });

  test('the sidecar verifies replication and serves backups over mutual TLS; the clone presents the client certificate', () => {
    const env = (c: string) => container(pod, c).env as K8sObject[];
    expect(env('xtrabackup')).toEqual(
      expect.arrayContaining([
        { name: 'TLS_CLIENT_DIR', value: TLS_PATHS.client },
        { name: 'REPLICATION_SUBJECT', value: '/CN=mysql-replication' },
        { name: 'TLS_SERVER_DIR', value: TLS_PATHS.server },
        { name: 'BACKUP_CLIENT_NAME', value: 'mysql-replication' },
      ]),
    );
    expect(env('clone-mysql')).toContainEqual({ name: 'TLS_CLIENT_DIR', value: TLS_PATHS.client });
    // The names the scripts require are the client certificate's.
    expect(`/CN=${cert('mysql-client').commonName}`).toBe('/CN=mysql-replication');
    expect(mounts('clone-mysql')[0].mountPath).toBe(TLS_PATHS.client);
  });

  test('the tls-reload container: mysql image, restricted, with limits, the script from charts/scripts/tls/', () => {
    const c = container(pod, 'tls-reload');
    expect(c.image).toBe('mysql:8.4.10');
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    expect(c.resources.limits).toEqual({ cpu: '100m', memory: '64Mi' });
    expect(c.command[2]).toBe(
      fs.readFileSync(path.join(__dirname, '..', 'charts', 'scripts', 'tls', 'tls-reload.sh'), 'utf8'),
    );
    expect(c.env).toEqual([
      { name: 'TLS_DIR', value: TLS_PATHS.server },
      { name: 'CLIENT_CNF_DIR', value: '/run/mysql-client' },
      { name: 'MYSQL_PORT', value: '3306' },
      { name: 'POLL_SECONDS', value: '30' },
      { name: 'HEARTBEAT_FILE', value: '/tmp/tls-reload-heartbeat' },
      { name: 'HEARTBEAT_MAX_AGE_SECONDS', value: '90' },
      { name: 'CONTAINER_IMAGE', value: 'mysql:8.4.10' },
    ]);
    // /tmp is the pod's emptyDir (read-only root filesystem): the heartbeat is written there.
    expect(c.volumeMounts.map((m: K8sObject) => `${m.name}:${m.mountPath}`)).toContain('tmp:/tmp');
  });

  test('the tls-reload probes run tls-reload-probe.sh: liveness on a stale heartbeat, readiness also until loaded', () => {
    const c = container(pod, 'tls-reload');
    const probeScript = fs.readFileSync(
      path.join(__dirname, '..', 'charts', 'scripts', 'tls', 'tls-reload-probe.sh'),
      'utf8',
    );
    expect(c.livenessProbe.exec.command).toEqual(['bash', '-c', probeScript, 'tls-reload-probe', 'liveness']);
    expect(c.readinessProbe.exec.command).toEqual([
      'bash',
      '-c',
      probeScript,
      'tls-reload-probe',
      'readiness',
    ]);
    const mysql = container(pod, 'mysql');
    // The pod's probe timings, as the other containers'.
    for (const k of ['periodSeconds', 'timeoutSeconds', 'failureThreshold'])
      expect(c.livenessProbe[k]).toBe(mysql.livenessProbe[k]);
  });

  test('the heartbeat may be twice the poll interval plus 30 s old', () => {
    expect(tlsReloadHeartbeatMaxAge(30)).toBe(90);
    const { objects } = synthStack(withChanges(production, { 'tls.reloadPollSeconds': 300 }));
    const sts = objects.find((o) => o.kind === 'StatefulSet')!;
    const c = sts.spec.template.spec.containers.find((x: K8sObject) => x.name === 'tls-reload');
    expect(c.env.find((e: K8sObject) => e.name === 'HEARTBEAT_MAX_AGE_SECONDS').value).toBe('630');
  });

  test("the workshop keeps the page's open setup: no certificates, no TLS options, no tls-reload", () => {
    const { objects: w } = synthStack(workshop);
    expect(w.filter((o) => String(o.apiVersion).startsWith('cert-manager.io/'))).toEqual([]);
    expect(only(w, 'ConfigMap', 'mysql-config').data['tls.cnf']).toBeUndefined();
    const wpod = only(w, 'StatefulSet', 'mysql').spec.template.spec;
    expect(wpod.containers.map((c: K8sObject) => c.name)).not.toContain('tls-reload');
    const wenv = [...wpod.initContainers, ...wpod.containers].flatMap((c: K8sObject) => c.env ?? []);
    expect(wenv.filter((e: K8sObject) => /^TLS_|^BACKUP_CLIENT|^REPLICATION_SUBJECT/.test(e.name))).toEqual(
      [],
    );
  });
});

describe('tls: validation', () => {
  test('fails if tls is set on the mysql57 flavor', () => {
    expect(problemFor({ tls: {} }, workshop)).toBe(
      'tls is {}; is supported by the mysql84 flavor only; the mysql57 flavor keeps the workshop page\'s open setup (remove tls or use flavor "mysql84")',
    );
  });
  test('fails if the duration is not a cert-manager duration of at least 1h', () => {
    expect(problemFor({ 'tls.duration': '90d' })).toBe(
      'tls.duration is "90d"; expected a duration of at least 1h such as "2160h" (cert-manager takes hours, minutes and seconds)',
    );
  });
  test('fails if renewBefore is not shorter than the duration', () => {
    expect(problemFor({ 'tls.duration': '24h', 'tls.renewBefore': '24h' })).toBe(
      'tls.renewBefore is "24h"; expected a duration of at least 5m and shorter than tls.duration ("24h"), such as "720h"',
    );
  });
  test('fails if the issuer kind is unknown or the name is not a DNS name', () => {
    expect(problemFor({ 'tls.issuer': { name: 'corp-ca', kind: 'CAIssuer' } })).toBe(
      'tls.issuer.kind is "CAIssuer"; expected one of "Issuer", "ClusterIssuer"',
    );
    expect(problemFor({ 'tls.issuer': { name: 'Corp CA' } })).toMatch(
      /^tls\.issuer\.name is "Corp CA"; expected a DNS-1123 subdomain/,
    );
  });
  test('fails if a mysqlFiles key would collide with tls.cnf', () => {
    expect(problemFor({ 'mysqlFiles.replicaKey': 'tls.cnf' })).toBe(
      'mysqlFiles.replicaKey is "tls.cnf"; must not be "tls.cnf" with tls set: that ConfigMap key holds the TLS options; choose another name',
    );
  });
  test('fails if the reload interval is out of range', () => {
    expect(problemFor({ 'tls.reloadPollSeconds': 0 })).toBe(
      'tls.reloadPollSeconds is 0; expected a whole number from 1 to 3600',
    );
  });
});
