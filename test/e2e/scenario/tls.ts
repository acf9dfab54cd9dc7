/**
 * The TLS steps of the production walkthrough (issue 11): clients must use TLS, replication verifies the
 * primary's certificate (and a replica given another CA refuses to connect), the backup port serves only holders
 * of the cluster's client certificate, and a renewed certificate reaches mysqld without a restart. The
 * certificates come from the emulated cert-manager (lib/cert-manager.ts), issued from the Certificates in
 * dist/production/. Evidence never contains key material.
 */
import { HOST_BIN } from '../lib/inventory';
import * as fs from 'fs';
import { execFileSync } from 'child_process';
import type { Step, StepHelpers } from './common';
import { run, sleep, waitFor } from '../lib/proc';
import type { ProductionContext } from './production';

/** The Secret a volume of the pod template mounts, or undefined. */
/** The Secret behind one of the pod template's volumes (tls-server, tls-client), if the profile has it. */
export function volumeSecret(w: ProductionContext, volume: string): string | undefined {
  return w.sts.sts.spec.template.spec.volumes?.find((v) => v.name === volume)?.secret?.secretName;
}

export function tlsSteps(w: ProductionContext, h: StepHelpers): Step[] {
  const { sts, client } = w;
  const serverSecret = volumeSecret(w, 'tls-server');
  if (!serverSecret) return [];
  const name = (ordinal: number) => `${sts.name}-${ordinal}`;
  const service = sts.sts.spec.serviceName;
  const namespace = sts.sts.metadata.namespace ?? 'default';

  /** Writes a file into the client pod (its root file system is writable, like `kubectl cp` into a pod). */
  const putFile = async (file: string, content: string) => {
    const r = await client.run(['bash', '-c', `cat >${file}`], content);
    if (r.code !== 0) throw new Error(`writing ${file} in the client pod: ${r.stderr}`);
  };
  const firstLine = (s: string) =>
    s
      .trim()
      .split('\n')
      .filter((l) => !/e2e mysql84 shim/.test(l))[0] ?? '';

  return [
    {
      id: 'clients-require-tls',
      title:
        'require_secure_transport: a plaintext client is refused by every pod; a client verifying the CA and the host name connects',
      run: async () => {
        const out: string[] = [];
        // What a user copies out of the Secret for an application: its ca.crt.
        await putFile('/tmp/ca.crt', fs.readFileSync(w.certManager.files(serverSecret).ca, 'utf8'));
        await putFile('/tmp/foreign-ca.crt', fs.readFileSync(w.certManager.foreignCa().ca, 'utf8'));
        const mysql = (host: string, tls: string[]) =>
          client.run([
            'mysql',
            ...tls,
            '-uroot',
            '-h',
            host,
            '-N',
            '-B',
            '-e',
            "SHOW SESSION STATUS LIKE 'Ssl_version'",
          ]);
        for (const host of [0, 1, 2].map((o) => `${name(o)}.${service}`).concat(`${sts.name}-read`)) {
          const plain = await mysql(host, ['--ssl-mode=DISABLED']);
          // MySQL 8.4 answers ERROR 3159 (insecure transport); MariaDB 10.11 answers ERROR 1045 (access denied).
          // The same client and password over TLS connect below, so the refusal is the transport's.
          if (plain.code === 0 || !/ERROR (3159 .*insecure transport|1045 )/.test(plain.stderr))
            throw new Error(
              `plaintext client to ${host} was not refused: exit ${plain.code} ${plain.stdout} ${plain.stderr}`,
            );
        }
        const settings: string[] = [];
        for (const o of [0, 1, 2]) {
          // Harness inspection with the host's MariaDB client (TLS on by default), outside the image's view.
          const r = await client.run([
            `${HOST_BIN}/mariadb`,
            '-uroot',
            '-h',
            `${name(o)}.${service}`,
            '-N',
            '-B',
            '-e',
            'SELECT @@require_secure_transport',
          ]);
          if (r.stdout.trim() !== '1')
            throw new Error(`${name(o)}: require_secure_transport is ${r.stdout.trim()} ${r.stderr}`);
          settings.push(`${name(o)}=ON`);
        }
        out.push(
          `require_secure_transport ${settings.join(' ')}; plaintext (--ssl-mode=DISABLED, same root password) to mysql-0..2 and mysql-read refused: "${firstLine((await mysql(`${name(0)}.${service}`, ['--ssl-mode=DISABLED'])).stderr)}"`,
        );
        const verified = [
          `${name(0)}.${service}.${namespace}.svc.cluster.local`,
          `${sts.name}-read.${namespace}.svc`,
          `${name(2)}.${service}`,
        ];
        for (const host of verified) {
          const r = await mysql(host, ['--ssl-mode=VERIFY_IDENTITY', '--ssl-ca=/tmp/ca.crt']);
          if (r.code !== 0 || !/Ssl_version\tTLSv1\.[23]/.test(r.stdout))
            throw new Error(`verified TLS client to ${host} failed: exit ${r.code} ${r.stdout} ${r.stderr}`);
          out.push(`VERIFY_IDENTITY to ${host}: ${r.stdout.trim().replace('\t', ' ')}`);
        }
        const foreign = await mysql(`${name(0)}.${service}`, [
          '--ssl-mode=VERIFY_IDENTITY',
          '--ssl-ca=/tmp/foreign-ca.crt',
        ]);
        if (foreign.code === 0) throw new Error(`a client trusting another CA connected to ${name(0)}`);
        out.push(`another CA: refused ("${firstLine(foreign.stderr)}")`);
        const byIp = await mysql(sts.pod(0).ip, ['--ssl-mode=VERIFY_IDENTITY', '--ssl-ca=/tmp/ca.crt']);
        if (byIp.code === 0)
          throw new Error(`a client connecting by IP ${sts.pod(0).ip} (not in the certificate) was accepted`);
        out.push(
          `by IP ${sts.pod(0).ip} (not a name in the certificate): refused ("${firstLine(byIp.stderr)}")`,
        );
        return out.join('; ');
      },
    },
    {
      id: 'tls-verified',
      title:
        'replication verifies the primary (CA + name) and presents the client certificate; a replica given another CA refuses to connect',
      run: async () => {
        const out: string[] = [];
        const clientSecret = volumeSecret(w, 'tls-client');
        const clientDir = '/etc/mysql/tls/client';
        for (const o of [1, 2]) {
          const s = await h.replicaStatus(o);
          const f = s.fields ?? {};
          if (
            s.ioRunning !== 'Yes' ||
            s.sourceHost !== `${name(0)}.${service}` ||
            f.Source_SSL_Allowed !== 'Yes' ||
            f.Source_SSL_Verify_Server_Cert !== 'Yes' ||
            f.Source_SSL_CA_File !== `${clientDir}/ca.crt` ||
            f.Source_SSL_Cert !== `${clientDir}/tls.crt` ||
            f.Source_SSL_Key !== `${clientDir}/tls.key`
          )
            throw new Error(`${name(o)} replication is not verified TLS: ${JSON.stringify(f)}`);
          out.push(
            `${name(o)}: source=${s.sourceHost} IO=${s.ioRunning} SSL=${f.Source_SSL_Allowed} Verify_Server_Cert=${f.Source_SSL_Verify_Server_Cert} CA=${f.Source_SSL_CA_File} Cert=${f.Source_SSL_Cert}`,
          );
        }
        // The replication user requires the client certificate's subject, on every server (replicated).
        const subject = w.sts.sts.spec.template.spec.containers
          .find((c) => c.name === 'xtrabackup')
          ?.env?.find((e) => e.name === 'REPLICATION_SUBJECT')?.value;
        for (const o of [0, 1, 2]) {
          const r = await client.run([
            `${HOST_BIN}/mariadb`,
            '-uroot',
            '-h',
            `${name(o)}.${service}`,
            '-N',
            '-B',
            '-e',
            "SELECT ssl_type, x509_subject FROM mysql.user WHERE user = 'repl'",
          ]);
          if (r.stdout.trim() !== `SPECIFIED	${subject}`)
            throw new Error(
              `${name(o)}: repl@% requires ${r.stdout.trim()} ${r.stderr}, expected SPECIFIED ${subject}`,
            );
        }
        out.push(`repl@% REQUIRE SUBJECT '${subject}' on mysql-0..2`);
        const clientCert = w.certManager.files(clientSecret!);
        const subj = execFileSync('openssl', [
          'x509',
          '-noout',
          '-subject',
          '-nameopt',
          'compat',
          '-in',
          clientCert.crt,
        ])
          .toString()
          .trim();
        out.push(`client certificate ${subj}`);

        // mysql-2 is given a CA that did not sign mysql-0's certificate: its receiver must refuse to connect.
        const p2 = sts.pod(2);
        const put = await p2
          .container('mysql')
          .exec(
            ['bash', '-c', 'cat >/tmp/foreign-ca.crt'],
            5_000,
            fs.readFileSync(w.certManager.foreignCa().ca, 'utf8'),
          );
        if (put.code !== 0) throw new Error(`writing /tmp/foreign-ca.crt in mysql-2: ${put.stderr}`);
        const setCa = (file: string) =>
          h.sql(
            `${name(2)}.${service}`,
            `STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_SSL_CA='${file}'; START REPLICA;`,
          );
        await setCa('/tmp/foreign-ca.crt');
        let refused = '';
        await waitFor(
          'mysql-2 to refuse the primary with the foreign CA',
          20_000,
          async () => {
            const s = await h.replicaStatus(2);
            refused = s.fields?.Last_IO_Error ?? '';
            return s.ioRunning !== 'Yes' && /certificate|SSL|TLS/i.test(refused);
          },
          200,
        );
        const row = 'written while mysql-2 trusted another CA';
        await h.sql(`${name(0)}.${service}`, `INSERT INTO test.messages VALUES ('${row}')`);
        await sleep(3_000);
        const rows2 = await h.sql(`${name(2)}.${service}`, 'SELECT message FROM test.messages');
        if (rows2.split('\n').includes(row))
          throw new Error('mysql-2 received a row while trusting another CA');
        const s2 = await h.replicaStatus(2);
        out.push(
          `mysql-2 with SOURCE_SSL_CA=/tmp/foreign-ca.crt: IO=${s2.ioRunning}, "${refused.slice(0, 160)}", row not received after 3 s`,
        );
        await setCa(`${clientDir}/ca.crt`);
        await h.waitRow(2, row, 30_000);
        const s3 = await h.replicaStatus(2);
        out.push(`restored SOURCE_SSL_CA=${s3.fields?.Source_SSL_CA_File}: IO=${s3.ioRunning}, row arrived`);
        return out.join('; ');
      },
    },
    {
      id: 'backup-port-refuses-unauthenticated',
      title:
        'the backup port serves only the cluster client certificate over mutual TLS: others get no byte and start no xtrabackup; one backup at a time',
      run: async () => {
        const out: string[] = [];
        const p0 = sts.pod(0);
        const port = 3307;
        const tracker = w.cluster.tracker;
        const ca = w.certManager.files(volumeSecret(w, 'tls-client')!);
        const server = w.certManager.files(serverSecret);
        const caFiles = w.certManager.files('mysql-ca');
        const intruder = w.certManager.signedBy(caFiles, 'intruder', {
          commonName: 'intruder',
          usages: ['client auth', 'digital signature', 'key encipherment'],
        });
        const foreign = w.certManager.signedBy(
          w.certManager.foreignCa('foreign-client-ca'),
          'foreign-client',
          {
            commonName: 'mysql-replication',
            usages: ['client auth', 'digital signature', 'key encipherment'],
          },
        );
        if (!client.sandboxPid) await client.run(['true']);
        // An attacker in the cluster network: the client pod's network namespace, the host's socat and openssl.
        const attack = (shell: string, timeoutMs = 20_000) =>
          run(tracker, 'nsenter', ['-t', String(client.sandboxPid), '-n', 'bash', '-c', shell], {
            timeoutMs,
            label: 'e2e attacker',
          });
        const target = `${p0.ip}:${port}`;
        const tls = (cert?: { crt: string; key: string }) =>
          `OPENSSL:${target},cafile=${ca.ca},commonname=${name(0)}.${service},verify=1${cert ? `,cert=${cert.crt},key=${cert.key}` : ''}`;
        // Backup processes in mysql-0's sidecar, sampled every 10 ms while an attempt runs.
        const sidecarNs = fs.readlinkSync(`/proc/${p0.container('xtrabackup').initPid}/ns/pid`);
        const backupProcesses = () => {
          const found: string[] = [];
          for (const pid of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
            try {
              if (fs.readlinkSync(`/proc/${pid}/ns/pid`) !== sidecarNs) continue;
              const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
              const base = (a?: string) => (a ?? '').split('/').pop();
              // xtrabackup (a shim script: `bash /usr/bin/xtrabackup …`), mariabackup, mbstream, or the handler.
              const isBackup =
                ['xtrabackup', 'mariabackup', 'mbstream'].includes(base(argv[0])!) ||
                (/bash$/.test(argv[0] ?? '') &&
                  ['xtrabackup', 'mariabackup', 'mbstream'].includes(base(argv[1])!)) ||
                (/bash$/.test(argv[0] ?? '') && argv[1] === '-c' && argv[2] === 'serve_one_backup');
              if (isBackup) found.push(argv.join(' ').slice(0, 60));
            } catch {
              /* gone */
            }
          }
          return found;
        };
        const served = () => (p0.logs('xtrabackup').match(/sidecar: serving a backup/g) ?? []).length;
        const attempt = async (label: string, shell: string) => {
          const before = served();
          const seen = new Set<string>();
          let done = false;
          const sampler = (async () => {
            while (!done) {
              for (const p of backupProcesses()) seen.add(p);
              await sleep(10);
            }
          })();
          const r = await attack(shell);
          await sleep(300);
          done = true;
          await sampler;
          const bytes = Number(r.stdout.trim().split('\n').pop());
          if (!(bytes === 0) || seen.size > 0 || served() !== before)
            throw new Error(
              `${label}: received ${r.stdout.trim()} bytes, backup processes ${[...seen].join(' | ') || 'none'}, backups logged ${served() - before}; ${r.stderr.trim().slice(0, 300)}`,
            );
          out.push(`${label}: 0 bytes, no backup process`);
        };
        await attempt('plain TCP, silent', `timeout 3 socat -u TCP:${target} STDOUT | wc -c`);
        await attempt(
          'plain TCP, an HTTP request (a scanner/probe)',
          `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 3 socat - TCP:${target} | wc -c`,
        );
        await attempt(
          'TLS without a client certificate',
          `timeout 5 socat -u ${tls()} STDOUT 2>/dev/null | wc -c`,
        );
        await attempt(
          'TLS, client certificate of another CA',
          `timeout 5 socat -u ${tls(foreign)} STDOUT 2>/dev/null | wc -c`,
        );
        await attempt(
          'TLS, the server certificate as client certificate',
          `timeout 5 socat -u ${tls(server)} STDOUT 2>/dev/null | wc -c`,
        );
        await attempt(
          'TLS, a certificate of the cluster CA for another name (CN=intruder)',
          `timeout 5 socat -u ${tls(intruder)} STDOUT 2>/dev/null | wc -c`,
        );
        const refusals = p0
          .logs('xtrabackup')
          .split('\n')
          .filter((l) =>
            /SSL_accept|commonName does not match|peer did not return a certificate|verify failed/.test(l),
          );
        out.push(
          `sidecar log: ${refusals.length} refused handshakes, e.g. "${refusals[refusals.length - 1]?.replace(/^.*socat\[\d+\] /, '').slice(0, 120)}"`,
        );

        // The cluster's client certificate gets a backup (the xbstream magic), and only one at a time.
        const before = served();
        // `pauseSeconds`: after the first 8 bytes (the xbstream magic) the reader stops reading for that
        // long, so the pipe and socket buffers fill and xtrabackup blocks on its output: the server-side
        // backup is still running (and holds its lock) when the second connection arrives.
        const fetch = (pauseSeconds = 0) =>
          attack(
            `timeout 60 socat -u ${tls(ca)} STDOUT 2>/dev/null | { head -c 8 >&2; sleep ${pauseSeconds}; wc -c; }`,
            70_000,
          );
        // The same sampler sees the authenticated backup's processes: it is not blind.
        const seenOk = new Set<string>();
        let fetching = true;
        const okSampler = (async () => {
          while (fetching) {
            for (const p of backupProcesses()) seenOk.add(p.split(' ').slice(0, 2).join(' '));
            await sleep(10);
          }
        })();
        let firstDone = false;
        const firstFetch = fetch(6).then((r) => {
          firstDone = true;
          return r;
        });
        // The second connection starts only once the first backup is being served.
        await waitFor(
          'the first authenticated backup to be served',
          20_000,
          async () => served() - before >= 1,
          20,
        );
        await sleep(300);
        if (firstDone)
          throw new Error('the first (paused) backup ended before the second connection started');
        const second = await fetch();
        const overlapped = !firstDone;
        const firstResult = await firstFetch;
        fetching = false;
        await okSampler;
        if (seenOk.size === 0)
          throw new Error('the process sampler saw no backup process during an authenticated backup');
        if (!overlapped)
          throw new Error(
            'the first backup ended before the second connection was answered: they did not overlap',
          );
        const got = [firstResult, second].map((r) => ({
          bytes: Number(r.stdout.trim().split('\n').pop()) + r.stderr.length,
          magic: r.stderr,
        }));
        if (got[0].magic !== 'XBSTCK01' || got[0].bytes <= 8)
          throw new Error(
            `the first connection with the client certificate: ${JSON.stringify(got[0])} (expected an xbstream)`,
          );
        if (got[1].bytes !== 0)
          throw new Error(
            `a second connection while the first backup was running: ${JSON.stringify(got[1])} (expected 0 bytes: one backup at a time)`,
          );
        if (!p0.logs('xtrabackup').includes('refusing this connection (one at a time)'))
          throw new Error('the sidecar did not log the refusal of the concurrent connection');
        if (served() - before !== 1) throw new Error(`${served() - before} backups logged, expected 1`);
        const winners = [got[0]];
        const first = winners[0].bytes;
        out.push(
          `client certificate CN=mysql-replication: ${first} bytes starting "XBSTCK01" (xbstream), sampler saw ${[...seenOk].join(', ')}; a second connection while it was held open (reader paused 6 s after the magic): 0 bytes ("a backup is already being served; refusing this connection")`,
        );
        const tmpLeft = await p0
          .container('xtrabackup')
          .exec(['bash', '-c', 'ls -A /tmp | grep -c xtrabackup-stream || true'], 5_000);
        if (tmpLeft.stdout.trim() !== '0') throw new Error(`left in mysql-0's /tmp: ${tmpLeft.stdout}`);
        out.push("no xtrabackup-stream.* directory or lock left in mysql-0's /tmp");
        return out.join('; ');
      },
    },
  ];
}
