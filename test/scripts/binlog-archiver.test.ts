import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readBackupScript } from '../../charts/backup-chart';
import { fakeAwsObjects } from '../support/fake-s3';
import { callsOf, ls, ScriptSandbox, scriptFile } from '../support/script-runner';

// The text the pod runs (the lib-*.sh functions it calls joined in front).
const SCRIPT = scriptFile(readBackupScript('binlog-archiver'));
const UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const FOLDER = `prod/mysql/binlogs/${UUID}`;

/**
 * The primary, faked: `mysql` answers server_uuid, SHOW BINARY LOGS (the lines of <root>/server-logs) and
 * FLUSH BINARY LOGS (asks the fake mysqlbinlog to rotate); `mysqlbinlog` writes its start file into the
 * result directory and then follows <root>/ctl: `append` adds events to the open file, `rotate` (or a FLUSH)
 * opens the next one, `exit` ends it with status 1 (a lost connection).
 */
function fakePrimary(box: ScriptSandbox, serverLogs: string[]) {
  const ctl = box.dir('ctl');
  fs.writeFileSync(
    path.join(box.root, 'server-logs'),
    serverLogs.map((l) => `${l}\t1234\tNo`).join('\n') + '\n',
  );
  box.fake(
    'mysql',
    `sql=""; while (($#)); do [[ $1 == -e ]] && sql=$2; shift; done
case $sql in
  'SELECT @@GLOBAL.server_uuid') cat "${box.root}/uuid" 2>/dev/null || echo ${UUID} ;;
  'SHOW BINARY LOGS') cat "${box.root}/server-logs" ;;
  'FLUSH BINARY LOGS') touch "${ctl}/rotate" ;;
  *) echo "fake mysql: unexpected $sql" >&2; exit 1 ;;
esac`,
  );
  box.fake(
    'mysqlbinlog',
    `dir=""; for a in "$@"; do [[ $a == --result-file=* ]] && dir=\${a#--result-file=}; done
file=\${!#}
next() { local b=\${1%.*} n=\${1##*.}; printf '%s.%0*d' "$b" "\${#n}" $((10#$n + 1)); }
printf 'header-of-%s;' "$file" >"$dir$file"
while true; do
  [[ -f "${ctl}/exit" ]] && { rm -f "${ctl}/exit"; exit 1; }
  [[ -f "${ctl}/append" ]] && { rm -f "${ctl}/append"; printf 'event;' >>"$dir$file"; }
  if [[ -f "${ctl}/rotate" ]]; then
    rm -f "${ctl}/rotate"; printf 'rotate;' >>"$dir$file"; file=$(next "$file"); printf 'header-of-%s;' "$file" >"$dir$file"
  fi
  sleep 0.05
done`,
  );
  return ctl;
}

