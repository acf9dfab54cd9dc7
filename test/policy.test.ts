/**
 * Fairwinds Polaris over every object of every profile, as `polaris audit --audit-path dist/<profile>`
 * with Polaris' default configuration (v10.2.2, third_party/polaris): production scores 100 with every
 * exemption explained and justified; the workshop's findings are exactly the README's table. Whatever
 * containers the pod has are held to the same bar, so a container added later is checked too.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  exemptAnnotation,
  isPinnedImage,
  polarisExemptions,
  reasonAnnotation,
} from '../charts/policy-checks';
import { production, PROFILES } from '../charts/profiles';
import * as k8s from '../imports/k8s';
import { DIST } from './support/dist';
import {
  audit,
  Finding,
  loadChecks,
  loadDefaultConfig,
  Resource,
  resourcesFromPath,
  toResource,
} from './support/polaris/polaris';
import { only, synthStack, withChanges } from './support/synth';

const checks = loadChecks();
const conf = loadDefaultConfig();
const EXEMPTION = /^polaris\.fairwinds\.com\/(.+)-exempt$/;
/** The only checks a profile may exempt, each for a reason the tests below verify. */
const EXEMPTIBLE = [
  'pullPolicyNotAlways',
  'sensitiveContainerEnvVar',
  'metadataAndInstanceMismatched',
  'missingNetworkPolicy',
  'automountServiceAccountToken',
  'deploymentMissingReplicas',
];
const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

const failures = (findings: readonly Finding[]) => findings.filter((f) => !f.success);
/** Failing findings grouped as the README lists them: check → severity and where (containers or objects). */
function grouped(findings: readonly Finding[]): Record<string, string> {
  const out: Record<string, string[]> = {};
  for (const f of failures(findings))
    (out[`${f.check} ${f.severity}`] ??= []).push(f.container ?? `${f.kind}/${f.name}`);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.join(', ')]));
}

