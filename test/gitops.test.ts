import { ApiObject, Testing } from 'cdk8s';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { annotateForArgoCd, PROTECTED_KINDS } from '../charts/argocd';
import { StatefulSetChart } from '../charts/statefulset-chart';
import { production, PROFILES, workshop } from '../charts/profiles';
import { synthesize } from '../charts/synth';
import { ConfigError, validateConfig } from '../charts/config';
import { distObjects, DIST, Obj } from './support/dist';
import { synthStack, withChanges } from './support/synth';
import { treeHashes } from './support/tree';

const WAVE = 'argocd.argoproj.io/sync-wave';
const OPTIONS = 'argocd.argoproj.io/sync-options';
const wave = (o: Obj) => Number(o.metadata.annotations?.[WAVE]);

describe.each(Object.keys(PROFILES))('dist/%s: Argo CD sync order and pruning protection', (profile) => {
  const objects = distObjects(profile);
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

  test('every object carries a sync wave', () => {
    for (const o of objects) expect(o.metadata.annotations?.[WAVE]).toMatch(/^-?\d+$/);
  });

  // What a switchover changes (the <name>-primary Service and ConfigMap) follows the switchover Job instead.
  const followsPrimary = (o: Obj) =>
    profile === 'production' &&
    ['mysql-primary'].includes(o.metadata.name) &&
    ['Service', 'ConfigMap'].includes(o.kind);

  test('Namespace and StorageClass first, then ConfigMap and Services, then policies, then the StatefulSet', () => {
    const first = Math.max(...[...byKind('Namespace'), ...byKind('StorageClass')].map(wave));
    const second = [...byKind('ConfigMap'), ...byKind('Service')].filter((o) => !followsPrimary(o)).map(wave);
    const policies = [...byKind('PodDisruptionBudget'), ...byKind('NetworkPolicy')].map(wave);
    const sts = wave(byKind('StatefulSet')[0]);
    expect(Math.max(...second)).toBeLessThan(sts);
    expect(first).toBeLessThan(Math.min(...second));
    for (const w of policies) expect(w).toBeGreaterThan(Math.max(...second));
    for (const w of policies) expect(w).toBeLessThan(sts);
  });

  test('the switchover Job is a Sync hook after the NetworkPolicies; the primary Service and ConfigMap follow it, with the StatefulSet', () => {
    const jobs = byKind('Job');
    if (profile === 'workshop') {
      expect(jobs).toEqual([]);
      return;
    }
    expect(jobs.map((j) => j.metadata.name)).toEqual(['mysql-switchover']);
    const job = jobs[0];
    expect(job.metadata.annotations).toMatchObject({
      'argocd.argoproj.io/hook': 'Sync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
    });
    // Argo CD sorts NetworkPolicies before Jobs within a wave, and Services/ConfigMaps before StatefulSets.
    for (const np of byKind('NetworkPolicy')) expect(wave(np)).toBeLessThanOrEqual(wave(job));
    const following = objects.filter(followsPrimary);
    expect(following.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/mysql-primary',
      'Service/mysql-primary',
    ]);
    for (const o of following) {
      expect(wave(o)).toBeGreaterThan(wave(job));
      expect(wave(o)).toBe(wave(byKind('StatefulSet')[0]));
    }
  });

  test('the objects whose deletion loses data are protected from pruning and deletion; nothing else is', () => {
    const expected = { workshop: 'Prune=false,Delete=false', production: 'Prune=false,Delete=false' }[
      profile
    ];
    for (const o of objects) {
      if (PROTECTED_KINDS.includes(o.kind)) expect(o.metadata.annotations[OPTIONS]).toBe(expected);
      else expect(o.metadata.annotations[OPTIONS]).toBeUndefined();
    }
    expect(byKind('StatefulSet')).toHaveLength(1);
  });

  test('a Kustomization lists exactly the manifests, under a name `kubectl apply -f` skips', () => {
    const dir = path.join(DIST, profile);
    const files = fs.readdirSync(dir);
    expect(files).not.toContain('kustomization.yaml');
    const listed = fs
      .readFileSync(path.join(dir, 'Kustomization'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('  - '))
      .map((l) => l.slice(4));
    expect(listed).toEqual(files.filter((f) => f.endsWith('.k8s.yaml')).sort());
  });
});

describe('protection is configurable per profile', () => {
  test('"allow" writes no sync options', () => {
    const { objects } = synthStack(withChanges(production, { 'gitops.protection': 'allow' }));
    for (const o of objects) expect(o.metadata.annotations[OPTIONS]).toBeUndefined();
  });
  test('fails if the protection is unknown', () => {
    expect(() => validateConfig(withChanges(production, { 'gitops.protection': 'never' }))).toThrow(
      'gitops.protection is "never"; expected one of "forbid", "confirm", "allow"',
    );
  });
  test('fails if an object of a kind without a wave is added (it could sync in the wrong order)', () => {
    const app = Testing.app();
    const config = validateConfig(workshop);
    const chart = new StatefulSetChart(app, 'sts', { config });
    new ApiObject(chart, 'odd', {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'x' },
    });
    expect(() => annotateForArgoCd(app, config)).toThrow(
      'No Argo CD sync wave for kind LimitRange; add it to SYNC_WAVES in charts/argocd.ts',
    );
  });
});

