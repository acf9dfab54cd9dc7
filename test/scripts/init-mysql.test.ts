import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { ls, ScriptSandbox } from '../support/script-runner';

const SCRIPT = scriptPath('init-mysql', 'mysql57');

describe('init-mysql.sh', () => {
  let box: ScriptSandbox;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    const configMap = box.dir('config-map');
    fs.writeFileSync(path.join(configMap, 'master.cnf'), '[mysqld]\nlog-bin\n');
    fs.writeFileSync(path.join(configMap, 'slave.cnf'), '[mysqld]\nsuper-read-only\n');
    env = {
      CONFIG_MAP_DIR: configMap,
      CONF_DIR: box.dir('conf.d'),
      SERVER_ID_OFFSET: '100',
      PRIMARY_CNF: 'master.cnf',
      REPLICA_CNF: 'slave.cnf',
    };
  });
  afterEach(() => box.cleanup());
  const conf = (f: string) => fs.readFileSync(path.join(env.CONF_DIR, f), 'utf8');

  test('ordinal 0: server-id 100 and the primary config only', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
    expect(r.status).toBe(0);
    expect(ls(env.CONF_DIR)).toEqual(['master.cnf', 'server-id.cnf']);
    expect(conf('server-id.cnf')).toBe('[mysqld]\nserver-id=100\n');
    expect(conf('master.cnf')).toBe('[mysqld]\nlog-bin\n');
  });

  test('ordinal N: server-id 100+N and the replica config only', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2' });
    expect(r.status).toBe(0);
    expect(ls(env.CONF_DIR)).toEqual(['server-id.cnf', 'slave.cnf']);
    expect(conf('server-id.cnf')).toBe('[mysqld]\nserver-id=102\n');
  });

  test('PRIMARY_ORDINAL (after a switchover): that ordinal gets the primary config, ordinal 0 the replica config', () => {
    let r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', PRIMARY_ORDINAL: '1' });
    expect(r.status).toBe(0);
    expect(ls(env.CONF_DIR)).toEqual(['master.cnf', 'server-id.cnf']);
    expect(r.stdout).toContain('mysql-1 is ordinal 1, server-id 101, using master.cnf');
    fs.rmSync(env.CONF_DIR, { recursive: true });
    fs.mkdirSync(env.CONF_DIR);
    r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', PRIMARY_ORDINAL: '1' });
    expect(r.status).toBe(0);
    expect(ls(env.CONF_DIR)).toEqual(['server-id.cnf', 'slave.cnf']);
    expect(conf('server-id.cnf')).toBe('[mysqld]\nserver-id=100\n');
  });

  test('fails if PRIMARY_ORDINAL is not an ordinal; nothing is written', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', PRIMARY_ORDINAL: '1; rm' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("init-mysql: PRIMARY_ORDINAL must be a pod ordinal, got '1; rm'");
    expect(ls(env.CONF_DIR)).toEqual([]);
  });

  test('ordinals are decimal even with a leading zero, and names may contain dashes', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'my-sql-010', SERVER_ID_OFFSET: '1000' });
    expect(r.status).toBe(0);
    expect(conf('server-id.cnf')).toBe('[mysqld]\nserver-id=1010\n');
  });

  test('does not need a hostname binary: runs with only POD_NAME to go by', () => {
    box.fake('hostname', 'echo "hostname must not be called" >&2; exit 97');
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', HOSTNAME: 'wrong-7' });
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([]);
    expect(conf('server-id.cnf')).toBe('[mysqld]\nserver-id=101\n');
  });

  test('EXTRA_CNF: further ConfigMap files (tls.cnf) are copied for every ordinal', () => {
    fs.writeFileSync(path.join(env.CONFIG_MAP_DIR, 'tls.cnf'), '[mysqld]\nrequire_secure_transport=ON\n');
    fs.writeFileSync(path.join(env.CONFIG_MAP_DIR, 'extra.cnf'), '[mysqld]\n');
    for (const pod of ['mysql-0', 'mysql-1']) {
      fs.rmSync(env.CONF_DIR, { recursive: true });
      fs.mkdirSync(env.CONF_DIR);
      const r = box.run(SCRIPT, { ...env, POD_NAME: pod, EXTRA_CNF: ' tls.cnf  extra.cnf ' });
      expect(r.status).toBe(0);
      expect(ls(env.CONF_DIR)).toEqual(
        [pod === 'mysql-0' ? 'master.cnf' : 'slave.cnf', 'extra.cnf', 'server-id.cnf', 'tls.cnf'].sort(),
      );
      expect(conf('tls.cnf')).toBe('[mysqld]\nrequire_secure_transport=ON\n');
      expect(r.stdout).toContain('also using tls.cnf');
    }
  });

  test('PRIMARY_EXTRA_CNF / REPLICA_EXTRA_CNF (semi-sync sides): each only for its role, following PRIMARY_ORDINAL', () => {
    fs.writeFileSync(
      path.join(env.CONFIG_MAP_DIR, 'semisync-primary.cnf'),
      '[mysqld]\nrpl_semi_sync_source_enabled=ON\n',
    );
    fs.writeFileSync(
      path.join(env.CONFIG_MAP_DIR, 'semisync-replica.cnf'),
      '[mysqld]\nrpl_semi_sync_replica_enabled=ON\n',
    );
    const roles = { PRIMARY_EXTRA_CNF: 'semisync-primary.cnf', REPLICA_EXTRA_CNF: 'semisync-replica.cnf' };
    const expected: Record<string, string[]> = {
      'mysql-0': ['server-id.cnf', 'semisync-replica.cnf', 'slave.cnf'],
      'mysql-1': ['master.cnf', 'semisync-primary.cnf', 'server-id.cnf'],
      'mysql-2': ['server-id.cnf', 'semisync-replica.cnf', 'slave.cnf'],
    };
    for (const [pod, files] of Object.entries(expected)) {
      fs.rmSync(env.CONF_DIR, { recursive: true });
      fs.mkdirSync(env.CONF_DIR);
      const r = box.run(SCRIPT, {
        ...env,
        ...roles,
        POD_NAME: pod,
        PRIMARY_ORDINAL: '1',
        EXTRA_CNF: 'extra.cnf',
      });
      expect(r.status).toBe(1); // extra.cnf is absent: EXTRA_CNF is copied first, then the role's
      fs.writeFileSync(path.join(env.CONFIG_MAP_DIR, 'extra.cnf'), '[mysqld]\n');
      fs.rmSync(env.CONF_DIR, { recursive: true });
      fs.mkdirSync(env.CONF_DIR);
      const ok = box.run(SCRIPT, {
        ...env,
        ...roles,
        POD_NAME: pod,
        PRIMARY_ORDINAL: '1',
        EXTRA_CNF: 'extra.cnf',
      });
      expect(ok.status).toBe(0);
      expect(ls(env.CONF_DIR)).toEqual([...files, 'extra.cnf'].sort());
      fs.rmSync(path.join(env.CONFIG_MAP_DIR, 'extra.cnf'));
    }
  });

  test('fails if a PRIMARY_EXTRA_CNF / REPLICA_EXTRA_CNF entry is not a .cnf key, naming the variable', () => {
    let r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', PRIMARY_EXTRA_CNF: 'semisync' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("PRIMARY_EXTRA_CNF entry 'semisync' is not a ConfigMap key ending in .cnf");
    r = box.run(SCRIPT, {
      ...env,
      POD_NAME: 'mysql-1',
      REPLICA_EXTRA_CNF: 'a/b.cnf',
      PRIMARY_EXTRA_CNF: 'bad',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("REPLICA_EXTRA_CNF entry 'a/b.cnf' is not a ConfigMap key ending in .cnf");
  });

  test('fails if an EXTRA_CNF entry is not a .cnf key, or is missing from the ConfigMap', () => {
    let r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', EXTRA_CNF: '../etc/passwd' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("EXTRA_CNF entry '../etc/passwd' is not a ConfigMap key ending in .cnf");
    r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', EXTRA_CNF: 'absent.cnf' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('absent.cnf');
  });

  test('fails if the pod name has no ordinal', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cannot read an ordinal from pod name 'mysql'");
    expect(ls(env.CONF_DIR)).toEqual([]);
  });

  test('fails if POD_NAME is not set', () => {
    const r = box.run(SCRIPT, env);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('POD_NAME must be the pod name');
  });

  describe('client option files (mysql84 flavor)', () => {
    let creds: Record<string, string>;
    beforeEach(() => {
      const secret = box.dir('secret');
      fs.writeFileSync(path.join(secret, 'root-password'), 'r00t$pass#word\n');
      fs.writeFileSync(path.join(secret, 'replication-password'), 'repl"sec\\ret');
      creds = {
        CLIENT_CNF_DIR: box.dir('client'),
        ROOT_PASSWORD_FILE: path.join(secret, 'root-password'),
        REPLICATION_USER: 'repl',
        REPLICATION_PASSWORD_FILE: path.join(secret, 'replication-password'),
      };
    });

    test('writes root.cnf and replication.cnf, mode 0600, passwords quoted and escaped, trailing newline dropped', () => {
      const r = box.run(SCRIPT, { ...env, ...creds, POD_NAME: 'mysql-1' });
      expect(r.status).toBe(0);
      expect(ls(creds.CLIENT_CNF_DIR)).toEqual(['replication.cnf', 'root.cnf']);
      const root = fs.readFileSync(path.join(creds.CLIENT_CNF_DIR, 'root.cnf'), 'utf8');
      expect(root).toBe(
        '[client]\nuser="root"\npassword="r00t$pass#word"\n[xtrabackup]\nuser="root"\npassword="r00t$pass#word"\n',
      );
      const repl = fs.readFileSync(path.join(creds.CLIENT_CNF_DIR, 'replication.cnf'), 'utf8');
      expect(repl).toContain('user="repl"\npassword="repl\\"sec\\\\ret"\n');
      for (const f of ['root.cnf', 'replication.cnf']) {
        expect(fs.statSync(path.join(creds.CLIENT_CNF_DIR, f)).mode & 0o777).toBe(0o600);
      }
      expect(r.stdout + r.stderr).not.toContain('sec');
    });

    test('writes no option files without CLIENT_CNF_DIR (the passwordless workshop)', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
      expect(r.status).toBe(0);
      expect(ls(creds.CLIENT_CNF_DIR)).toEqual([]);
    });

    test('fails if a password file is missing', () => {
      const r = box.run(SCRIPT, {
        ...env,
        ...creds,
        REPLICATION_PASSWORD_FILE: '/nonexistent',
        POD_NAME: 'mysql-0',
      });
      expect(r.status).not.toBe(0);
      expect(ls(creds.CLIENT_CNF_DIR)).toEqual(['root.cnf']);
    });

    test.each([["quote'd"], ['dou"ble'], ['back\\slash'], ['two\nlines'], ['']])(
      'fails if the root password is %p (the mysql entrypoint pastes it into SQL unescaped)',
      (password) => {
        fs.writeFileSync(creds.ROOT_PASSWORD_FILE, password);
        const r = box.run(SCRIPT, { ...env, ...creds, POD_NAME: 'mysql-0' });
        expect(r.status).toBe(1);
        expect(r.stderr).toContain('is empty or contains \' " \\ or a newline');
        expect(ls(creds.CLIENT_CNF_DIR)).toEqual([]);
      },
    );

    test('fails if the replication user is not given', () => {
      const r = box.run(SCRIPT, { ...env, ...creds, REPLICATION_USER: '', POD_NAME: 'mysql-0' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('REPLICATION_USER must be set');
    });
  });
});