/** The rows of the README table under "### <profile>" in "## Policy checks": check → [result, where]. */
function readmeTable(profile: string): Record<string, string> {
  const section = README.split(/^## /m).find((s) => s.startsWith('Policy checks'));
  if (!section) throw new Error('README has no "## Policy checks" section');
  const sub = section
    .split(/^### /m)
    .find((s) => s.startsWith(`${profile}\n`) || s.startsWith(`${profile} `));
  if (!sub) throw new Error(`README "Policy checks" has no "### ${profile}" table`);
  const rows: Record<string, string> = {};
  for (const line of sub.split('\n')) {
    const m = line.match(/^\| `(\w+)` \| (\w+) \| ([^|]+) \|/);
    if (m) rows[`${m[1]} ${m[2]}`] = m[3].trim();
  }
  return rows;
}

/** The same resources with every Polaris exemption annotation removed (`--disallow-annotation-exemptions`). */
function withoutExemptions(resources: readonly Resource[]): Resource[] {
  return resources.map((r) => {
    const o = JSON.parse(JSON.stringify(r.object));
    for (const k of Object.keys(o.metadata.annotations ?? {}))
      if (k.startsWith('polaris.fairwinds.com/')) delete o.metadata.annotations[k];
    return toResource(o, r.file);
  });
}

/** Pinned to one release, by the floating-tag rule of test/images.test.ts (digest, or a tag that is not N, N.N, latest). */
function pinned(ref: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(ref)) return true;
  const last = ref.split('@')[0].slice(ref.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon >= 0 && !/^(latest|\d+|\d+\.\d+)$/.test(last.slice(colon + 1));
}

/** Why each exempted finding is a false positive; throws with the object and reason if it is not. */
const JUSTIFY: Record<string, (r: Resource, f: Finding, all: readonly Resource[]) => void> = {
  pullPolicyNotAlways: (r, f) => {
    const c = containerOf(r, f);
    if (c.imagePullPolicy !== 'IfNotPresent' || !pinned(c.image!))
      throw new Error(
        `${f.where}: ${c.image} with ${c.imagePullPolicy} is not a pinned image pulled IfNotPresent`,
      );
  },
  sensitiveContainerEnvVar: (r, f) => {
    const pod = r.podSpec as unknown as k8s.PodSpec;
    const c = containerOf(r, f);
    // Which variables Polaris flags: its own check, run on the container with one variable at a time.
    const flagged = (c.env ?? []).filter((e) => {
      const one = { ...c, env: [e] };
      const sts = {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'x' },
        spec: { template: { spec: { containers: [one] } } },
      };
      return (
        failures(
          audit([toResource(sts)], { checks: { sensitiveContainerEnvVar: 'danger' }, exemptions: [] }, checks)
            .findings,
        ).length > 0
      );
    });
    expect(flagged.length).toBeGreaterThan(0);
    const secretVolumes = (pod.volumes ?? []).filter((v) => v.secret).map((v) => v.name);
    const secretDirs = (c.volumeMounts ?? [])
      .filter((m) => secretVolumes.includes(m.name))
      .map((m) => m.mountPath);
    for (const e of flagged) {
      const ok = e.name.endsWith('_FILE') && secretDirs.some((d) => e.value!.startsWith(`${d}/`));
      if (!ok)
        throw new Error(
          `${f.where}: ${e.name}=${e.value} is not the path of a file in a mounted Secret volume`,
        );
    }
  },
  metadataAndInstanceMismatched: (r, f, all) => {
    // A component of the instance: the label names the profile's StatefulSet, not this controller.
    const instance = (r.object.metadata as { labels?: Record<string, string> }).labels?.[
      'app.kubernetes.io/instance'
    ];
    const sts = all.filter((o) => o.kind === 'StatefulSet');
    if (r.kind === 'StatefulSet' || sts.length !== 1 || instance !== sts[0].name)
      throw new Error(`${f.where}: instance label ${instance} does not name the stack's StatefulSet`);
  },
  missingNetworkPolicy: (r, f, all) => {
    // Pods that accept no connection, under a NetworkPolicy that denies all ingress and limits egress.
    const app = (r.podTemplate?.metadata as { labels?: Record<string, string> } | undefined)?.labels?.app;
    const policies = all.filter((o) => {
      const spec = o.object.spec as k8s.NetworkPolicySpec | undefined;
      return (
        o.kind === 'NetworkPolicy' &&
        o.namespace === r.namespace &&
        spec?.podSelector.matchLabels?.app === app &&
        spec?.policyTypes?.includes('Ingress') &&
        spec?.policyTypes?.includes('Egress') &&
        (spec?.ingress ?? []).length === 0 &&
        (spec?.egress ?? []).length > 0
      );
    });
    if (!app || policies.length !== 1)
      throw new Error(`${f.where}: no deny-all-ingress NetworkPolicy selects app=${app}`);
    const pod = r.podSpec as unknown as k8s.PodSpec;
    for (const c of [...(pod.initContainers ?? []), ...pod.containers])
      if ((c.ports ?? []).length > 0)
        throw new Error(`${f.where}: ${c.name} declares ports, so it accepts connections`);
  },
};

JUSTIFY.automountServiceAccountToken = (r, f, all) => {
  // A pod that uses the API, with its own ServiceAccount bound only to namespaced Roles of narrow rules.
  const sa = (r.podSpec as unknown as k8s.PodSpec).serviceAccountName;
  const bindings = all.filter(
    (o) =>
      ['RoleBinding', 'ClusterRoleBinding'].includes(o.kind) &&
      ((o.object.subjects as k8s.Subject[] | undefined) ?? []).some(
        (x) => x.kind === 'ServiceAccount' && x.name === sa,
      ),
  );
  if (!sa || bindings.length === 0) throw new Error(`${f.where}: ServiceAccount ${sa} is bound to nothing`);
  for (const b of bindings) {
    const ref = b.object.roleRef as k8s.RoleRef;
    const role = all.find((o) => o.kind === 'Role' && o.name === ref.name && o.namespace === b.namespace);
    if (b.kind !== 'RoleBinding' || ref.kind !== 'Role' || !role)
      throw new Error(`${f.where}: ${b.kind}/${b.name} grants more than a namespaced Role of the stack`);
    for (const rule of (role.object.rules as k8s.PolicyRule[]) ?? []) {
      const all3 = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs];
      if (all3.includes('*') || (rule.apiGroups ?? []).includes(''))
        throw new Error(`${f.where}: Role ${role.name} allows ${JSON.stringify(rule)}`);
    }
  }
};

JUSTIFY.deploymentMissingReplicas = (r, f) => {
  // A singleton by design: exactly one replica, replaced only after the old pod is gone.
  const spec = r.object.spec as { replicas?: number; strategy?: { type?: string } };
  if (r.kind !== 'Deployment' || spec.replicas !== 1 || spec.strategy?.type !== 'Recreate')
    throw new Error(`${f.where}: not a one-replica Deployment with strategy Recreate`);
};

