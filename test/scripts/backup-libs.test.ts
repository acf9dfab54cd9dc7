/**
 * lib-aws-s3.sh and lib-client-cnf.sh: the functions the chart joins in front of the backup scripts that call
 * them. client_cnf's option file is read back with MariaDB's my_print_defaults (the same option-file
 * parser family the clients use), so the escaping is checked by a real reader, not by a regular expression.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { backupLibraryPath, backupScriptPath, readBackupScript } from '../../charts/backup-chart';
import { callsOf, ScriptSandbox, scriptFile } from '../support/script-runner';

const PASSWORD = `p'w"\\ $x;#\``;

/** Runs `body` (bash) after sourcing the library, with a fail() like the scripts'. */
function withLib(box: ScriptSandbox, body: string, env: Record<string, string> = {}) {
  const libs = [backupLibraryPath('aws-s3'), backupLibraryPath('client-cnf')].map((l) => `source '${l}'`);
  const script = scriptFile(`fail() { echo "FAILED: $*" >&2; exit 1; }\n${libs.join('\n')}\n${body}\n`);
  return box.run(script, env);
}

/** What a MySQL client reads from an option file's [client] group. */
function clientOptions(file: string): string[] {
  const r = spawnSync('my_print_defaults', [`--defaults-file=${file}`, 'client'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.trim().split('\n');
}

describe('lib-aws-s3.sh, lib-client-cnf.sh', () => {
  let box: ScriptSandbox;
  let secret: string;
  beforeEach(() => {
    box = new ScriptSandbox();
    secret = path.join(box.dir('secret'), 'password');
    fs.writeFileSync(secret, PASSWORD);
  });
  afterEach(() => box.cleanup());

  test('client_cnf writes user and password so that a client reads the password back exactly, mode 0600', () => {
    const cnf = path.join(box.root, 'client.cnf');
    const r = withLib(box, `client_cnf '${cnf}' repl '${secret}'`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(clientOptions(cnf)).toEqual(['--user=repl', `--password=${PASSWORD}`]);
    expect(fs.statSync(cnf).mode & 0o777).toBe(0o600);
    // The password is in the file only, never in an argument of a command.
    expect(r.calls).toEqual([]);
  });

  test('client_cnf with CA, certificate and key adds the TLS files', () => {
    const cnf = path.join(box.root, 'client.cnf');
    const r = withLib(box, `client_cnf '${cnf}' repl '${secret}' /tls/ca.crt /tls/tls.crt /tls/tls.key`);
    expect(r.status).toBe(0);
    expect(clientOptions(cnf)).toEqual([
      '--user=repl',
      `--password=${PASSWORD}`,
      '--ssl-ca=/tls/ca.crt',
      '--ssl-cert=/tls/tls.crt',
      '--ssl-key=/tls/tls.key',
    ]);
  });

  test('client_cnf fails when the password file cannot be read, and writes nothing', () => {
    const cnf = path.join(box.root, 'client.cnf');
    const r = withLib(box, `set -euo pipefail\nclient_cnf '${cnf}' repl '${box.root}/missing'\necho after`);
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('after');
    expect(fs.existsSync(cnf)).toBe(false);
  });

  test('aws_s3 passes --endpoint-url only when S3_ENDPOINT_URL is set', () => {
    box.fake('aws', 'exit 0');
    const plain = withLib(box, 'aws_s3 s3 ls s3://b/p');
    expect(callsOf(plain.calls, 'aws').map((c) => c.args)).toEqual([['s3', 'ls', 's3://b/p']]);
    const local = withLib(box, 'aws_s3 s3 ls s3://b/p', { S3_ENDPOINT_URL: 'http://10.0.0.9:4568' });
    expect(callsOf(local.calls, 'aws').map((c) => c.args)).toEqual([
      ['--endpoint-url', 'http://10.0.0.9:4568', 's3', 'ls', 's3://b/p'],
    ]);
  });

  const lib = (l: 'aws-s3' | 'client-cnf') => fs.readFileSync(backupLibraryPath(l), 'utf8');
  test.each([
    ['backup-to-s3', ['aws-s3', 'client-cnf']],
    ['binlog-archiver', ['aws-s3', 'client-cnf']],
    ['restore-from-s3', ['aws-s3']],
    ['volume-snapshot', ['client-cnf']],
  ] as const)('the chart joins in front of %s exactly the functions it calls: %j', (name, libs) => {
    const script = fs.readFileSync(backupScriptPath(name), 'utf8');
    expect(readBackupScript(name)).toBe([...libs.map(lib), script].join('\n'));
    expect(/\baws_s3\b/.test(script)).toBe(libs.includes('aws-s3' as never));
    expect(/\bclient_cnf\b/.test(script)).toBe(libs.includes('client-cnf' as never));
  });

  test('restore-mysqld (the mysql image, no aws) gets neither', () => {
    expect(readBackupScript('restore-mysqld')).toBe(
      fs.readFileSync(backupScriptPath('restore-mysqld'), 'utf8'),
    );
  });
});
