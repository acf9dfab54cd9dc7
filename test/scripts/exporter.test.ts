/**
 * The monitoring scripts: exporter-config.sh (the exporter's option file) and exporter-user.sh (the
 * exporter's MySQL user, created by the primary's sidecar), the latter run exactly as the pods run it:
 * the sidecar command of the synthesized StatefulSet, function first.
 */
import * as fs from 'fs';
import * as path from 'path';
import { production, workshop } from '../../charts/profiles';
import { monitoringScriptPath } from '../../charts/scripts';
import { Call, callsOf, ScriptSandbox, stdinsOf } from '../support/script-runner';
import { container, only, synthStack } from '../support/synth';

const CONFIG = monitoringScriptPath('exporter-config');
const PASSWORD = 'Zx9+/=._-abc';

describe('exporter-config.sh', () => {
  let box: ScriptSandbox;
  let cnf: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    cnf = path.join(box.dir('cnf'), 'exporter.cnf');
    fs.writeFileSync(path.join(box.dir('secrets'), 'exporter-password'), `${PASSWORD}\n`);
    env = {
      EXPORTER_CNF: cnf,
      EXPORTER_USER: 'exporter',
      EXPORTER_PASSWORD_FILE: path.join(box.root, 'secrets', 'exporter-password'),
      MYSQL_PORT: '3306',
    };
  });
  afterEach(() => box.cleanup());

  test('writes one [client] section (user, password, 127.0.0.1 and the port), mode 0640, password never printed', () => {
    const r = box.run(CONFIG, env);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(cnf, 'utf8')).toBe(
      `[client]\nuser=exporter\npassword=${PASSWORD}\nhost=127.0.0.1\nport=3306\n`,
    );
    expect(fs.statSync(cnf).mode & 0o777).toBe(0o640);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    expect(fs.readdirSync(path.dirname(cnf))).toEqual(['exporter.cnf']);
  });

  test('without a password file (workshop): an empty password', () => {
    const r = box.run(CONFIG, { ...env, EXPORTER_PASSWORD_FILE: '', MYSQL_PORT: '3310' });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(cnf, 'utf8')).toBe(
      '[client]\nuser=exporter\npassword=\nhost=127.0.0.1\nport=3310\n',
    );
  });

  test.each([
    ['a $ (v0.20 expands environment variables)', 'pa$HOME'],
    ['a # (v0.14 starts a comment)', 'pa#ss'],
    ['a space', 'pa ss'],
    ['a quote', 'pa"ss'],
  ])('fails if the password has %s: no file, the password not printed', (_, bad) => {
    fs.writeFileSync(env.EXPORTER_PASSWORD_FILE, `${bad}\n`);
    const r = box.run(CONFIG, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('has a character other than letters, digits and + / = . _ -');
    expect(r.stderr).toContain('openssl rand -base64 24');
    expect(r.stderr).not.toContain(bad);
    expect(fs.existsSync(cnf)).toBe(false);
  });

  test('fails if the password file is empty', () => {
    fs.writeFileSync(env.EXPORTER_PASSWORD_FILE, '\n');
    const r = box.run(CONFIG, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is empty');
  });

  test('fails if EXPORTER_CNF is unset', () => {
    const r = box.run(CONFIG, { ...env, EXPORTER_CNF: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('EXPORTER_CNF must name the option file to write');
  });

  test('fails if the user name could break the file', () => {
    const r = box.run(CONFIG, { ...env, EXPORTER_USER: 'exp\nporter' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('EXPORTER_USER must be 1 to 32 letters, digits or _');
  });
});

/** The sidecar's command as synthesized (exporter-user.sh, then the flavor's sidecar), and its env. */
function shippedSidecar(profile: typeof production) {
  const pod = only(synthStack(profile).objects, 'StatefulSet').spec.template.spec;
  const sidecar = container(pod, 'xtrabackup');
  const env: Record<string, string> = {};
  for (const e of sidecar.env) if (e.value !== undefined) env[e.name] = e.value;
  return { script: sidecar.command[2] as string, env };
}

describe('ensure_exporter_user, as the shipped sidecars run it', () => {
  let box: ScriptSandbox;
  let data: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    data = box.dir('data');
    box.fake('mysql');
    // The backup server runs in the background while the sidecar watches replication.
    box.fake('socat', 'exec sleep 30');
    box.fake('xtrabackup'); // the sidecar's fail-fast check needs it on PATH
  });
  /** The sidecar's own knobs for a test: two replication checks 0.2 s apart, then exit. */
  const quick = (root: string) => ({
    POLL_SECONDS: '0.1',
    STATE_FILE: path.join(root, 'replication-state'),
    MONITOR_SECONDS: '0.2',
    MONITOR_ROUNDS: '2',
  });
  afterEach(() => box.cleanup());
  const sql = (calls: Call[]) => stdinsOf(calls, 'mysql').join('');
  const exporterSql = (password: string) =>
    `CREATE USER IF NOT EXISTS 'exporter'@'127.0.0.1' IDENTIFIED BY '${password}' WITH MAX_USER_CONNECTIONS 3;\n` +
    `ALTER USER 'exporter'@'127.0.0.1' IDENTIFIED BY '${password}' WITH MAX_USER_CONNECTIONS 3;\n` +
    "GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'exporter'@'127.0.0.1';\n" +
    "GRANT SELECT ON performance_schema.* TO 'exporter'@'127.0.0.1';\n";

  describe('production (MySQL 8.4)', () => {
    let script: string;
    beforeEach(() => {
      const shipped = shippedSidecar(production);
      script = path.join(box.root, 'sidecar.sh');
      fs.writeFileSync(script, shipped.script);
      const secrets = box.dir('secrets');
      fs.writeFileSync(path.join(secrets, 'replication-password'), 'repl-pw\n');
      fs.writeFileSync(path.join(secrets, 'exporter-password'), `${PASSWORD}\n`);
      // The TLS settings point at Secret volumes this sandbox does not have (tested in sidecar-mysql84).
      const withoutTls = Object.fromEntries(
        Object.entries(shipped.env).filter(
          ([k]) => !/^(TLS_|BACKUP_CLIENT_NAME|REPLICATION_SUBJECT)/.test(k),
        ),
      );
      env = {
        ...withoutTls,
        BACKUP_TMP: box.dir('tmp'),
        DATA_DIR: data,
        CLIENT_CNF_DIR: box.dir('cnf'),
        REPLICATION_PASSWORD_FILE: path.join(secrets, 'replication-password'),
        EXPORTER_PASSWORD_FILE: path.join(secrets, 'exporter-password'),
        ...quick(box.root),
      };
    });

    test('the primary creates the exporter user (as root, password on stdin) before serving backups', () => {
      const r = box.run(script, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).toContain(exporterSql(PASSWORD));
      const root = [`--defaults-extra-file=${env.CLIENT_CNF_DIR}/root.cnf`, '-h', '127.0.0.1', '-P', '3306'];
      const created = r.calls.findIndex((c) => c.name === 'mysql' && c.stdin.includes("'exporter'@"));
      expect(r.calls[created].args).toEqual(root);
      expect(r.calls[created - 1].args).toEqual([...root, '-e', 'SELECT 1']);
      // Backups are served only after the user exists.
      expect(r.calls.findIndex((c) => c.name === 'socat')).toBeGreaterThan(created);
      for (const c of r.calls) for (const a of c.args) expect(a).not.toContain(PASSWORD);
    });

    test('a replica leaves the user to replication', () => {
      fs.writeFileSync(path.join(data, 'change_source.sql.orig'), 'done');
      const r = box.run(script, { ...env, POD_NAME: 'mysql-1' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).not.toContain('exporter');
      expect(callsOf(r.calls, 'socat')).toHaveLength(1);
    });

    test('after a switchover (PRIMARY_ORDINAL=1) mysql-1 creates the user and mysql-0, now a replica, does not', () => {
      let r = box.run(script, { ...env, POD_NAME: 'mysql-1', PRIMARY_ORDINAL: '1' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).toContain(exporterSql(PASSWORD));
      fs.writeFileSync(path.join(data, 'change_source.sql.orig'), 'done');
      r = box.run(script, { ...env, POD_NAME: 'mysql-0', PRIMARY_ORDINAL: '1' });
      expect(r.status).toBe(0);
      expect(sql(r.calls)).not.toContain('exporter');
    });

    test('fails if the user cannot be created: non-zero, no backups served', () => {
      box.fake('mysql', 'if grep -q exporter "$FAKE_STDIN"; then exit 1; fi');
      const r = box.run(script, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("exporter-user: could not create or update 'exporter'@'127.0.0.1'");
      expect(callsOf(r.calls, 'socat')).toEqual([]);
    });

    test('fails if the password has a character the exporter would misread', () => {
      fs.writeFileSync(env.EXPORTER_PASSWORD_FILE, "it's\n");
      const r = box.run(script, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('has a character other than letters, digits and + / = . _ -');
      expect(sql(r.calls)).not.toContain('exporter');
    });
  });

  describe('workshop (MySQL 5.7)', () => {
    test('the primary waits for mysqld, then creates the user as passwordless root with an empty password', () => {
      const shipped = shippedSidecar(workshop);
      const script = path.join(box.root, 'sidecar.sh');
      fs.writeFileSync(script, shipped.script);
      const polls = path.join(box.root, 'polls');
      box.fake(
        'mysql',
        `n=$(cat "${polls}" 2>/dev/null || echo 0); echo $((n + 1)) >"${polls}"; [[ $n -ge 1 ]]`,
      );
      const r = box.run(script, {
        ...shipped.env,
        POD_NAME: 'mysql-0',
        DATA_DIR: data,
        ...quick(box.root),
      });
      expect(r.status).toBe(0);
      const root = ['-u', 'root', '-h', '127.0.0.1', '-P', '3306'];
      // Two polls (the first refused), then the user, before anything else.
      expect(
        callsOf(r.calls, 'mysql')
          .slice(0, 3)
          .map((c) => c.args),
      ).toEqual([[...root, '-e', 'SELECT 1'], [...root, '-e', 'SELECT 1'], root]);
      expect(sql(r.calls)).toBe(exporterSql(''));
    });
  });
});
