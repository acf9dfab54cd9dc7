/**
 * The walkthrough for the production profile (MySQL 8.4, GTIDs, credentials, restricted pods), with the seed's
 * steps that apply to it and the checks its extra properties need. Each step returns its evidence or throws.
 * Secret values are never part of any evidence.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ReplicaStatus } from '../adapters/types';
import { replicasReadOnlyStep, scaleTo2Step, stepHelpers } from './common';
import {
  primaryVolumeLostStep,
  replicaBrokenUnreadyStep,
  sourceDivergentRefusedStep,
  stopFastStep,
} from './day2';
import { monitoringSteps } from './monitoring';
import { rotateCredentialsStep } from './rotation';
import { switchoverSteps } from './switchover';
import type { MysqlStackConfig } from '../../../charts/config';
import { tlsSteps } from './tls';
import type { Step, WalkthroughContext } from './common';
import type { CmdlineScanner, GeneratedSecret, Hit, Needle } from '../lib/secrets';
import { scanFiles } from '../lib/secrets';
import type { Pod } from '../lib/pod';
import type { CertManager } from '../lib/cert-manager';
import { sleep, waitFor } from '../lib/proc';
import { HOST_BIN } from '../lib/inventory';

/** What the production steps need beyond the workshop's context. */
export interface ProductionContext extends WalkthroughContext {
  secrets: GeneratedSecret[];
  needles: Needle[];
  scanner: CmdlineScanner;
  runDir: string;
  /** The backup steps (backups.ts), run after read-path; empty when the profile has no backups. */
  backupSteps: Step[];
  certManager: CertManager;
  /** The profile's config, for the steps that synthesize it changed (the switchover steps). */
  config: MysqlStackConfig;
}

/**
 * Files below the run directory that hold a secret on purpose: the Secret volumes, init-mysql's and
 * exporter-config's option files, and
 * the client container's runtime config (its env, MYSQL_PWD from the Secret; containerd keeps env in its metadata),
 * and root's option file the switchover Job writes into its in-memory emptyDir (`medium: Memory` on a node).
 */
const SECRET_HOLDERS =
  /^pods\/([^/]+\/(volumes\/(credentials|client-cnf|exporter-cnf)\/|containers\/mysql-client-\d+\/env$)|mysql-switchover-[^/]+\/volumes\/tmp\/switchover\.cnf$)/;
/**
 * Where the server itself keeps the replication password a CHANGE REPLICATION SOURCE gave it: MariaDB in
 * master.info; MySQL 8.4 in the mysql.slave_master_info table (mysql.ibd) of the same data directory.
 */
const SERVER_CREDENTIAL_STORE =
  /^(claims(-[a-z0-9-]+)?\/data-mysql-\d+\/mysql\/master\.info|pods\/mysql-restore-drill-[^/]+\/volumes\/scratch\/mysql\/master\.info|s3\/[^/]+\/.+\/backup\.xbstream\._S3rver_object)$/;

