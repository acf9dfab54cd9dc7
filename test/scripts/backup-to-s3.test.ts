import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readBackupScript } from '../../charts/backup-chart';
import { fakeAws, writeFile, xbstream } from '../support/fake-s3';
import { callsOf, ScriptSandbox, scriptFile } from '../support/script-runner';

// The text the pod runs (the lib-*.sh functions it calls joined in front).
const SCRIPT = scriptFile(readBackupScript('backup-to-s3'));
const PASSWORD = `p'w"\\ $x`;
const GTID = '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,\n5a2c0d2e-0000-4db0-8000-000000000001:1-3';
const STREAM = xbstream([
  ['ibdata1', 'innodb pages'],
  ['test/t.ibd', 'table pages'],
  ['xtrabackup_binlog_info', `binlog.000007\t4242\t${GTID}\n`],
  ['xtrabackup_checkpoints', 'backup_type = full-backuped\n'],
  ['xtrabackup_info', 'tool_version = 8.4.0-6\n'],
]);
const status = (io: string, sql: string, lag: string) =>
  `*************************** 1. row ***************************\n             Replica_IO_State: Waiting\n           Replica_IO_Running: ${io}\n          Replica_SQL_Running: ${sql}\n        Seconds_Behind_Source: ${lag}\n`;

