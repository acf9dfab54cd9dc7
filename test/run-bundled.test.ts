import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');

/** tools/run-bundled.js: the cached bundle must never run stale code. */
describe('tools/run-bundled.js', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-bundled-'))));
  afterEach(() => {
    const root = fs.realpathSync(ROOT);
    const entry = path.join(fs.realpathSync(dir), 'entry.ts');
    const name = `entry.ts-${createHash('sha256').update(root).update('\0').update(entry).digest('hex').slice(0, 16)}`;
    for (const f of [`${name}.js`, `${name}.inputs.json`]) {
      fs.rmSync(path.join(ROOT, 'node_modules', '.cache', 'run-bundled', f), { force: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const run = () =>
    spawnSync('node', ['tools/run-bundled.js', path.join(dir, 'entry.ts')], { cwd: ROOT, encoding: 'utf8' });

  test('rebuilds when an imported file changes, and gives each .ts file its own __dirname', () => {
    fs.writeFileSync(
      path.join(dir, 'entry.ts'),
      "import { value } from './dep';\nconsole.log(value, __dirname);\n",
    );
    fs.writeFileSync(path.join(dir, 'dep.ts'), 'export const value: number = 1;\n');
    expect(run().stdout).toBe(`1 ${dir}\n`);
    expect(run().stdout).toBe(`1 ${dir}\n`); // from the cache
    fs.writeFileSync(path.join(dir, 'dep.ts'), 'export const value: number = 22;\n');
    expect(run().stdout).toBe(`22 ${dir}\n`);
  });

  test('fails with a usage message without an entry', () => {
    const r = spawnSync('node', ['tools/run-bundled.js'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('usage: node tools/run-bundled.js <entry.ts>');
  });

  test('a thrown error exits non-zero', () => {
    fs.writeFileSync(path.join(dir, 'entry.ts'), "throw new Error('boom');\n");
    const r = run();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('boom');
  });
});

/**
 * The cache must never run another checkout's sources: each case below ran the original checkout's
 * bundle (and wrote the original's dist/) before the cache was keyed by the checkout's real path.
 */
describe('tools/run-bundled.js in copied, linked and moved checkouts', () => {
  let base: string;
  beforeEach(() => (base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'checkouts-')))));
  afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

  /** A small checkout: the real tools/run-bundled.js, an entry importing a module, esbuild linked in. */
  function checkout(dir: string, value: number, nodeModules: 'own' | string = 'own'): void {
    fs.mkdirSync(path.join(dir, 'tools'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'tools', 'run-bundled.js'), path.join(dir, 'tools', 'run-bundled.js'));
    fs.writeFileSync(
      path.join(dir, 'main.ts'),
      "import { value } from './dep';\nconsole.log(value, __dirname);\n",
    );
    fs.writeFileSync(path.join(dir, 'dep.ts'), `export const value: number = ${value};\n`);
    if (nodeModules === 'own') {
      fs.mkdirSync(path.join(dir, 'node_modules', '@esbuild'), { recursive: true });
      fs.symlinkSync(path.join(ROOT, 'node_modules', 'esbuild'), path.join(dir, 'node_modules', 'esbuild'));
      for (const p of fs.readdirSync(path.join(ROOT, 'node_modules', '@esbuild')))
        fs.symlinkSync(
          path.join(ROOT, 'node_modules', '@esbuild', p),
          path.join(dir, 'node_modules', '@esbuild', p),
        );
    } else {
      fs.symlinkSync(nodeModules, path.join(dir, 'node_modules'));
    }
  }
  const synth = (dir: string) => {
    const r = spawnSync('node', ['tools/run-bundled.js', 'main.ts'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return r.stdout;
  };

  test('a copy made with cp -a (node_modules and its cache included) runs its own sources', () => {
    const a = path.join(base, 'a');
    checkout(a, 1);
    expect(synth(a)).toBe(`1 ${a}\n`);
    const b = path.join(base, 'b');
    expect(spawnSync('cp', ['-a', a, b]).status).toBe(0);
    expect(synth(b)).toBe(`1 ${b}\n`); // its own __dirname, though nothing was edited
    fs.writeFileSync(path.join(b, 'dep.ts'), 'export const value: number = 2;\n');
    expect(synth(b)).toBe(`2 ${b}\n`);
    expect(synth(a)).toBe(`1 ${a}\n`);
  });

  test('a worktree whose node_modules is a symlink to the main checkout’s runs its own sources', () => {
    const main = path.join(base, 'main');
    checkout(main, 1);
    expect(synth(main)).toBe(`1 ${main}\n`);
    const wt = path.join(base, 'wt');
    checkout(wt, 3, path.join(main, 'node_modules'));
    expect(synth(wt)).toBe(`3 ${wt}\n`);
    expect(synth(main)).toBe(`1 ${main}\n`); // and the main checkout still its own
    expect(synth(wt)).toBe(`3 ${wt}\n`);
  });

  test('a moved checkout runs its sources from the new place', () => {
    const before = path.join(base, 'before');
    checkout(before, 4);
    expect(synth(before)).toBe(`4 ${before}\n`);
    const after = path.join(base, 'after');
    fs.renameSync(before, after);
    expect(synth(after)).toBe(`4 ${after}\n`);
    // A new checkout at the old path, same sizes and (copied) mtimes, must not reuse the moved one's cache.
    expect(spawnSync('cp', ['-a', after, before]).status).toBe(0);
    fs.writeFileSync(path.join(before, 'dep.ts'), 'export const value: number = 5;\n');
    expect(synth(before)).toBe(`5 ${before}\n`);
  });
});
