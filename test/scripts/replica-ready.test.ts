import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { ScriptSandbox } from '../support/script-runner';

const SCRIPT = scriptPath('replica-ready', 'mysql84');

describe('replica-ready.sh (the sidecar readiness probe)', () => {
  let box: ScriptSandbox;
  let state: string;
  beforeEach(() => {
    box = new ScriptSandbox();
    state = path.join(box.root, 'replication-state');
  });
  afterEach(() => box.cleanup());
  const now = () => Math.floor(Date.now() / 1000);
  const probe = (...args: string[]) => box.run(SCRIPT, {}, [state, ...args]);

  test('a fresh "ready" verdict passes and prints the reason', () => {
    fs.writeFileSync(state, `${now()} ready replicating from mysql-0.mysql, 0 s behind\n`);
    const r = probe();
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('ready: replicating from mysql-0.mysql, 0 s behind\n');
  });

  test('a fresh "not-ready" verdict fails with its reason (what kubectl describe pod shows)', () => {
    fs.writeFileSync(
      state,
      `${now()} not-ready replication SQL thread is No (Last_SQL_Errno 1146: Table 'test.t' doesn't exist)\n`,
    );
    const r = probe();
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(
      "not-ready: replication SQL thread is No (Last_SQL_Errno 1146: Table 'test.t' doesn't exist)\n",
    );
  });

  test('fails if there is no verdict yet, without a shell error', () => {
    const r = probe();
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('not-ready: no verdict yet');
    expect(r.stderr).toBe('');
  });

  test('fails if the verdict is stale (a stuck sidecar), saying how old and what it said', () => {
    fs.writeFileSync(state, `${now() - 31} ready replicating from mysql-0.mysql, 0 s behind\n`);
    const r = probe('30');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^not-ready: the last replication check ran 3[12] s ago \(more than 30 s; is the sidecar stuck\?\); it said: ready: replicating/,
    );
    fs.writeFileSync(state, `${now() - 5} ready replicating\n`);
    expect(probe('30').status).toBe(0);
    expect(probe('4').status).toBe(1);
  });

  test('fails if the file is not a verdict', () => {
    fs.writeFileSync(state, 'ready\n');
    const r = probe();
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('is not a verdict');
  });

  test('uses only bash builtins (it runs in both images)', () => {
    const text = fs.readFileSync(SCRIPT, 'utf8');
    const code = text
      .split('\n')
      .filter((l) => !/^\s*#/.test(l))
      .join('\n');
    for (const tool of ['date', 'stat', 'cat', 'grep', 'awk', 'sed'])
      expect(code).not.toMatch(new RegExp(`\\b${tool}\\b`));
  });
});