describe('backup-to-s3.sh', () => {
  let box: ScriptSandbox;
  let store: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    store = fakeAws(box);
    writeFile(box, 'stream', STREAM);
    writeFile(box, 'status/mysql-1.mysql', status('Yes', 'Yes', '4'));
    writeFile(box, 'status/mysql-2.mysql', status('Yes', 'Yes', '1'));
    // mysql: SHOW REPLICA STATUS answers from status/<host> (missing: unreachable); SELECT @@version: 8.4.3.
    box.fake(
      'mysql',
      `host=""; for ((i = 1; i <= $#; i++)); do [[ \${!i} == -h ]] && { j=$((i + 1)); host=\${!j}; }; done
if [[ "$*" == *"SHOW REPLICA STATUS"* ]]; then
  f="${box.root}/status/$host"; [[ -f $f ]] || { echo "ERROR 2005 (HY000): Unknown MySQL server host '$host'" >&2; exit 1; }
  cat "$f"
else
  echo 8.4.3
fi`,
    );
    box.fake('socat', `cat "${box.root}/stream"`);
    const pw = writeFile(box, 'secret/replication-password', PASSWORD);
    env = {
      STATEFULSET: 'mysql',
      SERVICE_NAME: 'mysql',
      REPLICAS: '3',
      BACKUP_URI: 's3://bk/prod/mysql',
      REPLICATION_USER: 'repl',
      REPLICATION_PASSWORD_FILE: pw,
      KMS_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/k1',
      EXPECTED_SIZE: '107374182400',
      WORK_DIR: box.dir('tmp'),
    };
  });
  afterEach(() => box.cleanup());
  const backups = () => fs.readdirSync(path.join(store, 'bk/prod/mysql/base'));
  const manifestOf = (id: string) =>
    JSON.parse(fs.readFileSync(path.join(store, 'bk/prod/mysql/base', id, 'manifest.json'), 'utf8'));

  test('backs up the replica with the least lag: stream -> aws s3 cp - with SSE-KMS and --expected-size', () => {
    const r = box.run(SCRIPT, env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(callsOf(r.calls, 'socat').map((c) => c.args)).toEqual([
      ['-u', 'TCP:mysql-2.mysql:3307,connect-timeout=30', 'STDOUT'],
    ]);
    const [id] = backups();
    expect(id).toMatch(/^\d{8}T\d{6}Z$/);
    const upload = callsOf(r.calls, 'aws').find((c) => c.args[2] === '-')!;
    expect(upload.args).toEqual([
      's3',
      'cp',
      '-',
      `s3://bk/prod/mysql/base/${id}/backup.xbstream`,
      '--expected-size',
      '107374182400',
      '--sse',
      'aws:kms',
      '--sse-kms-key-id',
      'arn:aws:kms:eu-west-1:111122223333:key/k1',
      '--only-show-errors',
    ]);
    expect(fs.readFileSync(path.join(store, 'bk/prod/mysql/base', id, 'backup.xbstream'))).toEqual(STREAM);
    expect(r.stdout).toContain('backup: mysql-2: replicating, 1 s behind the primary');
    expect(r.stdout).toContain('source: mysql-2 (replica, 1s behind), MySQL 8.4.3');
    expect(r.stdout).toContain('verified: s3://bk/prod/mysql/base/');
  });

  test('the manifest: sha256 and size of the stream, the GTID set and binlog position read from its tail', () => {
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    const [id] = backups();
    const m = manifestOf(id);
    expect(m).toMatchObject({
      format: 'mysql-physical-backup/v1',
      id,
      object: `s3://bk/prod/mysql/base/${id}/backup.xbstream`,
      size: STREAM.length,
      sha256: crypto.createHash('sha256').update(STREAM).digest('hex'),
      verified: 'full',
      encryption: { sse: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/k1' },
      source: { pod: 'mysql-2', role: 'replica', secondsBehindSource: 1, serverVersion: '8.4.3' },
      binlog: { file: 'binlog.000007', position: 4242, gtidSet: GTID.replace('\n', '') },
    });
    const put = callsOf(r.calls, 'aws').find((c) => c.args[3]?.endsWith('manifest.json'))!;
    expect(put.args).toContain('--sse-kms-key-id');
    expect(r.stdout).toContain(`OK: backup ${id} of mysql-2 (replica)`);
  });

  test('skips replicas that are broken, lagging or unreachable', () => {
    writeFile(box, 'status/mysql-1.mysql', status('Yes', 'No', 'NULL'));
    writeFile(box, 'status/mysql-2.mysql', status('Yes', 'Yes', '7200'));
    writeFile(box, 'status/mysql-3.mysql', status('Yes', 'Yes', '30'));
    const r = box.run(SCRIPT, { ...env, REPLICAS: '5' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(
      'mysql-1: replication not running (Replica_IO_Running=Yes Replica_SQL_Running=No Seconds_Behind_Source=NULL)',
    );
    expect(r.stdout).toContain('mysql-2: 7200 s behind the primary (more than MAX_LAG_SECONDS=3600)');
    expect(r.stdout).toContain(
      "mysql-4: cannot read its replication status (ERROR 2005 (HY000): Unknown MySQL server host 'mysql-4.mysql')",
    );
    expect(callsOf(r.calls, 'socat')[0].args[1]).toBe('TCP:mysql-3.mysql:3307,connect-timeout=30');
  });

  test('a tie goes to the lowest ordinal', () => {
    writeFile(box, 'status/mysql-2.mysql', status('Yes', 'Yes', '4'));
    const r = box.run(SCRIPT, env);
    expect(callsOf(r.calls, 'socat')[0].args[1]).toBe('TCP:mysql-1.mysql:3307,connect-timeout=30');
  });

  test('backs up the primary, with a warning, when no replica is healthy', () => {
    writeFile(box, 'status/mysql-1.mysql', status('No', 'Yes', 'NULL'));
    fs.rmSync(path.join(box.root, 'status/mysql-2.mysql'));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('WARNING: no healthy replica; backing up the primary mysql-0');
    expect(callsOf(r.calls, 'socat')[0].args[1]).toBe('TCP:mysql-0.mysql:3307,connect-timeout=30');
    expect(manifestOf(backups()[0]).source).toMatchObject({ pod: 'mysql-0', role: 'primary' });
  });

  test('a single-pod StatefulSet backs up its primary without a warning', () => {
    const r = box.run(SCRIPT, { ...env, REPLICAS: '1' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('no replicas; backing up the primary mysql-0');
    expect(r.stdout).not.toContain('WARNING');
  });

  test('TLS: the client certificate, key, CA and server name go to socat OPENSSL', () => {
    const r = box.run(SCRIPT, {
      ...env,
      BACKUP_TLS_CA: '/tls/ca.crt',
      BACKUP_TLS_CERT: '/tls/tls.crt',
      BACKUP_TLS_KEY: '/tls/tls.key',
      BACKUP_TLS_SERVER_NAME: 'mysql-backup.mysql-production.svc',
    });
    expect(r.status).toBe(0);
    expect(callsOf(r.calls, 'socat')[0].args[1]).toBe(
      'OPENSSL:mysql-2.mysql:3307,connect-timeout=30,cafile=/tls/ca.crt,cert=/tls/tls.crt,key=/tls/tls.key,commonname=mysql-backup.mysql-production.svc,verify=1',
    );
  });

  test('fails if only some TLS settings are given', () => {
    const r = box.run(SCRIPT, { ...env, BACKUP_TLS_CA: '/tls/ca.crt' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'set all of BACKUP_TLS_CA, BACKUP_TLS_CERT, BACKUP_TLS_KEY, BACKUP_TLS_SERVER_NAME, or none',
    );
    expect(r.calls).toEqual([]);
  });

  test('S3_ENDPOINT_URL goes to every aws call', () => {
    const r = box.run(SCRIPT, { ...env, S3_ENDPOINT_URL: 'http://10.0.0.1:9000' });
    expect(r.status).toBe(0);
    const aws = callsOf(r.calls, 'aws');
    expect(aws.length).toBeGreaterThanOrEqual(4);
    for (const c of aws) expect(c.args.slice(0, 2)).toEqual(['--endpoint-url', 'http://10.0.0.1:9000']);
  });

  test('VERIFY=size compares the size only', () => {
    const r = box.run(SCRIPT, { ...env, VERIFY: 'size' });
    expect(r.status).toBe(0);
    const reads = callsOf(r.calls, 'aws').filter(
      (c) => c.args[2]?.endsWith('backup.xbstream') && c.args[3] === '-',
    );
    expect(reads).toEqual([]);
    expect(manifestOf(backups()[0]).verified).toBe('size');
  });

  test('the password reaches mysql only through a 0600 option file, removed afterwards', () => {
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    for (const c of r.calls) expect(c.args.join(' ')).not.toContain('p\'w"');
    const mysql = callsOf(r.calls, 'mysql')[0].args;
    expect(mysql[0]).toBe(`--defaults-extra-file=${env.WORK_DIR}/backup-client.cnf`);
    expect(fs.readdirSync(env.WORK_DIR)).toEqual([]);
  });

  test('fails, and writes no manifest, if the stream lacks xtrabackup_checkpoints (XtraBackup died)', () => {
    writeFile(box, 'stream', xbstream([['ibdata1', 'innodb pages']]));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the stream does not end with xtrabackup_checkpoints');
    expect(fs.readdirSync(path.join(store, 'bk/prod/mysql/base', backups()[0]))).toEqual(['backup.xbstream']);
  });

  test('fails if the stream is empty', () => {
    writeFile(box, 'stream', '');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the backup stream from mysql-2.mysql was empty');
  });

  test('fails if the stream breaks off (socat fails)', () => {
    box.fake('socat', `cat "${box.root}/stream"; exit 1`);
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('reading the backup stream from mysql-2.mysql:3307 failed (socat exit 1)');
  });

  test('fails if the upload fails', () => {
    writeFile(box, 's3/.fail-upload', '');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /uploading to s3:\/\/bk\/prod\/mysql\/base\/\d{8}T\d{6}Z\/backup.xbstream failed \(aws exit 1\)/,
    );
  });

  test('fails, without a manifest, if the object reads back different from what was sent', () => {
    writeFile(box, 's3/.corrupt-after-upload', '');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/holds \d+ bytes, \d+ were sent/);
    expect(fs.readdirSync(path.join(store, 'bk/prod/mysql/base', backups()[0]))).toEqual(['backup.xbstream']);
  });

  test('fails, without a manifest, if the object reads back with another sha256', () => {
    writeFile(box, 's3/.flip-after-upload', '');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/reads back with sha256 [0-9a-f]{64}, [0-9a-f]{64} was sent/);
    expect(fs.readdirSync(path.join(store, 'bk/prod/mysql/base', backups()[0]))).toEqual(['backup.xbstream']);
  });

  test('fails if the manifest reads back differently', () => {
    writeFile(box, 's3/.alter-manifest', '');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/manifest.json reads back differently/);
  });

  test.each([
    ['REPLICAS', 'three', "REPLICAS must be a number, got 'three'"],
    [
      'BACKUP_URI',
      's3://bk/prefix/',
      "BACKUP_URI must be s3://bucket/prefix without a trailing slash, got 's3://bk/prefix/'",
    ],
    ['VERIFY', 'maybe', "VERIFY must be 'full' or 'size', got 'maybe'"],
    ['EXPECTED_SIZE', '50Gi', "EXPECTED_SIZE must be a number of bytes, got '50Gi'"],
  ])('fails if %s is %s', (key, value, message) => {
    const r = box.run(SCRIPT, { ...env, [key]: value });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.calls).toEqual([]);
  });

  test('fails at once, naming the image, if a tool is missing', () => {
    // Only bash and the fakes (aws, mysql, socat) on PATH: jq is the first tool missing.
    fs.symlinkSync('/bin/bash', path.join(box.root, 'bin', 'bash'));
    const r = box.run(SCRIPT, { ...env, PATH: path.join(box.root, 'bin'), CONTAINER_IMAGE: 'img:1' });
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('backup: jq not found in image img:1');
  });
});
