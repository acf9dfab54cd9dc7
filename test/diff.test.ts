/**
 * `npm run diff` (tools/diff): real before/after pairs synthesized from the workshop profile with one
 * change each, compared the way CI compares a fresh synth with the committed dist/.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MysqlStackConfig } from '../charts/config';
import { production, workshop } from '../charts/profiles';
import { synthesize } from '../charts/synth';
import { unifiedLineDiff } from '../tools/diff/line-diff';
import { runDiff } from '../tools/diff/run-diff';

const ROOT = path.join(__dirname, '..');
let tmp: string;
let base: string;

/** Synthesizes `config` as profile "workshop" into a fresh folder and returns the folder. */
function synthTo(config: MysqlStackConfig): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'dist-'));
  synthesize({ profiles: { workshop: config }, distDir: dir });
  return dir;
}

/** A copy of the base output with one file's text edited. */
function editedCopy(file: string, edit: (text: string) => string): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'edited-'));
  fs.cpSync(base, dir, { recursive: true });
  const f = path.join(dir, 'workshop', file);
  const text = fs.readFileSync(f, 'utf8');
  const changed = edit(text);
  if (changed === text) throw new Error(`edit of ${file} changed nothing`);
  fs.writeFileSync(f, changed);
  return dir;
}

/** The diff of the committed `base` against a fresh synth of `config`. */
function diffAgainst(config: MysqlStackConfig) {
  return runDiff({ distDir: base, profiles: { workshop: config } });
}

