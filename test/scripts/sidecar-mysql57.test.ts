import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { Call, callsOf, ls, ScriptSandbox, stdinsOf } from '../support/script-runner';

const SCRIPT = scriptPath('xtrabackup-sidecar', 'mysql57');

describe('xtrabackup-sidecar.sh (MySQL 5.7)', () => {
  let box: ScriptSandbox;
  let data: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    data = box.dir('data');
    // Like the real server: only root has an account, and this container does not run as root.
    box.fake('mysql', '[[ " $* " == *" -u root "* ]] || { echo "Access denied for user" >&2; exit 1; }');
    box.fake('socat');
    env = {
      POD_NAME: 'mysql-1',
      SERVICE_NAME: 'mysql',
      DATA_DIR: data,
      BACKUP_PORT: '3307',
      READY_FILE: path.join(box.root, 'serving'),
    };
  });
  afterEach(() => box.cleanup());
  const write = (f: string, text: string) => fs.writeFileSync(path.join(data, f), text);
  const read = (f: string) => fs.readFileSync(path.join(data, f), 'utf8');
  /** The statements sent to mysqld, other than the readiness poll. */
  const sql = (calls: Call[]) => stdinsOf(calls, 'mysql');
  const serve = (calls: Call[]) => callsOf(calls, 'socat');
  const SERVE_ARGS = [
    '-U',
    'TCP-LISTEN:3307,reuseaddr,fork',
    `SYSTEM:xtrabackup --backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root --datadir=${'DATA'}`,
  ];
  const serveArgs = () => SERVE_ARGS.map((a) => a.replace('DATA', data));

  test('cloned from the primary: CHANGE MASTER TO the binlog coordinates, START SLAVE, then serve backups', () => {
    write('xtrabackup_binlog_info', 'mysql-0-bin.000003\t154\n');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    expect(sql(r.calls)).toEqual([
      "CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000003', MASTER_LOG_POS=154,\n" +
        "  MASTER_HOST='mysql-0.mysql',\n  MASTER_USER='root',\n  MASTER_PASSWORD='',\n  MASTER_CONNECT_RETRY=10;\nSTART SLAVE;\n",
    ]);
    expect(ls(data)).toEqual(['change_master_to.sql.orig']);
    expect(serve(r.calls).map((c) => c.args)).toEqual([serveArgs()]);
  });

  test('GTID column in xtrabackup_binlog_info (3 columns) is tolerated', () => {
    write('xtrabackup_binlog_info', 'mysql-0-bin.000002\t1232\t3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5\n');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    expect(sql(r.calls)[0]).toMatch(
      /^CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000002', MASTER_LOG_POS=1232,\n/,
    );
  });

  test("cloned from a replica: XtraBackup's statement, its semicolon stripped, pointed at mysql-0", () => {
    write(
      'xtrabackup_slave_info',
      "CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000003', MASTER_LOG_POS=1078;\n",
    );
    write('xtrabackup_binlog_info', 'mysql-1-bin.000001\t4242\n');
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2' });
    expect(r.status).toBe(0);
    expect(sql(r.calls)[0]).toMatch(
      /^CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000003', MASTER_LOG_POS=1078,\n {2}MASTER_HOST='mysql-0.mysql',/,
    );
    expect(sql(r.calls)[0]).not.toMatch(/;,/);
    expect(ls(data)).toEqual(['change_master_to.sql.orig']);
  });

  test('a multi-statement slave info (GTID auto-position) keeps its inner semicolons', () => {
    write(
      'xtrabackup_slave_info',
      "SET GLOBAL gtid_purged='uuid:1-9';\nCHANGE MASTER TO MASTER_AUTO_POSITION=1;\n\n",
    );
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2' });
    expect(r.status).toBe(0);
    expect(sql(r.calls)[0]).toMatch(
      /^SET GLOBAL gtid_purged='uuid:1-9';\nCHANGE MASTER TO MASTER_AUTO_POSITION=1,\n/,
    );
  });

  test('an empty slave info (the source was not a replica) is ignored: binlog info is used', () => {
    write('xtrabackup_slave_info', '\n');
    write('xtrabackup_binlog_info', 'mysql-0-bin.000001\t600\n');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    expect(sql(r.calls)[0]).toMatch(
      /^CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000001', MASTER_LOG_POS=600,/,
    );
    expect(ls(data)).toEqual(['change_master_to.sql.orig']);
  });

  test('waits until mysqld accepts connections before configuring replication', () => {
    write('xtrabackup_binlog_info', 'mysql-0-bin.000001\t600\n');
    const polls = path.join(box.root, 'polls');
    box.fake(
      'mysql',
      `n=$(cat "${polls}" 2>/dev/null || echo 0); echo $((n + 1)) >"${polls}"; [[ $n -ge 2 ]]`,
    );
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    const mysqlCalls = r.calls.filter((c) => c.name === 'mysql');
    expect(mysqlCalls.map((c) => c.args)).toEqual([
      ['-h', '127.0.0.1', '-u', 'root', '-e', 'SELECT 1'],
      ['-h', '127.0.0.1', '-u', 'root', '-e', 'SELECT 1'],
      ['-h', '127.0.0.1', '-u', 'root', '-e', 'SELECT 1'],
      ['-h', '127.0.0.1', '-u', 'root'],
    ]);
  });

  test('gives up (and so restarts the container) if mysqld never accepts connections', () => {
    write('xtrabackup_binlog_info', 'mysql-0-bin.000001\t600\n');
    box.fake('mysql', 'exit 1');
    const r = box.run(SCRIPT, { ...env, WAIT_TRIES: '2' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('mysqld did not accept connections in 2 tries');
    expect(ls(data)).toEqual(['change_master_to.sql.in']);
    expect(serve(r.calls)).toEqual([]);
  });

  test('a failed CHANGE MASTER stops the script, keeps the coordinates for the next start, serves nothing', () => {
    write(
      'xtrabackup_slave_info',
      "CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000003', MASTER_LOG_POS=1078;\n",
    );
    box.fake('mysql', '[[ $# -eq 6 ]]'); // the poll works, the statement fails
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2' });
    expect(r.status).not.toBe(0);
    expect(ls(data)).toEqual(['change_master_to.sql.in']);
    expect(serve(r.calls)).toEqual([]);
    // next start of the container: retried, and this time it works
    box.fake('mysql', '[[ " $* " == *" -u root "* ]]');
    const again = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2' });
    expect(again.status).toBe(0);
    expect(sql(again.calls)[0]).toMatch(
      /^CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000003', MASTER_LOG_POS=1078,/,
    );
    expect(ls(data)).toEqual(['change_master_to.sql.orig']);
  });

  test('restart after replication was configured: no CHANGE MASTER again, just serve backups', () => {
    write(
      'change_master_to.sql.orig',
      "CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000001', MASTER_LOG_POS=600\n",
    );
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c.name === 'mysql')).toEqual([]);
    expect(read('change_master_to.sql.orig')).toContain('MASTER_LOG_POS=600');
    expect(serve(r.calls).map((c) => c.args)).toEqual([serveArgs()]);
  });

  test('the primary (no clone files) goes straight to serving backups, and marks itself ready to serve', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
    expect(r.status).toBe(0);
    expect(r.calls.map((c) => c.name)).toEqual(['socat']);
    expect(fs.existsSync(env.READY_FILE)).toBe(true);
  });

  test('a stale readiness file from an earlier run is removed until backups are served again', () => {
    fs.writeFileSync(env.READY_FILE, '');
    write('xtrabackup_binlog_info', 'mysql-0-bin.000001\t600\n');
    box.fake('mysql', 'exit 1');
    const r = box.run(SCRIPT, { ...env, WAIT_TRIES: '1' });
    expect(r.status).toBe(1);
    expect(fs.existsSync(env.READY_FILE)).toBe(false);
  });

  test('fails if xtrabackup_binlog_info cannot be parsed', () => {
    write('xtrabackup_binlog_info', 'garbage\n');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot parse xtrabackup_binlog_info: garbage');
    expect(r.calls).toEqual([]);
  });
});
