import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { workshop } from '../charts/profiles';
import { synthesize } from '../charts/synth';
import { ConfigError } from '../charts/config';
import { withChanges } from './support/synth';
import { treeHashes } from './support/tree';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

/** A dist folder with something in it, to prove a failed synth leaves it as it was. */
function populatedDist(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-keep-'));
  synthesize({ profiles: { workshop }, distDir: dir });
  fs.writeFileSync(path.join(dir, 'workshop', '0000-storage-class.k8s.yaml'), '# the committed version\n');
  return dir;
}

function run(command: string, args: string[], env: Record<string, string>) {
  return spawnSync(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('synthesize()', () => {
  test('publishes each profile to <dist>/<profile>/, the Argo CD Applications to <dist>/argocd/, nothing else', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-new-'));
    try {
      const result = synthesize({ profiles: { workshop }, distDir: dir });
      expect(fs.readdirSync(dir).sort()).toEqual(['argocd', 'workshop']);
      expect(result.published[0].files).toEqual([
        '0000-storage-class.k8s.yaml',
        '0001-namespace.k8s.yaml',
        '0002-services.k8s.yaml',
        '0003-statefulset.k8s.yaml',
        '0004-monitoring.k8s.yaml',
        'Kustomization',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if a config value is invalid, and leaves dist as it was', () => {
    const dir = populatedDist();
    const before = treeHashes(dir);
    try {
      const bad = { workshop, broken: withChanges(workshop, { profile: 'broken', replicas: 0 }) };
      expect(() => synthesize({ profiles: bad, distDir: dir })).toThrow(ConfigError);
      expect(() => synthesize({ profiles: bad, distDir: dir })).toThrow(/replicas is 0/);
      expect(treeHashes(dir)).toEqual(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if a profile is unknown, naming it and the known ones', () => {
    const dir = populatedDist();
    const before = treeHashes(dir);
    try {
      expect(() => synthesize({ profiles: { workshop }, only: ['prod'], distDir: dir })).toThrow(
        'Unknown profile "prod"; known profiles: workshop.',
      );
      expect(treeHashes(dir)).toEqual(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if a profile is registered under another name than its own', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-key-'));
    try {
      expect(() => synthesize({ profiles: { staging: workshop }, distDir: dir })).toThrow(
        'Profile "staging" has profile: "workshop"; they must match',
      );
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('does not let the cdk8s construct metadata file into the published folder', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-meta-'));
    const saved = process.env.CDK8S_RECORD_CONSTRUCT_METADATA;
    process.env.CDK8S_RECORD_CONSTRUCT_METADATA = 'true';
    try {
      synthesize({ profiles: { workshop }, distDir: dir });
      expect(fs.readdirSync(path.join(dir, 'workshop')).filter((f) => !f.endsWith('.k8s.yaml'))).toEqual([
        'Kustomization',
      ]);
    } finally {
      if (saved === undefined) delete process.env.CDK8S_RECORD_CONSTRUCT_METADATA;
      else process.env.CDK8S_RECORD_CONSTRUCT_METADATA = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the entry points leave the committed dist/ untouched on error', () => {
  let before: Record<string, string>;
  beforeAll(() => (before = treeHashes(DIST)));
  afterEach(() => expect(treeHashes(DIST)).toEqual(before));

  test('npm run synth fails if the profile is unknown: message, exit code 1', () => {
    const r = run('node', ['tools/run-bundled.js', 'main.ts'], { MYSQL_PROFILES: 'nope' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: Unknown profile "nope"; known profiles:');
    expect(r.stderr).toContain('dist/ was left unchanged.');
  });

  test('npm run synth fails if a config value is invalid: message naming field and value, exit code 1', () => {
    // main.ts itself, with the workshop profile broken in memory before it runs.
    const r = run(
      'node',
      [
        '-r',
        './tools/ts-register.js',
        '-e',
        "require('./charts/profiles').PROFILES.workshop.storage.size = '10GB'; require('./main.ts');",
      ],
      {},
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Invalid config for profile "workshop" (1 problem):');
    expect(r.stderr).toContain(
      'storage.size is "10GB"; expected a positive Kubernetes quantity such as "10Gi"',
    );
  });

  test('cdk8s synth (the CLI empties its output folder first) fails if the profile is unknown and dist/ survives', () => {
    const r = run(path.join(ROOT, 'node_modules', '.bin', 'cdk8s'), ['synth'], { MYSQL_PROFILES: 'nope' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Unknown profile "nope"');
  });
});