describe('binlog-archiver.sh', () => {
  let box: ScriptSandbox;
  let store: string;
  let ctl: string;
  let spool: string;
  let env: Record<string, string>;
  const objects = () =>
    fs.existsSync(path.join(store, 'bk', FOLDER)) ? ls(path.join(store, 'bk', FOLDER)) : [];
  const touch = (name: string) => fs.writeFileSync(path.join(ctl, name), '');
  beforeEach(() => {
    box = new ScriptSandbox();
    store = fakeAwsObjects(box);
    ctl = fakePrimary(box, ['binlog.000001', 'binlog.000002']);
    spool = box.dir('spool');
    fs.writeFileSync(path.join(box.root, 'repl-password'), 'pa"ss\\word');
    env = {
      PRIMARY_HOST: 'mysql-0.mysql',
      BINLOG_URI: 's3://bk/prod/mysql/binlogs',
      KMS_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/k1',
      REPLICATION_USER: 'repl',
      REPLICATION_PASSWORD_FILE: path.join(box.root, 'repl-password'),
      SPOOL_DIR: spool,
      UPLOAD_INTERVAL_SECONDS: '1',
      RETRY_SECONDS: '1',
      ROTATE_SECONDS: '3600',
    };
  });
  afterEach(() => box.cleanup());

  test('streams from the oldest binlog when S3 is empty; uploads each closed file with SSE-KMS and its sha256, never the open one', async () => {
    const run = box.start(SCRIPT, {
      ...env,
      ARCHIVER_TLS_CA: '/tls/ca.crt',
      ARCHIVER_TLS_CERT: '/tls/tls.crt',
      ARCHIVER_TLS_KEY: '/tls/tls.key',
    });
    await run.waitFor(() => box.callCount('mysqlbinlog') === 1);
    touch('append');
    await run.waitFor(() => !fs.existsSync(path.join(ctl, 'append')));
    touch('rotate');
    await run.waitFor(() => ls(path.join(spool, 'binlogs')).join() === 'binlog.000002');
    run.kill('SIGTERM');
    const r = await run.exited;
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('nothing archived yet for ' + UUID + ': starting at the primary');
    const dump = callsOf(box.calls(), 'mysqlbinlog')[0].args;
    expect(dump).toEqual([
      `--defaults-extra-file=${spool}/archiver-client.cnf`,
      '--ssl-mode=VERIFY_IDENTITY',
      '--host=mysql-0.mysql',
      '--port=3306',
      '--read-from-remote-source=BINLOG-DUMP-GTIDS',
      '--connection-server-id=4294967000',
      '--raw',
      '--stop-never',
      `--result-file=${spool}/binlogs/`,
      'binlog.000001',
    ]);
    const body = 'header-of-binlog.000001;event;rotate;';
    const file = path.join(store, 'bk', FOLDER, 'binlog.000001');
    expect(fs.readFileSync(file, 'utf8')).toBe(body);
    const sha = crypto.createHash('sha256').update(body).digest('hex');
    expect(fs.readFileSync(`${file}.meta`, 'utf8').trim()).toBe(`sha256=${sha}`);
    const upload = callsOf(box.calls(), 'aws').find((c) => c.args[0] === 's3' && c.args[1] === 'cp')!;
    expect(upload.args.slice(3)).toEqual([
      `s3://bk/${FOLDER}/binlog.000001`,
      '--sse',
      'aws:kms',
      '--sse-kms-key-id',
      'arn:aws:kms:eu-west-1:111122223333:key/k1',
      '--metadata',
      `sha256=${sha}`,
      '--only-show-errors',
    ]);
    // The open file stays local and unarchived; the uploaded one is gone from the spool.
    expect(objects()).toEqual(['binlog.000001', 'binlog.000001.meta']);
    expect(ls(path.join(spool, 'binlogs'))).toEqual(['binlog.000002']);
    expect(r.stdout).toMatch(/archived binlog\.000001: s3:\/\/bk\/.*, 37 bytes, sha256 [0-9a-f]{64}/);
    // The client option file held the password (escaped) and the TLS files; it is removed at exit.
    expect(fs.existsSync(`${spool}/archiver-client.cnf`)).toBe(false);
  });

  test('resumes after the last archived file; a file archived already with the same size is not uploaded again', async () => {
    fs.mkdirSync(path.join(store, 'bk', FOLDER), { recursive: true });
    fs.writeFileSync(path.join(store, 'bk', FOLDER, 'binlog.000001'), 'old');
    const run = box.start(SCRIPT, env);
    await run.waitFor(() => box.callCount('mysqlbinlog') === 1);
    expect(callsOf(box.calls(), 'mysqlbinlog')[0].args.at(-1)).toBe('binlog.000002');
    run.kill('SIGTERM');
    const r = await run.exited;
    expect(r.stdout).toContain('last archived: binlog.000001; resuming at binlog.000002');
  });

  test('a gap (the next file purged before it was archived) is recorded in S3 and archiving goes on from the oldest', async () => {
    fs.mkdirSync(path.join(store, 'bk', FOLDER), { recursive: true });
    fs.writeFileSync(path.join(store, 'bk', FOLDER, 'binlog.000001'), 'old');
    fs.writeFileSync(path.join(box.root, 'server-logs'), 'binlog.000005\t100\tNo\nbinlog.000006\t100\tNo\n');
    const run = box.start(SCRIPT, env);
    await run.waitFor(() => box.callCount('mysqlbinlog') === 1);
    run.kill('SIGTERM');
    const r = await run.exited;
    expect(r.stdout).toContain(
      'ERROR: the primary no longer has binlog.000002 (its oldest is binlog.000005): the binary logs after binlog.000001 were purged before they were archived',
    );
    expect(callsOf(box.calls(), 'mysqlbinlog')[0].args.at(-1)).toBe('binlog.000005');
    const gap = JSON.parse(
      fs.readFileSync(path.join(store, 'bk', FOLDER, 'gap-after-binlog.000001.json'), 'utf8'),
    );
    expect(gap).toMatchObject({ after: 'binlog.000001', resumedAt: 'binlog.000005' });
  });

  test('rotates the open file with FLUSH BINARY LOGS once it has new events and is ROTATE_SECONDS old; an idle file is left', async () => {
    const run = box.start(SCRIPT, { ...env, ROTATE_SECONDS: '1' });
    // The first file may hold events from before the archiver started: rotated.
    await run.waitFor(() => objects().includes('binlog.000001'));
    // The file the rotation opened has only its headers: never rotated while idle.
    await new Promise((r) => setTimeout(r, 3000));
    const flushes = () =>
      callsOf(box.calls(), 'mysql').filter((c) => c.args.includes('FLUSH BINARY LOGS')).length;
    expect(flushes()).toBe(1);
    touch('append');
    await run.waitFor(() => objects().includes('binlog.000002'));
    run.kill('SIGTERM');
    const r = await run.exited;
    expect(flushes()).toBe(2);
    expect(r.stdout).toContain('rotated binlog.000002 on mysql-0.mysql');
  });

  test('when mysqlbinlog exits it drops the unfinished file and resumes from what S3 holds', async () => {
    const run = box.start(SCRIPT, env);
    await run.waitFor(() => box.callCount('mysqlbinlog') === 1);
    touch('rotate');
    await run.waitFor(() => objects().includes('binlog.000001'));
    touch('append');
    await run.waitFor(() => !fs.existsSync(path.join(ctl, 'append')));
    touch('exit');
    await run.waitFor(() => box.callCount('mysqlbinlog') === 2);
    run.kill('SIGTERM');
    const r = await run.exited;
    expect(r.stdout).toContain(
      'mysqlbinlog exited (1); uploading what it closed, dropping its unfinished file',
    );
    expect(callsOf(box.calls(), 'mysqlbinlog')[1].args.at(-1)).toBe('binlog.000002');
    // binlog.000002 was never closed: not archived.
    expect(objects()).toEqual(['binlog.000001', 'binlog.000001.meta']);
  });

  test('fails rather than overwrite an archived file of another size', async () => {
    fs.mkdirSync(path.join(store, 'bk', FOLDER), { recursive: true });
    fs.writeFileSync(path.join(store, 'bk', FOLDER, 'binlog.000001'), 'old');
    fs.writeFileSync(path.join(box.root, 'server-logs'), 'binlog.000001\t1\tNo\nbinlog.000002\t1\tNo\n');
    // S3 claims binlog.000001 but a resume would start at 000002; make the spool hold another 000001.
    const run = box.start(SCRIPT, { ...env });
    await run.waitFor(() => box.callCount('mysqlbinlog') === 1);
    fs.writeFileSync(path.join(spool, 'binlogs', 'binlog.000001'), 'different content');
    const r = await run.exited;
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `s3://bk/${FOLDER}/binlog.000001 exists with 3 bytes, the primary's binlog.000001 has 17: refusing to overwrite an archived binlog`,
    );
  });

  test('fails if an upload reads back differently', async () => {
    fs.writeFileSync(path.join(store, '.corrupt-after-upload'), '');
    const run = box.start(SCRIPT, env);
    await run.waitFor(() => box.callCount('mysqlbinlog') === 1);
    touch('rotate');
    const r = await run.exited;
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('reads back with another size or sha256 than binlog.000001');
  });

  test('fails if an upload fails', async () => {
    fs.writeFileSync(path.join(store, '.fail-1'), '');
    const run = box.start(SCRIPT, env);
    await run.waitFor(() => box.callCount('mysqlbinlog') === 1);
    touch('rotate');
    const r = await run.exited;
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`uploading binlog.000001 to s3://bk/${FOLDER}/binlog.000001 failed`);
  });

  test('fails if the primary cannot be queried, or answers an unexpected server_uuid', () => {
    fs.writeFileSync(path.join(box.root, 'uuid'), 'not-a-uuid\n');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unexpected server_uuid 'not-a-uuid' from mysql-0.mysql");
    box.fake('mysql', 'exit 1');
    const r2 = box.run(SCRIPT, env);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain('cannot query mysql-0.mysql:3306');
  });

  test('fails on a partial TLS configuration, a bad number or a bad BINLOG_URI', () => {
    const tls = box.run(SCRIPT, { ...env, ARCHIVER_TLS_CA: '/tls/ca.crt' });
    expect(tls.status).toBe(1);
    expect(tls.stderr).toContain('set all of ARCHIVER_TLS_CA, ARCHIVER_TLS_CERT, ARCHIVER_TLS_KEY, or none');
    const n = box.run(SCRIPT, { ...env, ROTATE_SECONDS: '5m' });
    expect(n.stderr).toContain("ROTATE_SECONDS must be a number, got '5m'");
    const u = box.run(SCRIPT, { ...env, BINLOG_URI: 's3://bk/' });
    expect(u.stderr).toContain(
      "BINLOG_URI must be s3://bucket/prefix without a trailing slash, got 's3://bk/'",
    );
    expect(box.calls()).toEqual([]);
  });

  test('fails at once, naming the image, if a tool is missing', () => {
    const r = box.runWith(SCRIPT, { ...env, CONTAINER_IMAGE: 'img:1' }, ['aws', 'mysql']);
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('binlog-archiver: mysqlbinlog not found in image img:1');
  });
});
