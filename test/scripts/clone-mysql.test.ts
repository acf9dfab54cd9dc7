import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { Call, ls, ScriptSandbox } from '../support/script-runner';

const SCRIPT = scriptPath('clone-mysql', 'mysql57');
const FAKE_PEER_MYSQL = path.join(__dirname, 'fixtures', 'fake-peer-mysql.sh');

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
    // The peers' mysqld (fixtures/fake-peer-mysql.sh): peers/<host> holds its answer, peers/<host>.down
    // means it exists but does not answer; any other name does not resolve (no such pod).
    const peers = box.dir('peers');
    box.dir('peers/subsets');
    box.fake('mysql', `FAKE_PEERS="${peers}" exec bash "${FAKE_PEER_MYSQL}" "$@"`);
    env = { SERVICE_NAME: 'mysql', DATA_DIR: data, BACKUP_PORT: '3307', RETRY_SECONDS: '0' };
  });
  const peer = (host: string, answer: string) => fs.writeFileSync(path.join(box.root, 'peers', host), answer);
  const subset = (a: string, b: string, result: 0 | 1) =>
    fs.writeFileSync(path.join(box.root, 'peers', 'subsets', `${a}|${b}`), `${result}\n`);
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

  test('CLONE_FROM=primary with PRIMARY_ORDINAL=1 (after a switchover): ordinal 0 and 2 clone from mysql-1', () => {
    for (const pod of ['mysql-0', 'mysql-2']) {
      fs.rmSync(data, { recursive: true });
      fs.mkdirSync(data);
      const r = box.run(SCRIPT, { ...env, POD_NAME: pod, CLONE_FROM: 'primary', PRIMARY_ORDINAL: '1' });
      expect(r.status).toBe(0);
      expect(r.calls.find((c) => c.name === 'socat')!.args[1]).toBe(
        'TCP:mysql-1.mysql:3307,connect-timeout=30',
      );
    }
  });

  test('fails if PRIMARY_ORDINAL is not an ordinal', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', PRIMARY_ORDINAL: '-1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("PRIMARY_ORDINAL must be a pod ordinal, got '-1'");
    expect(r.calls).toEqual([]);
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

  describe('ordinal 0 with an empty data directory (the primary lost its volume, or a new cluster)', () => {
    const UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
    const asked = (calls: Call[]) =>
      calls.filter((c) => c.name === 'mysql').map((c) => c.args[c.args.indexOf('-h') + 1]);

    test('no peer holds data (a new cluster): starts empty; asks until two names in a row do not resolve', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('no peer holds data; it starts from an empty data directory');
      expect(asked(r.calls)).toEqual(['mysql-1.mysql', 'mysql-2.mysql']);
      expect(r.calls.filter((c) => c.name === 'mysql')[0].args).toEqual([
        '-h',
        'mysql-1.mysql',
        '-P',
        '3306',
        '-u',
        'root',
        '--connect-timeout=5',
        '-N',
        '-B',
        '-e',
        'SELECT 1',
      ]);
      expect(names(r.calls)).not.toContain('socat');
      expect(ls(data)).toEqual([]);
    });

    test('refuse (workshop): a replica holds data, so it refuses with a message naming it; nothing is cloned or created', () => {
      peer('mysql-1.mysql', '1');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        "clone-mysql: refusing to initialize an empty primary: mysql-0's data directory is empty but mysql-1.mysql hold(s) a database, and the replicas would follow an empty primary.",
      );
      expect(r.stderr).toContain("see README 'Primary volume lost'");
      expect(names(r.calls)).not.toContain('socat');
      expect(ls(data)).toEqual([]);
    });

    test('a gap in the ordinals (mysql-1 gone, mysql-2 there) still finds the data', () => {
      peer('mysql-2.mysql', '1');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(1);
      expect(asked(r.calls)).toEqual(['mysql-1.mysql', 'mysql-2.mysql', 'mysql-3.mysql', 'mysql-4.mysql']);
      expect(r.stderr).toContain('but mysql-2.mysql hold(s) a database');
    });

    test('a peer that exists but does not answer may hold data: fail (the kubelet retries), never start empty', () => {
      fs.writeFileSync(path.join(box.root, 'peers', 'mysql-1.mysql.down'), '');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        "mysql-1.mysql exists but does not answer (ERROR 2003 (HY000): Can't connect",
      );
      expect(r.stderr).toContain('it may hold data');
      expect(ls(data)).toEqual([]);
    });

    test('clone (GTIDs): clones the primary from the most advanced replica, asking as the replication user', () => {
      peer('mysql-1.mysql', `${UUID}:1-5\n`);
      peer('mysql-2.mysql', `${UUID}:1-9\n`);
      subset(`${UUID}:1-9`, `${UUID}:1-5`, 0);
      subset(`${UUID}:1-5`, `${UUID}:1-9`, 1);
      const cnf = box.dir('cnf');
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', EMPTY_PRIMARY: 'clone', CLIENT_CNF_DIR: cnf });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(
        `cloning the primary from the most advanced replica mysql-2.mysql (executed GTID set ${UUID}:1-9)`,
      );
      expect(r.calls.find((c) => c.name === 'socat')!.args[1]).toBe(
        'TCP:mysql-2.mysql:3307,connect-timeout=30',
      );
      const first = r.calls.find((c) => c.name === 'mysql')!.args;
      expect(first.slice(0, 2)).toEqual([`--defaults-extra-file=${cnf}/replication.cnf`, '-h']);
      expect(first.slice(-1)).toEqual(['SELECT @@GLOBAL.gtid_executed']);
      // the backup's coordinates stay for the sidecar, which takes over its GTID state
      expect(ls(data)).toEqual(['ibdata1', 'mysql', 'prepared', 'xtrabackup_binlog_info']);
    });

    test('clone: refuses to choose when no replica contains all the others (they diverged)', () => {
      peer('mysql-1.mysql', `${UUID}:1-5,${UUID.replace('3e', '4f')}:1`);
      peer('mysql-2.mysql', `${UUID}:1-9`);
      subset(`${UUID}:1-9`, `${UUID}:1-5,${UUID.replace('3e', '4f')}:1`, 0);
      subset(`${UUID}:1-5,${UUID.replace('3e', '4f')}:1`, `${UUID}:1-9`, 0);
      const r = box.run(SCRIPT, {
        ...env,
        POD_NAME: 'mysql-0',
        EMPTY_PRIMARY: 'clone',
        CLIENT_CNF_DIR: box.dir('cnf'),
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        "refusing to choose a new primary: no replica's executed GTID set contains all the others'",
      );
      expect(names(r.calls)).not.toContain('socat');
    });

    test('PRIMARY_ORDINAL=1: the empty primary is mysql-1; it asks mysql-0 (below it, always) and the ordinals above', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', PRIMARY_ORDINAL: '1' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('ordinal 1 is the primary and no peer holds data');
      expect(asked(r.calls)).toEqual(['mysql-0.mysql', 'mysql-2.mysql', 'mysql-3.mysql']);
      peer('mysql-0.mysql', '1');
      const refused = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', PRIMARY_ORDINAL: '1' });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain(
        "mysql-1's data directory is empty but mysql-0.mysql hold(s) a database",
      );
    });

    test('PRIMARY_ORDINAL=1: mysql-0 with an empty volume is a replica: it clones from the previous pod, asks nobody', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', PRIMARY_ORDINAL: '1', CLONE_FROM: 'primary' });
      expect(r.status).toBe(0);
      expect(asked(r.calls)).toEqual([]);
      expect(r.calls.find((c) => c.name === 'socat')!.args[1]).toBe(
        'TCP:mysql-1.mysql:3307,connect-timeout=30',
      );
    });

    test('fails if EMPTY_PRIMARY is unknown', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0', EMPTY_PRIMARY: 'init' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("EMPTY_PRIMARY must be 'refuse' or 'clone', got 'init'");
    });

    test('an existing database on ordinal 0 is used as is: no peer is asked', () => {
      fs.mkdirSync(path.join(data, 'mysql'));
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
      expect(r.status).toBe(0);
      expect(r.calls).toEqual([]);
    });
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
  describe('TLS_CLIENT_DIR: the stream over mutual TLS', () => {
    let tls: string;
    beforeEach(() => {
      tls = box.dir('tls-client');
      for (const f of ['ca.crt', 'tls.crt', 'tls.key']) fs.writeFileSync(path.join(tls, f), `${f}\n`);
    });

    test('presents the client certificate and verifies the serving pod against ca.crt and its name', () => {
      const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-2', CLONE_FROM: 'primary', TLS_CLIENT_DIR: tls });
      expect(r.status).toBe(0);
      expect(r.calls.find((c) => c.name === 'socat')!.args).toEqual([
        '-u',
        `OPENSSL:mysql-0.mysql:3307,connect-timeout=30,cert=${tls}/tls.crt,key=${tls}/tls.key,cafile=${tls}/ca.crt,verify=1`,
        'STDOUT',
      ]);
      expect(r.stdout).toContain(
        'streaming a backup from mysql-0.mysql:3307 (attempt 1 of 5) over mutual TLS',
      );
    });

    test('fails if a certificate file is unreadable or the path is not plain: no stream is tried', () => {
      fs.rmSync(path.join(tls, 'ca.crt'));
      let r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', TLS_CLIENT_DIR: tls });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`cannot read ${tls}/ca.crt (the Secret volume of the client certificate)`);
      r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1', TLS_CLIENT_DIR: '/a b' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("TLS_CLIENT_DIR must be a plain path, got '/a b'");
      expect(r.calls.filter((c) => c.name === 'socat')).toEqual([]);
    });
  });

  test('a stream that delivers no file (the peer refused: busy, refused replication, failed handshake) is retried', () => {
    const tries = path.join(box.root, 'tries');
    // First connection: the peer closes at once (socat exits 0 with nothing); then a real backup.
    box.fake(
      'socat',
      `n=$(( $(cat ${tries} 2>/dev/null || echo 0) + 1 )); echo $n >${tries}; [[ $n == 1 ]] && exit 0; tar -C "${path.join(box.root, 'backup')}" -cf - .`,
    );
    box.fake('xbstream', '[[ -s $FAKE_STDIN ]] || exit 0; tar -C "$3" -xf "$FAKE_STDIN"');
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('clone-mysql: mysql-0.mysql sent no backup (it refused the connection)');
    expect(r.calls.filter((c) => c.name === 'socat')).toHaveLength(2);
    expect(ls(data)).toEqual(['ibdata1', 'mysql', 'prepared', 'xtrabackup_binlog_info']);
  });
});
