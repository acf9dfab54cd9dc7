import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');

/** tools/run-bundled.js: the cached bundle must never run stale code. */
describe('tools/run-bundled.js', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-bundled-'))));
  afterEach(() => {
    const name = path.relative(ROOT, path.join(dir, 'entry.ts')).replace(/[^\w.-]/g, '_');
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
