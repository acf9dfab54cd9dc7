import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { production, PROFILES, workshop } from '../charts/profiles';
import { JOURNAL, publish, recoverDist, stagingFolder, startStaging } from '../charts/publish';
import { synthesize } from '../charts/synth';
import { withChanges } from './support/synth';
import { treeHashes } from './support/tree';

const ROOT = path.join(__dirname, '..');
const FOLDERS = ['workshop', 'production', 'argocd'];

/** A dist/ as the last run left it ("old") and the tree this run stages ("new"), every file different. */
function fixture(): { dist: string; oldTree: Record<string, string>; newTree: Record<string, string> } {
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-'));
  for (const f of FOLDERS) {
    fs.mkdirSync(path.join(dist, f));
    fs.writeFileSync(path.join(dist, f, `${f}.k8s.yaml`), `old ${f}\n`);
  }
  const oldTree = treeHashes(dist);
  startStaging(dist);
  for (const f of FOLDERS) {
    fs.mkdirSync(stagingFolder(dist, f));
    fs.writeFileSync(path.join(stagingFolder(dist, f), `${f}.k8s.yaml`), `new ${f}\n`);
  }
  const newTree: Record<string, string> = {};
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-new-'));
  for (const f of FOLDERS) fs.cpSync(stagingFolder(dist, f), path.join(probe, f), { recursive: true });
  Object.assign(newTree, treeHashes(probe));
  fs.rmSync(probe, { recursive: true });
  return { dist, oldTree, newTree };
}

const childScript = (dist: string, step: string) => `
  const { publish } = require('./charts/publish');
  publish(${JSON.stringify(dist)}, ${JSON.stringify(FOLDERS)}, (s) => {
    if (s === ${JSON.stringify(step)}) process.kill(process.pid, 'SIGKILL');
  });`;

/** Runs publish() in a child process that SIGKILLs itself right after the named step. */
function publishAndDieAfter(dist: string, step: string) {
  return spawnSync('node', ['-r', './tools/ts-register.js', '-e', childScript(dist, step)], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

/** The same, without waiting: resolves to the signal that ended the child. */
function publishAndDieAfterAsync(dist: string, step: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['-r', './tools/ts-register.js', '-e', childScript(dist, step)], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve(signal));
  });
}

