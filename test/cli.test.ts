import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../charts/cli';
import { PROFILES } from '../charts/profiles';

/** charts/cli.ts, in process: what a run says on stderr and the exit status it returns. */
describe('runCli', () => {
  let root: string;
  let dist: string;
  let said: string[];
  const run = (env: Record<string, string>) =>
    runCli({ profiles: PROFILES, distDir: dist, env, say: (t) => said.push(t) });
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
    dist = path.join(root, 'dist');
    said = [];
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test('a plain run synthesizes every profile and says so, one line per folder', () => {
    expect(run({})).toBe(0);
    // `synthesized <dir>/ (<files>)`, the profiles in their order, then dist/argocd/.
    expect(said.every((l) => /^synthesized \S+\/ \(.+\)$/.test(l))).toBe(true);
    expect(said.map((l) => path.basename(l.split(' ')[1]))).toEqual([...Object.keys(PROFILES), 'argocd']);
    expect(fs.readdirSync(dist).sort()).toEqual([...Object.keys(PROFILES), 'argocd'].sort());
  });

  test('MYSQL_PROFILES chooses the profiles (spaces and empty entries ignored)', () => {
    expect(run({ MYSQL_PROFILES: ' workshop, ,' })).toBe(0);
    expect(
      said.filter((l) => l.startsWith('synthesized')).map((l) => path.basename(l.split(' ')[1])),
    ).toEqual(['workshop', 'argocd']);
  });

  test('the CLI pointed at dist/ deleted it: said loudly; every folder rebuilt, so status 0', () => {
    expect(run({ CDK8S_OUTDIR: dist })).toBe(0);
    const text = said.join('\n');
    expect(text).toContain('DELETED dist/');
    expect(text).toContain('git checkout -- dist/');
    expect(text).toContain('nothing is lost this time');
  });

  test('fails if the CLI deleted dist/ and only some profiles were rebuilt: the lost folders are named', () => {
    expect(run({ CDK8S_OUTDIR: dist, MYSQL_PROFILES: 'workshop' })).toBe(1);
    const gone = Object.keys(PROFILES).filter((p) => p !== 'workshop');
    expect(said.join('\n')).toContain(`; dist/${gone.join(', dist/')} are gone.`);
  });

  test('the CLI pointed elsewhere gets a copy of what was published', () => {
    const out = path.join(root, '.cdk8s.out');
    expect(run({ CDK8S_OUTDIR: out, MYSQL_PROFILES: 'workshop' })).toBe(0);
    expect(said.join('\n')).not.toContain('DELETED');
    expect(fs.existsSync(out)).toBe(true);
  });

  test('fails if a profile is unknown: the error, dist/ left unchanged, status 1', () => {
    expect(run({})).toBe(0);
    const before = fs.readdirSync(path.join(dist, 'workshop')).sort();
    said = [];
    expect(run({ MYSQL_PROFILES: 'no-such-profile' })).toBe(1);
    expect(said[0]).toMatch(/^error: .*no-such-profile/);
    expect(said[said.length - 1]).toBe('dist/ was left unchanged.');
    expect(fs.readdirSync(path.join(dist, 'workshop')).sort()).toEqual(before);
  });
});
