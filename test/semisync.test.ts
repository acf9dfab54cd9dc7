/**
 * Semi-synchronous replication (`replication.semiSync`, mysql84): what the synth makes of it. The scripts'
 * behaviour is in test/scripts/ (init-mysql, switchover, sidecar-mysql84); the run time in the e2e step
 * `semisync-lossless`.
 */
import { production } from '../charts/profiles';
import { container, K8sObject, only, synthStack, withChanges } from './support/synth';

const env = (c: K8sObject) =>
  Object.fromEntries((c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
const on = synthStack(
  withChanges(production, {
    'replication.semiSync': { enabled: true, timeoutSeconds: 2.5, waitForReplicaCount: 2 },
  }),
).objects;
const off = synthStack(production).objects;
const pod = (objects: K8sObject[]) => only(objects, 'StatefulSet').spec.template.spec;
const initMysql = (objects: K8sObject[]) =>
  (pod(objects).initContainers as K8sObject[]).find((c) => c.name === 'init-mysql')!;

describe('replication.semiSync', () => {
  test("the ConfigMap holds each role's option file: both plugins, AFTER_SYNC, the timeout in ms, the count", () => {
    const data = only(on, 'ConfigMap', 'mysql-config').data;
    const common = [
      'plugin-load-add=rpl_semi_sync_source=semisync_source.so',
      'plugin-load-add=rpl_semi_sync_replica=semisync_replica.so',
      'rpl_semi_sync_source_timeout=2500',
      'rpl_semi_sync_source_wait_for_replica_count=2',
      'rpl_semi_sync_source_wait_point=AFTER_SYNC',
      'rpl_semi_sync_source_wait_no_replica=ON',
    ];
    for (const line of common) {
      expect(data['semisync-primary.cnf']).toContain(`\n${line}\n`);
      expect(data['semisync-replica.cnf']).toContain(`\n${line}\n`);
    }
    expect(data['semisync-primary.cnf']).toMatch(
      /\[mysqld\]\n(.*\n)*rpl_semi_sync_source_enabled=ON\nrpl_semi_sync_replica_enabled=OFF\n/,
    );
    expect(data['semisync-replica.cnf']).toMatch(
      /\[mysqld\]\n(.*\n)*rpl_semi_sync_source_enabled=OFF\nrpl_semi_sync_replica_enabled=ON\n/,
    );
  });

  test('init-mysql copies them by role; the sidecar and the switchover Job are told (SEMISYNC=true)', () => {
    const e = env(initMysql(on));
    expect([e.PRIMARY_EXTRA_CNF, e.REPLICA_EXTRA_CNF]).toEqual([
      'semisync-primary.cnf',
      'semisync-replica.cnf',
    ]);
    expect(env(container(pod(on), 'xtrabackup')).SEMISYNC).toBe('true');
    const job = only(on, 'Job', 'mysql-switchover').spec.template.spec;
    expect(env(container(job, 'switchover')).SEMISYNC).toBe('true');
  });

  test('off (the default): no option file, no variable; the production profile leaves it off', () => {
    const data = only(off, 'ConfigMap', 'mysql-config').data;
    expect(Object.keys(data).filter((k) => k.startsWith('semisync'))).toEqual([]);
    expect(initMysql(off).env.map((v: K8sObject) => v.name)).not.toContain('PRIMARY_EXTRA_CNF');
    expect(env(container(pod(off), 'xtrabackup')).SEMISYNC).toBeUndefined();
    const job = only(off, 'Job', 'mysql-switchover').spec.template.spec;
    expect(env(container(job, 'switchover')).SEMISYNC).toBeUndefined();
  });
});