describe('Argo CD Applications in dist/argocd/', () => {
  const apps = distObjects('argocd');

  test('one Application per profile, outside the folders they sync', () => {
    expect(apps.map((a) => `${a.kind}/${a.metadata.name}`).sort()).toEqual(
      Object.keys(PROFILES)
        .map((p) => `Application/mysql-${p}`)
        .sort(),
    );
  });

  test.each(Object.keys(PROFILES))(
    '%s: syncs dist/<profile> into the profile namespace, with retries',
    (profile) => {
      const app = apps.find((a) => a.metadata.name === `mysql-${profile}`)!;
      expect(app.metadata.namespace).toBe('argocd');
      expect(app.spec.source).toEqual({
        repoURL: 'https://github.com/example-org/mysql-gitops.git',
        targetRevision: 'main',
        path: `dist/${profile}`,
      });
      expect(app.spec.destination).toEqual({
        server: 'https://kubernetes.default.svc',
        namespace: PROFILES[profile].namespace,
      });
      expect(app.spec.syncPolicy.syncOptions).toEqual(['PruneLast=true', 'FailOnSharedResource=true']);
      expect(app.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
      expect(app.spec.syncPolicy.retry).toEqual({
        limit: 5,
        backoff: { duration: '10s', factor: 2, maxDuration: '3m' },
      });
    },
  );

  test('production compares with Server-Side Diff', () => {
    const app = apps.find((a) => a.metadata.name === 'mysql-production')!;
    expect(app.metadata.annotations).toEqual({ 'argocd.argoproj.io/compare-options': 'ServerSideDiff=true' });
  });

  test('manual sync when automated is off', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argo-'));
    try {
      const config = withChanges(workshop, { 'gitops.argocd.automated': false });
      synthesize({ profiles: { workshop: config }, distDir: dir });
      const text = fs.readFileSync(path.join(dir, 'argocd', 'workshop.k8s.yaml'), 'utf8');
      expect(text).not.toMatch(/automated/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('synthesizing a subset of profiles rebuilds dist/argocd/ from every profile, so it is never stale', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argo-subset-'));
    try {
      synthesize({ profiles: PROFILES, distDir: dir });
      const productionBefore = treeHashes(path.join(dir, 'production'));
      // production's Application changes, but only workshop is synthesized (MYSQL_PROFILES=workshop).
      const changed = {
        ...PROFILES,
        production: withChanges(production, { 'gitops.argocd.targetRevision': 'release' }),
      };
      const result = synthesize({ profiles: changed, only: ['workshop'], distDir: dir });
      expect(result.published.map((p) => path.basename(p.dir))).toEqual(['workshop', 'argocd']);
      expect(fs.readFileSync(path.join(dir, 'argocd', 'production.k8s.yaml'), 'utf8')).toContain(
        'targetRevision: release',
      );
      expect(fs.readdirSync(path.join(dir, 'argocd')).sort()).toEqual([
        'Kustomization',
        'production.k8s.yaml',
        'workshop.k8s.yaml',
      ]);
      expect(treeHashes(path.join(dir, 'production'))).toEqual(productionBefore);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if an unchosen profile is invalid, since dist/argocd/ lists it too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argo-subset-bad-'));
    try {
      const bad = { ...PROFILES, production: withChanges(production, { replicas: 0 }) };
      expect(() => synthesize({ profiles: bad, only: ['workshop'], distDir: dir })).toThrow(
        /Invalid config for profile "production".*\n {2}- replicas is 0/,
      );
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if two profiles would sync into the same namespace of the same cluster', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'argo-clash-'));
    try {
      const clash = { workshop, production: withChanges(production, { namespace: 'mysql' }) };
      expect(() => synthesize({ profiles: clash, distDir: dir })).toThrow(
        'Profiles "workshop" and "production" both have Argo CD sync into https://kubernetes.default.svc namespace mysql',
      );
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if the repository URL is not a Git URL', () => {
    expect(() =>
      validateConfig(withChanges(production, { 'gitops.argocd.repoURL': 'github.com/org/repo' })),
    ).toThrow('gitops.argocd.repoURL is "github.com/org/repo"; expected a Git URL');
  });
  test('fails if the path leaves the repository', () => {
    expect(() => validateConfig(withChanges(production, { 'gitops.argocd.path': '../other' }))).toThrow(
      'gitops.argocd.path is "../other"; expected a relative path inside the repository',
    );
  });
  test('fails if a profile is named like the Applications folder', () => {
    expect(() => validateConfig(withChanges(workshop, { profile: 'argocd' }))).toThrow(ConfigError);
    expect(() => validateConfig(withChanges(workshop, { profile: 'argocd' }))).toThrow(
      'profile is "argocd"; is reserved for the Argo CD Applications folder dist/argocd/; choose another name',
    );
  });
});
