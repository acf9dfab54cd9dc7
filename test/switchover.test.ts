import { validateConfig } from '../charts/config';
import { production, workshop } from '../charts/profiles';
import { serverDnsNames } from '../charts/tls-chart';
import { K8sObject, configProblem, container, only, synthStack, withChanges } from './support/synth';

/** The single problem reported for a config changed from a profile. */
const problemFor = (changes: Record<string, unknown>, base = production) => configProblem(base, changes);

const env = (c: K8sObject) =>
  Object.fromEntries(
    (c.env as { name: string; value?: string; valueFrom?: unknown }[]).map((e) => [
      e.name,
      e.value ?? e.valueFrom,
    ]),
  );

describe('primary: the config that moves the primary', () => {
  test('fails if primary is not an existing pod, naming the pods there are', () => {
    expect(problemFor({ primary: 3 })).toBe(
      'primary is 3; must be the ordinal of an existing pod, below replicas (3): mysql-0 … mysql-2; raise replicas or choose another primary',
    );
  });
  test('fails if primary is not a whole number', () => {
    expect(problemFor({ primary: 1.5 })).toBe('primary is 1.5; expected a whole number from 0 to 99');
  });
  test('fails if the workshop (mysql57) is given another primary or failover', () => {
    expect(problemFor({ primary: 1 }, workshop)).toMatch(
      /^primary is 1; must be 0 with the mysql57 flavor: it keeps the workshop page's fixed primary/,
    );
    expect(problemFor({ failover: true }, workshop)).toBe(
      'failover is true; is only for the mysql84 flavor (the switchover Job); remove it',
    );
  });
  test('fails if the switchover bounds are out of range', () => {
    expect(problemFor({ switchover: { waitSeconds: 0 } })).toBe(
      'switchover.waitSeconds is 0; expected a whole number from 1 to 3600',
    );
    expect(problemFor({ switchover: { maxLagSecond: 5 } })).toMatch(
      /^switchover.maxLagSecond is 5; switchover has no field "maxLagSecond": did you mean "maxLagSeconds"\?/,
    );
  });
});

