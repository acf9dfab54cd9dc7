import * as fs from 'fs';
import * as path from 'path';
import { readBackupScript } from '../../charts/backup-chart';
import { writeFile } from '../support/fake-s3';
import { callsOf, ScriptSandbox, scriptFile } from '../support/script-runner';

// The text the pod runs (the lib-*.sh functions it calls joined in front).
const SCRIPT = scriptFile(readBackupScript('volume-snapshot'));
const API = '/apis/snapshot.storage.k8s.io/v1/namespaces/mysql-production/volumesnapshots';
const status = (io: string, sql: string, lag: string) =>
  `           Replica_IO_Running: ${io}\n          Replica_SQL_Running: ${sql}\n        Seconds_Behind_Source: ${lag}\n`;
const snapshot = (name: string, created: string, ready: boolean) => ({
  metadata: { name, creationTimestamp: created },
  status: { readyToUse: ready },
});

describe('volume-snapshot.sh', () => {
  let box: ScriptSandbox;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    writeFile(box, 'status/mysql-1.mysql', status('Yes', 'Yes', '3'));
    writeFile(box, 'status/mysql-2.mysql', status('Yes', 'Yes', '0'));
    box.fake(
      'mysql',
      `host=""; for ((i = 1; i <= $#; i++)); do [[ \${!i} == -h ]] && { j=$((i + 1)); host=\${!j}; }; done
case "$*" in
  *"SHOW REPLICA STATUS"*) f="${box.root}/status/$host"; [[ -f $f ]] || { echo "ERROR 2005 (HY000): Unknown host" >&2; exit 1; }; cat "$f" ;;
  *"STOP REPLICA SQL_THREAD"*) [[ ! -f "${box.root}/stop-fails" ]] ;;
  *gtid_executed*) echo "uuid:1-42" ;;
esac`,
    );
    // curl: POST stores the body, GET of one snapshot answers from api/<name>.status (default: cut), GET of the
    // list answers api/list.json, DELETE is recorded.
    box.fake(
      'curl',
      `method=""; url=""; body=""
while (($#)); do case $1 in -X) method=$2; shift 2 ;; -d) body=$2; shift 2 ;; -H|--cacert) shift 2 ;; -*) shift ;; *) url=$1; shift ;; esac; done
api="${box.root}/api"; mkdir -p "$api"
name=\${url##*/}
case $method in
  POST) printf '%s' "$body" >"$api/created.json"; echo '{}' ;;
  GET) if [[ $url == *labelSelector* ]]; then cat "$api/list.json"
       elif [[ -f "$api/$name.status" ]]; then cat "$api/$name.status"
       else echo '{"status": {"creationTime": "2025-01-01T02:17:00Z", "readyToUse": false}}'; fi ;;
  DELETE) echo "$name" >>"$api/deleted" ;;
esac`,
    );
    writeFile(box, 'api/list.json', JSON.stringify({ items: [] }));
    writeFile(box, 'sa/token', 'token');
    writeFile(box, 'sa/ca.crt', 'ca');
    env = {
      STATEFULSET: 'mysql',
      SERVICE_NAME: 'mysql',
      REPLICAS: '3',
      NAMESPACE: 'mysql-production',
      SNAPSHOT_CLASS: 'mysql-ebs-snapshots',
      SNAPSHOT_APP: 'mysql-volume-snapshot',
      ROOT_PASSWORD_FILE: writeFile(box, 'secret/root-password', 'rootpw'),
      SA_DIR: path.join(box.root, 'sa'),
      API_SERVER: 'https://api',
      WORK_DIR: box.dir('tmp'),
      POLL_SECONDS: '0',
      WAIT_SECONDS: '1',
    };
  });
  afterEach(() => box.cleanup());
  const sqlOf = (r: ReturnType<ScriptSandbox['run']>) =>
    callsOf(r.calls, 'mysql')
      .map((c) => `${c.args[c.args.indexOf('-h') + 1]}: ${c.args[c.args.length - 1]}`)
      .filter((s) => !s.includes('SHOW REPLICA STATUS'));

  test('stops the healthiest replica SQL thread, snapshots its claim, waits for the cut, starts it again', () => {
    const r = box.run(SCRIPT, env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(sqlOf(r)).toEqual([
      'mysql-2.mysql: STOP REPLICA SQL_THREAD',
      'mysql-2.mysql: SELECT @@GLOBAL.gtid_executed',
      'mysql-2.mysql: START REPLICA SQL_THREAD',
    ]);
    const created = JSON.parse(fs.readFileSync(path.join(box.root, 'api/created.json'), 'utf8'));
    expect(created).toMatchObject({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: {
        namespace: 'mysql-production',
        labels: { app: 'mysql-volume-snapshot' },
        annotations: { 'mysql.backup/source-pod': 'mysql-2', 'mysql.backup/gtid-executed': 'uuid:1-42' },
      },
      spec: {
        volumeSnapshotClassName: 'mysql-ebs-snapshots',
        source: { persistentVolumeClaimName: 'data-mysql-2' },
      },
    });
    expect(created.metadata.name).toMatch(/^data-mysql-2-\d{14}$/);
    const post = callsOf(r.calls, 'curl').find((c) => c.args.includes('POST'))!;
    expect(post.args).toContain(`https://api${API}`);
    expect(post.args).toContain('Authorization: Bearer token');
    expect(r.stdout).toContain('cut at 2025-01-01T02:17:00Z');
  });

  test('keeps the newest KEEP ready snapshots of its own and deletes the older ones', () => {
    writeFile(
      box,
      'api/list.json',
      JSON.stringify({
        items: [
          snapshot('s1', '2025-01-01T00:00:00Z', true),
          snapshot('s3', '2025-01-03T00:00:00Z', true),
          snapshot('s2', '2025-01-02T00:00:00Z', true),
          snapshot('s4', '2025-01-04T00:00:00Z', false),
        ],
      }),
    );
    const r = box.run(SCRIPT, { ...env, KEEP: '2' });
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(box.root, 'api/deleted'), 'utf8')).toBe('s1\n');
    const list = callsOf(r.calls, 'curl').find((c) => c.args.some((a) => a.includes('labelSelector')))!;
    expect(list.args).toContain(`https://api${API}?labelSelector=app%3Dmysql-volume-snapshot`);
  });

  test('never stops the primary: fails when no replica is healthy', () => {
    writeFile(box, 'status/mysql-1.mysql', status('No', 'Yes', 'NULL'));
    writeFile(box, 'status/mysql-2.mysql', status('Yes', 'Yes', '9999'));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'no healthy replica to snapshot (the primary is never stopped for a snapshot)',
    );
    expect(sqlOf(r)).toEqual([]);
    expect(callsOf(r.calls, 'curl')).toEqual([]);
  });

  test('a snapshot error fails the job, and the SQL thread is started again', () => {
    box.fake(
      'curl',
      `for a; do [[ $a == POST ]] && { echo '{}'; exit 0; }; done; echo '{"status": {"error": {"message": "EBS quota exceeded"}}}'`,
    );
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/VolumeSnapshot data-mysql-2-\d+: EBS quota exceeded/);
    expect(sqlOf(r)).toContain('mysql-2.mysql: START REPLICA SQL_THREAD');
  });

  test('a snapshot that is not cut in WAIT_SECONDS fails, and the SQL thread is started again', () => {
    box.fake('curl', `for a; do [[ $a == POST ]] && { echo '{}'; exit 0; }; done; echo '{"status": {}}'`);
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/has no creationTime after 1 s/);
    expect(sqlOf(r).pop()).toBe('mysql-2.mysql: START REPLICA SQL_THREAD');
  });

  test('fails before touching replication if the API refuses the snapshot', () => {
    box.fake('curl', 'echo "Forbidden" >&2; exit 22');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/creating VolumeSnapshot data-mysql-2-\d+ failed/);
    expect(sqlOf(r)).toEqual([
      'mysql-2.mysql: STOP REPLICA SQL_THREAD',
      'mysql-2.mysql: SELECT @@GLOBAL.gtid_executed',
      'mysql-2.mysql: START REPLICA SQL_THREAD',
    ]);
  });

  test('fails if STOP REPLICA SQL_THREAD fails, creating nothing', () => {
    writeFile(box, 'stop-fails', '');
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('STOP REPLICA SQL_THREAD on mysql-2 failed');
    expect(callsOf(r.calls, 'curl')).toEqual([]);
  });

  test('fails without a ServiceAccount token', () => {
    fs.rmSync(path.join(box.root, 'sa/token'));
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('automountServiceAccountToken must be true');
  });

  test.each([
    ['KEEP', '0', "KEEP must be at least 1, got '0'"],
    ['KEEP', 'all', "KEEP must be a number, got 'all'"],
    ['REPLICAS', 'x', "REPLICAS must be a number, got 'x'"],
  ])('fails if %s is %s', (key, value, message) => {
    const r = box.run(SCRIPT, { ...env, [key]: value });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.calls).toEqual([]);
  });

  test('the root password reaches mysql only through a 0600 option file, removed afterwards', () => {
    const r = box.run(SCRIPT, env);
    expect(r.status).toBe(0);
    for (const c of r.calls) expect(c.args.join(' ')).not.toContain('rootpw');
    expect(fs.readdirSync(env.WORK_DIR)).toEqual([]);
  });

  test('fails at once, naming the image, if a tool is missing', () => {
    fs.symlinkSync('/bin/bash', path.join(box.root, 'bin', 'bash'));
    const r = box.run(SCRIPT, { ...env, PATH: path.join(box.root, 'bin'), CONTAINER_IMAGE: 'img:1' });
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('volume-snapshot: jq not found in image img:1');
  });
});