const lines = (text: string) => text.split('\n');
/** The workshop's image pinned further, by digest: a change that rolls the pods. */
const DIGEST_PIN = `mysql:5.7.44@sha256:${'a'.repeat(64)}`;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diff-test-'));
  base = synthTo(workshop);
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('npm run diff on real before/after pairs', () => {
  test('no change: exit 0 and a one-line "No changes" report', () => {
    const r = diffAgainst(workshop);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      /^No changes: .* matches a fresh synth \(all profiles\) \(9 objects in 2 profile/,
    );
  });

  test('replica count 2 → 3: the path with old → new, a NOTE naming the new pod, no WARNING', () => {
    const r = diffAgainst({ ...workshop, replicas: 3 });
    expect(r.exitCode).toBe(1);
    expect(lines(r.stdout)).toContain('    spec.replicas: 2 → 3');
    expect(r.stdout).toContain('NOTE: replicas 2 → 3: creates mysql-2.');
    expect(r.stdout).not.toContain('WARNING');
    expect(r.stdout).toMatch(
      /^.* differs from a fresh synth .*: 1 changed, 0 added, 0 removed; 0 warning\(s\), 1 note\(s\)\./,
    );
  });

  test('scaling down names the deleted pod and says that its claim is kept', () => {
    const r = runDiff({ distDir: synthTo({ ...workshop, replicas: 3 }), newDir: base });
    expect(r.stdout).toContain(
      'NOTE: replicas 3 → 2: deletes mysql-2, highest ordinal first; their claims (data-mysql-2) are kept.',
    );
  });

  test('image change: the container path keyed by name, and the pod-roll NOTE', () => {
    const r = diffAgainst({ ...workshop, images: { ...workshop.images, mysql: DIGEST_PIN } });
    expect(r.exitCode).toBe(1);
    const out = lines(r.stdout);
    expect(out).toContain(`    spec.template.spec.containers[mysql].image: "mysql:5.7.44" → "${DIGEST_PIN}"`);
    expect(out).toContain(
      `    spec.template.spec.initContainers[init-mysql].image: "mysql:5.7.44" → "${DIGEST_PIN}"`,
    );
    expect(r.stdout).toContain('NOTE: spec.template changed: every database pod is re-created');
    expect(r.stdout).not.toContain('WARNING');
  });

  test('storage size change: the volumeClaimTemplates WARNING (the API server refuses it)', () => {
    const r = diffAgainst({ ...workshop, storage: { ...workshop.storage, size: '20Gi' } });
    expect(r.exitCode).toBe(1);
    const out = lines(r.stdout);
    expect(out).toContain(
      '    spec.volumeClaimTemplates[data].spec.resources.requests.storage: "10Gi" → "20Gi"',
    );
    const warning = out.find((l) => l.startsWith('    WARNING: spec.volumeClaimTemplates cannot be changed'));
    expect(warning).toContain('are forbidden');
    expect(warning).toContain('--cascade=orphan');
    // Findings come before the fields, so the WARNING is the first line under the object.
    expect(out[out.findIndex((l) => l.startsWith('~ apps/v1 StatefulSet mysql/mysql')) + 1]).toBe(warning);
    expect(r.stdout).toContain('1 warning(s)');
  });

  test('serviceName and selector changes: one WARNING naming both immutable fields', () => {
    const dir = editedCopy('0003-statefulset.k8s.yaml', (t) =>
      t
        .replace('  serviceName: mysql\n', '  serviceName: mysql-headless\n')
        .replace(
          '  selector:\n    matchLabels:\n      app: mysql\n',
          '  selector:\n    matchLabels:\n      app: db\n',
        ),
    );
    const r = runDiff({ distDir: base, newDir: dir });
    expect(lines(r.stdout)).toContain('    spec.serviceName: "mysql" → "mysql-headless"');
    expect(r.stdout).toContain(
      'WARNING: spec.selector, spec.serviceName cannot be changed on a live StatefulSet',
    );
    expect(r.stdout).toContain('1 warning(s), 0 note(s)');
  });

  test('EBS volume type change: the StorageClass parameters WARNING', () => {
    const r = diffAgainst({ ...workshop, storage: { ...workshop.storage, volumeType: 'gp3' } });
    expect(lines(r.stdout)).toContain('    parameters.type: "gp2" → "gp3"');
    expect(r.stdout).toContain('WARNING: parameters of a StorageClass cannot be updated');
  });

  test('a PriorityClass value change: WARNING (immutable); removing the class: WARNING (pods cannot be created)', () => {
    const withClass = { ...workshop, priorityClass: { name: 'mysql-workshop', value: 1000 } };
    const from = synthTo(withClass);
    const r = runDiff({
      distDir: from,
      profiles: { workshop: { ...withClass, priorityClass: { name: 'mysql-workshop', value: 2000 } } },
    });
    expect(lines(r.stdout)).toContain('    value: 1000 → 2000');
    expect(r.stdout).toContain(
      'WARNING: value of a PriorityClass cannot be updated: the API server refuses it.',
    );
    const gone = runDiff({ distDir: from, profiles: { workshop } });
    expect(gone.stdout).toContain('WARNING: removing the PriorityClass leaves running pods alone');
  });

  test('a synth error: exit 2 with the synth message, no report', () => {
    const r = diffAgainst({ ...workshop, replicas: 0 });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: synth failed: /);
    expect(r.stderr).toContain('replicas is 0');
  });

  test('an unknown profile in MYSQL_PROFILES is a synth error too', () => {
    const r = runDiff({ distDir: base, profiles: { workshop }, only: ['nope'] });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('Unknown profile "nope"');
  });
});