export function productionWalkthrough(w: ProductionContext): Step[] {
  const { sts, client } = w;
  const h = stepHelpers(w);
  const { name, host, sql, replicaStatus, waitRow, pods, claimFile, fingerprint, serverId } = h;

  /**
   * Harness inspection in MariaDB's own terms (its gtid_*_pos variables), bypassing the MySQL 8.4 shim on purpose:
   * evidence about the emulation, not a step a user would run.
   */
  const inspect = async (target: string, statement: string): Promise<string> => {
    const r = await client.run([`${HOST_BIN}/mariadb`, '-uroot', '-h', target, '-N', '-B', '-e', statement]);
    if (r.code !== 0) throw new Error(`inspect ${target}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  const fmtStatus = (s: ReplicaStatus) =>
    s.configured
      ? `source=${s.sourceHost} IO=${s.ioRunning} SQL=${s.sqlRunning} Using_Gtid=${s.fields?.Using_Gtid} ` +
        `Gtid_IO_Pos=${s.fields?.Gtid_IO_Pos} SSL=${s.fields?.Source_SSL_Allowed}${s.lastError ? ` error=${s.lastError}` : ''}`
      : 'replication NOT configured (SHOW REPLICA STATUS is empty)';
  const shimNotes = (pod: Pod, container: string) =>
    pod
      .logs(container)
      .split('\n')
      .filter((l) => /e2e mysql84 shim:|xtrabackup \(e2e shim\): xtrabackup_binlog_info/.test(l));
  const whenEvent = (pod: Pod, text: string) => pod.events.find((e) => e.includes(text))?.slice(0, 12);
  /** Every host process in the container's PID namespace, with its /proc status fields. */
  const containerProcesses = (initPid: number) => {
    const ns = fs.readlinkSync(`/proc/${initPid}/ns/pid`);
    const out: { pid: number; comm: string; status: Record<string, string> }[] = [];
    for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (fs.readlinkSync(`/proc/${p}/ns/pid`) !== ns) continue;
        const status: Record<string, string> = {};
        for (const line of fs.readFileSync(`/proc/${p}/status`, 'utf8').split('\n')) {
          const i = line.indexOf(':');
          if (i > 0) status[line.slice(0, i)] = line.slice(i + 1).trim();
        }
        out.push({ pid: Number(p), comm: status.Name, status });
      } catch {
        /* gone */
      }
    }
    return out;
  };

  let orig1Before = '';
  // CLONE_FROM of the clone-mysql init container: "previous" (the seed's mysql-N-1) or "primary" (mysql-0).
  const cloneEnv = sts.sts.spec.template.spec.initContainers?.find((c) => c.name === 'clone-mysql')?.env;
  const cloneFrom = cloneEnv?.find((e) => e.name === 'CLONE_FROM')?.value ?? 'previous';

  return [
    {
      id: 'secret',
      title: 'kubectl create secret generic mysql-credentials (generated per run; values never printed)',
      run: async () => {
        const out: string[] = [];
        for (const s of w.secrets) {
          for (const [key, value] of Object.entries(s.values)) {
            const classes = [`'`, `"`, '\\', '$', '`', '#', ';', ' '].filter((c) => value.includes(c));
            out.push(`${s.object.metadata.name}/${key}: ${value.length} chars incl. ${classes.join(' ')}`);
          }
        }
        return `${out.join('; ')}; command-line sampler running (every process of the host)`;
      },
    },
    {
      id: 'deploy-3',
      title:
        'deploy 3 replicas in order (OrderedReady, startup probes); each replica clones the pod CLONE_FROM names',
      run: async () => {
        await sts.reconcile(180_000);
        const order: string[] = [];
        for (const ordinal of [1, 2]) {
          const prevReady = whenEvent(sts.pod(ordinal - 1), 'Ready=true');
          const created = sts.pod(ordinal).events[0]?.slice(0, 12);
          if (!prevReady || !created || created < prevReady)
            throw new Error(
              `${name(ordinal)} created at ${created} before ${name(ordinal - 1)} Ready at ${prevReady}`,
            );
          order.push(`${name(ordinal - 1)} Ready ${prevReady} -> ${name(ordinal)} created ${created}`);
        }
        const claims = sts.claims();
        if (claims.join() !== 'data-mysql-0,data-mysql-1,data-mysql-2') throw new Error(`claims: ${claims}`);
        const ids = [await serverId(host(0)), await serverId(host(1)), await serverId(host(2))];
        if (ids.join() !== '100,101,102') throw new Error(`server ids ${ids.join(',')}`);
        const clones: string[] = [];
        for (const ordinal of [1, 2]) {
          const peer = cloneFrom === 'primary' ? name(0) : name(ordinal - 1);
          const log = sts.pod(ordinal).logs('clone-mysql');
          if (
            !log.includes(`streaming a backup from ${peer}.mysql:3307`) ||
            !log.includes('clone-mysql: done')
          )
            throw new Error(`${name(ordinal)} clone-mysql log: ${log}`);
          clones.push(`${name(ordinal)} <- ${peer}`);
        }
        const startups = [0, 1, 2].map(
          (o) =>
            `${name(o)} ${
              sts
                .pod(o)
                .events.find((e) => e.includes('startup probe of mysql succeeded'))
                ?.replace(/^.*after /, '') ?? '?'
            }`,
        );
        return `${pods()}; ${order.join('; ')}; clones (CLONE_FROM=${cloneFrom}): ${clones.join(', ')}; startup probe passed after: ${startups.join(', ')}; claims: ${claims.join(', ')}; server ids ${ids.join(', ')}`;
      },
    },
    {
      id: 'gtid-replication',
      title:
        'replicas run GTID auto-positioned replication from mysql-0 over TLS, configured by the sidecar (translated)',
      run: async () => {
        const out: string[] = [];
        for (const ordinal of [1, 2]) {
          const s = await replicaStatus(ordinal);
          if (
            s.sourceHost !== host(0) ||
            s.ioRunning !== 'Yes' ||
            s.sqlRunning !== 'Yes' ||
            s.fields?.Using_Gtid !== 'Current_Pos' ||
            s.fields?.Source_SSL_Allowed !== 'Yes'
          )
            throw new Error(`${name(ordinal)}: ${fmtStatus(s)}`);
          const orig = fs.readFileSync(claimFile(ordinal, 'change_source.sql.orig'), 'utf8').trim();
          if (!/^RESET BINARY LOGS AND GTIDS;\nSET GLOBAL gtid_purged='[0-9a-f-]+:1-\d+';$/.test(orig))
            throw new Error(`${name(ordinal)} change_source.sql.orig: ${orig}`);
          const notes = shimNotes(sts.pod(ordinal), 'xtrabackup');
          if (!notes.some((n) => n.includes('CHANGE REPLICATION SOURCE TO -> CHANGE MASTER TO')))
            throw new Error(`${name(ordinal)}: the sidecar's translation notes: ${notes.join(' | ')}`);
          out.push(`${name(ordinal)}: ${fmtStatus(s)}; change_source.sql.orig: ${orig.replace(/\n/g, ' ')}`);
        }
        const served = [0, 1].map((o) =>
          shimNotes(sts.pod(o), 'xtrabackup')
            .filter((l) => l.includes('xtrabackup_binlog_info'))
            .map((l) => `${name(o)} served: ${l.replace(/^.*xtrabackup_binlog_info: /, '')}`)
            .join(' | '),
        );
        const ssl = await sql(host(0), "SHOW GLOBAL STATUS LIKE 'Ssl_finished_accepts'");
        const notes1 = shimNotes(sts.pod(1), 'xtrabackup').join(' | ');
        return `${out.join('; ')}; ${served.join('; ')}; mysql-0 ${ssl.replace('\t', '=')}; mysql-1 sidecar SQL translated: ${notes1}`;
      },
    },
    {
      id: 'repl-user',
      title: "replication user 'repl'@'%' on every server with the intended grants (as translated)",
      run: async () => {
        const expected = [
          'BINLOG MONITOR',
          'LOCK TABLES',
          'PROCESS',
          'RELOAD',
          'REPLICATION SLAVE',
          'SLAVE MONITOR',
        ];
        const out: string[] = [];
        // With TLS the user must also present the client certificate (checked in tls-verified).
        const subject = sts.sts.spec.template.spec.containers
          .find((c) => c.name === 'xtrabackup')
          ?.env?.find((e) => e.name === 'REPLICATION_SUBJECT')?.value;
        const require = subject ? ` REQUIRE SUBJECT '${subject}'` : '';
        for (const ordinal of [0, 1, 2]) {
          const grants = (await sql(host(ordinal), "SHOW GRANTS FOR 'repl'@'%'")).split('\n');
          const m = grants[0]?.match(
            /^GRANT (.*) ON \*\.\* TO `repl`@`%` IDENTIFIED BY PASSWORD '\*[0-9A-F]{40}'(.*)$/,
          );
          const privs = m?.[1].split(', ').sort() ?? [];
          if (grants.length !== 1 || privs.join() !== expected.join() || m?.[2] !== require)
            throw new Error(
              `${name(ordinal)}: ${grants.map((g) => g.replace(/PASSWORD '[^']*'/, "PASSWORD '<redacted>'")).join(' / ')}`,
            );
          out.push(`${name(ordinal)}: ${privs.join(', ')}`);
        }
        const notes = shimNotes(sts.pod(0), 'xtrabackup').join(' | ');
        for (const rule of [
          'BACKUP_ADMIN',
          'performance_schema.log_status',
          'performance_schema.keyring_component_status',
          'performance_schema.replication_group_members',
          'IDENTIFIED BY',
        ])
          if (!notes.includes(rule)) throw new Error(`mysql-0 sidecar notes lack ${rule}: ${notes}`);
        return `${out.join('; ')} (REPLICATION CLIENT shows as MariaDB's BINLOG MONITOR, plus SLAVE MONITOR for SHOW REPLICA STATUS; BACKUP_ADMIN and the 3 performance_schema grants dropped by the shim); mysql-0 sidecar: ${notes}; repl authenticated: replicas' IO threads and two backups as repl`;
      },
    },
    {
      id: 'write-read',
      title: 'create test.messages on mysql-0, read it on mysql-1, mysql-2 and through mysql-read',
      run: async () => {
        await sql(
          host(0),
          "CREATE DATABASE test;\nCREATE TABLE test.messages (message VARCHAR(250));\nINSERT INTO test.messages VALUES ('hello, from mysql-client');\n",
        );
        for (const ordinal of [1, 2]) await waitRow(ordinal, 'hello, from mysql-client');
        const viaRead = await sql('mysql-read', 'SELECT * FROM test.messages');
        const pos = await inspect(host(0), 'SELECT @@gtid_binlog_pos');
        const applied = [
          await inspect(host(1), 'SELECT @@gtid_slave_pos'),
          await inspect(host(2), 'SELECT @@gtid_slave_pos'),
        ];
        const binlog = await sql(host(0), 'SHOW BINARY LOG STATUS');
        return `mysql-1 and mysql-2 have the row; mysql-read answered '${viaRead}'; mysql-0 gtid_binlog_pos ${pos}, replicas' gtid_slave_pos ${applied.join(', ')}; SHOW BINARY LOG STATUS on mysql-0: ${binlog.split('\t').slice(0, 2).join(' ')}`;
      },
    },
    // With tls: clients-require-tls, tls-verified, backup-port-refuses-unauthenticated, tls-renewal.
    ...tlsSteps(w, h),
    replicasReadOnlyStep(
      w,
      h,
      'replicas reject writes (super_read_only, as read_only + revoke), the primary accepts them',
    ),
    {
      id: 'restricted',
      title:
        'restricted pods: uid/gid 999 + fsGroup 999, no capabilities, no_new_privs, read-only root (mv /usr/bin/mysql fails), Secret volume 0440 root:999',
      run: async () => {
        const out: string[] = [];
        // The containers that run as the mysql user: mysql, xtrabackup and, with TLS, tls-reload (the
        // exporter runs as its image's nobody user, 65534: the monitoring steps check it).
        const specs = sts.sts.spec.template.spec.containers;
        const mounts = (c: string, mountPath: string) =>
          !!specs.find((s) => s.name === c)?.volumeMounts?.some((m) => m.mountPath === mountPath);
        const names = specs.map((s) => s.name).filter((n) => n !== 'exporter');
        for (const ordinal of [0, 1, 2]) {
          const pod = sts.pod(ordinal);
          for (const c of names) {
            const proc = pod.container(c);
            const procs = containerProcesses(proc.initPid);
            for (const p of procs) {
              const s = p.status;
              const ok =
                s.Uid.split(/\s+/).every((x) => x === '999') &&
                s.Gid.split(/\s+/).every((x) => x === '999') &&
                s.Groups === '999' &&
                [s.CapInh, s.CapPrm, s.CapEff, s.CapBnd, s.CapAmb].every((x) => /^0+$/.test(x)) &&
                s.NoNewPrivs === '1';
              if (!ok)
                throw new Error(
                  `${pod.name}/${c} pid ${p.pid} (${p.comm}): Uid ${s.Uid} Gid ${s.Gid} Groups ${s.Groups} CapEff ${s.CapEff} CapBnd ${s.CapBnd} NoNewPrivs ${s.NoNewPrivs}`,
                );
            }
            for (const target of ['/e2e-write-test', '/usr/bin/e2e-write-test', '/etc/e2e-write-test']) {
              const r = await proc.exec(['touch', target], 5_000);
              if (r.code === 0 || !/Read-only file system/.test(r.stderr))
                throw new Error(`${pod.name}/${c}: touch ${target}: exit ${r.code} ${r.stderr.trim()}`);
            }
            const tmp = await proc.exec(
              [
                'bash',
                '-c',
                `${mounts(c, '/tmp') ? 'touch /tmp/e2e-w && rm /tmp/e2e-w && ' : ''}id -u && id -G`,
              ],
              5_000,
            );
            if (tmp.code !== 0 || tmp.stdout.trim().split('\n').join(' ') !== '999 999')
              throw new Error(
                `${pod.name}/${c}: /tmp (emptyDir) not writable or id wrong: ${tmp.stdout} ${tmp.stderr}`,
              );
            if (!mounts(c, '/etc/mysql/credentials')) continue;
            const cred = await proc.exec(
              [
                'bash',
                '-c',
                'test -r /etc/mysql/credentials/root-password && stat -L -c "%a %u:%g" /etc/mysql/credentials/root-password /etc/mysql/credentials/replication-password && readlink /etc/mysql/credentials/..data',
              ],
              5_000,
            );
            const credLines = cred.stdout.trim().split('\n');
            if (
              cred.code !== 0 ||
              credLines[0] !== '440 0:999' ||
              credLines[1] !== '440 0:999' ||
              !/^\.\.\d{4}_/.test(credLines[2] ?? '')
            )
              throw new Error(`${pod.name}/${c} credentials volume: ${cred.stdout} ${cred.stderr}`);
            if (ordinal === 0 && c === 'mysql')
              out.push(
                `mysql-0/mysql processes ${procs.map((p) => `${p.comm}(${p.status.Uid.split(/\s+/)[0]}:${p.status.Gid.split(/\s+/)[0]} groups ${p.status.Groups} CapEff ${p.status.CapEff} NoNewPrivs ${p.status.NoNewPrivs} Seccomp ${p.status.Seccomp})`).join(', ')}`,
              );
          }
          out.push(
            `${pod.name}: ${names.map((c) => `${c} ${containerProcesses(pod.container(c).initPid).length} procs ok`).join(', ')}`,
          );
        }
        // Init containers have exited: what they wrote shows who they ran as.
        const p1 = sts.pod(1);
        const cnf = path.join(p1.dir, 'volumes', 'client-cnf', 'root.cnf');
        const st = fs.statSync(cnf);
        if (st.uid !== 999 || (st.mode & 0o777) !== 0o600)
          throw new Error(`root.cnf: uid ${st.uid} mode ${(st.mode & 0o777).toString(8)}`);
        const foreign: string[] = [];
        const walk = (p: string) => {
          const s = fs.lstatSync(p);
          if (s.uid !== 999) foreign.push(`${path.relative(sts.claimsDir, p)} uid ${s.uid}`);
          if (s.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
        };
        // The subPath directory itself is the kubelet's (root-owned, fsGroup 999); everything in it is the pod's.
        const dataDir2 = path.join(sts.claimsDir, 'data-mysql-2', 'mysql');
        for (const e of fs.readdirSync(dataDir2)) walk(path.join(dataDir2, e));
        if (foreign.length)
          throw new Error(`files in mysql-2's data dir not owned by 999: ${foreign.slice(0, 5).join(', ')}`);
        const mv = await p1.container('mysql').exec(['mv', '/usr/bin/mysql', '/usr/bin/mysql.off'], 5_000);
        if (mv.code === 0 || !/Read-only file system/.test(mv.stderr))
          throw new Error(`mv /usr/bin/mysql: exit ${mv.code} ${mv.stderr}`);
        await sleep(6_000);
        if (p1.readyColumn !== `${specs.length}/${specs.length}` || p1.restarts !== 0)
          throw new Error(`mysql-1 after the failed mv: ${p1.readyColumn} restarts=${p1.restarts}`);
        return `${out.join('; ')}; touch / /usr/bin /etc: "Read-only file system" in all ${3 * names.length} containers (${names.join(', ')}), /tmp (emptyDir) writable where mounted; credentials: 440 0:999 via ..data; init-mysql wrote root.cnf as uid 999 mode 600; every file clone-mysql wrote on mysql-2 is uid 999; kubectl exec mysql-1 -c mysql -- mv /usr/bin/mysql /usr/bin/mysql.off: "${mv.stderr.trim()}" (exit ${mv.code}), mysql-1 stays ${p1.readyColumn} restarts=${p1.restarts}; seccomp RuntimeDefault NOT applied by the harness`;
      },
    },
    {
      id: 'delete-pod',
      title:
        'delete pod mysql-1 (claim kept), write meanwhile, recreate: no re-clone, no second CHANGE REPLICATION SOURCE, catches up',
      run: async () => {
        const orig = claimFile(1, 'change_source.sql.orig');
        orig1Before = fingerprint(orig);
        const oldIp = sts.pod(1).ip;
        const t = Date.now();
        await sts.deletePod(1);
        const deleteSecs = ((Date.now() - t) / 1000).toFixed(1);
        await sql(host(0), "INSERT INTO test.messages VALUES ('written while mysql-1 was deleted');");
        const primaryPos = await inspect(host(0), 'SELECT @@gtid_binlog_pos');
        await sts.reconcile(120_000);
        const p1 = sts.pod(1);
        await waitRow(1, 'written while mysql-1 was deleted');
        const after = h.keptState(
          p1,
          orig,
          orig1Before,
          /starting replication|CHANGE REPLICATION SOURCE|CHANGE MASTER/i,
          'configured replication',
        );
        const applied = await waitFor(
          'mysql-1 to reach the primary GTID position',
          20_000,
          async () => {
            const pos = await inspect(host(1), 'SELECT @@gtid_slave_pos');
            return pos === primaryPos ? pos : undefined;
          },
          300,
        );
        const s1 = await replicaStatus(1);
        if (s1.ioRunning !== 'Yes' || s1.sqlRunning !== 'Yes') throw new Error(fmtStatus(s1));
        return `deleted in ${deleteSecs}s (grace 120s); recreated with IP ${oldIp} -> ${p1.ip}; clone-mysql: "nothing to clone"; new sidecar log has no CHANGE REPLICATION SOURCE; change_source.sql.orig unchanged (${after}); mysql-1 gtid_slave_pos ${applied} = mysql-0 gtid_binlog_pos ${primaryPos}; ${fmtStatus(s1)}`;
      },
    },
    {
      id: 'read-path',
      title: 'mysql-read spreads reads over the Ready pods (server ids 100, 101, 102)',
      run: async () => {
        const { seen, distinct, rows } = await h.readSpread();
        return `15 connections answered by ${seen.join(',')} (distinct: ${distinct.join(', ')}); COUNT(*) via mysql-read = ${rows}`;
      },
    },
    {
      id: 'sidecar-liveness-hung',
      title:
        "a hung backup server (mysql-2's socat stopped, a clone connected and waiting) fails the sidecar's liveness probe: the sidecar is restarted and serves again; the probe itself never started a backup",
      run: async () => {
        const pod = sts.pod(2);
        const status = () => pod.statuses().find((s) => s.name === 'xtrabackup')!;
        const before = status();
        // A backup leaves mariabackup's progress lines ("[00] …", "completed OK!") in the sidecar's log (socat's
        // SYSTEM: child writes to it); clones come from the primary, so mysql-2's sidecar has never served one,
        // although its liveness probe ran all along.
        const backupOutput = (p: Pod) =>
          p
            .logs('xtrabackup')
            .split('\n')
            .filter((l) => /\[\d\d\] |mariabackup|completed OK/.test(l));
        const primaryBackupLines = backupOutput(sts.pod(0)).length; // the detector sees the clones mysql-0 served
        const probesSoFar = before.livenessRuns;
        if (probesSoFar < 3 || backupOutput(pod).length > 0 || primaryBackupLines === 0)
          throw new Error(
            `before: ${probesSoFar} liveness probes; mysql-2 backup output: ${backupOutput(pod).join(' | ')}; mysql-0 backup lines: ${primaryBackupLines}`,
          );
        const listener = containerProcesses(pod.container('xtrabackup').initPid)
          .filter((p) => p.comm === 'socat')
          .sort((a, b) => a.pid - b.pid)[0];
        if (!listener) throw new Error('no socat in the sidecar');
        process.kill(listener.pid, 'SIGSTOP');
        const stoppedAt = Date.now();
        // The kernel completes the handshake into the stopped listener's accept queue; nothing is ever accepted.
        const clone = client.run(
          [
            'bash',
            '-c',
            `exec 3<>/dev/tcp/${host(2)}/3307 || exit 2; if IFS= read -r -n 1 -u 3 _; then echo got-data; else echo no-data; fi`,
          ],
          '',
          90_000,
        );
        const readyWhileHung = pod.readyColumn;
        const kill = await waitFor(
          "the sidecar's liveness probe to kill it",
          60_000,
          async () =>
            pod.events.find((e) => e.includes('liveness probe failed 3x: killing container xtrabackup')),
          250,
        );
        const killSecs = ((Date.now() - stoppedAt) / 1000).toFixed(1);
        const firstFailure =
          pod.events.find((e) => /liveness probe of xtrabackup failed \(1x\)/.test(e)) ?? '';
        const waited = await clone;
        // Every container Ready again (mysql, xtrabackup, tls-reload, exporter: as many as the template has).
        const allReady = `${sts.sts.spec.template.spec.containers.length}/${sts.sts.spec.template.spec.containers.length}`;
        await waitFor(
          `mysql-2 to be ${allReady} again with a restarted sidecar`,
          60_000,
          async () => pod.readyColumn === allReady && status().restartCount === before.restartCount + 1,
          250,
        );
        const s2 = await replicaStatus(2);
        if (s2.ioRunning !== 'Yes' || s2.sqlRunning !== 'Yes') throw new Error(fmtStatus(s2));
        if (waited.stdout.trim() !== 'no-data')
          throw new Error(`the waiting clone: ${waited.stdout} ${waited.stderr}`);
        return `before: ${probesSoFar} liveness probes of mysql-2's sidecar and no backup output in its log (mysql-0's, which served the clones, has ${primaryBackupLines} lines); socat (pid ${listener.pid}) stopped, a clone connected: pod stayed ${readyWhileHung} (readiness cannot tell); ${firstFailure.replace(/^.*?: /, '')}; killed after ${killSecs}s (${kill.replace(/^.*?: /, '')}); restarts ${before.restartCount} -> ${status().restartCount}, mysql-2 ${pod.readyColumn}; the waiting clone got no data and was released (${waited.stdout.trim()}); ${fmtStatus(s2)}`;
      },
    },
    {
      id: 'tls-reload-hung',
      title:
        "a hung certificate reload loop (mysql-2's tls-reload blocked: its child process stopped) fails its liveness probe once the heartbeat is older than its bound: the container is restarted, loads the certificate again and the pod is Ready",
      run: async () => {
        // mysql-2: its sidecar was restarted by the step before, and scale-2 removes it; later steps require
        // mysql-0 and mysql-1 never to have restarted.
        const pod = sts.pod(2);
        const spec = sts.sts.spec.template.spec.containers.find((c) => c.name === 'tls-reload');
        if (!spec) throw new Error('no tls-reload container in the StatefulSet');
        const maxAge = Number(spec.env?.find((e) => e.name === 'HEARTBEAT_MAX_AGE_SECONDS')?.value);
        if (!(maxAge > 0))
          throw new Error(`tls-reload has no HEARTBEAT_MAX_AGE_SECONDS: ${JSON.stringify(spec.env)}`);
        const status = () => pod.statuses().find((c) => c.name === 'tls-reload')!;
        const before = status();
        // The loop waits on its child (the poll's sleep, or a statement that never returns): stopping the child
        // is a loop that stops going round, with the container's PID 1 alive.
        const stopped = await waitFor(
          "a child of mysql-2's tls-reload loop to stop",
          60_000,
          () => {
            const init = pod.container('tls-reload').initPid;
            const child = containerProcesses(init).find(
              (p) => p.pid !== init && p.status.PPid === String(init),
            );
            if (!child) return undefined;
            process.kill(child.pid, 'SIGSTOP');
            return child;
          },
          100,
        );
        const stoppedAt = Date.now();
        const kill = await waitFor(
          "tls-reload's liveness probe to kill it",
          (maxAge + 90) * 1000,
          () => pod.events.find((e) => e.includes('liveness probe failed 3x: killing container tls-reload')),
          500,
        );
        const killSecs = (Date.now() - stoppedAt) / 1000;
        const firstFailure =
          pod.events.find((e) => /liveness probe of tls-reload failed \(1x\)/.test(e)) ?? '';
        // Not before the bound: a slow but live loop must not be killed.
        if (killSecs < maxAge - (Number(spec.env?.find((e) => e.name === 'POLL_SECONDS')?.value) || 0))
          throw new Error(`killed after ${killSecs.toFixed(1)}s, before the ${maxAge}s heartbeat bound`);
        const allReady = `${sts.sts.spec.template.spec.containers.length}/${sts.sts.spec.template.spec.containers.length}`;
        await waitFor(
          `mysql-2 to be ${allReady} again with a restarted tls-reload`,
          60_000,
          () => pod.readyColumn === allReady && status().restartCount === before.restartCount + 1,
          250,
        );
        const reloaded = pod
          .logs('tls-reload')
          .split('\n')
          .filter((l) => /ALTER INSTANCE RELOAD TLS succeeded/.test(l)).length;
        // One successful reload per container attempt: the one before the hang, and the restarted loop's.
        if (reloaded < 2)
          throw new Error(`the restarted tls-reload did not reload: ${pod.logs('tls-reload')}`);
        const tls = await sql(host(2), "SHOW STATUS LIKE 'Ssl_cipher'");
        return `heartbeat bound ${maxAge}s (HEARTBEAT_MAX_AGE_SECONDS); ${stopped.comm} (pid ${stopped.pid}, child of the loop) stopped; ${firstFailure.replace(/^.*?: /, '')}; killed after ${killSecs.toFixed(1)}s (${kill.replace(/^.*?: /, '')}); restarts ${before.restartCount} -> ${status().restartCount}; the new loop reloaded (${reloaded} successful reloads in the container's logs), mysql-2 ${pod.readyColumn}; a TLS session to mysql-2: ${tls.replace(/\s+/g, ' ')}`;
      },
    },
    ...w.backupSteps,
    // MySQL 8.4 syntax, through the client's 8.4 shim (which rejects the removed SLAVE forms).
    ...monitoringSteps(w, h, { stop: 'STOP REPLICA SQL_THREAD', start: 'START REPLICA SQL_THREAD' }),
    scaleTo2Step(w, h, 'scale 3 -> 2: mysql-2 goes, its claim and data remain', 150_000),
    replicaBrokenUnreadyStep(w, h, {
      what: 'a row written on the replica without binlog: SQL thread error 1062',
      breakIt: async () => {
        await sql(host(0), 'CREATE TABLE test.e2e_pk (id INT PRIMARY KEY);');
        await waitFor('test.e2e_pk on mysql-1', 20_000, async () => {
          try {
            return (await sql(host(1), 'SELECT COUNT(*) FROM test.e2e_pk')) === '0';
          } catch {
            return false;
          }
        });
        await sql(
          host(1),
          'SET GLOBAL super_read_only = OFF;\nSET SESSION sql_log_bin = 0;\nINSERT INTO test.e2e_pk VALUES (1);\nSET GLOBAL super_read_only = ON;\n',
        );
        await sql(host(0), 'INSERT INTO test.e2e_pk VALUES (1);');
        return 'mysql-1: row 1 in test.e2e_pk without binlog (super_read_only lifted for it); mysql-0: INSERT row 1';
      },
      reason: /replication SQL thread is No \(Last_SQL_Errno 1062: /,
      repair: async () => {
        await sql(
          host(1),
          'SET GLOBAL super_read_only = OFF;\nSET SESSION sql_log_bin = 0;\nDELETE FROM test.e2e_pk WHERE id = 1;\nSET GLOBAL super_read_only = ON;\nSTART REPLICA SQL_THREAD;\n',
        );
        return 'mysql-1: the conflicting row deleted without binlog, START REPLICA SQL_THREAD';
      },
    }),
    stopFastStep(w, h),
    sourceDivergentRefusedStep(w, h),
    primaryVolumeLostStep(w, h, 'clone'),
    rotateCredentialsStep(w, h),
    ...switchoverSteps(w, h),
    {
      id: 'no-secrets',
      title:
        'no password on any command line (sampled during the whole run) nor in data directories, logs or anything else the run wrote',
      run: async () => {
        w.scanner.scanOnce();
        w.scanner.stop();
        const cmd = w.scanner.hits;
        const files = scanFiles(w.runDir, w.needles);
        const fmt = (h: Hit[]) => [...new Set(h.map((x) => `${x.where}: ${x.needle}`))].join('; ');
        const expected = files.hits.filter((h) => SECRET_HOLDERS.test(h.where));
        const serverStore = files.hits.filter((h) => SERVER_CREDENTIAL_STORE.test(h.where));
        const bad = files.hits.filter(
          (h) => !SECRET_HOLDERS.test(h.where) && !SERVER_CREDENTIAL_STORE.test(h.where),
        );
        if (cmd.length || bad.length)
          throw new Error(`command lines: ${fmt(cmd) || 'clean'}; files: ${fmt(bad) || 'clean'}`);
        return `${w.scanner.scans} samples of /proc/*/cmdline, ${w.scanner.distinctProcesses} distinct command lines: no password (as is, SQL- or option-file-escaped); ${files.files} files (${(files.bytes / 1e6).toFixed(0)} MB) under the run dir: only the Secret volumes and init-mysql's option files (${new Set(expected.map((h) => h.where.split('/').slice(0, 4).join('/'))).size} volumes) and the server's own replication-credential store (${[...new Set(serverStore.map((h) => h.where))].join(', ') || 'none'}; MySQL 8.4 keeps the same in mysql.slave_master_info) hold one; binary logs, relay logs, change_source.sql.*, logs: clean`;
      },
    },
  ];
}
