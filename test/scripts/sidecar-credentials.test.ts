/**
 * The MySQL 8.4 sidecar's credential rotation (CREDENTIALS_DIR): option files, RETAIN CURRENT PASSWORD / DISCARD
 * OLD PASSWORD on the primary, SOURCE_PASSWORD on a replica. The fake `mysql` is a tiny database: per host, the
 * passwords each user is accepted with (one per line); it answers "Access denied" (1045) otherwise, and serves
 * SHOW REPLICA STATUS from a file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { Call, ScriptSandbox, stdinsOf } from '../support/script-runner';

const SCRIPT = scriptPath('xtrabackup-sidecar', 'mysql84');
const OLD_ROOT = "old root;$x'";
const NEW_ROOT = 'new root #1';
const OLD_REPL = "old'repl";
const NEW_REPL = 'new;repl $y';

const FAKE_MYSQL = `
cnf='' host='' sql=''
args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  case \${args[i]} in
    --defaults-extra-file=*) cnf=\${args[i]#*=} ;;
    -h) host=\${args[i+1]} ;;
    -e) sql=\${args[i+1]} ;;
  esac
done
user=$(perl -ne 'if (/^user="(.*)"$/) { $_ = $1; s/\\\\(.)/$1/g; print; exit }' "$cnf")
pw=$(perl -ne 'if (/^password="(.*)"$/) { $_ = $1; s/\\\\(.)/$1/g; print; exit }' "$cnf")
db=$FAKE_DB/$host
[[ -e $db/down ]] && { echo "ERROR 2003 (HY000): Can't connect to MySQL server on '$host'" >&2; exit 1; }
grep -qxF -- "$pw" "$db/$user" 2>/dev/null || { echo "ERROR 1045 (28000): Access denied for user '$user'@'x' (using password: YES)" >&2; exit 1; }
# REQUIRE SUBJECT: without a client certificate MySQL refuses the login with the same 1045.
if [[ -e $db/$user.require-cert && " \${args[*]} " != *" --ssl-cert="* ]]; then
  echo "ERROR 1045 (28000): Access denied for user '$user'@'x' (using password: YES)" >&2; exit 1
fi
# ALTER USER … IDENTIFIED BY '<pw>' RETAIN CURRENT PASSWORD takes effect: <pw> is accepted too.
perl -ne 'while (/ALTER USER (?:IF EXISTS )?\\x27((?:[^\\x27\\\\]|\\\\.)*)\\x27\\@\\x27[^\\x27]*\\x27 IDENTIFIED BY \\x27((?:[^\\x27\\\\]|\\\\.)*)\\x27 RETAIN/g) { my ($u, $p) = ($1, $2); $p =~ s/\\\\(.)/$1/g; open my $f, ">>", "$ENV{FAKE_DB}/127.0.0.1/$u" or die; print $f "$p\\n"; }' "$FAKE_STDIN"
case $sql in
  *"SHOW REPLICA STATUS"*) cat "$db/status" 2>/dev/null ;;
  *GTID_SUBSET*) echo "\${FAKE_SUBSET:-1}" ;;
  *gtid_executed*) echo '' ;;
esac
exit 0
`;

const REPLICATING =
  '*************************** 1. row ***************************\n' +
  'Source_Host: mysql-0.mysql\nReplica_IO_Running: Yes\nReplica_SQL_Running: Yes\nSeconds_Behind_Source: 0\n' +
  'Last_IO_Errno: 0\nLast_IO_Error: \nLast_SQL_Errno: 0\nLast_SQL_Error: \n';

describe('xtrabackup-sidecar.sh (MySQL 8.4): credential rotation', () => {
  let box: ScriptSandbox;
  let secrets: string;
  let cnf: string;
  let db: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    secrets = box.dir('secrets');
    cnf = box.dir('cnf');
    db = box.dir('db');
    box.fake('mysql', FAKE_MYSQL);
    box.fake('socat', 'exec sleep 30');
    box.fake('xtrabackup'); // the fail-fast check needs it on PATH; socat's fake never runs it
    env = {
      POD_NAME: 'mysql-0',
      SERVICE_NAME: 'mysql',
      DATA_DIR: box.dir('data'),
      CLIENT_CNF_DIR: cnf,
      CREDENTIALS_DIR: secrets,
      REPLICATION_USER: 'repl',
      REPLICATION_PASSWORD_FILE: path.join(secrets, 'replication-password'),
      POLL_SECONDS: '0.1',
      WAIT_TRIES: '3',
      STATE_FILE: path.join(box.root, 'replication-state'),
      MONITOR_SECONDS: '0.1',
      MONITOR_ROUNDS: '3',
      FAKE_DB: db,
    };
  });
  afterEach(() => box.cleanup());

  /** The Secret volume: key -> value (a Secret file ends with a newline), absent keys removed. */
  const secret = (values: Record<string, string>) => {
    for (const f of fs.readdirSync(secrets)) fs.rmSync(path.join(secrets, f));
    for (const [k, v] of Object.entries(values)) fs.writeFileSync(path.join(secrets, k), `${v}\n`);
  };
  const rotating = () =>
    secret({
      'root-password': NEW_ROOT,
      'root-password-previous': OLD_ROOT,
      'replication-password': NEW_REPL,
      'replication-password-previous': OLD_REPL,
    });
  /** What HOST accepts for USER. */
  const accepts = (host: string, user: string, ...passwords: string[]) => {
    fs.mkdirSync(path.join(db, host), { recursive: true });
    fs.writeFileSync(path.join(db, host, user), passwords.map((p) => `${p}\n`).join(''));
  };
  const status = (host: string, text: string) => {
    fs.mkdirSync(path.join(db, host), { recursive: true });
    fs.writeFileSync(path.join(db, host, 'status'), text);
  };
  /** The option file init-mysql wrote at pod start (with root-password / replication-password as they were). */
  const initCnf = (file: string, user: string, password: string) =>
    fs.writeFileSync(
      path.join(cnf, file),
      `[client]\nuser="${user}"\npassword="${password}"\n[xtrabackup]\nuser="${user}"\npassword="${password}"\n`,
      { mode: 0o600 },
    );
  const cnfPassword = (file: string) =>
    fs.readFileSync(path.join(cnf, file), 'utf8').match(/^password="(.*)"$/m)![1];
  const sql = (calls: Call[]) => stdinsOf(calls, 'mysql').filter((s) => s !== '');
  const noPasswordOnArgv = (calls: Call[]) => {
    for (const c of calls)
      for (const a of c.args)
        for (const p of [OLD_ROOT, NEW_ROOT, OLD_REPL, NEW_REPL]) expect(a).not.toContain(p);
  };

  describe('the primary', () => {
    test('new + previous keys, the database knows only the old passwords: RETAIN CURRENT PASSWORD, option files move to the new ones', () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT); // init-mysql wrote root-password, which the database does not know yet
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', OLD_ROOT);
      accepts('127.0.0.1', 'repl', OLD_REPL);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      const statements = sql(r.calls).join('');
      expect(statements).toContain(
        "ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY 'new root #1' RETAIN CURRENT PASSWORD;\n" +
          "ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY 'new root #1' RETAIN CURRENT PASSWORD;\n",
      );
      expect(statements).toContain(
        "ALTER USER IF EXISTS 'repl'@'%' IDENTIFIED BY 'new;repl $y' RETAIN CURRENT PASSWORD;\n",
      );
      // no plain ALTER USER at start (it would end the old password the replicas still use), no DISCARD yet
      expect(statements).not.toMatch(/ALTER USER 'repl'@'%' IDENTIFIED BY|DISCARD/);
      expect(statements.match(/RETAIN CURRENT PASSWORD/g)).toHaveLength(3);
      expect(r.stdout).toContain(
        'sidecar: credentials: root: root-password set with RETAIN CURRENT PASSWORD; root-password-previous stays valid until it is removed from the Secret',
      );
      expect(cnfPassword('root.cnf')).toBe(NEW_ROOT);
      expect(cnfPassword('replication.cnf')).toBe(NEW_REPL);
      expect(fs.statSync(path.join(cnf, 'root.cnf')).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(cnf).sort()).toEqual(['replication.cnf', 'root.cnf']);
      noPasswordOnArgv(r.calls);
    });

    test('already rotated (the new passwords work, previous keys still there): nothing is altered, nothing discarded', () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT, OLD_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL, OLD_REPL);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(sql(r.calls).join('')).not.toMatch(/ALTER USER|DISCARD/);
      expect(r.stdout).toContain('credentials: root: using root-password (the previous one still valid)');
    });

    test('no previous keys: DISCARD OLD PASSWORD once at start, for both root accounts and the replication user', () => {
      secret({ 'root-password': NEW_ROOT, 'replication-password': NEW_REPL });
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL);
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '4' });
      expect(r.status).toBe(0);
      const discards = sql(r.calls).filter((s) => s.includes('DISCARD'));
      expect(discards).toEqual([
        "ALTER USER IF EXISTS 'root'@'%' DISCARD OLD PASSWORD;\nALTER USER IF EXISTS 'root'@'localhost' DISCARD OLD PASSWORD;\n",
        "ALTER USER IF EXISTS 'repl'@'%' DISCARD OLD PASSWORD;\n",
      ]);
      expect(r.stdout).toContain(
        'credentials: replication: DISCARD OLD PASSWORD: only replication-password is valid now',
      );
    });

    test('the previous keys removed while it runs: the old passwords are discarded then, once', async () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT, OLD_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL, OLD_REPL);
      const run = box.start(SCRIPT, { ...env, MONITOR_ROUNDS: '0' });
      await run.waitFor(() => fs.existsSync(env.STATE_FILE));
      expect(sql(box.calls()).join('')).not.toContain('DISCARD');
      secret({ 'root-password': NEW_ROOT, 'replication-password': NEW_REPL });
      await run.waitFor(() => sql(box.calls()).filter((s) => s.includes('DISCARD')).length === 2);
      await new Promise((r) => setTimeout(r, 500));
      run.kill('SIGTERM');
      const out = await run.exited;
      expect(sql(box.calls()).filter((s) => s.includes('DISCARD'))).toHaveLength(2);
      expect(out.stdout).toContain(
        'credentials: root: DISCARD OLD PASSWORD: only root-password is valid now',
      );
    });

    test('replication-password changed without a previous key: set as the only password (the Secret is the truth)', () => {
      secret({ 'root-password': NEW_ROOT, 'replication-password': NEW_REPL });
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT);
      accepts('127.0.0.1', 'repl', OLD_REPL);
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '1' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).toContain("ALTER USER 'repl'@'%' IDENTIFIED BY 'new;repl $y';\n");
      expect(r.stdout).toContain('replication-password changed without replication-password-previous');
    });

    test('started during a rotation: root.cnf holds a password mysqld does not know yet; the wait uses the previous one', () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', OLD_ROOT);
      accepts('127.0.0.1', 'repl', OLD_REPL);
      const r = box.run(SCRIPT, { ...env, WAIT_TRIES: '2' });
      expect(r.status).toBe(0);
      expect(r.stderr).not.toContain('did not accept connections');
      expect(cnfPassword('root.cnf')).toBe(NEW_ROOT);
    });

    test('a database that accepts neither password: said in the log (never the password), the container restarts', () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', 'something else');
      accepts('127.0.0.1', 'repl', OLD_REPL);
      const r = box.run(SCRIPT, { ...env, WAIT_TRIES: '2' });
      expect(r.status).toBe(1);
      expect(r.stdout).toContain(
        "sidecar: credentials: root: mysqld accepts neither root-password nor root-password-previous for 'root' (see README 'Credentials')",
      );
      for (const p of [OLD_ROOT, NEW_ROOT]) expect(r.stdout + r.stderr).not.toContain(p);
    });
  });

  describe('a replica', () => {
    beforeEach(() => {
      env.POD_NAME = 'mysql-1';
      status('127.0.0.1', REPLICATING);
    });

    test("the primary's ALTER USER has not replicated yet: root.cnf keeps the previous password, no ALTER here", () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', OLD_ROOT);
      accepts('127.0.0.1', 'repl', OLD_REPL);
      accepts('mysql-0.mysql', 'repl', OLD_REPL);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(cnfPassword('root.cnf')).toBe(OLD_ROOT);
      expect(cnfPassword('replication.cnf')).toBe(OLD_REPL);
      expect(sql(r.calls).join('')).not.toMatch(/ALTER USER|CHANGE REPLICATION SOURCE/);
      expect(r.stdout).toContain(
        "credentials: root: this server does not accept root-password yet (the primary's ALTER USER has not replicated here); using root-password-previous",
      );
      expect(r.stdout).toContain(
        'credentials: replication: the primary does not accept replication-password yet; keeping the SOURCE_PASSWORD in use',
      );
      expect(fs.readFileSync(env.STATE_FILE, 'utf8')).toMatch(/ ready replicating from mysql-0.mysql/);
    });

    test('the primary accepts the new replication password: SOURCE_PASSWORD re-applied with only the receiver stopped, once', () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT, OLD_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL, OLD_REPL);
      accepts('mysql-0.mysql', 'repl', NEW_REPL, OLD_REPL);
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '4' });
      expect(r.status).toBe(0);
      const changes = sql(r.calls).filter((s) => s.includes('SOURCE_PASSWORD'));
      expect(changes).toEqual([
        "STOP REPLICA IO_THREAD;\nCHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='new;repl $y';\nSTART REPLICA IO_THREAD;\n",
      ]);
      expect(r.stdout).toContain(
        'credentials: replication: SOURCE_PASSWORD set to replication-password (the primary accepts it)',
      );
      expect(cnfPassword('root.cnf')).toBe(NEW_ROOT);
      expect(cnfPassword('replication.cnf')).toBe(NEW_REPL);
      noPasswordOnArgv(r.calls);
    });

    test('a restart with no rotation in progress does not touch SOURCE_PASSWORD', () => {
      secret({ 'root-password': NEW_ROOT, 'replication-password': NEW_REPL });
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL);
      accepts('mysql-0.mysql', 'repl', NEW_REPL);
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(sql(r.calls).join('')).not.toMatch(/SOURCE_PASSWORD|ALTER USER|DISCARD/);
    });

    test('the receiver fails with 1045 (its stored password is gone): replication-password re-applied although no rotation is known', () => {
      secret({ 'root-password': NEW_ROOT, 'replication-password': NEW_REPL });
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL);
      accepts('mysql-0.mysql', 'repl', NEW_REPL);
      status(
        '127.0.0.1',
        REPLICATING.replace('Replica_IO_Running: Yes', 'Replica_IO_Running: Connecting').replace(
          'Last_IO_Errno: 0\nLast_IO_Error: ',
          "Last_IO_Errno: 1045\nLast_IO_Error: Access denied for user 'repl'",
        ),
      );
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '1' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).toContain(
        "STOP REPLICA IO_THREAD;\nCHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='new;repl $y';\nSTART REPLICA IO_THREAD;\n",
      );
    });

    test('a receiver an operator stopped (IO No, no error) gets the password but is not started', () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL);
      accepts('mysql-0.mysql', 'repl', NEW_REPL);
      status('127.0.0.1', REPLICATING.replace('Replica_IO_Running: Yes', 'Replica_IO_Running: No'));
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '1' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).toContain("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='new;repl $y';\n");
    });

    test('a replica that refused its source keeps its receiver stopped: no SOURCE_PASSWORD change', () => {
      rotating();
      fs.writeFileSync(path.join(env.DATA_DIR, 'replication-refused'), 'refused\n');
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL);
      accepts('mysql-0.mysql', 'repl', NEW_REPL);
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '2', FAKE_SUBSET: '0' });
      expect(r.status).toBe(0);
      expect(fs.readFileSync(env.STATE_FILE, 'utf8')).toMatch(/ not-ready refusing source/);
      expect(sql(r.calls).join('')).not.toContain('SOURCE_PASSWORD');
    });

    test('the primary unreachable: nothing decided, tried again on the next round', () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL);
      fs.mkdirSync(path.join(db, 'mysql-0.mysql'), { recursive: true });
      fs.writeFileSync(path.join(db, 'mysql-0.mysql', 'down'), '');
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '2' });
      expect(r.status).toBe(0);
      expect(sql(r.calls).join('')).not.toContain('SOURCE_PASSWORD');
      const probes = r.calls.filter((c) => c.args.includes('mysql-0.mysql') && c.args.includes('SELECT 1'));
      expect(probes.length).toBeGreaterThanOrEqual(2);
    });
  });

  describe('with TLS: the replication user is REQUIRE SUBJECT, so its logins present the client certificate', () => {
    let tls: string;
    const requireCert = (host: string) => fs.writeFileSync(path.join(db, host, 'repl.require-cert'), '');
    const replLogins = (calls: Call[]) =>
      calls.filter((c) => c.name === 'mysql' && c.args.some((a) => a.includes('.login-probe.cnf')));
    beforeEach(() => {
      tls = box.dir('tls-client');
      for (const f of ['ca.crt', 'tls.crt', 'tls.key']) fs.writeFileSync(path.join(tls, f), `${f}\n`);
      env.TLS_CLIENT_DIR = tls;
      env.REPLICATION_SUBJECT = '/CN=mysql-replication';
    });

    test('the primary: a rotation is recognised (RETAIN CURRENT PASSWORD), never taken for a password change', () => {
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', OLD_ROOT);
      accepts('127.0.0.1', 'repl', OLD_REPL);
      requireCert('127.0.0.1');
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      const statements = sql(r.calls).join('');
      expect(statements).toContain(
        "ALTER USER IF EXISTS 'repl'@'%' IDENTIFIED BY 'new;repl $y' RETAIN CURRENT PASSWORD;\n",
      );
      expect(statements).not.toMatch(/ALTER USER 'repl'@'%' IDENTIFIED BY/);
      expect(r.stdout).not.toContain('accepts neither');
      expect(cnfPassword('replication.cnf')).toBe(NEW_REPL);
      // Over the loopback (127.0.0.1 is no name in the server certificate): TLS required, the certificate presented.
      const local = replLogins(r.calls).filter(
        (c) => c.args.includes('127.0.0.1') && c.args.includes('--ssl-mode=REQUIRED'),
      );
      expect(local.length).toBeGreaterThan(0);
      for (const c of local)
        expect(c.args).toEqual(
          expect.arrayContaining([`--ssl-cert=${tls}/tls.crt`, `--ssl-key=${tls}/tls.key`]),
        );
      noPasswordOnArgv(r.calls);
    });

    test('a replica: the primary is asked with its name verified, and SOURCE_PASSWORD follows', () => {
      env.POD_NAME = 'mysql-1';
      status('127.0.0.1', REPLICATING);
      rotating();
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT, OLD_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL, OLD_REPL);
      accepts('mysql-0.mysql', 'repl', NEW_REPL, OLD_REPL);
      requireCert('127.0.0.1');
      requireCert('mysql-0.mysql');
      const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '4' });
      expect(r.status).toBe(0);
      expect(sql(r.calls).filter((x) => x.includes('SOURCE_PASSWORD'))).toEqual([
        "STOP REPLICA IO_THREAD;\nCHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='new;repl $y';\nSTART REPLICA IO_THREAD;\n",
      ]);
      const toPrimary = replLogins(r.calls).filter((c) => c.args.includes('mysql-0.mysql'));
      expect(toPrimary.length).toBeGreaterThan(0);
      for (const c of toPrimary)
        expect(c.args).toEqual(
          expect.arrayContaining([
            '--ssl-mode=VERIFY_IDENTITY',
            `--ssl-ca=${tls}/ca.crt`,
            `--ssl-cert=${tls}/tls.crt`,
            `--ssl-key=${tls}/tls.key`,
          ]),
        );
    });

    test('root logins carry no client certificate (root has no REQUIRE)', () => {
      secret({ 'root-password': NEW_ROOT, 'replication-password': NEW_REPL });
      initCnf('root.cnf', 'root', NEW_ROOT);
      initCnf('replication.cnf', 'repl', NEW_REPL);
      accepts('127.0.0.1', 'root', NEW_ROOT);
      accepts('127.0.0.1', 'repl', NEW_REPL);
      requireCert('127.0.0.1');
      const r = box.run(SCRIPT, env);
      expect(r.status).toBe(0);
      expect(r.stdout).not.toContain('accepts neither');
      const rootLogins = replLogins(r.calls).filter((c) => !c.args.some((a) => a.startsWith('--ssl-')));
      expect(rootLogins.length).toBeGreaterThan(0);
    });
  });

  test('option-file values are escaped (\\ and ") and replaced by rename', () => {
    const awkward = 'pa"ss\\word';
    secret({ 'root-password': awkward, 'replication-password': NEW_REPL });
    initCnf('root.cnf', 'root', 'stale');
    initCnf('replication.cnf', 'repl', NEW_REPL);
    accepts('127.0.0.1', 'root', awkward);
    accepts('127.0.0.1', 'repl', NEW_REPL);
    const r = box.run(SCRIPT, { ...env, MONITOR_ROUNDS: '1' });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(cnf, 'root.cnf'), 'utf8')).toBe(
      '[client]\nuser="root"\npassword="pa\\"ss\\\\word"\n[xtrabackup]\nuser="root"\npassword="pa\\"ss\\\\word"\n',
    );
  });

  test('without CREDENTIALS_DIR nothing of this runs (the start-time ALTER USER stays as before)', () => {
    secret({ 'root-password': NEW_ROOT, 'replication-password': NEW_REPL });
    initCnf('root.cnf', 'root', NEW_ROOT);
    initCnf('replication.cnf', 'repl', NEW_REPL);
    accepts('127.0.0.1', 'root', NEW_ROOT);
    const { CREDENTIALS_DIR: _, ...without } = env;
    const r = box.run(SCRIPT, without);
    expect(r.status).toBe(0);
    expect(sql(r.calls).join('')).toContain("ALTER USER 'repl'@'%' IDENTIFIED BY 'new;repl $y';");
    expect(sql(r.calls).join('')).not.toMatch(/RETAIN|DISCARD/);
    expect(r.calls.some((c) => c.args.some((a) => a.includes('.login-probe.cnf')))).toBe(false);
  });
});