describe('objects, not files', () => {
  test('moving an object to another file is no change', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'moved-'));
    fs.cpSync(base, dir, { recursive: true });
    const ws = path.join(dir, 'workshop');
    const services = fs.readFileSync(path.join(ws, '0002-services.k8s.yaml'), 'utf8');
    fs.appendFileSync(path.join(ws, '0001-namespace.k8s.yaml'), `---\n${services}`);
    fs.rmSync(path.join(ws, '0002-services.k8s.yaml'));
    expect(runDiff({ distDir: base, newDir: dir }).exitCode).toBe(0);
  });

  test('a removed Namespace is reported with a data-loss WARNING; added objects are listed', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'renamed-'));
    fs.cpSync(base, dir, { recursive: true });
    const f = path.join(dir, 'workshop', '0001-namespace.k8s.yaml');
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('name: mysql\n---', 'name: mysql-new\n---'));
    const r = runDiff({ distDir: base, newDir: dir });
    expect(r.exitCode).toBe(1);
    const out = lines(r.stdout);
    expect(out).toContain('+ v1 Namespace mysql-new  (added, 0001-namespace.k8s.yaml)');
    expect(out).toContain('- v1 Namespace mysql  (removed, 0001-namespace.k8s.yaml)');
    expect(r.stdout).toContain('WARNING: removing the Namespace deletes every object in it');
  });

  test('a removed StatefulSet gets the pod NOTE', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'nosts-'));
    fs.cpSync(base, dir, { recursive: true });
    fs.rmSync(path.join(dir, 'workshop', '0003-statefulset.k8s.yaml'));
    const r = runDiff({ distDir: base, newDir: dir });
    expect(r.stdout).toContain('- apps/v1 StatefulSet mysql/mysql  (removed, 0003-statefulset.k8s.yaml)');
    expect(r.stdout).toContain('NOTE: removing the StatefulSet deletes all its pods');
  });

  test('a profile folder that synth no longer writes shows its objects as removed', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'stale-'));
    fs.cpSync(base, dir, { recursive: true });
    fs.cpSync(path.join(base, 'workshop'), path.join(dir, 'old-profile'), { recursive: true });
    const r = diffAgainst(workshop);
    expect(r.exitCode).toBe(0);
    const stale = runDiff({ distDir: dir, profiles: { workshop } });
    expect(stale.exitCode).toBe(1);
    expect(stale.stdout).toContain('0 changed, 0 added, 8 removed');
    expect(stale.stdout).toContain('== old-profile ==');
    // Limited to the selected profiles, the stale folder is not compared.
    expect(runDiff({ distDir: dir, profiles: { workshop }, only: ['workshop'] }).exitCode).toBe(0);
  });
});

