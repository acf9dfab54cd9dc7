/**
 * rotate-credentials (issue 10, production): both passwords of the credentials Secret rotated by the README's
 * procedure (1. the Secret gets new passwords and keeps the old ones as `<key>-previous`; 2. once every pod uses
 * the new ones, the `-previous` keys are removed) while a client keeps writing. The pods' sidecars do the rest
 * (charts/scripts/mysql84/xtrabackup-sidecar.sh, "credentials"). Secret values are never part of the evidence.
 */
import type { Step, StepHelpers } from './common';
import type { ProductionContext } from './production';
import type { GeneratedSecret } from '../lib/secrets';
import { generatePassword, needlesFor } from '../lib/secrets';
import { sleep, waitFor } from '../lib/proc';
import * as fs from 'fs';
import { volumeSecret } from './tls';

const SECRET = 'mysql-credentials';

export function rotateCredentialsStep(w: ProductionContext, h: StepHelpers): Step {
  const { sts, client, cluster } = w;
  const { name, host, sql } = h;
  return {
    id: 'rotate-credentials',
    title:
      'rotate both passwords by the README procedure (new + -previous keys, then -previous removed) while a client writes: no pod NotReady longer than one probe period, rows replicate, old passwords refused',
    run: async () => {
      const secret = w.secrets.find((s) => s.object.metadata.name === SECRET);
      if (!secret) throw new Error(`no generated Secret ${SECRET}`);
      // Other keys of the Secret (the exporter's password) stay as they are.
      const old = { root: secret.values['root-password'], repl: secret.values['replication-password'] };
      // The root password keeps to the alphabet init-mysql accepts (the image's entrypoint pastes it unescaped).
      const neu = { root: generatePassword(`'"\\`), repl: generatePassword() };
      // The new passwords must never leak either: the command-line sampler and the file scan look for them too.
      const rotated: GeneratedSecret = {
        object: { ...secret.object, metadata: { ...secret.object.metadata, name: `${SECRET} (rotated)` } },
        values: { 'root-password': neu.root, 'replication-password': neu.repl },
      };
      w.needles.push(...needlesFor([rotated]));

      const ordinals = [...sts.pods.keys()].sort();
      const replicas = ordinals.filter((o) => o !== 0);
      const probe = sts.sts.spec.template.spec.containers.find(
        (c) => c.name === 'xtrabackup',
      )?.readinessProbe;
      const periodMs = (probe?.periodSeconds ?? 10) * 1000;

      /**
       * Logs in as USER with PASSWORD: 'ok', 'denied' or the error. The password goes in on stdin and into MYSQL_PWD
       * of the client process (an environment variable, never argv: the command-line sampler watches). An option
       * file on /dev/stdin would not do: the client runs as uid 999 and may not reopen the exec's pipe.
       */
      let lastLogin = '';
      // With TLS the replication user is also REQUIRE SUBJECT: a login as repl presents the cluster's client
      // certificate (copied into the client pod, as an operator would for a manual check), so that what is
      // accepted or refused is the password alone.
      const clientSecret = volumeSecret(w, 'tls-client');
      const replTls: string[] = [];
      /** Copies the certificate into the client pod (again after the pod is recreated). */
      const copyClientCertificate = async () => {
        if (!clientSecret) return;
        const files = w.certManager.files(clientSecret);
        for (const [dest, src] of [
          ['/tmp/rotation-ca.crt', files.ca],
          ['/tmp/rotation-client.crt', files.crt],
          ['/tmp/rotation-client.key', files.key],
        ]) {
          const r = await client.run(['bash', '-c', `umask 077; cat >${dest}`], fs.readFileSync(src, 'utf8'));
          if (r.code !== 0) throw new Error(`writing ${dest} in the client pod: ${r.stderr}`);
        }
      };
      if (clientSecret) {
        await copyClientCertificate();
        replTls.push(
          '--ssl-ca=/tmp/rotation-ca.crt',
          '--ssl-cert=/tmp/rotation-client.crt',
          '--ssl-key=/tmp/rotation-client.key',
        );
      }
      const login = async (target: string, user: string, password: string, statement = 'SELECT 1') => {
        const r = await client.run(
          [
            'bash',
            '-c',
            'IFS= read -r pw; MYSQL_PWD=$pw exec mysql "${@:4}" -u "$1" -h "$2" -N -B -e "$3"',
            'login',
            user,
            target,
            statement,
            ...(user === 'repl' ? replTls : []),
          ],
          `${password}\n`,
        );
        if (r.code === 0) return 'ok';
        lastLogin = `${user}@${target}: ${r.stderr.trim()}`;
        return /ERROR 1045/.test(r.stderr) ? 'denied' : `error: ${r.stderr.trim()}`;
      };

      // Readiness and probe failures of every pod, sampled during the whole rotation.
      const restartsBefore = ordinals.map((o) => sts.pod(o).restarts);
      const eventsBefore = new Map(ordinals.map((o) => [o, sts.pod(o).events.length]));
      const notReadySince = new Map<number, number>();
      const longestNotReady = new Map<number, number>(ordinals.map((o) => [o, 0]));
      const sampler = setInterval(() => {
        const now = Date.now();
        for (const o of ordinals) {
          const ready = sts.pod(o).ready;
          const since = notReadySince.get(o);
          if (!ready && since === undefined) notReadySince.set(o, now);
          if (since !== undefined) {
            longestNotReady.set(o, Math.max(longestNotReady.get(o)!, now - since));
            if (ready) notReadySince.delete(o);
          }
        }
      }, 100);

      // The application: inserts on the primary (a new connection each, 100 ms apart), with the root password it has.
      await sql(
        host(0),
        'CREATE TABLE test.rotation (id INT AUTO_INCREMENT PRIMARY KEY, phase VARCHAR(20));',
      );
      let writerPassword = old.root;
      let phase = 'before';
      let writing = true;
      let written = 0;
      const writeErrors: string[] = [];
      const writer = (async () => {
        while (writing) {
          const r = await login(
            host(0),
            'root',
            writerPassword,
            `INSERT INTO test.rotation (phase) VALUES ('${phase}')`,
          );
          if (r === 'ok') written++;
          else writeErrors.push(`${phase}: ${r}`);
          await sleep(100);
        }
      })();

      /** waitFor, with the last refused or failed login in the error. */
      const waitLogins = async (what: string, ms: number, check: () => Promise<boolean>) => {
        try {
          await waitFor(what, ms, check, 500);
        } catch (e) {
          throw new Error(`${(e as Error).message}; last failed login: ${lastLogin || 'none'}`);
        }
      };
      const t0 = Date.now();
      const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
      const timeline: string[] = [];
      try {
        await sleep(1_000);
        // 1. The Secret gets the new passwords and keeps the old ones as -previous. The replicas' kubelets see it
        //    first (the harder order: a replica must not switch before the primary accepts the new password).
        phase = 'dual';
        const order = [...replicas.map(name), name(0)];
        await cluster.updateSecret(
          sts.namespace,
          SECRET,
          {
            ...secret.values,
            'root-password': neu.root,
            'root-password-previous': old.root,
            'replication-password': neu.repl,
            'replication-password-previous': old.repl,
          },
          order,
          4_000,
        );
        timeline.push(
          `${secs()}s Secret: new + -previous keys, volumes updated in order ${order.join(', ')} 4 s apart`,
        );
        // Every server accepts both root passwords, the primary both replication passwords, and every replica's
        // sidecar has moved its SOURCE_PASSWORD to the new one.
        await waitLogins(
          'every server to accept the new root password and the primary the new replication password (rotation applied)',
          60_000,
          async () => {
            for (const o of ordinals) if ((await login(host(o), 'root', neu.root)) !== 'ok') return false;
            return (await login(host(0), 'repl', neu.repl)) === 'ok';
          },
        );
        await waitFor(
          'every replica to switch SOURCE_PASSWORD to the new replication password',
          30_000,
          () =>
            replicas.every((o) =>
              /credentials: replication: SOURCE_PASSWORD set to replication-password/.test(
                sts.pod(o).logs('xtrabackup'),
              ),
            ),
          300,
        );
        const dual: string[] = [];
        for (const o of ordinals) {
          const both = [await login(host(o), 'root', old.root), await login(host(o), 'root', neu.root)];
          const repl = [await login(host(o), 'repl', old.repl), await login(host(o), 'repl', neu.repl)];
          if ([...both, ...repl].some((x) => x !== 'ok'))
            throw new Error(`${name(o)} during the rotation: root old/new ${both}, repl old/new ${repl}`);
          dual.push(name(o));
        }
        timeline.push(`${secs()}s both passwords of root and repl accepted on ${dual.join(', ')}`);

        // The application moves to the new root password (a rolled Deployment would), still writing.
        writerPassword = neu.root;
        phase = 'new';
        await sleep(2_000);

        // 2. The -previous keys are removed: the primary discards the old passwords.
        phase = 'discarded';
        await cluster.updateSecret(
          sts.namespace,
          SECRET,
          { ...secret.values, 'root-password': neu.root, 'replication-password': neu.repl },
          order,
          4_000,
        );
        timeline.push(`${secs()}s Secret: -previous keys removed`);
        await waitLogins(
          'every server to refuse the old root and replication passwords',
          60_000,
          async () => {
            for (const o of ordinals) {
              if ((await login(host(o), 'root', old.root)) !== 'denied') return false;
              if ((await login(host(o), 'repl', old.repl)) !== 'denied') return false;
            }
            return true;
          },
        );
        timeline.push(`${secs()}s old root and repl passwords refused on ${ordinals.map(name).join(', ')}`);
        await sleep(2_000);
      } finally {
        writing = false;
        await writer;
        clearInterval(sampler);
      }

      // The client pod's MYSQL_PWD came from the Secret when it was created: recreate it (as a user would restart
      // a client) so that it has the new root password.
      await client.delete();
      await copyClientCertificate();
      const refused: string[] = [];
      for (const o of ordinals) {
        const r = [
          await login(host(o), 'root', old.root),
          await login(host(o), 'repl', old.repl),
          await login(host(o), 'root', neu.root),
          await login(host(o), 'repl', neu.repl),
        ];
        if (r.join() !== 'denied,denied,ok,ok')
          throw new Error(
            `${name(o)} at the end: root old ${r[0]}, repl old ${r[1]}, root new ${r[2]}, repl new ${r[3]}`,
          );
        refused.push(`${name(o)}: old root/repl denied (1045), new accepted`);
      }
      // The replicas' stored SOURCE_PASSWORD is the new one: a fresh connection of the receiver authenticates.
      for (const o of replicas) await sql(host(o), 'STOP REPLICA IO_THREAD;\nSTART REPLICA IO_THREAD;\n');
      const reconnected: string[] = [];
      for (const o of replicas) {
        const s = await waitFor(
          `${name(o)}'s receiver to reconnect with the stored SOURCE_PASSWORD`,
          20_000,
          async () => {
            const st = await h.replicaStatus(o);
            return st.ioRunning === 'Yes' && st.sqlRunning === 'Yes' ? st : undefined;
          },
          300,
        );
        reconnected.push(`${name(o)} IO=${s.ioRunning} SQL=${s.sqlRunning}`);
      }
      // Every row the application wrote is on every replica.
      const total = await sql(host(0), 'SELECT COUNT(*) FROM test.rotation');
      const perPhase = await sql(
        host(0),
        'SELECT phase, COUNT(*) FROM test.rotation GROUP BY phase ORDER BY MIN(id)',
      );
      for (const o of replicas)
        await waitFor(
          `${total} rows of test.rotation on ${name(o)}`,
          20_000,
          async () => (await sql(host(o), 'SELECT COUNT(*) FROM test.rotation')) === total,
          300,
        );

      const probeFailures = ordinals.flatMap((o) =>
        sts
          .pod(o)
          .events.slice(eventsBefore.get(o))
          .filter((e) => /probe of .* failed/.test(e))
          .map((e) => `${name(o)}: ${e.slice(0, 200)}`),
      );
      const worst = ordinals.map((o) => `${name(o)} ${(longestNotReady.get(o)! / 1000).toFixed(1)}s`);
      const restarts = ordinals.map((o, i) => sts.pod(o).restarts - restartsBefore[i]);
      if (writeErrors.length)
        throw new Error(
          `${writeErrors.length} writes failed during the rotation: ${writeErrors.slice(0, 3).join(' | ')}`,
        );
      if (ordinals.some((o) => longestNotReady.get(o)! > periodMs))
        throw new Error(
          `a pod was NotReady longer than one probe period (${periodMs / 1000}s): ${worst.join(', ')}; probe failures: ${probeFailures.join(' | ')}`,
        );
      if (restarts.some((r) => r !== 0)) throw new Error(`containers restarted: ${restarts.join(', ')}`);
      const logLines = ordinals.flatMap((o) =>
        sts
          .pod(o)
          .logs('xtrabackup')
          .split('\n')
          .filter((l) => l.includes('sidecar: credentials:') && !l.includes(': using '))
          .map((l) => `${name(o)}: ${l.replace(/^.*sidecar: credentials: /, '')}`),
      );
      if (logLines.some((l) => /accepts neither/.test(l)))
        throw new Error(`a sidecar reported credentials matching neither password: ${logLines.join(' | ')}`);
      return (
        `${timeline.join('; ')}; ${written} inserts on mysql-0 during the rotation, 0 failed (per phase: ${perPhase.replace(/\t/g, '=').replace(/\n/g, ', ')}), all ${total} rows on ${replicas.map(name).join(', ')}; ` +
        `longest NotReady: ${worst.join(', ')} (limit one probe period, ${periodMs / 1000}s), readiness probe failures: ${probeFailures.length}, restarts: ${restarts.join(', ')}; ` +
        `${refused.join('; ')}; receivers reconnected after the discard: ${reconnected.join(', ')}; sidecar logs: ${logLines.join(' | ')}`
      );
    },
  };
}
