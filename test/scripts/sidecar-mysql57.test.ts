import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { alive, Call, callsOf, ls, ScriptSandbox, stdinsOf } from '../support/script-runner';

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
    // The backup server runs until the sidecar stops it.
    box.fake('socat', 'exec sleep 30');
    box.fake('xtrabackup'); // the fail-fast check needs it on PATH; socat's fake never runs it
    env = {
      POD_NAME: 'mysql-1',
      SERVICE_NAME: 'mysql',
      DATA_DIR: data,
      BACKUP_PORT: '3307',
      STATE_FILE: path.join(box.root, 'replication-state'),
      // two checks 0.2 s apart, then exit: the background backup server has logged its call by then
      MONITOR_SECONDS: '0.2',
      MONITOR_ROUNDS: '2',
    };
  });
  afterEach(() => box.cleanup());
  const write = (f: string, text: string) => fs.writeFileSync(path.join(data, f), text);
  const read = (f: string) => fs.readFileSync(path.join(data, f), 'utf8');
  /** The statements sent to mysqld, other than the readiness poll. */
  const sql = (calls: Call[]) => stdinsOf(calls, 'mysql');
  const serve = (calls: Call[]) => callsOf(calls, 'socat');
  /** The monitor's checks (beside the background backup server, so interleaved with it); `head`: the rest, in order. */
  const isMonitor = (c: Call) => c.args.includes('--connect-timeout=5');
  const head = (calls: Call[]) => calls.filter((c) => !isMonitor(c));
  const SERVE_ARGS = [
    '-U',
    'TCP6-LISTEN:3307,ipv6only=0,reuseaddr,fork', // dual-stack; this host's kernel has IPv6
    `SYSTEM:read -r t v r <STATE && test x$v = xready && exec xtrabackup --backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root --datadir=${'DATA'}`,
  ];
  const serveArgs = () => SERVE_ARGS.map((a) => a.replace('DATA', data).replace('STATE', env.STATE_FILE));

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
    const mysqlCalls = head(r.calls).filter((c) => c.name === 'mysql');
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
    expect(head(r.calls).filter((c) => c.name === 'mysql')).toEqual([]);
    expect(read('change_master_to.sql.orig')).toContain('MASTER_LOG_POS=600');
    expect(serve(r.calls).map((c) => c.args)).toEqual([serveArgs()]);
  });

  test('the primary (no clone files) goes straight to serving backups, and marks itself ready to serve', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
    expect(r.status).toBe(0);
    expect(r.calls.map((c) => c.name)).toEqual(['socat']);
    expect(fs.readFileSync(env.STATE_FILE, 'utf8')).toMatch(/^\d+ ready primary: serving backups\n$/);
    expect(fs.existsSync(env.STATE_FILE)).toBe(true);
  });

  test('a stale readiness file from an earlier run is removed until backups are served again', () => {
    fs.writeFileSync(env.STATE_FILE, '');
    write('xtrabackup_binlog_info', 'mysql-0-bin.000001\t600\n');
    box.fake('mysql', 'exit 1');
    const r = box.run(SCRIPT, { ...env, WAIT_TRIES: '1' });
    expect(r.status).toBe(1);
    expect(fs.existsSync(env.STATE_FILE)).toBe(false);
  });

  test('fails if xtrabackup_binlog_info cannot be parsed', () => {
    write('xtrabackup_binlog_info', 'garbage\n');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot parse xtrabackup_binlog_info: garbage');
    expect(r.calls).toEqual([]);
  });

  describe('watching replication (readiness verdict)', () => {
    /** SHOW SLAVE STATUS\G as MySQL 5.7 prints it (vertical), with the given fields. */
    const status = (fields: Record<string, string>) =>
      '*************************** 1. row ***************************\n' +
      Object.entries({
        Slave_IO_State: 'Waiting for master to send event',
        Master_Host: 'mysql-0.mysql',
        Slave_IO_Running: 'Yes',
        Slave_SQL_Running: 'Yes',
        Last_IO_Errno: '0',
        Last_IO_Error: '',
        Last_SQL_Errno: '0',
        Last_SQL_Error: '',
        Seconds_Behind_Master: '0',
        ...fields,
      })
        .map(([k, v]) => `${k.padStart(30)}: ${v}`)
        .join('\n') +
      '\n';
    const fakeStatus = (text: string) => {
      fs.writeFileSync(path.join(box.root, 'status'), text);
      box.fake(
        'mysql',
        `[[ " $* " == *" -u root "* ]] || exit 1; [[ $* != *"SHOW SLAVE STATUS"* ]] || cat "${box.root}/status"`,
      );
    };
    const verdict = () => fs.readFileSync(env.STATE_FILE, 'utf8');
    const orig = () =>
      write(
        'change_master_to.sql.orig',
        "CHANGE MASTER TO MASTER_LOG_FILE='mysql-0-bin.000001', MASTER_LOG_POS=600\n",
      );

    test('a replicating replica is ready; the monitor asks as root over TCP; logged once', () => {
      orig();
      fakeStatus(status({}));
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '3' });
      expect(r.status).toBe(0);
      expect(verdict()).toMatch(/^\d{10} ready replicating from mysql-0\.mysql, 0 s behind\n$/);
      expect(r.stdout.match(/sidecar: ready: /g)).toHaveLength(1);
      expect(r.calls.filter(isMonitor).map((c) => c.args)).toEqual(
        Array(3).fill([
          '-h',
          '127.0.0.1',
          '-u',
          'root',
          '--connect-timeout=5',
          '-E',
          '-e',
          'SHOW SLAVE STATUS',
        ]),
      );
    });

    test.each([
      [
        'the SQL thread stopped on an error',
        {
          Slave_SQL_Running: 'No',
          Last_SQL_Errno: '1062',
          Last_SQL_Error: "Duplicate entry '1' for key 'PRIMARY'",
        },
        "replication SQL thread is No (Last_SQL_Errno 1062: Duplicate entry '1' for key 'PRIMARY')",
      ],
      [
        'the IO thread lost its position (1236)',
        {
          Slave_IO_Running: 'No',
          Last_IO_Errno: '1236',
          Last_IO_Error:
            "Got fatal error 1236 from master when reading data from binary log: 'Could not find first log file name in binary log index file'",
        },
        'replication IO thread is No (Last_IO_Errno 1236: Got fatal error 1236 from master',
      ],
      [
        'the IO thread is still connecting',
        { Slave_IO_Running: 'Connecting' },
        'replication IO thread is Connecting',
      ],
      [
        'it lags more than MAX_LAG_SECONDS',
        { Seconds_Behind_Master: '120' },
        'replication lags 120 s behind the source (more than MAX_LAG_SECONDS=60)',
      ],
      ['the lag is unknown', { Seconds_Behind_Master: 'NULL' }, 'Seconds_Behind_Master is NULL'],
    ])('not ready when %s, with the reason in the verdict and the log', (_what, fields, reason) => {
      orig();
      fakeStatus(status(fields));
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(verdict()).toContain(` not-ready ${reason}`);
      expect(r.stdout).toContain(`sidecar: not-ready: ${reason}`);
    });

    test('not ready when replication is not configured or mysqld cannot be asked; ready when switched off', () => {
      orig();
      fakeStatus('');
      box.run(SCRIPT, env);
      expect(verdict()).toContain(' not-ready replication is not configured (SHOW SLAVE STATUS is empty)');
      box.run(SCRIPT, { ...env, REPLICA_READINESS: 'serving' });
      expect(verdict()).toContain(
        ' ready replication is not configured (SHOW SLAVE STATUS is empty) (ignored: REPLICA_READINESS=serving)',
      );
      box.fake('mysql', 'echo "ERROR 2003 (HY000): Can\'t connect" >&2; exit 1');
      box.run(SCRIPT, env);
      expect(verdict()).toContain(" not-ready cannot query mysqld: ERROR 2003 (HY000): Can't connect");
    });

    test('the lag bound is configurable', () => {
      orig();
      fakeStatus(status({ Seconds_Behind_Master: '7' }));
      box.run(SCRIPT, { ...env, MAX_LAG_SECONDS: '7' });
      expect(verdict()).toContain(' ready replicating from mysql-0.mysql, 7 s behind');
      box.run(SCRIPT, { ...env, MAX_LAG_SECONDS: '6' });
      expect(verdict()).toContain(' not-ready replication lags 7 s behind');
    });

    test('fails (the container restarts) if the backup server exits', () => {
      orig();
      fakeStatus(status({}));
      box.fake('socat', 'exit 2');
      const r = box.run(SCRIPT, { ...env, MONITOR_SECONDS: '0.5', MONITOR_ROUNDS: '0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('the backup server (socat) exited; restarting');
    });

    test('SIGTERM: exits 0 at once, also while waiting for mysqld, stopping what it started', async () => {
      orig();
      fakeStatus(status({}));
      box.fake('socat', `echo $$ >"${box.root}/socat.pid"; exec sleep 60`);
      const run = box.start(SCRIPT, { ...env, MONITOR_SECONDS: '30', MONITOR_ROUNDS: '0' });
      await run.waitFor(
        () => fs.existsSync(env.STATE_FILE) && fs.existsSync(path.join(box.root, 'socat.pid')),
      );
      let t = Date.now();
      run.kill('SIGTERM');
      const serving = await run.exited;
      expect(Date.now() - t).toBeLessThan(2_000);
      expect(serving.status).toBe(0);
      expect(serving.stdout).toContain('sidecar: SIGTERM: stopping');
      const socatPid = Number(fs.readFileSync(path.join(box.root, 'socat.pid'), 'utf8'));
      await run.waitFor(() => !alive(socatPid));
      // still waiting for mysqld (the case where bash as PID 1 used to ignore SIGTERM)
      write('xtrabackup_binlog_info', 'mysql-0-bin.000001\t600\n');
      box.fake('mysql', 'exit 1');
      const waiting = box.start(SCRIPT, { ...env, MONITOR_ROUNDS: '0' });
      await waiting.waitFor(() => box.callCount('mysql') > 0);
      t = Date.now();
      waiting.kill('SIGTERM');
      expect((await waiting.exited).status).toBe(0);
      expect(Date.now() - t).toBeLessThan(2_000);
    });

    test('the backup server streams only while the verdict is "ready" (the next pod clones from this one)', () => {
      orig();
      fakeStatus(status({}));
      box.run(SCRIPT, env);
      const system = serve(box.run(SCRIPT, env).calls)[0].args[2].replace(/^SYSTEM:/, '');
      box.fake('xtrabackup', 'echo STREAM');
      const backup = () =>
        spawnSync('sh', ['-c', system], {
          env: { PATH: `${box.root}/bin:/usr/bin:/bin`, FAKE_CALL_LOG: '/dev/null' },
          encoding: 'utf8',
        });
      expect(backup().stdout).toBe('STREAM\n');
      fs.writeFileSync(env.STATE_FILE, '1767225600 not-ready replication SQL thread is No\n');
      expect(backup().stdout).toBe('');
      expect(backup().status).not.toBe(0);
      fs.rmSync(env.STATE_FILE);
      expect(backup().stdout).toBe('');
    });

    test.each([
      ['MONITOR_SECONDS', 'x', 'MONITOR_SECONDS must be a number of seconds'],
      ['MAX_LAG_SECONDS', '-3', 'MAX_LAG_SECONDS must be a whole number of seconds'],
      ['MONITOR_ROUNDS', 'many', 'MONITOR_ROUNDS must be a number'],
      ['REPLICA_READINESS', 'yes', "REPLICA_READINESS must be 'replicating' or 'serving'"],
      ['POD_NAME', 'mysql', "cannot read an ordinal from pod name 'mysql'"],
    ])('fails if %s is %p', (name, value, message) => {
      const r = box.run(SCRIPT, { ...env, [name]: value });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.calls).toEqual([]);
    });
  });
});
