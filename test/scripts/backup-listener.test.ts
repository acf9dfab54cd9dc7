import * as fs from 'fs';
import * as path from 'path';
import { scriptPath } from '../../charts/scripts';
import { callsOf, ScriptSandbox } from '../support/script-runner';

/**
 * Both sidecars serve backups on one dual-stack socket (TCP6-LISTEN with ipv6only=0), so IPv4-only, IPv6-only
 * (EKS IPv6 clusters) and dual-stack pods can all clone from them; socat's plain TCP-LISTEN binds 0.0.0.0 only.
 * On a kernel without IPv6 (no /proc/net/if_inet6) an AF_INET6 socket cannot be opened, so they listen on IPv4.
 * The e2e harness runs the walkthrough on an IPv4 and on an IPv6-only pod network (steps ipv6-*).
 */
describe.each([
  ['mysql57', {}],
  ['mysql84', { CLIENT_CNF_DIR: '/cnf', REPLICATION_USER: 'repl' }],
] as const)('%s sidecar backup listener', (flavor, extraEnv) => {
  let box: ScriptSandbox;
  let env: Record<string, string>;
  beforeEach(() => {
    box = new ScriptSandbox();
    box.fake('mysql');
    box.fake('xtrabackup');
    // The backup server runs until the sidecar stops it. The sidecar's one pause between its two monitor rounds
    // waits until the fake socat has logged its call: a SIGTERM at the sidecar's exit would otherwise, on a
    // loaded machine, end the fake before it logged anything.
    const started = path.join(box.root, 'socat-started');
    box.fake('socat', `touch ${started}; exec /bin/sleep 30`);
    box.fake(
      'sleep',
      `for ((i = 0; i < 500; i++)); do [[ -e ${started} ]] && exit 0; /bin/sleep 0.02; done; exit 1`,
    );
    const password = path.join(box.root, 'replication-password');
    fs.writeFileSync(password, 'pw\n');
    env = {
      POD_NAME: 'mysql-1', // a replica with nothing to configure: straight to serving
      SERVICE_NAME: 'mysql',
      DATA_DIR: box.dir('data'),
      BACKUP_PORT: '3399',
      STATE_FILE: path.join(box.root, 'state'),
      MONITOR_ROUNDS: '2',
      REPLICATION_PASSWORD_FILE: password,
      ...extraEnv,
    };
  });
  afterEach(() => box.cleanup());
  const listenArg = (proc: string) => {
    const r = box.run(scriptPath('xtrabackup-sidecar', flavor), { ...env, PROC_IF_INET6: proc });
    expect(r.status).toBe(0);
    const socat = callsOf(r.calls, 'socat');
    expect(socat).toHaveLength(1);
    expect(socat[0].args[0]).toBe('-U');
    return socat[0].args[1];
  };

  test('a kernel with IPv6: one dual-stack socket for IPv6 and IPv4 clients', () => {
    const inet6 = path.join(box.root, 'if_inet6');
    fs.writeFileSync(inet6, '');
    expect(listenArg(inet6)).toBe('TCP6-LISTEN:3399,ipv6only=0,reuseaddr,fork');
  });

  test('a kernel without IPv6: IPv4 only', () => {
    expect(listenArg(path.join(box.root, 'no-such-file'))).toBe('TCP4-LISTEN:3399,reuseaddr,fork');
  });
});

test('clone-mysql connects with TCP: (socat resolves the peer with AF_UNSPEC: an A or an AAAA record)', () => {
  const text = fs.readFileSync(scriptPath('clone-mysql', 'mysql57'), 'utf8');
  expect(text).toMatch(/source_address="TCP:\$peer:\$BACKUP_PORT,connect-timeout=30"/);
  // With TLS the OPENSSL: address resolves the same way.
  expect(text).toMatch(/source_address="OPENSSL:\$peer:\$BACKUP_PORT,connect-timeout=30,/);
  expect(text).toMatch(/socat -u "\$source_address" STDOUT/);
  expect(text).not.toMatch(/TCP4:|pf=ip4/);
});