describe('production with primary: 1', () => {
  const { objects } = synthStack(withChanges(production, { primary: 1 }));
  const job = only(objects, 'Job', 'mysql-switchover');
  const pod = job.spec.template.spec;
  const sts = only(objects, 'StatefulSet', 'mysql');

  test('the <name>-primary Service selects pod mysql-1, and the ConfigMap says 1', () => {
    expect(only(objects, 'Service', 'mysql-primary').spec.selector).toEqual({
      app: 'mysql',
      'statefulset.kubernetes.io/pod-name': 'mysql-1',
    });
    expect(only(objects, 'ConfigMap', 'mysql-primary').data).toEqual({ ordinal: '1' });
  });

  test('init-mysql, clone-mysql and the sidecar read PRIMARY_ORDINAL from that ConfigMap (no pod rolls)', () => {
    const ref = { configMapKeyRef: { name: 'mysql-primary', key: 'ordinal' } };
    for (const name of ['init-mysql', 'clone-mysql'])
      expect(
        env(container({ containers: sts.spec.template.spec.initContainers }, name)).PRIMARY_ORDINAL,
      ).toEqual(ref);
    expect(env(container(sts.spec.template.spec, 'xtrabackup')).PRIMARY_ORDINAL).toEqual(ref);
    // the same pod template whatever the primary: a switchover rolls nothing
    const zero = only(synthStack(production).objects, 'StatefulSet', 'mysql');
    expect(sts.spec.template).toEqual(zero.spec.template);
  });

  test('the sidecar also reads the ConfigMap as a file the kubelet updates (no subPath), to notice a failover while it runs', () => {
    const spec = sts.spec.template.spec;
    const sidecar = container(spec, 'xtrabackup');
    expect(spec.volumes).toContainEqual({ name: 'primary', configMap: { name: 'mysql-primary' } });
    expect(sidecar.volumeMounts).toContainEqual({
      name: 'primary',
      mountPath: '/etc/mysql/primary',
      readOnly: true,
    });
    expect(env(sidecar).PRIMARY_ORDINAL_FILE).toBe('/etc/mysql/primary/ordinal');
    // only the sidecar: init containers read the value once, at start
    for (const c of [...spec.initContainers, ...spec.containers].filter(
      (x: K8sObject) => x.name !== 'xtrabackup',
    ))
      expect((c.volumeMounts ?? []).map((m: K8sObject) => m.name)).not.toContain('primary');
    const workshopSts = only(synthStack(workshop).objects, 'StatefulSet', 'mysql');
    expect(workshopSts.spec.template.spec.volumes.map((v: K8sObject) => v.name)).not.toContain('primary');
  });

  test('the Job targets ordinal 1 with the stack own names, bounds and TLS', () => {
    expect(env(container(pod, 'switchover'))).toMatchObject({
      STATEFULSET: 'mysql',
      SERVICE_NAME: 'mysql',
      REPLICAS: '3',
      TARGET: '1',
      FAILOVER: 'false',
      MAX_LAG_SECONDS: '5',
      WAIT_SECONDS: '30',
      ROOT_PASSWORD_FILE: '/etc/mysql/credentials/root-password',
      REPLICATION_USER: 'repl',
      TLS_CA_FILE: '/etc/mysql/tls/client/ca.crt',
      SOURCE_TLS_DIR: '/etc/mysql/tls/client',
      CLIENT_CNF_DIR: '/tmp',
    });
    expect(container(pod, 'switchover').command.slice(0, 2)).toEqual(['bash', '-c']);
    expect(container(pod, 'switchover').command[2]).toContain('WAIT_FOR_EXECUTED_GTID_SET');
    const failover = only(synthStack(withChanges(production, { primary: 2, failover: true })).objects, 'Job');
    expect(env(container(failover.spec.template.spec, 'switchover'))).toMatchObject({
      TARGET: '2',
      FAILOVER: 'true',
    });
  });

  test('no Kubernetes API token, restricted, read-only root, the password file in memory, no retry', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBeUndefined();
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 999,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(pod, 'switchover').securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    expect(pod.volumes.find((v: K8sObject) => v.name === 'tmp').emptyDir.medium).toBe('Memory');
    expect(
      pod.volumes.find((v: K8sObject) => v.name === 'credentials').secret.items.map((i: K8sObject) => i.key),
    ).toEqual(['root-password', 'replication-password']);
    expect(job.spec.backoffLimit).toBe(0);
  });

  test('its NetworkPolicy: no ingress, egress only to the MySQL port of the pods and DNS; the pods admit it on 3306 only', () => {
    const np = only(objects, 'NetworkPolicy', 'mysql-switchover');
    expect(np.spec.podSelector).toEqual({ matchLabels: { app: 'mysql-switchover' } });
    expect(np.spec.ingress).toBeUndefined();
    expect(np.spec.egress[0]).toEqual({
      to: [{ podSelector: { matchLabels: { app: 'mysql' } } }],
      ports: [{ protocol: 'TCP', port: 3306 }],
    });
    expect(np.spec.egress).toHaveLength(2);
    expect(only(objects, 'NetworkPolicy', 'mysql').spec.ingress).toContainEqual({
      from: [{ podSelector: { matchLabels: { app: 'mysql-switchover' } } }],
      ports: [{ protocol: 'TCP', port: 3306 }],
    });
  });

  test('every pod a switchover can promote is a name in the server certificate (replicas verify it)', () => {
    const names = serverDnsNames(validateConfig(production));
    for (const n of [0, 1, 2]) expect(names).toContain(`mysql-${n}.mysql`);
  });

  test('the workshop has neither the Job nor the ConfigMap, and its scripts keep ordinal 0', () => {
    const w = synthStack(workshop).objects;
    expect(w.filter((o) => o.kind === 'Job' || o.metadata.name === 'mysql-primary')).toEqual([]);
    const wsts = only(w, 'StatefulSet', 'mysql');
    expect(
      env(container({ containers: wsts.spec.template.spec.initContainers }, 'init-mysql')).PRIMARY_ORDINAL,
    ).toBeUndefined();
  });
});
