/**
 * The TLS steps of the production walkthrough (issue 11): clients must use TLS, replication verifies the
 * primary's certificate (and a replica given another CA refuses to connect), the backup port serves only holders
 * of the cluster's client certificate, and a renewed certificate reaches mysqld without a restart. The
 * certificates come from the emulated cert-manager (lib/cert-manager.ts), issued from the Certificates in
 * dist/production/. Evidence never contains key material.
 */
import * as fs from 'fs';
import type { Step } from './common';
import type { ProductionContext } from './production';

/** The Secret a volume of the pod template mounts, or undefined. */
function volumeSecret(w: ProductionContext, volume: string): string | undefined {
  return w.sts.sts.spec.template.spec.volumes?.find((v) => v.name === volume)?.secret?.secretName;
}

export function tlsSteps(w: ProductionContext): Step[] {
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
          // Harness inspection with MariaDB's own client (TLS on by default).
          const r = await client.run([
            'mariadb',
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
  ];
}