function containerOf(r: Resource, f: Finding): k8s.Container {
  const pod = r.podSpec as unknown as k8s.PodSpec;
  const c = [...(pod.initContainers ?? []), ...pod.containers].find((x) => x.name === f.container);
  if (!c) throw new Error(`${f.where}: no such container`);
  return c;
}

describe.each(Object.keys(PROFILES))('Polaris over dist/%s', (profile) => {
  const resources = resourcesFromPath(path.join(DIST, profile));
  const result = audit(resources, conf, checks);
  const controllers = resources.filter((r) => r.podSpec);

  test('every object was read, and the pod checks ran on every container', () => {
    expect(resources.length).toBeGreaterThan(3);
    for (const r of controllers) {
      const pod = r.podSpec as unknown as k8s.PodSpec;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(
          result.findings.filter((f) => f.name === r.name && f.container === c.name).length,
        ).toBeGreaterThan(5);
      }
    }
  });

  test("every exemption is Polaris' own per-check annotation with a reason, for an exemptible check", () => {
    for (const r of resources) {
      const keys = Object.keys(r.annotations).filter((k) => k.startsWith('polaris.fairwinds.com/'));
      expect(keys).not.toContain('polaris.fairwinds.com/exempt');
      for (const k of keys.filter((k) => EXEMPTION.test(k))) {
        const check = k.match(EXEMPTION)![1];
        expect(EXEMPTIBLE).toContain(check);
        expect(r.annotations[k]).toBe('true');
        expect(r.annotations[reasonAnnotation(check)]?.length).toBeGreaterThan(40);
      }
      for (const k of keys.filter((k) => k.endsWith('-exempt-reason')))
        expect(r.annotations[k.replace(/-reason$/, '')]).toBe('true');
    }
  });

  test('every exemption is needed, and every finding it hides is a false positive', () => {
    const bare = audit(withoutExemptions(resources), conf, checks);
    for (const r of controllers) {
      const exempted = Object.keys(r.annotations)
        .filter((k) => EXEMPTION.test(k))
        .map((k) => k.match(EXEMPTION)![1]);
      for (const check of exempted) {
        const hidden = failures(bare.findings).filter((f) => f.name === r.name && f.check === check);
        expect(hidden.length).toBeGreaterThan(0);
        for (const f of hidden) JUSTIFY[check](r, f, resources);
      }
    }
  });

  test("the README's table lists every finding, with its severity and where", () => {
    const table = readmeTable(profile);
    const failing = grouped(result.findings);
    const listed = Object.fromEntries(Object.entries(table).filter(([k]) => !/ (exempt|passes)$/.test(k)));
    expect(listed).toEqual(failing);
    expect(README).toMatch(new RegExp(`### ${profile}\\n\\n(Score ${result.score}[:.])`));
  });

  test("the README's exempt rows are exactly the exemptions, its passes rows pass", () => {
    const table = readmeTable(profile);
    const exempted = [
      ...new Set(resources.flatMap((r) => Object.keys(r.annotations).filter((k) => EXEMPTION.test(k)))),
    ].map((k) => k.match(EXEMPTION)![1]);
    const rows = (result: string) =>
      Object.keys(table)
        .filter((k) => k.endsWith(` ${result}`))
        .map((k) => k.split(' ')[0]);
    expect(rows('exempt').sort()).toEqual(exempted.sort());
    for (const check of rows('passes')) {
      expect(result.findings.some((f) => f.check === check && f.success)).toBe(true);
      expect(failures(result.findings).filter((f) => f.check === check)).toEqual([]);
    }
  });
});

describe('production is held to the strict bar', () => {
  const resources = resourcesFromPath(path.join(DIST, 'production'));
  test('score 100: no danger, no warning', () => {
    const a = audit(resources, conf, checks);
    expect(failures(a.findings).map((f) => `${f.check} ${f.where}`)).toEqual([]);
    expect(a.score).toBe(100);
  });
  test('the README states the score Polaris gives with --disallow-annotation-exemptions', () => {
    const bare = audit(withoutExemptions(resources), conf, checks);
    expect(README).toContain(`${bare.score}/100 with \`--disallow-annotation-exemptions\``);
  });
});

