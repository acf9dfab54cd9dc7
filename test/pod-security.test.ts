import { PROFILES } from '../charts/profiles';
import { distObjects, Obj } from './support/dist';
import { Level, podSecurityViolations, podSpecOf } from './support/pod-security';

describe.each(Object.keys(PROFILES))(
  'every pod of dist/%s meets the level its namespace enforces',
  (profile) => {
    const objects = distObjects(profile);
    const ns = objects.find((o) => o.kind === 'Namespace')!;
    const level = ns.metadata.labels['pod-security.kubernetes.io/enforce'] as Level;
    const workloads = objects.filter((o) => podSpecOf(o) !== undefined);

    test('the namespace enforces, audits and warns at one level', () => {
      expect(['baseline', 'restricted']).toContain(level);
      expect(ns.metadata.labels['pod-security.kubernetes.io/audit']).toBe(level);
      expect(ns.metadata.labels['pod-security.kubernetes.io/warn']).toBe(level);
    });

    test('there are pods to check', () => expect(workloads.length).toBeGreaterThan(0));

    test.each(workloads.map((w) => [`${w.kind}/${w.metadata.name}`, w]))('%s', (_, w) => {
      expect(podSecurityViolations(podSpecOf(w as Obj)!, level)).toEqual([]);
    });
  },
);

test("production is restricted; workshop is baseline (its mysql container keeps the image's root entrypoint)", () => {
  const level = (p: string) =>
    distObjects(p).find((o) => o.kind === 'Namespace')!.metadata.labels['pod-security.kubernetes.io/enforce'];
  expect(level('production')).toBe('restricted');
  expect(level('workshop')).toBe('baseline');
});

describe('the policy check itself', () => {
  const good = podSpecOf(distObjects('production').find((o) => o.kind === 'StatefulSet')!)!;
  const variant = (change: (pod: Obj) => void): Obj => {
    const pod = JSON.parse(JSON.stringify(good));
    change(pod);
    return pod;
  };

  test('fails if a container is privileged (baseline)', () => {
    const pod = variant((p) => (p.containers[0].securityContext.privileged = true));
    expect(podSecurityViolations(pod, 'baseline')).toEqual([
      'Privileged Containers: container mysql is privileged',
    ]);
  });
  test('fails if a hostPath volume is used (baseline)', () => {
    const pod = variant((p) => p.volumes.push({ name: 'host', hostPath: { path: '/' } }));
    expect(podSecurityViolations(pod, 'baseline')).toEqual(['HostPath Volumes: volume host uses hostPath']);
  });
  test('fails if a container adds SYS_ADMIN (baseline)', () => {
    const pod = variant((p) => (p.initContainers[0].securityContext.capabilities.add = ['SYS_ADMIN']));
    expect(podSecurityViolations(pod, 'baseline')).toContain(
      'Capabilities: container init-mysql adds SYS_ADMIN',
    );
  });
  test('fails if hostNetwork is on (baseline)', () => {
    expect(
      podSecurityViolations(
        variant((p) => (p.hostNetwork = true)),
        'baseline',
      ),
    ).toEqual(['Host Namespaces: hostNetwork must be unset or false']);
  });
  test('fails if allowPrivilegeEscalation is unset (restricted)', () => {
    const pod = variant((p) => delete p.containers[1].securityContext.allowPrivilegeEscalation);
    expect(podSecurityViolations(pod, 'restricted')).toEqual([
      'Privilege Escalation: container xtrabackup must set allowPrivilegeEscalation: false',
    ]);
  });
  test('fails if the seccomp profile is unset (restricted)', () => {
    const pod = variant((p) => delete p.securityContext.seccompProfile);
    // Every container but the exporter, which sets its own (tls-reload included).
    expect(podSecurityViolations(pod, 'restricted')).toHaveLength(6);
  });
  test('fails if capabilities are not all dropped (restricted)', () => {
    const pod = variant((p) => (p.initContainers[1].securityContext.capabilities.drop = ['NET_RAW']));
    expect(podSecurityViolations(pod, 'restricted')).toEqual([
      'Capabilities: container clone-mysql must drop ALL',
    ]);
  });
  test('fails if pods may run as root (restricted)', () => {
    const pod = variant((p) => delete p.securityContext.runAsNonRoot);
    expect(podSecurityViolations(pod, 'restricted')).toHaveLength(6);
  });
  test('the workshop pod is not restricted (it runs the mysql image as root)', () => {
    const workshop = podSpecOf(distObjects('workshop').find((o) => o.kind === 'StatefulSet')!)!;
    expect(podSecurityViolations(workshop, 'restricted').length).toBeGreaterThan(0);
  });
});
