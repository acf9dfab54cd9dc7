import * as fs from 'fs';
import * as path from 'path';
import { switchoverScriptPath } from '../../charts/switchover-chart';
import { Call, ScriptSandbox } from '../support/script-runner';

const SCRIPT = switchoverScriptPath();
const FAKE_CLUSTER_MYSQL = path.join(__dirname, 'fixtures', 'fake-cluster-mysql.sh');
/** Passwords with every character the SQL and option-file escaping must handle. */
const ROOT_PASSWORD = 'r00t"pa\\ss';
const REPLICATION_PASSWORD = "s3cr'et\\pa;ss";
const REPLICATION_PASSWORD_SQL = "'s3cr\\'et\\\\pa;ss'";
const A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';

describe('switchover.sh', () => {
  let box: ScriptSandbox;
  let cluster: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    cluster = box.dir('cluster');
    box.dir('cluster/subsets');
    const secrets = box.dir('secrets');
    fs.writeFileSync(path.join(secrets, 'root-password'), ROOT_PASSWORD);
    fs.writeFileSync(path.join(secrets, 'replication-password'), `${REPLICATION_PASSWORD}\n`);
    box.fake('mysql', `FAKE_CLUSTER="${cluster}" exec bash "${FAKE_CLUSTER_MYSQL}" "$@" <"$FAKE_STDIN"`);
    box.fake('sleep');
    env = {
      STATEFULSET: 'mysql',
      SERVICE_NAME: 'mysql',
      REPLICAS: '3',
      TARGET: '1',
      ROOT_PASSWORD_FILE: path.join(secrets, 'root-password'),
      REPLICATION_USER: 'repl',
      REPLICATION_PASSWORD_FILE: path.join(secrets, 'replication-password'),
      CLIENT_CNF_DIR: box.dir('tmp'),
      POLL_SECONDS: '0',
    };
    // A healthy cluster: mysql-0 the writable primary, mysql-1 and mysql-2 its replicas, all caught up.
    server(0, { ro: '0', gtid: `${A}:1-10`, processlist: '12\n13\n' });
    server(1, { ro: '1', source: 'mysql-0.mysql', gtid: `${A}:1-10` });
    server(2, { ro: '1', source: 'mysql-0.mysql', gtid: `${A}:1-10` });
  });
  afterEach(() => box.cleanup());

  /** Writes a server's state files (see fixtures/fake-cluster-mysql.sh). */
  const server = (n: number, state: Record<string, string>) => {
    const dir = path.join(cluster, `mysql-${n}.mysql`);
    fs.mkdirSync(dir, { recursive: true });
    for (const [k, v] of Object.entries(state)) fs.writeFileSync(path.join(dir, k), v);
  };
  const state = (n: number, key: string) => {
    const f = path.join(cluster, `mysql-${n}.mysql`, key);
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim() : '';
  };
  /** The statements a server received, in order, without the survey's questions. */
  const changes = (n: number) =>
    state(n, 'log')
      .split('\n')
      .filter(
        (l) =>
          l !== '' &&
          !/^SELECT @@GLOBAL\.(super_read_only|gtid_executed)|^SHOW REPLICA STATUS$|^SELECT GTID_SUBSET/.test(
            l,
          ),
      );
  const subset = (a: string, b: string, result: 0 | 1) =>
    fs.writeFileSync(path.join(cluster, 'subsets', `${a}|${b}`), `${result}\n`);
  const change = (host: string) =>
    `CHANGE REPLICATION SOURCE TO SOURCE_HOST='${host}', SOURCE_PORT=3306, SOURCE_USER='repl', ` +
    `SOURCE_PASSWORD=${REPLICATION_PASSWORD_SQL}, SOURCE_AUTO_POSITION=1, SOURCE_SSL=1, SOURCE_CONNECT_RETRY=10;`;
  const repointed = (host: string) => [
    'SET GLOBAL super_read_only = ON;',
    'STOP REPLICA;',
    change(host),
    'START REPLICA;',
  ];
  const asSource = [
    'SET GLOBAL rpl_semi_sync_replica_enabled = OFF;',
    'SET GLOBAL rpl_semi_sync_source_enabled = ON;',
  ];
  const repointedSemiSync = (host: string) => [
    'SET GLOBAL super_read_only = ON;',
    'STOP REPLICA;',
    'SET GLOBAL rpl_semi_sync_source_enabled = OFF;',
    'SET GLOBAL rpl_semi_sync_replica_enabled = ON;',
    change(host),
    'START REPLICA;',
  ];
  const noSecretOnACommandLine = (calls: Call[]) => {
    for (const c of calls) for (const a of c.args) expect(a).not.toMatch(/r00t|s3cr/);
  };
  const unchanged = () => {
    for (const n of [0, 1, 2]) expect(changes(n)).toEqual([]);
  };

  describe('planned switchover (the primary answers)', () => {
    test('fences mysql-0, kills its clients, waits for mysql-1, promotes it, repoints mysql-0 and mysql-2', () => {
      const r = box.run(SCRIPT, env);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(changes(0)).toEqual([
        'SET GLOBAL super_read_only = ON',
        "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler', 'repl') AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')",
        'KILL CONNECTION 12',
        'KILL CONNECTION 13',
        ...repointed('mysql-1.mysql'),
      ]);
      expect(changes(1)).toEqual([
        `SELECT WAIT_FOR_EXECUTED_GTID_SET('${A}:1-10', 30)`,
        'STOP REPLICA;',
        'RESET REPLICA ALL;',
        'SET GLOBAL read_only = OFF;',
      ]);
      expect(changes(2)).toEqual(repointed('mysql-1.mysql'));
      expect([state(1, 'source'), state(1, 'ro')]).toEqual(['', '0']);
      expect([state(0, 'source'), state(0, 'ro')]).toEqual(['mysql-1.mysql', '1']);
      expect(r.stdout).toMatch(/switchover: writes were refused for \d+\.\d{3} s \(fence to promotion\)/);
      expect(r.stdout).toContain(
        'switchover: done: mysql-1.mysql is the primary, mysql-0.mysql replicates from it',
      );
      noSecretOnACommandLine(r.calls);
      // root's option file: 0600, the password escaped for it
      const cnf = path.join(env.CLIENT_CNF_DIR, 'switchover.cnf');
      expect(fs.statSync(cnf).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(cnf, 'utf8')).toBe('[client]\nuser="root"\npassword="r00t\\"pa\\\\ss"\n');
      expect(r.calls[0].args.slice(0, 5)).toEqual([
        `--defaults-extra-file=${cnf}`,
        '-h',
        'mysql-0.mysql',
        '-P',
        '3306',
      ]);
    });

    test('rerun after success (or the target already the primary): nothing changes, exit 0', () => {
      expect(box.run(SCRIPT, env).status).toBe(0);
      for (const n of [0, 1, 2]) fs.rmSync(path.join(cluster, `mysql-${n}.mysql`, 'log'));
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(
        'switchover: mysql-1.mysql is the primary; every reachable server replicates from it: nothing to do',
      );
      unchanged();
      // and with the default primary 0 on a fresh stack
      const again = box.run(SCRIPT, { ...env, TARGET: '1' });
      expect(again.status).toBe(0);
      unchanged();
    });

    test.each([
      ['lags', { lag: '30' }, 'it lags 30 s behind, more than MAX_LAG_SECONDS=5'],
      ['has an unknown lag', { lag: 'NULL' }, 'Seconds_Behind_Source is NULL'],
      ['has its receiver stopped', { io: 'No' }, 'its receiver (IO thread) is No'],
      ['has its applier stopped', { sql: 'No' }, 'its applier (SQL thread) is No'],
    ])('refuses a target that %s, changing nothing', (_what, broken, message) => {
      server(1, broken);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `switchover: refusing to switch over to mysql-1.mysql: ${message}; nothing was changed`,
      );
      unchanged();
    });

    test('MAX_LAG_SECONDS is the bound: a lag at it is accepted', () => {
      server(1, { lag: '7' });
      expect(box.run(SCRIPT, { ...env, MAX_LAG_SECONDS: '7' }).status).toBe(0);
    });

    test('writes going on while it compares (each read later than the one before) are no errant transactions', () => {
      for (const n of [0, 1, 2]) server(n, { grow: '' });
      const r = box.run(SCRIPT, env);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(state(1, 'ro')).toBe('0');
    });

    test('refuses a target with errant transactions (a set the primary lacks), changing nothing', () => {
      server(1, { gtid: `${A}:1-10,4f11fa47-71ca-11e1-9e33-c80aa9429562:1` });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('it has transactions the primary lacks (errant transactions:');
      unchanged();
    });

    test('refuses a target that does not answer, or that follows another source', () => {
      server(1, { down: '' });
      let r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        "refusing: the target mysql-1.mysql does not answer (ERROR 2003 (HY000): Can't connect",
      );
      fs.rmSync(path.join(cluster, 'mysql-1.mysql', 'down'));
      server(1, { source: 'mysql-2.mysql' });
      r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('replicates from mysql-2.mysql, not from the primary mysql-0.mysql');
      unchanged();
    });

    test('the target does not catch up within WAIT_SECONDS: the old primary is unfenced, nothing else changes', () => {
      server(1, { wait: '1' });
      const r = box.run(SCRIPT, { ...env, WAIT_SECONDS: '3' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        "mysql-1.mysql did not apply mysql-0.mysql's transactions within WAIT_SECONDS=3 (timeout); nothing else was changed",
      );
      expect(changes(0).at(-1)).toBe('SET GLOBAL read_only = OFF');
      expect(r.stdout).toContain('unfenced mysql-0.mysql: read_only OFF; it stays the primary');
      expect(state(0, 'ro')).toBe('0');
      expect(state(1, 'source')).toBe('mysql-0.mysql');
      expect(changes(2)).toEqual([]);
    });

    test('a failed promotion restarts the target replica and unfences the old primary', () => {
      server(1, { fail: '*RESET REPLICA ALL*' });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('promoting mysql-1.mysql failed: ERROR 1290');
      expect(changes(1).at(-1)).toBe('START REPLICA');
      expect(state(0, 'ro')).toBe('0');
      expect(changes(2)).toEqual([]);
    });

    test('a failed fence changes nothing', () => {
      server(0, { fail: '*super_read_only = ON*' });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('fencing mysql-0.mysql failed: ERROR 1290');
      expect(changes(1)).toEqual([]);
    });

    test('with TLS: every connection verifies the server (CA and name); replicas are repointed with the certificate', () => {
      const ca = path.join(box.dir('tls'), 'ca.crt');
      fs.writeFileSync(ca, 'CA');
      const r = box.run(SCRIPT, { ...env, TLS_CA_FILE: ca, SOURCE_TLS_DIR: '/etc/mysql/tls/client' });
      expect(r.status).toBe(0);
      for (const c of r.calls.filter((x) => x.name === 'mysql'))
        expect(c.args.slice(1, 3)).toEqual(['--ssl-mode=VERIFY_IDENTITY', `--ssl-ca=${ca}`]);
      expect(changes(2)[2]).toBe(
        change('mysql-1.mysql').replace(
          'SOURCE_SSL=1,',
          "SOURCE_SSL=1, SOURCE_SSL_CA='/etc/mysql/tls/client/ca.crt', SOURCE_SSL_CERT='/etc/mysql/tls/client/tls.crt', SOURCE_SSL_KEY='/etc/mysql/tls/client/tls.key', SOURCE_SSL_VERIFY_SERVER_CERT=1,",
        ),
      );
    });

    test('an unreachable other replica is left alone and named; the switchover still happens', () => {
      server(2, { down: '' });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('mysql-2.mysql: does not answer');
      expect(state(1, 'ro')).toBe('0');
    });
  });

  describe('a run that stopped half-way is finished', () => {
    test('the target writable without a source, the old primary fenced without one: the old primary is repointed', () => {
      server(1, { ro: '0', source: '' });
      server(0, { ro: '1' });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(changes(0)).toEqual(repointed('mysql-1.mysql'));
      expect(changes(2)).toEqual(repointed('mysql-1.mysql'));
      expect(changes(1)).toEqual([]);
      expect(r.stdout).toContain('finished an interrupted switchover: 2 server(s) repointed at it');
      expect(r.stdout).not.toContain('nothing to do');
    });

    test('...unless the old primary has transactions the new one lacks: it is named and left out', () => {
      server(1, { ro: '0', source: '' });
      server(0, { ro: '1', gtid: `${A}:1-11` });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `NOT repointing mysql-0.mysql: it has transactions mysql-1.mysql lacks (errant transactions: its set ${A}:1-11`,
      );
      expect(changes(0)).toEqual([]);
    });

    test('the target fenced without a source (promotion interrupted): made writable', () => {
      server(0, { ro: '1', source: 'mysql-1.mysql' });
      server(1, { ro: '1', source: '' });
      server(2, { source: 'mysql-1.mysql' });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(changes(1)).toEqual(['SET GLOBAL read_only = OFF;']);
      expect(r.stdout).toContain('mysql-1.mysql was fenced by an interrupted run; made it writable again');
    });

    test('SEMISYNC=true, promotion interrupted: the source side is turned on before the target is writable', () => {
      server(0, { ro: '1', source: 'mysql-1.mysql' });
      server(1, { ro: '1', source: '' });
      server(2, { source: 'mysql-1.mysql' });
      const r = box.run(SCRIPT, { ...env, SEMISYNC: 'true' });
      expect(r.status).toBe(0);
      expect(changes(1)).toEqual([...asSource, 'SET GLOBAL read_only = OFF;']);
    });
  });

  describe('semi-synchronous replication (SEMISYNC=true)', () => {
    test('planned: the promoted server gets the source side before it is writable, every repointed one the replica side before START REPLICA', () => {
      const r = box.run(SCRIPT, { ...env, SEMISYNC: 'true' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(changes(1)).toEqual([
        `SELECT WAIT_FOR_EXECUTED_GTID_SET('${A}:1-10', 30)`,
        'STOP REPLICA;',
        'RESET REPLICA ALL;',
        ...asSource,
        'SET GLOBAL read_only = OFF;',
      ]);
      expect(changes(0).slice(-6)).toEqual(repointedSemiSync('mysql-1.mysql'));
      expect(changes(2)).toEqual(repointedSemiSync('mysql-1.mysql'));
      expect(r.stdout).toContain(
        'promoted mysql-1.mysql: RESET REPLICA ALL, semi-sync source side on, read_only OFF',
      );
      expect(r.stdout).toContain(
        'mysql-2.mysql now replicates from mysql-1.mysql (auto-position; semi-sync replica side on)',
      );
    });

    test('failover: the same on the promoted and the repointed servers; the log says what semi-sync guarantees', () => {
      server(0, { down: '' });
      server(1, { gtid: `${A}:1-10` });
      server(2, { gtid: `${A}:1-8` });
      subset(`${A}:1-8`, `${A}:1-10`, 1);
      subset(`${A}:1-10`, `${A}:1-8`, 0);
      const r = box.run(SCRIPT, { ...env, FAILOVER: 'true', SEMISYNC: 'true' });
      expect(r.status).toBe(0);
      expect(changes(1)).toEqual([
        'STOP REPLICA IO_THREAD',
        'STOP REPLICA;',
        'RESET REPLICA ALL;',
        ...asSource,
        'SET GLOBAL read_only = OFF;',
      ]);
      expect(changes(2)).toEqual(['STOP REPLICA IO_THREAD', ...repointedSemiSync('mysql-1.mysql')]);
      expect(r.stdout).toContain(
        'semi-synchronous replication: every commit mysql-0.mysql acknowledged reached a replica',
      );
      expect(r.stdout).not.toContain('are lost');
    });

    test('fails if SEMISYNC is not true or false, changing nothing', () => {
      const r = box.run(SCRIPT, { ...env, SEMISYNC: 'yes' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("switchover: SEMISYNC must be 'true' or 'false', got 'yes'");
      unchanged();
    });
  });

  describe('refused topologies', () => {
    test('two writable servers without a source: a person must decide', () => {
      server(2, { ro: '0', source: '' });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        'refusing: mysql-0.mysql mysql-2.mysql are all writable without a replication source (two primaries)',
      );
      unchanged();
    });

    test('no server answers: nothing to do (a new stack), exit 0', () => {
      for (const n of [0, 1, 2]) server(n, { down: '' });
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('no server answers: nothing to switch');
    });
  });

  describe('failover (the primary is gone)', () => {
    beforeEach(() => {
      server(0, { down: '' });
      server(1, { gtid: `${A}:1-10` });
      server(2, { gtid: `${A}:1-8` });
      subset(`${A}:1-8`, `${A}:1-10`, 1);
      subset(`${A}:1-10`, `${A}:1-8`, 0);
    });

    test('without FAILOVER=true: refused, nothing changed, the message says how', () => {
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        "refusing: the primary mysql-0.mysql does not answer; a planned switchover needs it (to fence it and wait for mysql-1.mysql). If it is lost, set failover: true (README 'Failover'); nothing was changed",
      );
      unchanged();
    });

    test('FAILOVER=true: receivers stopped, relay logs applied, the most advanced target promoted, the others repointed', () => {
      const r = box.run(SCRIPT, { ...env, FAILOVER: 'true' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(changes(1)).toEqual([
        'STOP REPLICA IO_THREAD',
        'STOP REPLICA;',
        'RESET REPLICA ALL;',
        'SET GLOBAL read_only = OFF;',
      ]);
      expect(changes(2)).toEqual(['STOP REPLICA IO_THREAD', ...repointed('mysql-1.mysql')]);
      expect(r.stdout).toContain(
        `mysql-1.mysql is the most advanced reachable replica (executed GTID set ${A}:1-10)`,
      );
      expect(r.stdout).toContain('transactions mysql-0.mysql committed that no replica received are lost');
    });

    test('FAILOVER=true waits until each replica applied its relay log', () => {
      server(2, { state: 'Reading event from the relay log' });
      const r = box.run(SCRIPT, { ...env, FAILOVER: 'true', WAIT_SECONDS: '1' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        'refusing: mysql-2.mysql did not apply its relay log within WAIT_SECONDS=1 (Reading event from the relay log); nothing was promoted',
      );
      expect(changes(1).at(-1)).toBe('START REPLICA IO_THREAD');
      expect(state(1, 'source')).toBe('mysql-0.mysql');
    });

    test('FAILOVER=true refuses a target that is not the most advanced, naming the one that is; receivers restarted', () => {
      const r = box.run(SCRIPT, { ...env, FAILOVER: 'true', TARGET: '2' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        'refusing: mysql-2.mysql is not the most advanced replica (mysql-1.mysql has transactions it lacks); mysql-1.mysql is: set primary: 1.',
      );
      for (const n of [1, 2]) {
        expect(changes(n)).toEqual(['STOP REPLICA IO_THREAD', 'START REPLICA IO_THREAD']);
        expect(state(n, 'source')).toBe('mysql-0.mysql');
      }
    });

    test('replicas that follow different sources while no primary answers: refused', () => {
      server(2, { source: 'mysql-1.mysql' });
      const r = box.run(SCRIPT, { ...env, FAILOVER: 'true' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('no primary answers and the replicas follow different sources');
      unchanged();
    });
  });

  describe('bad environment', () => {
    test.each([
      ['TARGET', '3', "TARGET must be the ordinal of a pod below REPLICAS=3, got '3'"],
      ['TARGET', 'one', "TARGET must be the ordinal of a pod below REPLICAS=3, got 'one'"],
      ['REPLICAS', '0', "REPLICAS must be a number of pods, got '0'"],
      ['FAILOVER', 'yes', "FAILOVER must be 'true' or 'false', got 'yes'"],
      ['MAX_LAG_SECONDS', '1.5', "MAX_LAG_SECONDS must be a whole number of seconds, got '1.5'"],
      ['WAIT_SECONDS', '0', "WAIT_SECONDS must be at least 1, got '0'"],
      ['MYSQL_PORT', '3306; DROP', "MYSQL_PORT must be a port number, got '3306; DROP'"],
      ['SOURCE_TLS_DIR', '/etc/my tls', "SOURCE_TLS_DIR must be a plain path, got '/etc/my tls'"],
      ['ROOT_PASSWORD_FILE', '/nonexistent', "cannot read ROOT_PASSWORD_FILE '/nonexistent'"],
    ])('fails if %s is %p: the message names it, nothing is asked', (key, value, message) => {
      const r = box.run(SCRIPT, { ...env, [key]: value });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`switchover: ${message}`);
      expect(r.calls).toEqual([]);
    });
  });
});