describe('dist/argocd (the Applications, outside the synced folders)', () => {
  test('no check applies to an Application, and none fails', () => {
    const a = audit(resourcesFromPath(path.join(DIST, 'argocd')), conf, checks);
    expect(a.findings).toEqual([]);
    expect(a.score).toBe(100);
  });
});

describe('exemptions are written only while their reason holds', () => {
  const synth = (changes: Record<string, unknown>) => {
    const { objects } = synthStack(withChanges(production, changes));
    const sts = only(objects, 'StatefulSet', 'mysql');
    const failing = failures(
      audit(
        objects.map((o) => toResource(o)),
        conf,
        checks,
      ).findings,
    );
    return { objects, sts, failing: failing.map((f) => `${f.check} ${f.where}`) };
  };

  test('a floating tag loses the pull-policy exemption, and Polaris reports every container of each pod that uses it', () => {
    const { objects, failing } = synth({ 'images.mysql': 'mysql:8.4' });
    const sts = only(objects, 'StatefulSet', 'mysql');
    expect(sts.metadata.annotations[exemptAnnotation('pullPolicyNotAlways')]).toBeUndefined();
    const expected = objects
      .map((o) => toResource(o))
      .filter((r) => r.podSpec)
      .flatMap((r) => {
        const pod = r.podSpec as unknown as k8s.PodSpec;
        const all = [...(pod.initContainers ?? []), ...pod.containers];
        return all.some((c) => c.image === 'mysql:8.4')
          ? all.map((c) => `pullPolicyNotAlways ${r.kind}/${r.name}:${c.name}`)
          : [];
      });
    expect(expected).toContain('pullPolicyNotAlways StatefulSet/mysql:xtrabackup');
    expect(failing).toEqual(expected);
  });
  test('pull policy Always needs no exemption', () => {
    const { sts, failing } = synth({ 'images.pullPolicy': 'Always' });
    expect(sts.metadata.annotations[exemptAnnotation('pullPolicyNotAlways')]).toBeUndefined();
    expect(failing).toEqual([]);
  });

  const pod = (
    env: k8s.EnvVar[],
    mounts: k8s.VolumeMount[] = [{ name: 'creds', mountPath: '/etc/creds' }],
  ) => ({
    volumes: [
      { name: 'creds', secret: { secretName: 's' } },
      { name: 'scratch', emptyDir: {} },
    ],
    containers: [
      { name: 'app', image: 'x:1.2.3', imagePullPolicy: 'IfNotPresent', env, volumeMounts: mounts },
    ],
  });
  test('a *_FILE path into a mounted Secret volume is exempt; a literal password is not', () => {
    const file = { name: 'DB_PASSWORD_FILE', value: '/etc/creds/password' };
    expect(polarisExemptions(pod([file]))[exemptAnnotation('sensitiveContainerEnvVar')]).toBe('true');
    for (const env of [
      [file, { name: 'DB_PASSWORD', value: 'hunter2' }],
      [{ name: 'DB_PASSWORD_FILE', value: '/tmp/password' }],
      [{ name: 'API_TOKEN', value: '/etc/creds/token' }],
    ]) {
      expect(polarisExemptions(pod(env))[exemptAnnotation('sensitiveContainerEnvVar')]).toBeUndefined();
    }
    const scratchMount = [{ name: 'scratch', mountPath: '/etc/creds' }];
    expect(
      polarisExemptions(pod([file], scratchMount))[exemptAnnotation('sensitiveContainerEnvVar')],
    ).toBeUndefined();
    expect(polarisExemptions(pod([{ name: 'USER', value: 'app' }]))).toEqual({
      [exemptAnnotation('pullPolicyNotAlways')]: 'true',
      [reasonAnnotation('pullPolicyNotAlways')]: expect.stringContaining('x:1.2.3'),
    });
  });
  test('isPinnedImage: a digest or major.minor.patch; not N, N.N, latest or no tag', () => {
    for (const ok of [
      'mysql:8.4.10',
      'percona/percona-xtrabackup:8.4.0-6.1',
      'r.example:5000/m:5.7.44',
      `m@sha256:${'a'.repeat(64)}`,
    ])
      expect([ok, isPinnedImage(ok)]).toEqual([ok, true]);
    for (const bad of ['mysql:8.4', 'mysql:8', 'mysql:latest', 'mysql', 'r.example:5000/mysql'])
      expect([bad, isPinnedImage(bad)]).toEqual([bad, false]);
  });
});
