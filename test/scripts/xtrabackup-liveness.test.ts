import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { ScriptSandbox } from '../support/script-runner';

const SCRIPT = scriptPath('xtrabackup-liveness', 'mysql84');
const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
/** A /proc/net/tcp line: local address, state (0A = LISTEN, 01 = ESTABLISHED), tx:rx queues. */
const tcp = (local: string, state: string, queues = '00000000:00000000') =>
  `   0: ${local} 00000000:0000 ${state} ${queues} 00:00000000 00000000   999        0 4242 1 0 100 0 0 10 0`;
// 3307 = 0x0CEB, 3306 = 0x0CEA.
const MYSQLD = tcp('00000000:0CEA', '0A');
const BACKUP_V4 = tcp('00000000:0CEB', '0A');
const BACKUP_V6 = tcp('00000000000000000000000000000000:0CEB', '0A');
const BACKUP_V4_HUNG = tcp('00000000:0CEB', '0A', '00000000:00000002');
const CLONE_STREAM = tcp('0A000105:0CEB', '01', '0004A000:00000000'); // an accepted backup connection, busy

describe('xtrabackup-liveness.sh (the sidecar liveness probe)', () => {
  let box: ScriptSandbox;
  let procNet: string;
  let ready: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    procNet = box.dir('proc-net');
    ready = path.join(box.root, 'replication-state');
    // Nothing but bash and fakes that record a call: the probe must use builtins only, and must never
    // connect to the backup port or start a backup.
    const onlyBash = box.dir('only-bash');
    fs.symlinkSync('/bin/bash', path.join(onlyBash, 'bash'));
    for (const tool of ['socat', 'xtrabackup', 'mysql', 'nc', 'ss', 'cat', 'grep', 'awk'])
      box.fake(tool, 'exit 0');
    env = { PATH: `${path.join(box.root, 'bin')}:${onlyBash}`, PROC_NET: procNet, STATE_FILE: ready };
  });
  afterEach(() => box.cleanup());
  const tables = (v4: string[], v6?: string[]) => {
    fs.writeFileSync(path.join(procNet, 'tcp'), [HEADER, ...v4, ''].join('\n'));
    if (v6) fs.writeFileSync(path.join(procNet, 'tcp6'), [HEADER, ...v6, ''].join('\n'));
  };
  const probe = (extra: Record<string, string> = {}) => {
    const r = box.run(SCRIPT, { ...env, ...extra });
    expect(r.calls).toEqual([]);
    return r;
  };

  test('passes while the sidecar is still setting up (no STATE_FILE), whatever the sockets say', () => {
    tables([]);
    const r = probe();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('not serving backups yet');
  });
  test('passes when the backup port listens and no connection waits, a backup streaming or not', () => {
    fs.writeFileSync(ready, '');
    tables([MYSQLD, BACKUP_V4, CLONE_STREAM]);
    const r = probe();
    expect([r.status, r.stdout.trim()]).toEqual([
      0,
      'xtrabackup-liveness: port 3307 listening, no connection waiting',
    ]);
  });
  test('passes with an IPv6 (or dual-stack) listener only, in tcp6', () => {
    fs.writeFileSync(ready, '');
    tables([MYSQLD], [BACKUP_V6]);
    expect(probe().status).toBe(0);
  });
  test('fails when serving but nothing listens on the backup port (mysqld on 3306 does not count)', () => {
    fs.writeFileSync(ready, '');
    tables([MYSQLD, CLONE_STREAM]);
    const r = probe();
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `xtrabackup-liveness: serving backups (${ready} exists) but nothing listens on port 3307`,
    );
  });
  test('fails when connections wait in the accept queue: the backup server hangs', () => {
    fs.writeFileSync(ready, '');
    tables([MYSQLD, BACKUP_V4_HUNG], [BACKUP_V6]);
    const r = probe();
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      'xtrabackup-liveness: 2 connection(s) to port 3307 not accepted: the backup server hangs',
    );
  });
  test('honours BACKUP_PORT', () => {
    fs.writeFileSync(ready, '');
    tables([BACKUP_V4]);
    expect(probe({ BACKUP_PORT: '3306' }).status).toBe(1);
    tables([tcp('00000000:1F90', '0A')]); // 8080
    expect(probe({ BACKUP_PORT: '8080' }).status).toBe(0);
  });
  test('fails if the socket tables cannot be read', () => {
    fs.writeFileSync(ready, '');
    const r = probe();
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`xtrabackup-liveness: cannot read ${procNet}/tcp or ${procNet}/tcp6`);
  });
  test('fails if a listener line has unreadable queues', () => {
    fs.writeFileSync(ready, '');
    tables([tcp('00000000:0CEB', '0A', 'garbage')]);
    const r = probe();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cannot read the queues 'garbage'");
  });
  test('fails if BACKUP_PORT is not a port number', () => {
    for (const port of ['x', '0', '70000']) {
      const r = probe({ BACKUP_PORT: port });
      expect(r.status).toBe(1);
      expect(r.stderr.trim()).toBe(`xtrabackup-liveness: BACKUP_PORT must be a port number, got '${port}'`);
    }
  });
  test('reads the real /proc/net of this machine without error', () => {
    // No STATE_FILE → passes; with one, it parses the real tables (port 1 listens nowhere here).
    const r = box.run(SCRIPT, { PATH: env.PATH, STATE_FILE: ready, BACKUP_PORT: '1' });
    expect(r.status).toBe(0);
    fs.writeFileSync(ready, '');
    const s = box.run(SCRIPT, { PATH: env.PATH, STATE_FILE: ready, BACKUP_PORT: '1' });
    expect([s.status, s.stderr.trim()]).toEqual([
      1,
      `xtrabackup-liveness: serving backups (${ready} exists) but nothing listens on port 1`,
    ]);
  });
});