describe('field paths and values', () => {
  test('an edited embedded script is shown as a compact unified diff, not two copies', () => {
    const dir = editedCopy('0003-statefulset.k8s.yaml', (t) =>
      t.replace(
        '#   BACKUP_PORT       port to serve backups on',
        '#   BACKUP_PORT       the port for backups',
      ),
    );
    const r = runDiff({ distDir: base, newDir: dir });
    const out = lines(r.stdout);
    const head = out.findIndex(
      (l) => l === '    spec.template.spec.containers[xtrabackup].command[2]: (multi-line text changed)',
    );
    expect(head).toBeGreaterThan(0);
    const hunk = out.slice(head + 1).filter((l) => l.startsWith('        '));
    expect(hunk[0]).toMatch(/^ {8}@@ -\d+,5 \+\d+,5 @@$/);
    expect(hunk).toContain('        -#   BACKUP_PORT       port to serve backups on (default 3307)');
    expect(hunk).toContain('        +#   BACKUP_PORT       the port for backups (default 3307)');
    expect(hunk.length).toBeLessThan(10);
  });

  test('a headless Service losing clusterIP: None gets the immutable-field WARNING', () => {
    const dir = editedCopy('0002-services.k8s.yaml', (t) => t.replace('  clusterIP: None\n', ''));
    const r = runDiff({ distDir: base, newDir: dir });
    expect(lines(r.stdout)).toContain('    spec.clusterIP: "None" → (absent)');
    expect(r.stdout).toContain('WARNING: spec.clusterIP is immutable once set');
  });

  test('a ConfigMap data change: a data["key"] path and a NOTE that pods are not restarted', () => {
    const dir = editedCopy('0001-namespace.k8s.yaml', (t) =>
      t.replace('    log-bin\n', '    log-bin\n    gtid-mode=ON\n'),
    );
    const r = runDiff({ distDir: base, newDir: dir });
    expect(r.stdout).toContain('    data["master.cnf"]: (multi-line text changed)');
    expect(r.stdout).toContain('        +gtid-mode=ON');
    expect(r.stdout).toContain('NOTE: running pods are not restarted by a ConfigMap change');
  });

  test('an immutable ConfigMap whose data changes gets a WARNING', () => {
    const before = editedCopy('0001-namespace.k8s.yaml', (t) =>
      t.replace('kind: ConfigMap\n', 'kind: ConfigMap\nimmutable: true\n'),
    );
    const after = fs.mkdtempSync(path.join(tmp, 'imm-'));
    fs.cpSync(before, after, { recursive: true });
    const f = path.join(after, 'workshop', '0001-namespace.k8s.yaml');
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('super-read-only', 'read-only'));
    expect(runDiff({ distDir: before, newDir: after }).stdout).toContain(
      'WARNING: data of an immutable ConfigMap cannot be changed',
    );
  });

  test('primary 0 → 1 (production): a SWITCHOVER NOTE naming both pods, the Service selector moves, no pod is re-created', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'dist-production-'));
    synthesize({ profiles: { production }, distDir: dir });
    const r = runDiff({ distDir: dir, profiles: { production: { ...production, primary: 1 } } });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(
      'NOTE: this PR performs a SWITCHOVER: the primary moves from mysql-0 to mysql-1. The Job mysql-switchover',
    );
    expect(r.stdout).toContain('refuses, changing nothing, if mysql-1 lags or is broken');
    expect(lines(r.stdout)).toContain(
      '    spec.selector["statefulset.kubernetes.io/pod-name"]: "mysql-0" → "mysql-1"',
    );
    expect(r.stdout).not.toContain('every database pod is re-created');
    expect(r.stdout).not.toContain('WARNING');
    const failover = runDiff({
      distDir: dir,
      profiles: { production: { ...production, primary: 1, failover: true } },
    });
    expect(failover.stdout).toContain('NOTE: failover: true: if the current primary does not answer');
    // the same primary again: no switchover note
    expect(runDiff({ distDir: dir, profiles: { production } }).stdout).not.toContain('SWITCHOVER');
  });

  test('the report is deterministic and sorted', () => {
    const config = {
      ...workshop,
      replicas: 5,
      storage: { ...workshop.storage, volumeType: 'gp3' as const, size: '30Gi' },
    };
    const first = diffAgainst(config).stdout;
    expect(diffAgainst(config).stdout).toBe(first);
    const headers = lines(first).filter((l) => /^[~+-] /.test(l));
    expect(headers).toEqual([
      '~ apps/v1 StatefulSet mysql/mysql  (changed, 0003-statefulset.k8s.yaml)',
      '~ storage.k8s.io/v1 StorageClass mysql-gp2  (changed, 0000-storage-class.k8s.yaml)',
    ]);
  });

  test('unifiedLineDiff: hunks with 2 lines of context, and the final newline', () => {
    const a = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    expect(unifiedLineDiff(a, a.replace('d\n', 'D\n'))).toEqual([
      '@@ -2,5 +2,5 @@',
      ' b',
      ' c',
      '-d',
      '+D',
      ' e',
      ' f',
    ]);
    expect(unifiedLineDiff('x\n', 'x')).toEqual(['(the final newline was removed)']);
    expect(unifiedLineDiff('', 'one\ntwo\n')).toEqual(['@@ -1,0 +1,2 @@', '+one', '+two']);
  });
});

