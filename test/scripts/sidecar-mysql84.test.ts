import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { alive, Call, callsOf, ls, ScriptSandbox, stdinsOf } from '../support/script-runner';

const SCRIPT = scriptPath('xtrabackup-sidecar', 'mysql84');

/** A password with every character the SQL escaping must handle, and the newline a Secret file ends with. */
const PASSWORD = "s3cr'et\\pa;ss";
const PASSWORD_SQL = "'s3cr\\'et\\\\pa;ss'";
const UUID_A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const UUID_B = '8a94f357-aab4-11df-86ab-c80aa9429562';

describe('xtrabackup-sidecar.sh (MySQL 8.4)', () => {
  let box: ScriptSandbox;
  let data: string;
  let cnf: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    data = box.dir('data');
    cnf = box.dir('cnf');
    const secrets = box.dir('secrets');
    fs.writeFileSync(path.join(secrets, 'replication-password'), `${PASSWORD}\n`);
    box.fake('mysql');
    // The backup server runs until the sidecar stops it; it records the environment its per-connection
    // handler (the exported serve_one_backup) would get.
    box.fake('socat', `env -0 >"${box.root}/socat.env"; exec sleep 30`);
    box.fake('xtrabackup'); // the fail-fast check needs it on PATH; socat's fake never runs it
    env = {
      POD_NAME: 'mysql-1',
      SERVICE_NAME: 'mysql',
      DATA_DIR: data,
      CLIENT_CNF_DIR: cnf,
      REPLICATION_USER: 'repl',
      REPLICATION_PASSWORD_FILE: path.join(secrets, 'replication-password'),
      POLL_SECONDS: '0.1',
      BACKUP_TMP: box.dir('tmp'),
      STATE_FILE: path.join(box.root, 'replication-state'),
      // two checks 0.2 s apart, then exit: the background backup server has logged its call by then
      MONITOR_SECONDS: '0.2',
      MONITOR_ROUNDS: '2',
    };
  });
  afterEach(() => box.cleanup());
  const write = (f: string, text: string) => fs.writeFileSync(path.join(data, f), text);
  const read = (f: string) => fs.readFileSync(path.join(data, f), 'utf8');
  /** The SQL sent to mysqld on stdin (the polls and the super_read_only fallback use -e). */
  const sql = (calls: Call[]) => stdinsOf(calls, 'mysql');
  const serve = (calls: Call[]) => callsOf(calls, 'socat');
  /**
   * The monitor's calls (every few seconds once backups are served): they run beside the background backup
   * server, so the call log interleaves them with it; `head` is every other call, in order.
   */
  const isMonitor = (c: Call) =>
    c.args.includes('--connect-timeout=5') ||
    c.args.some((a) =>
      /^SELECT GTID_SUBSET\('.*\)$|^SELECT @@GLOBAL.(gtid_executed|read_only)$|^(STOP|START) REPLICA$/.test(
        a,
      ),
    );
  const head = (calls: Call[]) => calls.filter((c) => !isMonitor(c));
  const mysqlArgs = (...extra: string[]) => [
    `--defaults-extra-file=${cnf}/root.cnf`,
    '-h',
    '127.0.0.1',
    '-P',
    '3306',
    ...extra,
  ];
  const POLL = () => mysqlArgs('-e', 'SELECT 1');
  /** The guard: has this replica applied anything beyond the backup's GTID set? */
  const GUARD = (gtidSet: string) =>
    mysqlArgs('-N', '-B', '-e', `SELECT GTID_SUBSET(@@GLOBAL.gtid_executed, '${gtidSet}') = 0`);
  // Every connection runs serve_one_backup (exported to the bash socat execs); see the backup server tests.
  const serveArgs = (_port = '3306') => [
    '-U',
    'TCP6-LISTEN:3307,ipv6only=0,reuseaddr,fork', // dual-stack; this host's kernel has IPv6
    'EXEC:bash -c serve_one_backup',
  ];
  /** Runs one connection's handler as socat would, in the environment the sidecar gave socat. */
  const connection = (extraEnv: Record<string, string> = {}) => {
    const recorded = fs.readFileSync(path.join(box.root, 'socat.env'), 'utf8').split('\0').filter(Boolean);
    const handlerEnv: Record<string, string> = {};
    for (const kv of recorded) handlerEnv[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
    return spawnSync('bash', ['-c', 'serve_one_backup'], {
      env: { ...handlerEnv, ...extraEnv },
      encoding: 'utf8',
    });
  };
  /** The calls the handlers made (they log into the sandbox's call log, after the sidecar's own calls). */
  const handlerCalls = () => box.calls();
  const changeSource = (gtidSet: string, port = '3306') =>
    'SET GLOBAL super_read_only = OFF;\n' +
    'STOP REPLICA;\n' +
    'RESET REPLICA ALL;\n' +
    'RESET BINARY LOGS AND GTIDS;\n' +
    `SET GLOBAL gtid_purged='${gtidSet}';\n` +
    `CHANGE REPLICATION SOURCE TO SOURCE_HOST='mysql-0.mysql', SOURCE_PORT=${port}, SOURCE_USER='repl', ` +
    `SOURCE_PASSWORD=${PASSWORD_SQL}, SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, SOURCE_CONNECT_RETRY=10;\n` +
    'SET GLOBAL super_read_only = ON;\n' +
    'START REPLICA;\n';
  /** No call put the password on its command line, and no file in the data dir holds it. */
  const expectNoSecretLeak = (calls: Call[]) => {
    for (const c of calls) for (const a of c.args) expect(a).not.toContain('s3cr');
    for (const f of ls(data)) expect(read(f)).not.toContain('s3cr');
  };

  describe('ordinal 0 (primary)', () => {
    test('ensures the replication user (least privilege, password escaped, via stdin), then serves backups', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(0);
      const user = "'repl'@'%'";
      expect(sql(r.calls)).toEqual([
        `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${PASSWORD_SQL};\n` +
          `ALTER USER ${user} IDENTIFIED BY ${PASSWORD_SQL};\n` +
          `GRANT REPLICATION SLAVE, BACKUP_ADMIN, PROCESS, RELOAD, LOCK TABLES, REPLICATION CLIENT ON *.* TO ${user};\n` +
          `GRANT SELECT ON performance_schema.log_status TO ${user};\n` +
          `GRANT SELECT ON performance_schema.keyring_component_status TO ${user};\n` +
          `GRANT SELECT ON performance_schema.replication_group_members TO ${user};\n`,
      ]);
      expect(head(r.calls).map((c) => [c.name, c.args])).toEqual([
        ['mysql', POLL()],
        ['mysql', mysqlArgs()],
        ['socat', serveArgs()],
      ]);
      expect(ls(data)).toEqual([]);
      expect(fs.existsSync(env.STATE_FILE)).toBe(true);
      expectNoSecretLeak(r.calls);
    });

    test('escapes the user name for its SQL string literal too', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', REPLICATION_USER: "o'rep\\l" });
      expect(r.status).toBe(0);
      expect(sql(r.calls)[0]).toMatch(/^CREATE USER IF NOT EXISTS 'o\\'rep\\\\l'@'%' IDENTIFIED BY /);
    });

    test('waits until mysqld accepts connections before touching the user', () => {
      const polls = path.join(box.root, 'polls');
      box.fake(
        'mysql',
        `n=$(cat "${polls}" 2>/dev/null || echo 0); echo $((n + 1)) >"${polls}"; [[ $n -ge 2 ]]`,
      );
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(0);
      expect(
        head(r.calls)
          .filter((c) => c.name === 'mysql')
          .map((c) => c.args),
      ).toEqual([POLL(), POLL(), POLL(), mysqlArgs()]);
    });

    test('fails if the user cannot be ensured: non-zero, and no backups are served', () => {
      box.fake('mysql', '[[ $* == *"SELECT 1"* ]]');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("could not create or update user 'repl' on the primary");
      expect(serve(r.calls)).toEqual([]);
    });

    test('rebuilt from a replica (clone files): drops the replica channel, takes over the GTID state, never a source', () => {
      write('xtrabackup_binlog_info', `mysql-1-bin.000004\t900\t${UUID_A}:1-42\n`);
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("restoring the primary from a replica's backup");
      const statements = sql(r.calls);
      expect(statements[0]).toBe(
        `STOP REPLICA;\nRESET REPLICA ALL;\nRESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged='${UUID_A}:1-42';\n`,
      );
      expect(statements[1]).toMatch(/^CREATE USER IF NOT EXISTS 'repl'@'%'/);
      expect(statements.join('')).not.toMatch(/CHANGE REPLICATION SOURCE|super_read_only|START REPLICA/);
      expect(ls(data)).toEqual(['change_source.sql.orig']);
      expect(head(r.calls).map((c) => c.args)).toContainEqual(GUARD(`${UUID_A}:1-42`));
    });

    test('rebuilt primary, retry after an unrecorded success (it took writes since): no reset again', () => {
      write(
        'change_source.sql.in',
        `RESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged='${UUID_A}:1-42';\n`,
      );
      box.fake('mysql', `if [[ $* == *GTID_SUBSET* ]]; then echo 1; fi`);
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(0);
      expect(sql(r.calls).join('')).not.toMatch(/RESET/);
      expect(ls(data)).toEqual(['change_source.sql.orig']);
    });

    test('rebuilt primary: a failed restore fails the container and keeps .in for the next start', () => {
      write('xtrabackup_binlog_info', `mysql-1-bin.000004\t900\t${UUID_A}:1-42\n`);
      box.fake('mysql', `! grep -q 'RESET REPLICA ALL' "$FAKE_STDIN"`);
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('restoring the GTID state failed; keeping change_source.sql.in');
      expect(ls(data)).toEqual(['change_source.sql.in']);
      expect(serve(r.calls)).toEqual([]);
    });
  });

  describe('ordinal >= 1 (replica)', () => {
    test('cloned from the primary: gtid_purged from the backup, auto-positioned replication, then serve', () => {
      write('xtrabackup_binlog_info', `binlog.000003\t197\t${UUID_A}:1-5\n`);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(sql(r.calls)).toEqual([changeSource(`${UUID_A}:1-5`)]);
      expect(head(r.calls).map((c) => [c.name, c.args])).toEqual([
        ['mysql', POLL()],
        ['mysql', GUARD(`${UUID_A}:1-5`)],
        ['mysql', mysqlArgs()],
        ['socat', serveArgs()],
      ]);
      expect(ls(data)).toEqual(['change_source.sql.orig']);
      expect(read('change_source.sql.orig')).toBe(
        `RESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged='${UUID_A}:1-5';\n`,
      );
      expectNoSecretLeak(r.calls);
    });

    test('cloned from a replica: the same path, with the GTID set of the replica backup, still pointed at mysql-0', () => {
      // mysql-1's backup: its own binlog coordinates, and a GTID set holding the primary's transactions.
      write('xtrabackup_binlog_info', `mysql-1-bin.000002\t4242\t${UUID_A}:1-42\n`);
      write('xtrabackup_slave_info', '');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).toEqual([changeSource(`${UUID_A}:1-42`)]);
      expect(ls(data)).toEqual(['change_source.sql.orig']);
      expect(serve(r.calls).map((c) => c.args)).toEqual([serveArgs()]);
    });

    test('a GTID set spread over several lines is joined, whitespace stripped', () => {
      write(
        'xtrabackup_binlog_info',
        `binlog.000007\t1232\t${UUID_A}:1-5,\n${UUID_B}:1-3:7,\n  ${UUID_A.replace('3e', '4f')}:1\n\n`,
      );
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(read('change_source.sql.orig')).toContain(
        `SET GLOBAL gtid_purged='${UUID_A}:1-5,${UUID_B}:1-3:7,${UUID_A.replace('3e', '4f')}:1';\n`,
      );
    });

    test('a custom MYSQL_PORT is used locally, for the source and for the backups', () => {
      write('xtrabackup_binlog_info', `binlog.000003\t197\t${UUID_A}:1-5\n`);
      const r = box.run(SCRIPT, { ...env, MYSQL_PORT: '3316' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).toEqual([changeSource(`${UUID_A}:1-5`, '3316')]);
      expect(r.calls[0].args).toContain('3316');
      expect(r.calls.filter((c) => c.name === 'mysql').every((c) => c.args.includes('3316'))).toBe(true);
      expect(serve(r.calls).map((c) => c.args)).toEqual([serveArgs('3316')]);
    });

    test('fails if the GTID column is missing (gtid_mode was off): clear message, files kept, nothing run', () => {
      write('xtrabackup_binlog_info', 'binlog.000003\t197\n');
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('xtrabackup_binlog_info has no GTID set (third column)');
      expect(r.stderr).toContain('requires gtid_mode=ON');
      expect(r.calls).toEqual([]);
      expect(ls(data)).toEqual(['xtrabackup_binlog_info']);
    });

    test('fails if xtrabackup_binlog_info is empty', () => {
      write('xtrabackup_binlog_info', '');
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('has no GTID set');
      expect(r.calls).toEqual([]);
    });

    test('fails if the GTID column is not a GTID set (nothing reaches SQL)', () => {
      write('xtrabackup_binlog_info', `binlog.000003\t197\t${UUID_A}:1-5';DROP USER root\n`);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('not a GTID set');
      expect(r.calls).toEqual([]);
      expect(ls(data)).toEqual(['xtrabackup_binlog_info']);
    });

    test('a failed CHANGE REPLICATION SOURCE: non-zero, super_read_only restored, .in kept, retried on the next start', () => {
      write('xtrabackup_binlog_info', `binlog.000003\t197\t${UUID_A}:1-5\n`);
      box.fake('mysql', `! grep -q 'CHANGE REPLICATION SOURCE' "$FAKE_STDIN"`);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('configuring replication failed; keeping change_source.sql.in');
      expect(head(r.calls).map((c) => [c.name, c.args])).toEqual([
        ['mysql', POLL()],
        ['mysql', GUARD(`${UUID_A}:1-5`)],
        ['mysql', mysqlArgs()],
        ['mysql', mysqlArgs('-e', 'SET GLOBAL super_read_only = ON')],
      ]);
      expect(ls(data)).toEqual(['change_source.sql.in']);
      expect(fs.existsSync(env.STATE_FILE)).toBe(false);
      expectNoSecretLeak(r.calls);
      // next start of the container: the same statements again, and this time they work
      box.fake('mysql');
      const again = box.run(SCRIPT, env);
      expect(again.status).toBe(0);
      expect(sql(again.calls)).toEqual([changeSource(`${UUID_A}:1-5`)]);
      expect(ls(data)).toEqual(['change_source.sql.orig']);
      expect(serve(again.calls).map((c) => c.args)).toEqual([serveArgs()]);
    });

    test('a failure that also cannot restore super_read_only still exits non-zero and keeps .in', () => {
      write(
        'change_source.sql.in',
        `RESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged='${UUID_A}:1-5';\n`,
      );
      box.fake('mysql', '[[ $* == *"SELECT 1"* ]]');
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(ls(data)).toEqual(['change_source.sql.in']);
      expect(serve(r.calls)).toEqual([]);
    });

    test('waits until mysqld accepts connections before configuring replication', () => {
      write('xtrabackup_binlog_info', `binlog.000003\t197\t${UUID_A}:1-5\n`);
      const polls = path.join(box.root, 'polls');
      box.fake(
        'mysql',
        `n=$(cat "${polls}" 2>/dev/null || echo 0); echo $((n + 1)) >"${polls}"; [[ $n -ge 1 ]]`,
      );
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(
        head(r.calls)
          .filter((c) => c.name === 'mysql')
          .map((c) => c.args),
      ).toEqual([POLL(), POLL(), GUARD(`${UUID_A}:1-5`), mysqlArgs()]);
    });

    test('a retry after a success the container did not record (.in left behind) does not reset a running replica', () => {
      write(
        'change_source.sql.in',
        `RESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged='${UUID_A}:1-5';\n`,
      );
      // gtid_executed is no longer a subset of the backup's set: transactions were applied since.
      box.fake('mysql', `if [[ $* == *GTID_SUBSET* ]]; then echo 1; fi`);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('already applied transactions beyond the backup');
      expect(sql(r.calls)).toEqual([]);
      expect(ls(data)).toEqual(['change_source.sql.orig']);
      expect(serve(r.calls)).toHaveLength(1);
    });

    test('the readiness file exists only while backups are served (removed at start)', () => {
      fs.writeFileSync(env.STATE_FILE, 'stale');
      box.fake('mysql', 'exit 1');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', POLL_SECONDS: '0', WAIT_TRIES: '2' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('mysqld did not accept connections in 2 tries');
      expect(fs.existsSync(env.STATE_FILE)).toBe(false);
    });

    test('restart after replication was configured (.orig only): nothing is re-run, just serve backups', () => {
      write(
        'change_source.sql.orig',
        `RESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged='${UUID_A}:1-5';\n`,
      );
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(head(r.calls).map((c) => [c.name, c.args])).toEqual([['socat', serveArgs()]]);
      expect(ls(data)).toEqual(['change_source.sql.orig']);
    });
  });

  describe('watching replication (readiness verdict)', () => {
    /** SHOW REPLICA STATUS\G as MySQL 8.4 prints it (vertical), with the given fields. */
    const status = (fields: Record<string, string>) =>
      '*************************** 1. row ***************************\n' +
      Object.entries({
        Replica_IO_State: 'Waiting for source to send event',
        Source_Host: 'mysql-0.mysql',
        Replica_IO_Running: 'Yes',
        Replica_SQL_Running: 'Yes',
        Last_IO_Errno: '0',
        Last_IO_Error: '',
        Last_SQL_Errno: '0',
        Last_SQL_Error: '',
        Seconds_Behind_Source: '0',
        Executed_Gtid_Set: `${UUID_A}:1-5,\n${UUID_B}:1-3`,
        ...fields,
      })
        .map(([k, v]) => `${k.padStart(30)}: ${v}`)
        .join('\n') +
      '\n';
    /**
     * A mysqld and its source answering the monitor: SHOW REPLICA STATUS from the file `status`; gtid_executed is
     * UUID_A:1-5 here and `source-set` on the source (as the replication user; empty: unreachable); GTID_SUBSET of
     * the two answers from `subset` (1: the source contains this replica's set).
     */
    const fakeServers = (
      replicaStatus: string,
      subset = '1',
      sourceSet = `${UUID_A}:1-9`,
      /** @@GLOBAL.read_only; empty: no answer */
      readOnly = '',
      /** SHOW REPLICA STATUS answers empty this many times before it answers `replicaStatus` */
      emptyFirst = 0,
    ) => {
      fs.writeFileSync(path.join(box.root, 'status'), replicaStatus);
      fs.writeFileSync(path.join(box.root, 'subset'), subset);
      fs.writeFileSync(path.join(box.root, 'source-set'), sourceSet);
      fs.writeFileSync(path.join(box.root, 'read-only'), readOnly);
      fs.writeFileSync(path.join(box.root, 'empty-first'), String(emptyFirst));
      box.fake(
        'mysql',
        `case "$*" in
  *"SHOW REPLICA STATUS"*)
    n=$(<"${box.root}/empty-first")
    if ((n > 0)); then echo $((n - 1)) >"${box.root}/empty-first"; else cat "${box.root}/status"; fi ;;
  *"SELECT @@GLOBAL.read_only"*) cat "${box.root}/read-only" ;;
  *replication.cnf*"SELECT @@GLOBAL.gtid_executed"*) [[ -s "${box.root}/source-set" ]] || exit 1; cat "${box.root}/source-set" ;;
  *"SELECT @@GLOBAL.gtid_executed"*) echo '${UUID_A}:1-5' ;;
  *"GTID_SUBSET('${UUID_A}:1-5', '${UUID_A}:1-9')"*) cat "${box.root}/subset" ;;
esac`,
      );
    };
    const verdict = () => fs.readFileSync(env.STATE_FILE, 'utf8');
    const monitorCalls = (calls: Call[]) => calls.filter(isMonitor).map((c) => c.args);
    const orig = () =>
      write(
        'change_source.sql.orig',
        `RESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged='${UUID_A}:1-5';\n`,
      );

    test('a replicating replica is ready; the verdict file holds epoch, verdict and reason; the log says so once', () => {
      orig();
      fakeServers(status({}));
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '3' });
      expect(r.status).toBe(0);
      expect(verdict()).toMatch(/^\d{10} ready replicating from mysql-0\.mysql, 0 s behind\n$/);
      expect(r.stdout.match(/sidecar: ready: /g)).toHaveLength(1);
      // each round: the status (whose Source_Host the divergence check asks), its own GTID set, then the
      // source's (as the replication user), the subset check
      expect(monitorCalls(r.calls).slice(0, 5)).toEqual([
        mysqlArgs('--connect-timeout=5', '-E', '-e', 'SHOW REPLICA STATUS'),
        mysqlArgs('-N', '-B', '-e', 'SELECT @@GLOBAL.gtid_executed'),
        [
          `--defaults-extra-file=${cnf}/replication.cnf`,
          '-h',
          'mysql-0.mysql',
          '-P',
          '3306',
          '--connect-timeout=5',
          '-N',
          '-B',
          '-e',
          'SELECT @@GLOBAL.gtid_executed',
        ],
        mysqlArgs('-N', '-B', '-e', `SELECT GTID_SUBSET('${UUID_A}:1-5', '${UUID_A}:1-9')`),
        // The verdict's own status, read after the divergence check's queries (fresh, not the round's first).
        mysqlArgs('--connect-timeout=5', '-E', '-e', 'SHOW REPLICA STATUS'),
      ]);
      expect(monitorCalls(r.calls)).toHaveLength(15);
      expectNoSecretLeak(r.calls);
    });

    test.each([
      [
        'the SQL thread stopped on an error',
        { Replica_SQL_Running: 'No', Last_SQL_Errno: '1146', Last_SQL_Error: "Table 'test.t' doesn't exist" },
        "replication SQL thread is No (Last_SQL_Errno 1146: Table 'test.t' doesn't exist)",
      ],
      [
        'the IO thread cannot authenticate',
        {
          Replica_IO_Running: 'Connecting',
          Last_IO_Errno: '1045',
          Last_IO_Error: "Access denied for user 'repl'@'10.0.0.5'",
        },
        "replication IO thread is Connecting (Last_IO_Errno 1045: Access denied for user 'repl'@'10.0.0.5') (the replication password in the Secret is not the primary's; see README 'Credentials')",
      ],
      [
        'the IO thread lost its position (1236)',
        {
          Replica_IO_Running: 'No',
          Last_IO_Errno: '13114',
          Last_IO_Error: 'Got fatal error 1236 from source when reading data from binary log',
        },
        'replication IO thread is No (Last_IO_Errno 13114: Got fatal error 1236 from source',
      ],
      ['replication was stopped by hand', { Replica_SQL_Running: 'No' }, 'replication SQL thread is No'],
      [
        'it lags more than MAX_LAG_SECONDS',
        { Seconds_Behind_Source: '61' },
        'replication lags 61 s behind the source (more than MAX_LAG_SECONDS=60)',
      ],
      ['the lag is unknown', { Seconds_Behind_Source: 'NULL' }, 'Seconds_Behind_Source is NULL'],
    ])('not ready when %s, with the reason in the verdict and the log', (_what, fields, reason) => {
      orig();
      fakeServers(status(fields));
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(verdict()).toContain(` not-ready ${reason}`);
      expect(r.stdout).toContain(`sidecar: not-ready: ${reason}`);
      // the threads are left alone (a lost position is retried: below)
      if (!reason.includes('13114')) expect(monitorCalls(r.calls).flat().join(' ')).not.toMatch(/START|STOP/);
    });

    test('a receiver stopped on a lost position (1236/13114) is restarted, at most every RETRY_SECONDS, only while the source contains our set', () => {
      orig();
      const lost = {
        Replica_IO_Running: 'No',
        Last_IO_Errno: '13114',
        Last_IO_Error: 'Got fatal error 1236 from source',
      };
      fakeServers(status(lost));
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '3', RETRY_SECONDS: '60' });
      expect(r.calls.filter((c) => c.args.includes('START REPLICA IO_THREAD')).map((c) => c.args)).toEqual([
        mysqlArgs('-e', 'START REPLICA IO_THREAD'),
      ]);
      expect(r.stdout).toContain(
        'the source no longer had the position this replica asked for (Last_IO_Errno 13114)',
      );
      expect(verdict()).toContain(' not-ready replication IO thread is No (Last_IO_Errno 13114');
      // the source cannot be asked: no retry
      fakeServers(status(lost), '1', '');
      const down = box.run(SCRIPT, env);
      expect(down.calls.some((c) => c.args.includes('START REPLICA IO_THREAD'))).toBe(false);
    });

    test('a lag at exactly MAX_LAG_SECONDS is ready; the bound is configurable', () => {
      orig();
      fakeServers(status({ Seconds_Behind_Source: '5' }));
      expect(box.run(SCRIPT, { ...env, MAX_LAG_SECONDS: '5' }).status).toBe(0);
      expect(verdict()).toContain(' ready replicating from mysql-0.mysql, 5 s behind');
      box.run(SCRIPT, { ...env, MAX_LAG_SECONDS: '4' });
      expect(verdict()).toContain(
        ' not-ready replication lags 5 s behind the source (more than MAX_LAG_SECONDS=4)',
      );
    });

    test('not ready when replication is not configured, or mysqld cannot be asked', () => {
      orig();
      fakeServers('');
      box.run(SCRIPT, env);
      expect(verdict()).toContain(' not-ready replication is not configured (SHOW REPLICA STATUS is empty)');
      box.fake(
        'mysql',
        'if [[ $* == *"SHOW REPLICA STATUS"* ]]; then echo "ERROR 2013 (HY000): Lost connection" >&2; exit 1; fi',
      );
      box.run(SCRIPT, env);
      expect(verdict()).toContain(' not-ready cannot query mysqld: ERROR 2013 (HY000): Lost connection');
    });

    test("root.cnf's password does not match the database (changed in one place only): the reason says so", () => {
      orig();
      box.fake(
        'mysql',
        `if [[ $* == *"SHOW REPLICA STATUS"* ]]; then echo "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)" >&2; exit 1; fi`,
      );
      const r = box.run(SCRIPT, env);
      expect(verdict()).toContain(
        " not-ready cannot query mysqld: ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES) (the root password in the Secret is not the database's: it was changed in one place only; see README 'Credentials')",
      );
      expect(r.stdout).toContain('sidecar: not-ready: cannot query mysqld: ERROR 1045');
    });

    test('REPLICA_READINESS=serving (the off switch): ready whatever replication does, the reason still logged', () => {
      orig();
      fakeServers(status({ Replica_SQL_Running: 'No' }));
      const r = box.run(SCRIPT, { ...env, REPLICA_READINESS: 'serving' });
      expect(verdict()).toContain(' ready replication SQL thread is No (ignored: REPLICA_READINESS=serving)');
      expect(r.stdout).toContain('sidecar: ready: replication SQL thread is No (ignored');
    });

    test('the primary is ready once it serves backups; it asks only whether it has a source (a switchover repoints it)', () => {
      fakeServers('');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', MONITOR_ROUNDS: '2' });
      expect(r.status).toBe(0);
      expect(verdict()).toMatch(/^\d+ ready primary: serving backups\n$/);
      // at start (before the user is ensured) and every round
      expect(monitorCalls(r.calls)).toEqual(
        Array(3).fill(mysqlArgs('--connect-timeout=5', '-E', '-e', 'SHOW REPLICA STATUS')),
      );
    });

    describe('the primary moves (PRIMARY_ORDINAL, the switchover Job)', () => {
      const changeTo = (host: string) =>
        `CHANGE REPLICATION SOURCE TO SOURCE_HOST='${host}', SOURCE_PORT=3306, SOURCE_USER='repl', ` +
        `SOURCE_PASSWORD=${PASSWORD_SQL}, SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, SOURCE_CONNECT_RETRY=10;\n` +
        'START REPLICA;\n';

      test('PRIMARY_ORDINAL=1: mysql-1 is the primary (ensures the user); a clone on mysql-0 replicates from mysql-1', () => {
        fakeServers('');
        let r = box.run(SCRIPT, { ...env, PRIMARY_ORDINAL: '1', MONITOR_ROUNDS: '1' });
        expect(r.status).toBe(0);
        expect(sql(r.calls)[0]).toMatch(/^CREATE USER IF NOT EXISTS 'repl'@'%'/);
        expect(verdict()).toMatch(/ ready primary: serving backups\n$/);
        write('xtrabackup_binlog_info', `binlog.000002\t157\t${UUID_A}:1-5\n`);
        r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', PRIMARY_ORDINAL: '1', MONITOR_ROUNDS: '1' });
        expect(r.status).toBe(0);
        expect(sql(r.calls)[0]).toContain("SOURCE_HOST='mysql-1.mysql'");
        expect(r.stdout).toContain('starting replication from mysql-1.mysql:3306');
      });

      test('the divergence check asks the source the replica actually follows (SHOW REPLICA STATUS), not the config', () => {
        orig();
        fakeServers(status({ Source_Host: 'mysql-2.mysql' }));
        const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '1' });
        expect(r.status).toBe(0);
        const asked = callsOf(r.calls, 'mysql').filter((c) => c.args[0].endsWith('replication.cnf'));
        expect(asked.map((c) => c.args[2])).toEqual(['mysql-2.mysql']);
        expect(verdict()).toMatch(/ ready replicating from mysql-2\.mysql, 0 s behind\n$/);
      });

      test('a replica the Job promoted (no source, writable) is ready as the primary before its restart', () => {
        orig();
        fakeServers('', '1', `${UUID_A}:1-9`, '0');
        const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '2' });
        expect(r.status).toBe(0);
        expect(verdict()).toMatch(
          / ready primary: promoted by the switchover Job \(writable, no replication source\)\n$/,
        );
        expect(r.stdout.match(/promoted by the switchover Job; serving as the primary/g)).toHaveLength(1);
        // no rejoin, no divergence check: it has no source
        expect(sql(r.calls)).toEqual([]);
        expect(callsOf(r.calls, 'mysql').some((c) => c.args[0].endsWith('replication.cnf'))).toBe(false);
      });

      test('the old primary, repointed by the Job while its sidecar runs, is watched as a replica from then on', () => {
        fakeServers(status({ Source_Host: 'mysql-1.mysql' }), '0', `${UUID_A}:1-9`, '1', 2);
        const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', MONITOR_ROUNDS: '2' });
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(
          'sidecar: this server now replicates from mysql-1.mysql (repointed by the switchover Job): a replica',
        );
        // round 1: the primary; round 2: a replica, checked against mysql-1 (here: refused, the fake says diverged)
        expect(r.stdout).toContain('sidecar: not-ready: refusing source mysql-1.mysql');
      });

      test('the configured primary that still replicates (the Job has not promoted it) stays read-only, creates nothing, not ready', () => {
        fakeServers(status({ Source_Host: 'mysql-0.mysql' }));
        const r = box.run(SCRIPT, { ...env, PRIMARY_ORDINAL: '1', MONITOR_ROUNDS: '1' });
        expect(r.status).toBe(0);
        expect(sql(r.calls)).toEqual([]);
        expect(r.calls.map((c) => c.args)).toContainEqual(mysqlArgs('-e', 'SET GLOBAL super_read_only = ON'));
        expect(r.stdout).toContain(
          'this pod is the configured primary (PRIMARY_ORDINAL=1) but still replicates from mysql-0.mysql: the switchover Job has not promoted it',
        );
        expect(verdict()).toMatch(
          / not-ready this pod is the configured primary \(PRIMARY_ORDINAL=1\) but still replicates: the switchover Job has not promoted it .*; replicating from mysql-0\.mysql, 0 s behind\n$/,
        );
      });

      test('a former primary (read-only, no source) whose transactions the primary has rejoins it by auto-position', () => {
        fakeServers('', '1', `${UUID_A}:1-9`, '1');
        const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', PRIMARY_ORDINAL: '1', MONITOR_ROUNDS: '1' });
        expect(r.status).toBe(0);
        expect(sql(r.calls)).toEqual([changeTo('mysql-1.mysql')]);
        expect(r.stdout).toContain("its GTID set contains this server's: rejoining as its replica");
        expect(verdict()).toMatch(/ not-ready rejoined: replicating from mysql-1\.mysql\n$/);
        expect(ls(data)).not.toContain('replication-refused');
        expectNoSecretLeak(r.calls);
      });

      test('SEMISYNC=true: a rejoining former primary turns the source side off and the replica side on before START REPLICA', () => {
        fakeServers('', '1', `${UUID_A}:1-9`, '1');
        const r = box.run(SCRIPT, {
          ...env,
          POD_NAME: 'mysql-0',
          PRIMARY_ORDINAL: '1',
          MONITOR_ROUNDS: '1',
          SEMISYNC: 'true',
        });
        expect(r.status).toBe(0);
        expect(sql(r.calls)).toEqual([
          'SET GLOBAL rpl_semi_sync_source_enabled = OFF;\nSET GLOBAL rpl_semi_sync_replica_enabled = ON;\n' +
            changeTo('mysql-1.mysql'),
        ]);
        expect(r.stdout).toContain('rejoining as its replica (auto-position, semi-sync replica side on)');
      });

      test('fails if SEMISYNC is not true or false', () => {
        const r = box.run(SCRIPT, { ...env, SEMISYNC: 'on' });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("sidecar: SEMISYNC must be 'true' or 'false', got 'on'");
        expect(r.calls).toEqual([]);
      });

      test('a former primary with errant transactions does not rejoin: refused, not ready with the reason, no backups served', () => {
        fakeServers('', '0', `${UUID_A}:1-9`, '1');
        const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', PRIMARY_ORDINAL: '1', MONITOR_ROUNDS: '2' });
        expect(r.status).toBe(0);
        expect(sql(r.calls)).toEqual([]);
        const reason = `errant transactions: this server's executed GTID set (${UUID_A}:1-5) has transactions the primary mysql-1.mysql (${UUID_A}:1-9) lacks`;
        expect(verdict()).toContain(` not-ready ${reason}`);
        expect(r.stdout).toContain(`sidecar: not-ready: ${reason}`);
        expect(read('replication-refused')).toContain(reason);
        box.fake('xtrabackup', 'echo STREAM');
        expect(connection().stdout).toBe('');
      });

      describe('a superseded primary fences itself (PRIMARY_ORDINAL_FILE, the ConfigMap volume)', () => {
        const configFile = () => path.join(box.root, 'primary-ordinal');
        /**
         * This server: no source, writable until `SET GLOBAL super_read_only = ON`; two client connections (7, 9);
         * executed set A:1-5. The configured primary (asked as repl over replication.cnf): read_only `other`
         * (empty: no answer), executed set A:1-9, which contains this server's.
         */
        const fakeTwoPrimaries = (other: string) => {
          fs.writeFileSync(path.join(box.root, 'local-ro'), '0');
          fs.writeFileSync(path.join(box.root, 'other-ro'), other);
          box.fake(
            'mysql',
            `case "$*" in
  *"SHOW REPLICA STATUS"*) ;;
  *replication.cnf*"SELECT @@GLOBAL.read_only"*)
    [[ -s "${box.root}/other-ro" ]] || { echo "ERROR 2003 (HY000): Can't connect" >&2; exit 1; }
    cat "${box.root}/other-ro" ;;
  *"SELECT @@GLOBAL.read_only"*) cat "${box.root}/local-ro" ;;
  *"SET GLOBAL super_read_only = ON"*) echo 1 >"${box.root}/local-ro" ;;
  *PROCESSLIST*) printf '7\\n9\\n' ;;
  *replication.cnf*"SELECT @@GLOBAL.gtid_executed"*) echo '${UUID_A}:1-9' ;;
  *"SELECT @@GLOBAL.gtid_executed"*) echo '${UUID_A}:1-5' ;;
  *"GTID_SUBSET('${UUID_A}:1-5', '${UUID_A}:1-9')"*) echo 1 ;;
esac`,
          );
        };
        const fenced = (calls: Call[]) =>
          calls.some((c) => c.args.includes('SET GLOBAL super_read_only = ON'));
        const primaryEnv = (ordinalInFile: string) => {
          fs.writeFileSync(configFile(), ordinalInFile);
          return { ...env, POD_NAME: 'mysql-0', PRIMARY_ORDINAL: '0', PRIMARY_ORDINAL_FILE: configFile() };
        };

        test('the config names mysql-1, which is writable too: fenced, client connections killed, rejoins mysql-1', () => {
          fakeTwoPrimaries('0');
          const r = box.run(SCRIPT, { ...primaryEnv('1'), MONITOR_ROUNDS: '1' });
          expect(r.status).toBe(0);
          expect(r.stdout).toContain('sidecar: the config now names mysql-1 the primary (was mysql-0)');
          expect(r.stdout).toContain(
            "sidecar: FENCED: the config names mysql-1.mysql the primary and it is writable, while this server was too (a failover it did not see: README 'Failover'); super_read_only ON, 2 client connection(s) killed",
          );
          const args = r.calls.map((c) => c.args[c.args.length - 1]);
          const fence = args.indexOf('SET GLOBAL super_read_only = ON');
          expect(fence).toBeGreaterThan(-1);
          // fenced first, then the sessions killed (replication's own connections kept)
          expect(args.slice(fence)).toEqual(
            expect.arrayContaining(['KILL CONNECTION 7', 'KILL CONNECTION 9']),
          );
          expect(args.indexOf('KILL CONNECTION 7')).toBeGreaterThan(fence);
          expect(args.find((a) => a.includes('PROCESSLIST'))).toContain(
            "USER NOT IN ('system user', 'event_scheduler', 'repl') AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')",
          );
          // then the rejoin rule: mysql-1 has all of its transactions
          expect(sql(r.calls)).toContain(changeTo('mysql-1.mysql'));
          expect(verdict()).toMatch(/ not-ready rejoined: replicating from mysql-1\.mysql\n$/);
          expectNoSecretLeak(r.calls);
        });

        test('the config names mysql-1, which is read-only (the Job has not promoted it): it stays the primary and says why', () => {
          fakeTwoPrimaries('1');
          const r = box.run(SCRIPT, { ...primaryEnv('1'), MONITOR_ROUNDS: '1' });
          expect(r.status).toBe(0);
          expect(fenced(r.calls)).toBe(false);
          expect(verdict()).toMatch(
            / ready primary: serving backups; the config names mysql-1\.mysql the primary, which is read-only \(the switchover Job has not promoted it\): this server stays the primary\n$/,
          );
        });

        test('the config names mysql-1, which does not answer: it stays the primary (nothing can be decided alone)', () => {
          fakeTwoPrimaries('');
          const r = box.run(SCRIPT, { ...primaryEnv('1'), MONITOR_ROUNDS: '1' });
          expect(r.status).toBe(0);
          expect(fenced(r.calls)).toBe(false);
          expect(verdict()).toContain('which does not answer: this server stays the primary');
        });

        test('the config still names this pod: no question asked, no fence', () => {
          fakeTwoPrimaries('0');
          const r = box.run(SCRIPT, { ...primaryEnv('0'), MONITOR_ROUNDS: '2' });
          expect(r.status).toBe(0);
          expect(fenced(r.calls)).toBe(false);
          expect(callsOf(r.calls, 'mysql').some((c) => c.args[0].endsWith('replication.cnf'))).toBe(false);
          expect(verdict()).toMatch(/ ready primary: serving backups\n$/);
        });

        test('a replica the Job promoted while the config still names the old primary never fences itself, even with it writable', () => {
          orig();
          fakeTwoPrimaries('0');
          fs.writeFileSync(configFile(), '0');
          const r = box.run(SCRIPT, { ...env, PRIMARY_ORDINAL_FILE: configFile(), MONITOR_ROUNDS: '3' });
          expect(r.status).toBe(0);
          expect(fenced(r.calls)).toBe(false);
          expect(verdict()).toMatch(/ ready primary: promoted by the switchover Job/);
        });

        test('a file that holds no ordinal is said once and ignored', () => {
          fakeTwoPrimaries('0');
          const r = box.run(SCRIPT, { ...primaryEnv('one'), MONITOR_ROUNDS: '3' });
          expect(r.status).toBe(0);
          expect(fenced(r.calls)).toBe(false);
          expect(
            r.stderr.match(
              /primary-ordinal holds 'one', not an ordinal; mysql-0\.mysql stays the configured primary/g,
            ),
          ).toHaveLength(1);
        });
      });

      test('fails if PRIMARY_ORDINAL is not an ordinal', () => {
        const r = box.run(SCRIPT, { ...env, PRIMARY_ORDINAL: 'one' });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("PRIMARY_ORDINAL must be a pod ordinal, got 'one'");
        expect(r.calls).toEqual([]);
      });
    });

    test("a source that lacks this replica's transactions is refused: STOP REPLICA, not ready, no backups served", () => {
      orig();
      fakeServers(status({}), '0');
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '2' });
      expect(r.status).toBe(0);
      const stops = r.calls.filter((c) => c.args.includes('STOP REPLICA'));
      expect(stops.map((c) => c.args)).toEqual([mysqlArgs('-e', 'STOP REPLICA')]); // once, not every round
      expect(verdict()).toContain(
        ' not-ready refusing source mysql-0.mysql: its executed GTID set does not contain',
      );
      expect(r.stdout).toContain('sidecar: not-ready: refusing source mysql-0.mysql');
      expect(read('replication-refused')).toContain('refusing source mysql-0.mysql');
      // the backup server checks the refusal file before every backup
      box.fake('xtrabackup', 'echo STREAM');
      const c = connection();
      expect(c.stdout).toBe('');
      expect(c.stderr).toContain('replication is refused here (replication-refused); not serving a backup');
      expect(callsOf(handlerCalls(), 'xtrabackup')).toEqual([]);
    });

    test('the backup server streams unless this replica refused its source (a clone never copies a diverged replica)', () => {
      orig();
      fakeServers(status({ Replica_IO_Running: 'Connecting' }));
      box.run(SCRIPT, env);
      box.fake('xtrabackup', 'echo STREAM');
      const backup = () => connection();
      // not ready (its source is gone) but not refused: it still serves, e.g. to rebuild an empty primary
      expect(backup().stdout).toBe('STREAM\n');
      write('replication-refused', 'refusing source mysql-0.mysql\n');
      expect(backup().stdout).toBe('');
    });

    test('a refusal survives a restart while the source cannot be asked, and is lifted once the source has our set', () => {
      orig();
      write('replication-refused', 'refusing source mysql-0.mysql: …\n');
      fakeServers(status({}), '1', '');
      const down = box.run(SCRIPT, env);
      expect(verdict()).toContain(
        ' not-ready refusing source mysql-0.mysql: … (source unreachable, still refused)',
      );
      expect(down.calls.some((c) => c.args.includes('START REPLICA'))).toBe(false);
      fakeServers(status({}), '1');
      const up = box.run(SCRIPT, env);
      expect(up.calls.filter((c) => c.args.includes('START REPLICA')).map((c) => c.args)).toEqual([
        mysqlArgs('-e', 'START REPLICA'),
      ]);
      expect(up.stdout).toContain(
        "the source contains this replica's transactions again; starting replication",
      );
      expect(ls(data)).toEqual(['change_source.sql.orig']);
      expect(verdict()).toContain(' ready replicating from mysql-0.mysql');
    });

    test('fails (the container restarts) if the backup server exits', () => {
      orig();
      fakeServers(status({}));
      box.fake('socat', 'exit 3');
      const r = box.run(SCRIPT, { ...env, MONITOR_SECONDS: '0.5', MONITOR_ROUNDS: '0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('the backup server (socat) exited; restarting');
    });

    test('SIGTERM: exits 0 at once (not after a pause), stopping the backup server', async () => {
      orig();
      fakeServers(status({}));
      box.fake('socat', `echo $$ >"${box.root}/socat.pid"; exec sleep 60`);
      const run = box.start(SCRIPT, { ...env, MONITOR_SECONDS: '30', MONITOR_ROUNDS: '0' });
      await run.waitFor(
        () => fs.existsSync(env.STATE_FILE) && fs.existsSync(path.join(box.root, 'socat.pid')),
      );
      const t = Date.now();
      run.kill('SIGTERM');
      const { status: code, stdout } = await run.exited;
      expect(Date.now() - t).toBeLessThan(2_000);
      expect(code).toBe(0);
      expect(stdout).toContain('sidecar: SIGTERM: stopping');
      const socatPid = Number(fs.readFileSync(path.join(box.root, 'socat.pid'), 'utf8'));
      await run.waitFor(() => !alive(socatPid));
    });
  });

  describe('bad environment', () => {
    test.each([
      ['POD_NAME', 'POD_NAME must be the pod name'],
      ['SERVICE_NAME', 'SERVICE_NAME must be the headless Service name'],
      ['CLIENT_CNF_DIR', 'CLIENT_CNF_DIR must be the directory with root.cnf and replication.cnf'],
      ['REPLICATION_USER', 'REPLICATION_USER must be set'],
      ['REPLICATION_PASSWORD_FILE', 'REPLICATION_PASSWORD_FILE must name the file'],
    ])('fails if %s is unset', (name, message) => {
      const rest = { ...env };
      delete rest[name];
      const r = box.run(SCRIPT, rest);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(message);
      expect(r.calls).toEqual([]);
    });

    test('fails if the pod name has no ordinal', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("cannot read an ordinal from pod name 'mysql'");
      expect(r.calls).toEqual([]);
    });

    test('fails if the replication password is empty', () => {
      fs.writeFileSync(env.REPLICATION_PASSWORD_FILE, '\n');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('the replication password in');
      expect(r.stderr).toContain('is empty');
      expect(r.calls).toEqual([]);
    });

    test('fails if the replication password file is missing', () => {
      const r = box.run(SCRIPT, { ...env, REPLICATION_PASSWORD_FILE: path.join(box.root, 'nope') });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('cannot read REPLICATION_PASSWORD_FILE');
    });

    test.each([
      ['MONITOR_SECONDS', 'soon', 'MONITOR_SECONDS must be a number of seconds'],
      ['MAX_LAG_SECONDS', '1.5', 'MAX_LAG_SECONDS must be a whole number of seconds'],
      ['MONITOR_ROUNDS', '-1', 'MONITOR_ROUNDS must be a number'],
      ['REPLICA_READINESS', 'always', "REPLICA_READINESS must be 'replicating' or 'serving'"],
      ['RETRY_SECONDS', '1m', 'RETRY_SECONDS must be a whole number of seconds'],
      ['MYSQL_PORT', '3306; DROP', 'MYSQL_PORT must be a port number'],
      ['BACKUP_PORT', 'x', 'BACKUP_PORT must be a port number'],
      ['POLL_SECONDS', '-1', 'POLL_SECONDS must be a number of seconds'],
    ])('fails if %s is %p', (name, value, message) => {
      const r = box.run(SCRIPT, { ...env, [name]: value });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.calls).toEqual([]);
    });
  });

  test('the script uses only MySQL 8.4 replication syntax (no CHANGE MASTER, START SLAVE, MASTER_*, RESET MASTER)', () => {
    const text = fs.readFileSync(SCRIPT, 'utf8');
    for (const removed of [/CHANGE MASTER/i, /START SLAVE/i, /MASTER_/i, /RESET MASTER/i, /SHOW SLAVE/i]) {
      expect(text).not.toMatch(removed);
    }
    expect(text).toMatch(/^set -euo pipefail$/m);
  });
  describe('with TLS_CLIENT_DIR (cert-manager client certificate)', () => {
    let tls: Record<string, string>;
    beforeEach(() => {
      const dir = box.dir('tls-client');
      for (const f of ['ca.crt', 'tls.crt', 'tls.key']) fs.writeFileSync(path.join(dir, f), `${f}\n`);
      tls = { TLS_CLIENT_DIR: dir, REPLICATION_SUBJECT: '/CN=mysql-replication' };
    });
    const tlsArgs = () => [
      `--ssl-ca=${tls.TLS_CLIENT_DIR}/ca.crt`,
      `--ssl-cert=${tls.TLS_CLIENT_DIR}/tls.crt`,
      `--ssl-key=${tls.TLS_CLIENT_DIR}/tls.key`,
    ];
    const tlsServeArgs = () => serveArgs();

    test('primary: the replication user must present the client certificate (REQUIRE SUBJECT)', () => {
      const r = box.run(SCRIPT, { ...env, ...tls, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(0);
      const [stmts] = sql(r.calls);
      expect(stmts).toContain(
        `CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY ${PASSWORD_SQL} REQUIRE SUBJECT '/CN=mysql-replication';\n`,
      );
      expect(stmts).toContain(
        `ALTER USER 'repl'@'%' IDENTIFIED BY ${PASSWORD_SQL} REQUIRE SUBJECT '/CN=mysql-replication';\n`,
      );
      // The local xtrabackup logs in as that user: it presents the certificate too.
      expect(serve(r.calls).map((c) => c.args)).toEqual([tlsServeArgs()]);
      box.fake('xtrabackup', 'echo STREAM');
      expect(connection().stdout).toBe('STREAM\n');
      expect(callsOf(handlerCalls(), 'xtrabackup')[0].args.slice(1, 4)).toEqual(tlsArgs());
      expectNoSecretLeak(r.calls);
    });

    test('replica: connects with the client certificate and verifies the primary against ca.crt and its name', () => {
      write('xtrabackup_binlog_info', `binlog.000003\t197\t${UUID_A}:1-5\n`);
      const r = box.run(SCRIPT, { ...env, ...tls });
      expect(r.status).toBe(0);
      const d = tls.TLS_CLIENT_DIR;
      expect(sql(r.calls)).toEqual([
        changeSource(`${UUID_A}:1-5`).replace(
          'SOURCE_SSL=1, ',
          `SOURCE_SSL=1, SOURCE_SSL_CA='${d}/ca.crt', SOURCE_SSL_CERT='${d}/tls.crt', SOURCE_SSL_KEY='${d}/tls.key', SOURCE_SSL_VERIFY_SERVER_CERT=1, `,
        ),
      ]);
      expect(sql(r.calls)[0]).toContain("SOURCE_HOST='mysql-0.mysql'");
      expect(serve(r.calls).map((c) => c.args)).toEqual([tlsServeArgs()]);
    });

    test('replica: its own queries to the primary as that user present the certificate and verify the name', () => {
      write('change_source.sql.orig', 'RESET BINARY LOGS AND GTIDS;\n');
      box.fake(
        'mysql',
        `[[ $* != *"SHOW REPLICA STATUS"* ]] || printf '%s\\n' '   Source_Host: mysql-0.mysql'`,
      );
      const r = box.run(SCRIPT, { ...env, ...tls });
      const toPrimary = callsOf(r.calls, 'mysql').filter((c) => c.args.includes('mysql-0.mysql'));
      expect(toPrimary.length).toBeGreaterThan(0);
      for (const c of toPrimary)
        expect(c.args.slice(0, 5)).toEqual([
          `--defaults-extra-file=${cnf}/replication.cnf`,
          '--ssl-mode=VERIFY_IDENTITY',
          ...tlsArgs(),
        ]);
    });

    test('fails if REPLICATION_SUBJECT is unset, a certificate file is unreadable, or the path is not plain', () => {
      let r = box.run(SCRIPT, { ...env, TLS_CLIENT_DIR: tls.TLS_CLIENT_DIR });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('REPLICATION_SUBJECT must be the subject of the client certificate');
      fs.rmSync(path.join(tls.TLS_CLIENT_DIR, 'tls.key'));
      r = box.run(SCRIPT, { ...env, ...tls });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `cannot read ${tls.TLS_CLIENT_DIR}/tls.key (the Secret volume of the client certificate)`,
      );
      r = box.run(SCRIPT, { ...env, ...tls, TLS_CLIENT_DIR: '/etc/my tls' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("TLS_CLIENT_DIR must be a plain path, got '/etc/my tls'");
      expect(r.calls).toEqual([]);
    });
  });
  describe('the backup server: one backup at a time, a directory per connection, mutual TLS', () => {
    const tmp = () => env.BACKUP_TMP;
    const targetDirOf = (c: Call) =>
      c.args.find((a) => a.startsWith('--target-dir='))!.slice('--target-dir='.length);
    beforeEach(() => {
      // Reports its --target-dir: there, empty and private, while it runs.
      box.fake(
        'xtrabackup',
        'for a; do case $a in --target-dir=*) d=${a#--target-dir=} ;; esac; done; [[ -d $d && -z $(ls -A "$d") ]] && stat -c %a "$d"; echo STREAM',
      );
    });

    test('each connection gets its own temporary directory, removed afterwards with the lock', () => {
      box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      const first = connection();
      const second = connection();
      expect(first.stdout).toBe('700\nSTREAM\n');
      expect(second.stdout).toBe('700\nSTREAM\n');
      const dirs = callsOf(handlerCalls(), 'xtrabackup').map(targetDirOf);
      expect(dirs).toHaveLength(2);
      expect(dirs[0]).not.toBe(dirs[1]);
      for (const d of dirs) expect(d.startsWith(`${tmp()}/xtrabackup-stream.`)).toBe(true);
      expect(ls(tmp())).toEqual([]);
      expect(first.stderr).toContain('sidecar: serving a backup');
    });

    test('while a backup runs, another connection is refused: no bytes, no xtrabackup', () => {
      box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      fs.mkdirSync(path.join(tmp(), 'xtrabackup-stream.lock'));
      const c = connection();
      expect(c.status).toBe(1);
      expect(c.stdout).toBe('');
      expect(c.stderr).toContain(
        'a backup is already being served; refusing this connection (one at a time)',
      );
      expect(callsOf(handlerCalls(), 'xtrabackup')).toEqual([]);
      expect(ls(tmp())).toEqual(['xtrabackup-stream.lock']); // the running backup's lock is not touched
    });

    test('a failed xtrabackup fails the connection and still cleans up', () => {
      box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      box.fake('xtrabackup', 'exit 3');
      expect(connection().status).toBe(3);
      expect(ls(tmp())).toEqual([]);
    });

    test("a previous container's lock and directories are removed before serving", () => {
      fs.mkdirSync(path.join(tmp(), 'xtrabackup-stream.lock'));
      fs.mkdirSync(path.join(tmp(), 'xtrabackup-stream.4242'));
      fs.writeFileSync(path.join(tmp(), 'other-file'), '');
      box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(ls(tmp())).toEqual(['other-file']);
      expect(connection().stdout).toBe('700\nSTREAM\n');
    });

    describe('with TLS_SERVER_DIR', () => {
      let server: string;
      let tlsEnv: Record<string, string>;
      beforeEach(() => {
        server = box.dir('tls-server');
        for (const f of ['ca.crt', 'tls.crt', 'tls.key']) fs.writeFileSync(path.join(server, f), `${f} 1\n`);
        tlsEnv = { TLS_SERVER_DIR: server, BACKUP_CLIENT_NAME: 'mysql-replication' };
      });

      test('listens with OpenSSL: the server certificate, the client verified against ca.crt and its name', () => {
        const r = box.run(SCRIPT, { ...env, ...tlsEnv, POD_NAME: 'mysql-0' });
        expect(r.status).toBe(0);
        expect(serve(r.calls).map((c) => c.args)).toEqual([
          [
            '-U',
            `OPENSSL-LISTEN:3307,pf=ip6,ipv6only=0,reuseaddr,fork,cert=${server}/tls.crt,key=${server}/tls.key,cafile=${server}/ca.crt,verify=1,commonname=mysql-replication`,
            'EXEC:bash -c serve_one_backup',
          ],
        ]);
        expect(r.stdout).toContain('serving backups on port 3307 (mutual TLS, client mysql-replication)');
      });

      test('a renewed certificate restarts the listener between backups (socat reads it only at start)', () => {
        const sleeps = path.join(box.root, 'sleeps');
        box.fake('socat', `env -0 >"${box.root}/socat.env"; exec /usr/bin/sleep 30`);
        box.fake(
          'sleep',
          `n=$(( $(cat ${sleeps} 2>/dev/null || echo 0) + 1 )); echo $n >${sleeps}
[[ $n == 1 ]] && echo 'tls.crt 2' >"${server}/tls.crt"
exec /usr/bin/sleep "$@"`,
        );
        const r = box.run(SCRIPT, { ...env, ...tlsEnv, POD_NAME: 'mysql-0', MONITOR_ROUNDS: '3' });
        expect(r.status).toBe(0);
        expect(serve(r.calls)).toHaveLength(2);
        expect(
          r.stdout.match(/the server certificate was renewed; restarting the backup server/g),
        ).toHaveLength(1);
      });

      test('a renewal while a backup runs waits for it to end', () => {
        box.fake('socat', `env -0 >"${box.root}/socat.env"; exec /usr/bin/sleep 30`);
        box.fake(
          'sleep',
          `echo 'tls.crt 2' >"${server}/tls.crt"; mkdir -p "${tmp()}/xtrabackup-stream.lock"; exec /usr/bin/sleep "$@"`,
        );
        const r = box.run(SCRIPT, { ...env, ...tlsEnv, POD_NAME: 'mysql-0', MONITOR_ROUNDS: '3' });
        expect(r.status).toBe(0);
        expect(serve(r.calls)).toHaveLength(1);
      });

      test('fails if BACKUP_CLIENT_NAME is missing or a certificate file is unreadable', () => {
        let r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', TLS_SERVER_DIR: server });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(
          "BACKUP_CLIENT_NAME must be the common name of the client certificate, got ''",
        );
        fs.rmSync(path.join(server, 'tls.key'));
        r = box.run(SCRIPT, { ...env, ...tlsEnv, POD_NAME: 'mysql-0' });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain(
          `cannot read ${server}/tls.key (the Secret volume of the server certificate)`,
        );
        expect(serve(r.calls)).toEqual([]);
      });
    });
  });
});
