import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { Call, ls, ScriptSandbox } from '../support/script-runner';

const SCRIPT = scriptPath('clone-mysql', 'mysql57');

describe('clone-mysql.sh', () => {
  let box: ScriptSandbox;
  let data: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    data = box.dir('data');
    // The "backup stream": a tar of a small data directory. socat prints it; xbstream unpacks it.
    const backup = box.dir('backup');
    fs.mkdirSync(path.join(backup, 'mysql'));
    fs.writeFileSync(path.join(backup, 'ibdata1'), 'innodb');
    fs.writeFileSync(path.join(backup, 'xtrabackup_binlog_info'), 'mysql-0-bin.000003\t154\n');
    box.fake('socat', `tar -C "${backup}" -cf - .`);
    box.fake('xbstream', '[[ $1 == -x && $2 == -C ]] || exit 64; tar -C "$3" -xf "$FAKE_STDIN"');
    box.fake('xtrabackup', 'touch "${2#--target-dir=}/prepared"');
    env = { SERVICE_NAME: 'mysql', DATA_DIR: data, BACKUP_PORT: '3307', RETRY_SECONDS: '0' };
  });
  afterEach(() => box.cleanup());
  const names = (calls: Call[]) => calls.map((c) => c.name);

  test('ordinal 1 clones from the primary mysql-0.mysql:3307, unpacks and prepares', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
    expect(r.status).toBe(0);
    expect(names(r.calls).sort()).toEqual(['socat', 'xbstream', 'xtrabackup']);
    expect(r.calls.find((c) => c.name === 'socat')!.args).toEqual([
      '-u',
      'TCP:mysql-0.mysql:3307,connect-timeout=30',
      'STDOUT',
    ]);
    expect(r.calls.find((c) => c.name === 'xbstream')!.args).toEqual(['-x', '-C', data]);
    expect(r.calls.find((c) => c.name === 'xtrabackup')!.args).toEqual(['--prepare', `--target-dir=${data}`]);
    expect(ls(data)).toEqual(['ibdata1', 'mysql', 'prepared', 'xtrabackup_binlog_info']);
  });

  test('drops a cloned auto.cnf so the replica gets its own server_uuid', () => {
    fs.writeFileSync(path.join(box.root, 'backup', 'auto.cnf'), '[auto]\nserver-uuid=source\n');
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
    expect(r.status).toBe(0);
    expect(ls(data)).not.toContain('auto.cnf');
  });

  test('ordinal 2 clones from the replica before it, mysql-1.mysql', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2', BACKUP_PORT: '4444' });
    expect(r.status).toBe(0);
    expect(r.calls.find((c) => c.name === 'socat')!.args[1]).toBe(
      'TCP:mysql-1.mysql:4444,connect-timeout=30',
    );
  });

  test('CLONE_FROM=primary: ordinal 2 clones from mysql-0 (the MySQL 8.4 flavor)', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2', CLONE_FROM: 'primary' });
    expect(r.status).toBe(0);
    expect(r.calls.find((c) => c.name === 'socat')!.args[1]).toBe(
      'TCP:mysql-0.mysql:3307,connect-timeout=30',
    );
  });

  test('fails if CLONE_FROM is unknown', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2', CLONE_FROM: 'nearest' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("CLONE_FROM must be 'previous' or 'primary', got 'nearest'");
    expect(r.calls).toEqual([]);
  });

  test('a refused connection is retried (the peer may not serve yet), with the partial data cleared', () => {
    const tries = path.join(box.root, 'tries');
    const backup = path.join(box.root, 'backup');
    box.fake(
      'socat',
      `n=$(cat "${tries}" 2>/dev/null || echo 0); echo $((n + 1)) >"${tries}"; ((n >= 1)) || exit 1; tar -C "${backup}" -cf - .`,
    );
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c.name === 'socat')).toHaveLength(2);
    expect(r.stdout).toContain('attempt 2 of 5');
    expect(ls(data)).toEqual(['ibdata1', 'mysql', 'prepared', 'xtrabackup_binlog_info']);
  });

  test('skips when the data directory already holds a database (pod restarted, claim kept)', () => {
    fs.mkdirSync(path.join(data, 'mysql'));
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(r.stdout).toContain('already holds a database');
  });

  test('skips on ordinal 0: the primary starts from an empty data directory', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(ls(data)).toEqual([]);
  });

  test('a stream that keeps failing fails the container and leaves the marker, so the next start clones again', () => {
    box.fake('socat', 'echo "connection refused" >&2; exit 1');
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', ATTEMPTS: '3' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no complete backup from mysql-0.mysql after 3 attempts');
    expect(r.calls.filter((c) => c.name === 'socat')).toHaveLength(3);
    expect(names(r.calls)).not.toContain('xtrabackup');
    expect(ls(data)).toContain('.clone-incomplete');
  });

  test('a failed prepare fails the container and leaves the marker', () => {
    box.fake('xtrabackup', 'exit 1');
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
    expect(r.status).not.toBe(0);
    expect(ls(data)).toContain('.clone-incomplete');
  });

  test('an interrupted clone (marker present) is wiped and redone, even though mysql/ exists', () => {
    fs.mkdirSync(path.join(data, 'mysql'));
    fs.writeFileSync(path.join(data, 'half-written.ibd'), 'x');
    fs.writeFileSync(path.join(data, '.clone-incomplete'), '');
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('did not finish');
    expect(ls(data)).toEqual(['ibdata1', 'mysql', 'prepared', 'xtrabackup_binlog_info']);
  });

  test('fails if the pod name has no ordinal', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cannot read an ordinal from pod name 'mysql'");
  });

  test('fails if SERVICE_NAME is not set', () => {
    const r = box.run(SCRIPT, { DATA_DIR: data, POD_NAME: 'mysql-1' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('SERVICE_NAME must be the headless Service name');
  });
});
