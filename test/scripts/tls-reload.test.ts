import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { callsOf, ScriptSandbox } from '../support/script-runner';

const SCRIPT = scriptPath('tls-reload', 'mysql84');

describe('tls-reload.sh', () => {
  let box: ScriptSandbox;
  let env: Record<string, string>;
  /** Writes a Secret volume the way the kubelet does: files behind ..data, switched atomically. */
  let generation = 0;
  const writeSecret = (files: Record<string, string>) => {
    const dir = env.TLS_DIR;
    const gen = `..gen-${++generation}`;
    fs.mkdirSync(path.join(dir, gen));
    for (const [k, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, gen, k), v);
    fs.symlinkSync(gen, path.join(dir, '..data_tmp'));
    fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    for (const k of Object.keys(files))
      if (!fs.existsSync(path.join(dir, k))) fs.symlinkSync(path.join('..data', k), path.join(dir, k));
  };
  const cert = (serial: string) => ({
    'ca.crt': 'CA\n',
    'tls.crt': `CERT ${serial}\n`,
    'tls.key': `KEY ${serial}\n`,
  });

  beforeEach(() => {
    box = new ScriptSandbox();
    env = {
      TLS_DIR: box.dir('tls'),
      CLIENT_CNF_DIR: box.dir('client-cnf'),
      MYSQL_PORT: '3306',
      POLL_SECONDS: '1',
      HEARTBEAT_FILE: path.join(box.dir('tmp'), 'tls-reload-heartbeat'),
    };
    generation = 0;
    box.fake('mysql');
  });
  afterEach(() => box.cleanup());
  const reloads = (r: ReturnType<ScriptSandbox['run']>) =>
    callsOf(r.calls, 'mysql').filter((c) => c.args.includes('ALTER INSTANCE RELOAD TLS'));

  test('reloads once at start, then only when the kubelet switched the Secret to new files', () => {
    writeSecret(cert('1'));
    // Each sleep is one poll interval; during the first, cert-manager renews the certificate.
    const counter = path.join(box.root, 'sleeps');
    // The renewal: during the first sleep the kubelet switches ..data to the renewed files.
    box.fake(
      'sleep',
      `n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo $n >${counter}
if [[ $n == 1 ]]; then
  mkdir "$TLS_DIR/..gen-b" && printf 'CA\\n' >"$TLS_DIR/..gen-b/ca.crt" && printf 'CERT 2\\n' >"$TLS_DIR/..gen-b/tls.crt" && printf 'KEY 2\\n' >"$TLS_DIR/..gen-b/tls.key"
  ln -s ..gen-b "$TLS_DIR/..data_tmp" && mv -T "$TLS_DIR/..data_tmp" "$TLS_DIR/..data"
fi`,
    );
    const r = box.run(SCRIPT, { ...env, MAX_POLLS: '3' });
    expect(r.status).toBe(0);
    const calls = reloads(r);
    expect(calls).toHaveLength(2);
    expect(calls[0].args).toEqual([
      `--defaults-extra-file=${env.CLIENT_CNF_DIR}/root.cnf`,
      '--connect-timeout=10',
      '-h',
      '127.0.0.1',
      '-P',
      '3306',
      '-e',
      'ALTER INSTANCE RELOAD TLS',
    ]);
    expect(r.stdout).toContain('loading the certificate');
    expect(r.stdout).toContain('changed; reloading it into mysqld');
    expect(callsOf(r.calls, 'sleep').map((c) => c.args)).toEqual([['1'], ['1']]);
  });

  test('a failed reload (mysqld not up yet) is retried at the next poll; a success is not repeated', () => {
    writeSecret(cert('1'));
    const flag = path.join(box.root, 'mysqld-up');
    box.fake(
      'mysql',
      `if [[ -e ${flag} ]]; then exit 0; fi; touch ${flag}; echo "ERROR 2003 (HY000): Can't connect" >&2; exit 1`,
    );
    box.fake('sleep');
    const r = box.run(SCRIPT, { ...env, MAX_POLLS: '4' });
    expect(r.status).toBe(0);
    expect(reloads(r)).toHaveLength(2);
    expect(r.stderr).toContain('ALTER INSTANCE RELOAD TLS failed; mysqld keeps its previous certificate');
    expect(r.stdout.match(/succeeded/g)).toHaveLength(1);
  });

  test('until the first reload succeeds it retries every START_RETRY_SECONDS, then polls every POLL_SECONDS', () => {
    writeSecret(cert('1'));
    const flag = path.join(box.root, 'mysqld-up');
    box.fake('mysql', `if [[ -e ${flag} ]]; then exit 0; fi; touch ${flag}; exit 1`);
    box.fake('sleep');
    const r = box.run(SCRIPT, { ...env, POLL_SECONDS: '30', MAX_POLLS: '3' });
    expect(r.status).toBe(0);
    expect(callsOf(r.calls, 'sleep').map((c) => c.args)).toEqual([['2'], ['30']]);
  });

  test('each round first writes the heartbeat the probes read: the time, and whether a reload succeeded', () => {
    writeSecret(cert('1'));
    // The heartbeat as each sleep sees it (the round before it has written it).
    const seen = path.join(box.root, 'seen');
    box.fake('sleep', `cat "$HEARTBEAT_FILE" >>${seen}`);
    const flag = path.join(box.root, 'mysqld-up');
    box.fake('mysql', `if [[ -e ${flag} ]]; then exit 0; fi; touch ${flag}; exit 1`);
    const before = Math.floor(Date.now() / 1000);
    const r = box.run(SCRIPT, { ...env, MAX_POLLS: '3' });
    expect(r.status).toBe(0);
    const lines = fs.readFileSync(seen, 'utf8').trim().split('\n');
    // Round 1 fails (starting); round 2 reloads and says so at once, not a poll interval later.
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['starting', 'loaded']);
    expect(fs.readFileSync(env.HEARTBEAT_FILE, 'utf8')).toMatch(/^\d+ loaded\n$/);
    for (const l of lines) expect(Number(l.split(' ')[0])).toBeGreaterThanOrEqual(before);
    expect(fs.existsSync(`${env.HEARTBEAT_FILE}.tmp`)).toBe(false);
  });

  test('waits without reloading while a file is missing', () => {
    fs.writeFileSync(path.join(env.TLS_DIR, 'ca.crt'), 'CA\n');
    fs.writeFileSync(path.join(env.TLS_DIR, 'tls.crt'), 'CERT\n');
    box.fake('sleep');
    const r = box.run(SCRIPT, { ...env, MAX_POLLS: '2' });
    expect(r.status).toBe(0);
    expect(reloads(r)).toHaveLength(0);
    expect(r.stderr).toContain('is missing or unreadable; waiting');
  });

  test('a changed key alone (same certificate text) also reloads', () => {
    writeSecret(cert('1'));
    const counter = path.join(box.root, 'sleeps');
    box.fake(
      'sleep',
      `n=$(( $(cat ${counter} 2>/dev/null || echo 0) + 1 )); echo $n >${counter}
if [[ $n == 1 ]]; then printf 'KEY other\\n' >"$TLS_DIR/..gen-1/tls.key"; fi`,
    );
    const r = box.run(SCRIPT, { ...env, MAX_POLLS: '2' });
    expect(reloads(r)).toHaveLength(2);
  });

  test('exits at once on SIGTERM while waiting (as PID 1, bash would otherwise ignore it)', () => {
    writeSecret(cert('1'));
    const started = Date.now();
    const r = spawnSync('timeout', ['--preserve-status', '-s', 'TERM', '1', 'bash', SCRIPT], {
      env: {
        ...env,
        POLL_SECONDS: '30',
        PATH: `${path.join(box.root, 'bin')}:/usr/bin:/bin`,
        FAKE_CALL_LOG: path.join(box.root, 'calls.jsonl'),
      },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('SIGTERM, exiting');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('fails if TLS_DIR, CLIENT_CNF_DIR or HEARTBEAT_FILE is unset, or a number is not one', () => {
    let r = box.run(SCRIPT, { CLIENT_CNF_DIR: env.CLIENT_CNF_DIR });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('TLS_DIR must be the directory of the mounted certificate Secret');
    r = box.run(SCRIPT, { TLS_DIR: env.TLS_DIR });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('CLIENT_CNF_DIR must be the directory with root.cnf');
    r = box.run(SCRIPT, { TLS_DIR: env.TLS_DIR, CLIENT_CNF_DIR: env.CLIENT_CNF_DIR });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('HEARTBEAT_FILE must be the file the liveness probe reads');
    r = box.run(SCRIPT, { ...env, START_RETRY_SECONDS: '0.5' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("START_RETRY_SECONDS must be a whole number of seconds, got '0.5'");
    r = box.run(SCRIPT, { ...env, POLL_SECONDS: '30s' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("POLL_SECONDS must be a number of seconds, got '30s'");
    r = box.run(SCRIPT, { ...env, MYSQL_PORT: 'x' });
    expect(r.stderr).toContain("MYSQL_PORT must be a port number, got 'x'");
    expect(r.calls).toEqual([]);
  });
});