describe('publish: all or nothing across every folder of dist/', () => {
  const steps: string[] = [];
  beforeAll(() => {
    const { dist } = fixture();
    publish(dist, FOLDERS, (s) => steps.push(s));
    fs.rmSync(dist, { recursive: true });
  });

  test('the steps a crash can fall between', () => {
    expect(steps).toEqual([
      'staged',
      'journal-written',
      ...FOLDERS.flatMap((f) => [`moved-old:${f}`, `moved-new:${f}`]),
      'journal-removed',
      'cleaned',
    ]);
  });

  test('a SIGKILL after any step leaves the old tree or the new one, once the next run has recovered', async () => {
    const cases = steps.map((step) => ({ step, ...fixture() }));
    try {
      // One child per step, all at once (each crashes its own copy).
      const signals = await Promise.all(cases.map((c) => publishAndDieAfterAsync(c.dist, c.step)));
      for (const [i, { step, dist, oldTree, newTree }] of cases.entries()) {
        expect({ step, signal: signals[i] }).toEqual({ step, signal: 'SIGKILL' });
        const committed =
          fs.existsSync(path.join(dist, JOURNAL)) || step === 'journal-removed' || step === 'cleaned';
        const said = recoverDist(dist);
        expect({ step, tree: treeHashes(dist) }).toEqual({ step, tree: committed ? newTree : oldTree });
        if (step !== 'cleaned')
          expect(said).toMatch(committed ? /^finished an interrupted publish|^removed/ : /^removed/);
        expect(recoverDist(dist)).toBeUndefined(); // nothing left to do
      }
    } finally {
      for (const c of cases) fs.rmSync(c.dist, { recursive: true, force: true });
    }
  }, 120_000); // ten node processes at once: slow on a busy machine

  test('an error while swapping (after the journal) moves everything back: dist/ is the old tree', () => {
    const { dist, oldTree } = fixture();
    try {
      const fail = (s: string) => {
        if (s === 'moved-new:production')
          throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      };
      expect(() => publish(dist, FOLDERS, fail)).toThrow(
        'publishing failed (EIO: i/o error, rename); every folder moved was moved back: dist/ was left unchanged.',
      );
      expect(treeHashes(dist)).toEqual(oldTree);
    } finally {
      fs.rmSync(dist, { recursive: true, force: true });
    }
  });

  test('synthesize() finishes an interrupted publish before anything else, and says so', () => {
    const { dist, newTree } = fixture();
    try {
      publishAndDieAfter(dist, 'moved-new:workshop');
      expect(fs.existsSync(path.join(dist, JOURNAL))).toBe(true);
      // This run fails on its config, after recovering: the message must not claim "unchanged".
      const bad = { workshop: withChanges(workshop, { replicas: 0 }) };
      let err: unknown;
      try {
        synthesize({ profiles: bad, distDir: dist });
      } catch (e) {
        err = e;
      }
      expect((err as { recovered?: string }).recovered).toMatch(/^finished an interrupted publish of dist\//);
      expect(treeHashes(dist)).toEqual(newTree);
    } finally {
      fs.rmSync(dist, { recursive: true, force: true });
    }
  });
});

const isRoot = process.getuid?.() === 0;
/** Root is needed to mount a tmpfs and to switch to an unprivileged uid (CI runs as root). */
const asRoot = isRoot ? test : test.skip;

/** A child `node` running synthesize() into `dist`, printing the outcome as JSON. */
const SYNTH_CHILD = (dist: string) => `
  const { synthesize } = require('./charts/synth');
  const { PROFILES } = require('./charts/profiles');
  try {
    synthesize({ profiles: PROFILES, distDir: ${JSON.stringify(dist)} });
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, name: e.name, code: e.code, message: e.message }));
  }`;

describe('publish under real failures', () => {
  asRoot('ENOSPC on a small tmpfs while staging: dist/ is the old tree, nothing left behind', () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-enospc-'));
    try {
      // In a private mount namespace: a 256 KiB tmpfs holding an old dist/, filled but for 16 KiB.
      const dist = path.join(base, 'dist');
      const child = path.join(os.tmpdir(), `enospc-child-${process.pid}.js`);
      fs.writeFileSync(child, SYNTH_CHILD(dist).replace(/'\.\/charts/g, `'${ROOT}/charts`));
      const shell = `
        set -e
        mount -t tmpfs -o size=256k tmpfs ${base}
        mkdir ${dist}
        for f in workshop production argocd; do mkdir ${dist}/$f; echo "old $f" > ${dist}/$f/x.k8s.yaml; done
        before=$(cd ${dist} && find . -type f | sort | xargs sha256sum)
        dd if=/dev/zero of=${base}/filler bs=4k count=$(( $(stat -f -c %a ${base}) - 4 )) 2>/dev/null
        node -r ./tools/ts-register.js ${child}
        after=$(cd ${dist} && find . -type f | sort | xargs sha256sum)
        [ "$before" = "$after" ] && echo TREE-UNCHANGED
        ls -A ${dist}`;
      const r = spawnSync('unshare', ['-m', 'bash', '-c', shell], { cwd: ROOT, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const [outcome, verdict, ...left] = r.stdout.trim().split('\n');
      expect(JSON.parse(outcome)).toMatchObject({ ok: false, code: 'ENOSPC' });
      expect(verdict).toBe('TREE-UNCHANGED');
      expect(left.sort()).toEqual(['argocd', 'production', 'workshop']); // no .synth-new/ left
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  asRoot(
    'EACCES on a read-only profile folder (non-root uid): refused before anything moves, with the fix',
    () => {
      const base = fs.mkdtempSync(path.join(os.tmpdir(), 'publish-eacces-'));
      try {
        const dist = path.join(base, 'dist');
        fs.mkdirSync(dist);
        for (const f of FOLDERS) {
          fs.mkdirSync(path.join(dist, f));
          fs.writeFileSync(path.join(dist, f, 'x.k8s.yaml'), `old ${f}\n`);
        }
        fs.chmodSync(base, 0o755);
        spawnSync('chown', ['-R', '65534:65534', dist]);
        fs.chmodSync(path.join(dist, 'production'), 0o555);
        const before = treeHashes(dist);
        const r = spawnSync(
          'setpriv',
          [
            '--reuid=65534',
            '--regid=65534',
            '--clear-groups',
            // Read and search everywhere (the clone may sit in a root-only 0700 directory, as under
            // `mktemp -d`), but no write override: EACCES on dist/production is still the kernel's.
            '--inh-caps=+dac_read_search',
            '--ambient-caps=+dac_read_search',
            'node',
            '-r',
            './tools/ts-register.js',
            '-e',
            SYNTH_CHILD(dist),
          ],
          { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TMPDIR: base } },
        );
        const outcome = JSON.parse(r.stdout.trim().split('\n').pop()!);
        expect(outcome).toMatchObject({ ok: false, name: 'PublishError' });
        expect(outcome.message).toMatch(/^cannot publish: .*dist\/production is not writable \(EACCES/);
        expect(outcome.message).toMatch(/Nothing was moved: dist\/ was left unchanged\.$/);
        expect(treeHashes(dist)).toEqual(before);
        expect(fs.readdirSync(dist).sort()).toEqual(FOLDERS.slice().sort()); // no .synth-* left
      } finally {
        fs.rmSync(base, { recursive: true, force: true });
      }
    },
  );
});

describe('cross-profile rules', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cross-'));

  test('fails if two profiles emit one cluster-scoped object with different content', () => {
    const dir = tmp();
    try {
      // A second workshop-like profile in its own namespace, but with the workshop's StorageClass name.
      const copy = withChanges(production, { 'storage.storageClassName': 'mysql-gp2' });
      expect(() => synthesize({ profiles: { workshop, production: copy }, distDir: dir })).toThrow(
        'Profiles "workshop" and "production" both emit the cluster-scoped StorageClass "mysql-gp2" with different content',
      );
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('accepts two profiles emitting one identical cluster-scoped object', () => {
    const dir = tmp();
    try {
      const twin = withChanges(workshop, {
        profile: 'twin',
        namespace: 'mysql-twin',
        'gitops.argocd': undefined,
        // Without a GitHub gitops.argocd.repoURL the alerts' runbook URL must be given.
        'monitoring.runbookUrl': 'https://example.org/mysql/README.md',
      });
      expect(() => synthesize({ profiles: { workshop, twin }, distDir: dir })).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails if two profiles share a namespace', () => {
    const dir = tmp();
    try {
      const twin = withChanges(workshop, {
        profile: 'twin',
        'gitops.argocd': undefined,
        'monitoring.runbookUrl': 'https://example.org/mysql/README.md',
      });
      expect(() => synthesize({ profiles: { workshop, twin }, distDir: dir })).toThrow(
        'Profiles "workshop" and "twin" both use namespace "mysql": applied to one cluster, each would overwrite',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the real profiles pass every cross-profile rule', () => {
    const dir = tmp();
    try {
      expect(() => synthesize({ profiles: PROFILES, distDir: dir })).not.toThrow();
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('main.ts when the cdk8s CLI was pointed at dist/', () => {
  test('says loudly that the CLI deleted dist/, and how to restore it; never "left unchanged"', () => {
    // CDK8S_OUTDIR=dist as `cdk8s synth -o dist` sets it (without the CLI, which would really delete it).
    const r = spawnSync('node', ['tools/run-bundled.js', 'main.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK8S_OUTDIR: path.join(ROOT, 'dist'), MYSQL_PROFILES: 'nope' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: Unknown profile "nope"');
    expect(r.stderr).toContain('The cdk8s CLI was pointed at dist/');
    expect(r.stderr).toContain('DELETED dist/');
    expect(r.stderr).toContain('git checkout -- dist/');
    expect(r.stderr).not.toContain('left unchanged');
  });
});
