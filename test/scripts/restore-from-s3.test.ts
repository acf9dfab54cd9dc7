import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readBackupScript } from '../../charts/backup-chart';
import { fakeAws, fakeAwsObjects, writeFile } from '../support/fake-s3';
import { callsOf, ls, ScriptSandbox, scriptFile } from '../support/script-runner';

// The text the pod runs (the lib-*.sh functions it calls joined in front).
const SCRIPT = scriptFile(readBackupScript('restore-from-s3'));
const FOLDER = 's3://bk/prod/mysql/base/20250101T021700Z';

describe('restore-from-s3.sh', () => {
  let box: ScriptSandbox;
  let store: string;
  let target: string;
  let env: Record<string, string>;
  /** Puts a backup into the fake S3: a tar standing in for the xbstream, and its manifest. */
  const putBackup = (
    id: string,
    files: Record<string, string>,
    tamper?: (m: Record<string, unknown>) => void,
  ) => {
    const src = box.dir(`src-${id}`);
    for (const [name, content] of Object.entries(files)) writeFile(box, `src-${id}/${name}`, content);
    const dir = path.join(store, 'bk/prod/mysql/base', id);
    fs.mkdirSync(dir, { recursive: true });
    const object = path.join(dir, 'backup.xbstream');
    require('child_process').execFileSync('tar', ['-C', src, '-cf', object, '.']);
    const data = fs.readFileSync(object);
    const manifest: Record<string, unknown> = {
      format: 'mysql-physical-backup/v1',
      id,
      finishedAt: '2025-01-01T02:18:00Z',
      object: `s3://bk/prod/mysql/base/${id}/backup.xbstream`,
      size: data.length,
      sha256: crypto.createHash('sha256').update(data).digest('hex'),
      source: { pod: 'mysql-2', role: 'replica' },
    };
    tamper?.(manifest);
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  };
  beforeEach(() => {
    box = new ScriptSandbox();
    store = fakeAws(box);
    target = box.dir('data');
    putBackup('20250101T021700Z', {
      ibdata1: 'innodb',
      'mysql.ibd': 'dictionary',
      'auto.cnf': '[auto]\nserver-uuid=source\n',
      xtrabackup_binlog_info: 'binlog.000007\t4242\tuuid:1-77\n',
    });
    box.fake('xbstream', '[[ $1 == -x && $2 == -C ]] || exit 64; tar -C "$3" -xf "$FAKE_STDIN"');
    box.fake('xtrabackup', 'touch "${2#--target-dir=}/prepared"');
    env = { TARGET_DIR: target, RESTORE_FROM: FOLDER, WORK_DIR: box.dir('tmp') };
  });
  afterEach(() => box.cleanup());

  test('fetches, verifies, unpacks and prepares the backup into an empty directory', () => {
    const r = box.run(SCRIPT, env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(callsOf(r.calls, 'aws').map((c) => c.args)).toEqual([
      ['s3', 'cp', `${FOLDER}/manifest.json`, '-', '--only-show-errors'],
      ['s3', 'cp', `${FOLDER}/backup.xbstream`, '-', '--only-show-errors'],
    ]);
    expect(callsOf(r.calls, 'xtrabackup')[0].args).toEqual(['--prepare', `--target-dir=${target}`]);
    // auto.cnf dropped (a new server_uuid); the binlog info and manifest kept for later; pending for restore-mysqld.
    expect(ls(target)).toEqual([
      '.restore-binlog-info',
      '.restore-manifest.json',
      '.restore-pending',
      'ibdata1',
      'mysql.ibd',
      'prepared',
    ]);
    expect(fs.readFileSync(path.join(target, '.restore-pending'), 'utf8')).toBe(`${FOLDER}\n`);
    expect(r.stdout).toContain('verified: ');
  });

  test('RESTORE_FROM=latest takes the newest folder that has a manifest', () => {
    putBackup('20250102T021700Z', { ibdata1: 'newer' });
    fs.mkdirSync(path.join(store, 'bk/prod/mysql/base/20250103T021700Z'));
    fs.writeFileSync(path.join(store, 'bk/prod/mysql/base/20250103T021700Z/backup.xbstream'), 'incomplete');
    const r = box.run(SCRIPT, { ...env, RESTORE_FROM: 'latest', BACKUP_URI: 's3://bk/prod/mysql' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('latest complete backup: s3://bk/prod/mysql/base/20250102T021700Z');
    expect(fs.readFileSync(path.join(target, 'ibdata1'), 'utf8')).toBe('newer');
  });

  test('fails if there is no complete backup for RESTORE_FROM=latest', () => {
    fs.rmSync(path.join(store, 'bk/prod/mysql/base/20250101T021700Z/manifest.json'));
    const r = box.run(SCRIPT, { ...env, RESTORE_FROM: 'latest', BACKUP_URI: 's3://bk/prod/mysql' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'no complete backup (a folder with manifest.json) under s3://bk/prod/mysql/base/',
    );
  });

  test('a replica (ordinal >= 1) restores nothing: it clones from the restored primary', () => {
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-1' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('mysql-1 is a replica');
    expect(r.calls).toEqual([]);
    expect(ls(target)).toEqual([]);
  });

  test('refuses to restore over data that no restore wrote, touching nothing', () => {
    writeFile(box, 'data/mysql.ibd', 'live data');
    const r = box.run(SCRIPT, { ...env, POD_NAME: 'mysql-0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is not empty (mysql.ibd ): refusing to restore over existing data');
    expect(r.calls).toEqual([]);
    expect(ls(target)).toEqual(['mysql.ibd']);
  });

  test('an empty volume with lost+found counts as empty', () => {
    fs.mkdirSync(path.join(target, 'lost+found'));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
  });

  test('restored before from the same backup: nothing to do', () => {
    expect(box.run(SCRIPT, env).status).toBe(0);
    fs.renameSync(path.join(target, '.restore-pending'), path.join(target, '.restored-from'));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`already restored from ${FOLDER} (.restored-from); nothing to do`);
    expect(r.calls).toEqual([]);
  });

  test('refuses a second restore from another backup', () => {
    writeFile(box, 'data/.restored-from', 's3://bk/prod/mysql/base/20241231T021700Z\n');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `was restored from s3://bk/prod/mysql/base/20241231T021700Z, not ${FOLDER}; refusing`,
    );
  });

  test('an interrupted restore is cleared and started over', () => {
    writeFile(box, 'data/.restore-incomplete', '');
    writeFile(box, 'data/half.ibd', 'half');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('an earlier restore did not finish');
    expect(ls(target)).not.toContain('half.ibd');
    expect(ls(target)).not.toContain('.restore-incomplete');
  });

  test('fails, clearing the directory, if the object does not match the manifest (corrupted)', () => {
    putBackup('20250101T021700Z', { ibdata1: 'innodb' }, (m) => {
      m.sha256 = '0'.repeat(64);
    });
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /backup\.xbstream is corrupted: read \d+ bytes with sha256 [0-9a-f]{64}, the manifest says \d+ bytes with sha256 0{64}/,
    );
    expect(callsOf(r.calls, 'xtrabackup')).toEqual([]);
    expect(ls(target)).toEqual(['.restore-incomplete']);
  });

  test('fails if the manifest names another object', () => {
    putBackup('20250101T021700Z', { ibdata1: 'innodb' }, (m) => {
      m.object = 's3://bk/other/backup.xbstream';
    });
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('manifest.json names another object: s3://bk/other/backup.xbstream');
  });

  test('fails if the manifest cannot be read', () => {
    const r = box.run(SCRIPT, { ...env, RESTORE_FROM: 's3://bk/prod/mysql/base/20990101T000000Z' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('cannot read s3://bk/prod/mysql/base/20990101T000000Z/manifest.json');
  });

  test('fails, clearing the directory, if xbstream cannot unpack it', () => {
    box.fake('xbstream', 'exit 1');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('xbstream could not unpack');
    expect(ls(target)).toEqual(['.restore-incomplete']);
  });

  test('fails if --prepare fails', () => {
    box.fake('xtrabackup', 'exit 1');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('xtrabackup --prepare failed');
    expect(ls(target)).toEqual(['.restore-incomplete']);
  });

  test('fails if RESTORE_FROM is not a backup folder', () => {
    const r = box.run(SCRIPT, { ...env, RESTORE_FROM: 's3://bk/prod/mysql/base/' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "RESTORE_FROM must be a backup folder s3://bucket/prefix/base/<YYYYMMDDTHHMMSSZ> or latest, got 's3://bk/prod/mysql/base/'",
    );
    expect(r.calls).toEqual([]);
  });

  test('fails at once, naming the image, if a tool is missing', () => {
    fs.symlinkSync('/bin/bash', path.join(box.root, 'bin', 'bash'));
    const r = box.run(SCRIPT, { ...env, PATH: path.join(box.root, 'bin'), CONTAINER_IMAGE: 'img:1' });
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('restore-from-s3: jq not found in image img:1');
  });
});

describe('restore-from-s3.sh with RESTORE_TO_TIME (point in time)', () => {
  const UUID_A = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
  const UUID_B = '4f22fb58-82db-22f2-af44-d91bb953a673';
  let box: ScriptSandbox;
  let store: string;
  let target: string;
  let env: Record<string, string>;
  const at = (iso: string) => new Date(iso);
  /** An archived binlog: its "events" are mysqlbinlog-style header lines at the given times. */
  const putBinlog = (uuid: string, name: string, uploaded: string, eventTimes: string[], sha?: string) => {
    const key = path.join(store, 'bk/prod/mysql/binlogs', uuid, name);
    fs.mkdirSync(path.dirname(key), { recursive: true });
    const body = eventTimes.map((t) => `#${t} server id 100  end_log_pos 1 CRC32 0x0 Query\n`).join('');
    fs.writeFileSync(key, body);
    fs.writeFileSync(
      `${key}.meta`,
      `sha256=${sha ?? crypto.createHash('sha256').update(body).digest('hex')}\n`,
    );
    fs.utimesSync(key, at(uploaded), at(uploaded));
  };
  beforeEach(() => {
    box = new ScriptSandbox();
    store = fakeAwsObjects(box);
    target = box.dir('data');
    const src = box.dir('src');
    writeFile(box, 'src/ibdata1', 'innodb');
    const dir = path.join(store, 'bk/prod/mysql/base/20250101T021700Z');
    fs.mkdirSync(dir, { recursive: true });
    const object = path.join(dir, 'backup.xbstream');
    require('child_process').execFileSync('tar', ['-C', src, '-cf', object, '.']);
    const data = fs.readFileSync(object);
    fs.writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({
        format: 'mysql-physical-backup/v1',
        startedAt: '2025-01-01T02:17:00Z',
        finishedAt: '2025-01-01T02:18:00Z',
        object: `${FOLDER}/backup.xbstream`,
        size: data.length,
        sha256: crypto.createHash('sha256').update(data).digest('hex'),
        source: { pod: 'mysql-2', role: 'replica', secondsBehindSource: 60 },
        binlog: { file: 'binlog.000003', position: 157, gtidSet: `${UUID_A}:1-77` },
      }),
    );
    // Closed before the backup started (less the lag and the slack): skipped. The others: replayed in order.
    putBinlog(UUID_A, 'binlog.000001', '2025-01-01T01:00:00Z', ['250101 00:30:00', '250101 01:00:00']);
    putBinlog(UUID_A, 'binlog.000002', '2025-01-01T02:10:00Z', ['250101 01:00:00', '250101 02:10:00']);
    putBinlog(UUID_A, 'binlog.000003', '2025-01-01T03:00:00Z', ['250101 02:10:00', '250101 03:00:00']);
    putBinlog(UUID_B, 'binlog.000001', '2025-01-01T04:00:00Z', ['250101 03:00:05', '250101  4:00:00']);
    box.fake('xbstream', '[[ $1 == -x && $2 == -C ]] || exit 64; tar -C "$3" -xf "$FAKE_STDIN"');
    box.fake('xtrabackup', 'touch "${2#--target-dir=}/prepared"');
    // Decodes by printing the files; with --stop-datetime, also the options it got (the replay's header).
    box.fake(
      'mysqlbinlog',
      `opts=(); files=(); for a in "$@"; do [[ $a == --* ]] && opts+=("$a") || files+=("$a"); done
((\${#opts[@]} == 0)) || echo "-- options: \${opts[*]}"
for f in "\${files[@]}"; do echo "-- file \${f##*/}"; cat "$f"; done`,
    );
    env = {
      TARGET_DIR: target,
      RESTORE_FROM: FOLDER,
      WORK_DIR: box.dir('tmp'),
      RESTORE_TO_TIME: '2025-01-01 03:30:00',
      BINLOG_URI: 's3://bk/prod/mysql/binlogs',
    };
  });
  afterEach(() => box.cleanup());

  test('downloads the binlogs uploaded since the backup (less lag and slack), verified, and decodes them up to the time, excluding the backup GTID set', () => {
    const r = box.run(SCRIPT, env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const sql = fs.readFileSync(path.join(target, '.restore-pitr.sql'), 'utf8');
    expect(sql.split('\n')[0]).toBe(
      `-- options: --exclude-gtids=${UUID_A}:1-77 --stop-datetime=2025-01-01 03:30:00`,
    );
    // Server A's files in name order, then server B's (first archived later); binlog.000001 of A skipped.
    expect(sql.match(/^-- file .*$/gm)).toEqual([
      '-- file 0001-binlog.000002',
      '-- file 0002-binlog.000003',
      '-- file 0003-binlog.000001',
    ]);
    expect(fs.readFileSync(path.join(target, '.restore-to-time'), 'utf8')).toBe('2025-01-01 03:30:00\n');
    // The downloaded files are gone; the decoded SQL and the time stay for restore-mysqld.
    expect(ls(target)).toEqual([
      '.restore-manifest.json',
      '.restore-pending',
      '.restore-pitr.sql',
      '.restore-to-time',
      'ibdata1',
      'prepared',
    ]);
    expect(r.stdout).toContain('downloaded 3 archived binary log(s) uploaded since 2025-01-01T02:06:00Z');
    expect(r.stdout).toContain('the archive reaches 2025-01-01 4:00:00 UTC');
  });

  test('fails if the time is before the backup finished, downloading nothing', () => {
    const r = box.run(SCRIPT, { ...env, RESTORE_TO_TIME: '2025-01-01 02:17:59' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `restore.toTime 2025-01-01 02:17:59 UTC is before backup ${FOLDER} finished (2025-01-01T02:18:00Z): choose an older backup (restore.from) or a later time`,
    );
    expect(callsOf(r.calls, 'aws')).toHaveLength(1);
    expect(ls(target)).toEqual([]);
  });

  test('fails, clearing the directory, if the time is after the last archived event', () => {
    const r = box.run(SCRIPT, { ...env, RESTORE_TO_TIME: '2025-01-01 04:00:01' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'restore.toTime 2025-01-01 04:00:01 UTC is after the last archived event (2025-01-01 4:00:00 UTC): the archive does not reach it',
    );
    expect(ls(target)).toEqual(['.restore-incomplete']);
  });

  test('fails if the archiver recorded a gap after the backup', () => {
    const gap = path.join(store, 'bk/prod/mysql/binlogs', UUID_A, 'gap-after-binlog.000002.json');
    fs.writeFileSync(gap, '{}');
    fs.utimesSync(gap, at('2025-01-01T03:10:00Z'), at('2025-01-01T03:10:00Z'));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the binlog archive has a gap after binlog.000002');
    expect(ls(target)).toEqual(['.restore-incomplete']);
  });

  test('fails if an archived binlog does not match its sha256', () => {
    putBinlog(UUID_A, 'binlog.000003', '2025-01-01T03:00:00Z', ['250101 03:00:00'], '0'.repeat(64));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /binlogs\/3e11.*\/binlog\.000003 is corrupted: sha256 [0-9a-f]{64}, its metadata says 0{64}/,
    );
  });

  test('fails if nothing was archived after the backup', () => {
    fs.rmSync(path.join(store, 'bk/prod/mysql/binlogs'), { recursive: true });
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no archived binary logs under s3://bk/prod/mysql/binlogs/ after backup');
  });

  test('fails on a RESTORE_TO_TIME that is not "YYYY-MM-DD HH:MM:SS", or without BINLOG_URI', () => {
    const r = box.run(SCRIPT, { ...env, RESTORE_TO_TIME: '2025-01-01T03:30:00Z' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'RESTORE_TO_TIME must be a UTC time "YYYY-MM-DD HH:MM:SS", got \'2025-01-01T03:30:00Z\'',
    );
    const { BINLOG_URI: _, ...noUri } = env;
    const r2 = box.run(SCRIPT, noUri);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('BINLOG_URI must be s3://bucket/prefix/binlogs with RESTORE_TO_TIME');
    expect(r.calls).toEqual([]);
  });

  test('fails if the backup has no GTID set', () => {
    const m = path.join(store, 'bk/prod/mysql/base/20250101T021700Z/manifest.json');
    const manifest = JSON.parse(fs.readFileSync(m, 'utf8'));
    manifest.binlog.gtidSet = '';
    fs.writeFileSync(m, JSON.stringify(manifest));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('has no GTID set in its manifest: binary logs cannot be replayed onto it');
  });
});
