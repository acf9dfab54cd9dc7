import * as fs from 'fs';
import * as path from 'path';
import { readBackupScript } from '../../charts/backup-chart';
import { writeFile } from '../support/fake-s3';
import { callsOf, ls, ScriptSandbox, scriptFile } from '../support/script-runner';

// The text the pod runs (the lib-*.sh functions it calls joined in front).
const SCRIPT = scriptFile(readBackupScript('restore-mysqld'));
const FOLDER = 's3://bk/prod/mysql/base/20250101T021700Z';
const OK_CHECKS = [
  'table\t`mysql`.`user`',
  'mysql.user\tcheck\tstatus\tOK',
  'rows\t3',
  'table\t`test`.`t1`',
  'test.t1\tcheck\tstatus\tOK',
  'rows\t200',
].join('\n');

describe('restore-mysqld.sh', () => {
  let box: ScriptSandbox;
  let data: string;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    data = box.dir('data');
    writeFile(box, 'data/.restore-pending', `${FOLDER}\n`);
    writeFile(box, 'check-output', OK_CHECKS + '\n');
    const up = path.join(box.root, 'mysqld-up');
    const stop = path.join(box.root, 'mysqld-stop');
    box.fake(
      'mysqld',
      `[[ -f "${box.root}/mysqld-crash" ]] && exit 1; touch "${up}"; while [[ ! -f "${stop}" ]]; do sleep 0.05; done`,
    );
    box.fake('mysqladmin', `case "$*" in *ping*) [[ -f "${up}" ]] ;; *shutdown*) touch "${stop}" ;; esac`);
    box.fake(
      'mysql',
      `args="$*"
if [[ $args == *"-e SELECT @@GLOBAL.version"* ]]; then echo 8.4.3
elif [[ $args == *"-e RESET REPLICA ALL"* ]]; then [[ ! -f "${box.root}/reset-fails" ]]
elif [[ $args == *"-e SELECT @@GLOBAL.gtid_executed"* ]]; then cat "${box.root}/gtid" 2>/dev/null || echo 'u:1-77'
elif grep -q '^-- replay' "$FAKE_STDIN"; then [[ ! -f "${box.root}/replay-fails" ]] && echo 'u:1-90' >"${box.root}/gtid"
elif [[ $args == *information_schema.TABLES* ]]; then grep '^table' "${box.root}/check-output" | cut -f2
else cat "${box.root}/check-output"; fi`,
    );
    env = { DATA_DIR: data, WORK_DIR: box.dir('tmp'), START_TRIES: '50' };
  });
  afterEach(() => box.cleanup());

  test('finish: starts mysqld offline, drops the replication settings, marks the restore done', () => {
    const r = box.run(SCRIPT, { ...env, ACTION: 'finish' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const mysqld = callsOf(r.calls, 'mysqld')[0].args;
    expect(mysqld.slice(0, 1)).toEqual([`--datadir=${data}`]);
    expect(mysqld.slice(3)).toEqual([
      '--skip-networking',
      '--skip-grant-tables',
      '--skip-replica-start',
      '--skip-log-bin',
      '--mysqlx=OFF',
    ]);
    expect(mysqld[1]).toMatch(/^--socket=.*\/tmp\/restore-mysqld\.\w+\/mysqld\.sock$/);
    expect(callsOf(r.calls, 'mysql').map((c) => c.args.slice(-2))).toEqual([
      ['-e', 'SELECT @@GLOBAL.version'],
      ['-e', 'RESET REPLICA ALL'],
    ]);
    expect(callsOf(r.calls, 'mysqladmin').some((c) => c.args.includes('shutdown'))).toBe(true);
    expect(ls(data)).toEqual(['.restored-from']);
    expect(fs.readFileSync(path.join(data, '.restored-from'), 'utf8')).toBe(`${FOLDER}\n`);
    expect(fs.readdirSync(env.WORK_DIR)).toEqual([]);
  });

  test('finish with a point in time: replays .restore-pitr.sql after RESET REPLICA ALL, then marks the restore done', () => {
    writeFile(box, 'data/.restore-pitr.sql', '-- replay\nBINLOG ...;\n');
    writeFile(box, 'data/.restore-to-time', '2025-01-01 03:30:00\n');
    const r = box.run(SCRIPT, { ...env, ACTION: 'finish' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const mysql = callsOf(r.calls, 'mysql');
    expect(mysql.map((c) => c.args.slice(-2).join(' ')).slice(1, 3)).toEqual([
      '-e RESET REPLICA ALL',
      '-e SELECT @@GLOBAL.gtid_executed',
    ]);
    expect(mysql.find((c) => c.stdin.startsWith('-- replay'))?.stdin).toBe('-- replay\nBINLOG ...;\n');
    expect(r.stdout).toContain(
      'replaying the archived binary logs up to 2025-01-01 03:30:00 UTC onto the backup (gtid_executed u:1-77)',
    );
    expect(r.stdout).toContain('replayed: gtid_executed u:1-90');
    expect(r.stdout).toContain(`is restored from ${FOLDER} to 2025-01-01 03:30:00 UTC`);
    expect(ls(data)).toEqual(['.restore-to-time', '.restored-from']);
  });

  test('finish with a point in time: a failed replay keeps the restore pending and the SQL (retried on the next start)', () => {
    writeFile(box, 'data/.restore-pitr.sql', '-- replay\n');
    writeFile(box, 'replay-fails', '');
    const r = box.run(SCRIPT, { ...env, ACTION: 'finish' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('replaying the archived binary logs failed');
    expect(ls(data)).toEqual(['.restore-pending', '.restore-pitr.sql']);
  });

  test('finish: nothing pending, nothing to do (every pod start after the restore, and every replica)', () => {
    fs.rmSync(path.join(data, '.restore-pending'));
    const r = box.run(SCRIPT, { ...env, ACTION: 'finish' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('no restore pending');
    expect(r.calls).toEqual([]);
  });

  test('finish: a failing RESET REPLICA ALL keeps the restore pending (retried on the next start)', () => {
    writeFile(box, 'reset-fails', '');
    const r = box.run(SCRIPT, { ...env, ACTION: 'finish' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('RESET REPLICA ALL failed');
    expect(ls(data)).toEqual(['.restore-pending']);
    expect(callsOf(r.calls, 'mysqladmin').some((c) => c.args.includes('shutdown'))).toBe(true);
  });

  test('fails if mysqld exits while starting on the restored data', () => {
    writeFile(box, 'mysqld-crash', '');
    const r = box.run(SCRIPT, { ...env, ACTION: 'drill' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('mysqld exited while starting on the restored data');
  });

  test('drill: CHECK TABLE and row counts on every table; passes when all are OK', () => {
    const r = box.run(SCRIPT, { ...env, ACTION: 'drill' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('restore-mysqld: `mysql`.`user`: OK, 3 rows');
    expect(r.stdout).toContain('restore-mysqld: `test`.`t1`: OK, 200 rows');
    expect(r.stdout).toContain(
      `PASSED: backup ${FOLDER} restores: mysqld started, 2 tables CHECK TABLE OK, 203 rows`,
    );
    const batch = callsOf(r.calls, 'mysql').find((c) => c.stdin.includes('CHECK TABLE'))!.stdin;
    expect(batch).toBe(
      "SELECT 'table', '`mysql`.`user`';\nCHECK TABLE `mysql`.`user`;\nSELECT 'rows', COUNT(*) FROM `mysql`.`user`;\n" +
        "SELECT 'table', '`test`.`t1`';\nCHECK TABLE `test`.`t1`;\nSELECT 'rows', COUNT(*) FROM `test`.`t1`;\n",
    );
  });

  test('drill: fails when a table is not OK, naming it', () => {
    writeFile(
      box,
      'check-output',
      OK_CHECKS.replace(
        'test.t1\tcheck\tstatus\tOK',
        'test.t1\tcheck\terror\tTablespace is missing for table `test`.`t1`\ntest.t1\tcheck\tstatus\tCorrupt',
      ) + '\n',
    );
    const r = box.run(SCRIPT, { ...env, ACTION: 'drill' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('`test`.`t1`: NOT OK: Tablespace is missing for table `test`.`t1`;');
    expect(r.stderr).toContain(`1 of 2 tables failed CHECK TABLE in backup ${FOLDER}`);
  });

  test("drill: an engine that doesn't support CHECK TABLE is not a failure", () => {
    writeFile(
      box,
      'check-output',
      OK_CHECKS.replace(
        'mysql.user\tcheck\tstatus\tOK',
        "mysql.user\tcheck\tnote\tThe storage engine for the table doesn't support check",
      ) + '\n',
    );
    const r = box.run(SCRIPT, { ...env, ACTION: 'drill' });
    expect(r.status).toBe(0);
  });

  test('drill: fails with fewer tables than MIN_TABLES', () => {
    const r = box.run(SCRIPT, { ...env, ACTION: 'drill', MIN_TABLES: '3' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the restored backup has 2 tables, fewer than MIN_TABLES=3');
  });

  test('drill: fails without a prepared backup', () => {
    fs.rmSync(path.join(data, '.restore-pending'));
    const r = box.run(SCRIPT, { ...env, ACTION: 'drill' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('holds no prepared backup (.restore-pending is missing)');
    expect(r.calls).toEqual([]);
  });

  test('fails if ACTION is unknown', () => {
    const r = box.run(SCRIPT, { ...env, ACTION: 'restore' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ACTION must be 'finish' or 'drill', got 'restore'");
  });

  test('fails at once, naming the image, if a tool is missing', () => {
    fs.rmSync(path.join(box.root, 'bin', 'mysqladmin'));
    fs.symlinkSync('/bin/bash', path.join(box.root, 'bin', 'bash'));
    const r = box.run(SCRIPT, {
      ...env,
      ACTION: 'drill',
      PATH: path.join(box.root, 'bin'),
      CONTAINER_IMAGE: 'mysql:8.4',
    });
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('restore-mysqld: mysqladmin not found in image mysql:8.4');
  });
});
