import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { backupScriptPath } from '../../charts/backup-chart';
import { fakeAws, writeFile } from '../support/fake-s3';
import { callsOf, ls, ScriptSandbox } from '../support/script-runner';

const SCRIPT = backupScriptPath('restore-from-s3');
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
