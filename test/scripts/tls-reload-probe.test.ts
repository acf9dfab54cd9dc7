import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { ScriptSandbox } from '../support/script-runner';

const SCRIPT = scriptPath('tls-reload-probe', 'mysql84');
const NOW = 1_800_000_000;

describe('tls-reload-probe.sh (the tls-reload container probes)', () => {
  let box: ScriptSandbox;
  let heartbeat: string;
  const env = () => ({ HEARTBEAT_FILE: heartbeat, HEARTBEAT_MAX_AGE_SECONDS: '90', NOW: String(NOW) });
  const beat = (ago: number, state: string) => fs.writeFileSync(heartbeat, `${NOW - ago} ${state}\n`);
  const probe = (which: string, extra: Record<string, string> = {}) =>
    box.run(SCRIPT, { ...env(), ...extra }, [which]);

  beforeEach(() => {
    box = new ScriptSandbox();
    heartbeat = path.join(box.dir('tmp'), 'tls-reload-heartbeat');
  });
  afterEach(() => box.cleanup());

  test('a fresh heartbeat after a successful reload: live and ready', () => {
    beat(5, 'loaded');
    for (const which of ['liveness', 'readiness']) {
      const r = probe(which);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('tls-reload-probe: the reload loop went round 5s ago; certificate loaded\n');
    }
  });

  test('no reload has succeeded yet (mysqld starting): live, not ready', () => {
    beat(1, 'starting');
    expect(probe('liveness').status).toBe(0);
    const r = probe('readiness');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'tls-reload-probe: no ALTER INSTANCE RELOAD TLS has succeeded yet since the container started (mysqld starting?)\n',
    );
  });

  test('a stale heartbeat (a round hangs) fails both, naming the age and the bound', () => {
    beat(91, 'loaded');
    for (const which of ['liveness', 'readiness']) {
      const r = probe(which);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        'tls-reload-probe: the reload loop last went round 91s ago (more than 90s): it hangs; a renewed certificate would not reach mysqld\n',
      );
    }
    beat(90, 'loaded');
    expect(probe('liveness').status).toBe(0);
  });

  test('reads the clock when NOW is unset', () => {
    fs.writeFileSync(heartbeat, `${Math.floor(Date.now() / 1000)} loaded\n`);
    expect(
      box.run(SCRIPT, { HEARTBEAT_FILE: heartbeat, HEARTBEAT_MAX_AGE_SECONDS: '90' }, ['liveness']).status,
    ).toBe(0);
    fs.writeFileSync(heartbeat, `${Math.floor(Date.now() / 1000) - 1000} loaded\n`);
    expect(
      box.run(SCRIPT, { HEARTBEAT_FILE: heartbeat, HEARTBEAT_MAX_AGE_SECONDS: '90' }, ['liveness']).status,
    ).toBe(1);
  });

  test('no heartbeat yet (the loop is starting): live, not ready', () => {
    let r = probe('liveness');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `tls-reload-probe: no heartbeat at ${heartbeat} yet: the reload loop is starting\n`,
    );
    r = probe('readiness');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `tls-reload-probe: no heartbeat at ${heartbeat} yet: the reload loop is starting\n`,
    );
  });

  test('fails if the heartbeat is not a heartbeat', () => {
    let r;
    fs.writeFileSync(heartbeat, 'garbage\n');
    r = probe('liveness');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `tls-reload-probe: the heartbeat in ${heartbeat} is not '<time> loaded|starting': 'garbage'\n`,
    );
  });

  test('fails if the probe name, HEARTBEAT_FILE or HEARTBEAT_MAX_AGE_SECONDS is bad', () => {
    beat(1, 'loaded');
    let r = probe('startup');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "tls-reload-probe: the first argument must be 'liveness' or 'readiness', got 'startup'\n",
    );
    r = box.run(SCRIPT, { HEARTBEAT_MAX_AGE_SECONDS: '90' }, ['liveness']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('HEARTBEAT_FILE must be the file tls-reload.sh writes');
    r = probe('liveness', { HEARTBEAT_MAX_AGE_SECONDS: '1m' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      "tls-reload-probe: HEARTBEAT_MAX_AGE_SECONDS must be a number of seconds, got '1m'\n",
    );
  });
});