describe('the CLI', () => {
  const cli = (args: string[]) => {
    try {
      const stdout = execFileSync(
        process.execPath,
        ['-r', './tools/ts-register.js', 'tools/diff/main.ts', ...args],
        {
          cwd: ROOT,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      return { status: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { status: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  };

  test('exit 1 and the report for two different folders (--dist/--new)', () => {
    const r = cli(['--dist', base, '--new', synthTo({ ...workshop, replicas: 3 })]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('spec.replicas: 2 → 3');
  });

  test('exit 2 and the usage for an unknown argument', () => {
    const r = cli(['--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown argument --frobnicate');
    expect(r.stderr).toContain('usage: diff');
  });
});

/**
 * Review mode against real git repositories: a base commit with dist/ and a change commit, as a pull
 * request has them. The fresh synth comes from the profiles passed in (the change's charts).
 */
describe('npm run diff reviews what a pull request changes', () => {
  let repo: string;
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, ...args], {
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.com',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.com',
      },
    }).trim();
  /** Replaces the repository's dist/ with a synth of `config` and commits it. */
  const commitDist = (config: MysqlStackConfig, message: string) => {
    fs.rmSync(path.join(repo, 'dist'), { recursive: true, force: true });
    synthesize({ profiles: { workshop: config }, distDir: path.join(repo, 'dist') });
    git('add', '-A');
    git('commit', '-q', '-m', message);
    return git('rev-parse', 'HEAD');
  };
  const review = (config: MysqlStackConfig, ref?: string) =>
    runDiff({ distDir: path.join(repo, 'dist'), profiles: { workshop: config }, base: { ref } });
  const three = { ...workshop, replicas: 3 };

  beforeEach(() => {
    repo = fs.mkdtempSync(path.join(tmp, 'repo-'));
    git('init', '-q', '-b', 'main');
    commitDist(workshop, 'base: dist/ of the workshop');
  });

  test('after npm run synth and a commit (where the stale check says "No changes"), it shows the change', () => {
    git('checkout', '-q', '-b', 'feature');
    commitDist(three, 'change: 3 replicas, dist/ regenerated');
    const stale = runDiff({ distDir: path.join(repo, 'dist'), profiles: { workshop: three } });
    expect(stale.exitCode).toBe(0);
    const r = review(three);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(
      /dist\/ at the merge-base of HEAD and main \([0-9a-f]{7}\) differs from a fresh synth/,
    );
    expect(r.stdout).toContain('spec.replicas: 2 → 3');
    expect(r.stdout).not.toContain('working tree differs');
  });

  test('compares with the merge-base, not with the tip of main that moved on', () => {
    git('checkout', '-q', '-b', 'feature');
    commitDist(three, 'change: 3 replicas');
    git('checkout', '-q', 'main');
    commitDist({ ...workshop, images: { ...workshop.images, mysql: DIGEST_PIN } }, 'main moved on');
    git('checkout', '-q', 'feature');
    const r = review(three);
    expect(r.stdout).toContain('spec.replicas: 2 → 3');
    expect(r.stdout).not.toContain(DIGEST_PIN);
  });

  test('--base REF: against dist/ as committed at that revision', () => {
    const first = git('rev-parse', 'HEAD');
    commitDist(three, 'three');
    commitDist({ ...workshop, replicas: 4 }, 'four');
    const r = review({ ...workshop, replicas: 4 }, first);
    expect(r.stdout).toContain(`dist/ at ${first} (${first.slice(0, 7)})`);
    expect(r.stdout).toContain('spec.replicas: 2 → 4');
    expect(review({ ...workshop, replicas: 4 }, 'HEAD').exitCode).toBe(0);
  });

  test('before npm run synth, it shows the change and notes that dist/ is stale', () => {
    const r = review(three);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('spec.replicas: 2 → 3');
    expect(r.stdout).toContain(
      'in the working tree differs from this synth in 1 object(s): run `npm run synth`',
    );
  });

  test('a base without dist/ shows every object as added', () => {
    fs.writeFileSync(path.join(repo, 'README'), 'x\n');
    git('add', 'README');
    git('commit', '-q', '-m', 'readme');
    git('rm', '-r', '-q', 'dist');
    git('commit', '-q', '-m', 'no dist');
    const r = review(workshop, 'HEAD');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/0 changed, 9 added, 0 removed/);
  });

  test('fails with exit 2 and a clear message for an unknown --base', () => {
    const r = review(workshop, 'no-such-branch');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--base no-such-branch: no such revision in');
  });
});
