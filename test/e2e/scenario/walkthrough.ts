/**
 * The seed walkthrough (the EKS workshop page's kubectl steps) as harness steps. Each step returns its evidence
 * as text or throws; the runner prints PASS/FAIL with the evidence and the step's duration.
 */
import * as fs from 'fs';
import type { ReplicaStatus } from '../adapters/types';
import { waitFor } from '../lib/proc';
import { replicasReadOnlyStep, scaleTo2Step, stepHelpers } from './common';
import { primaryVolumeLostStep, replicaBrokenUnreadyStep, stopFastStep } from './day2';
import { monitoringSteps } from './monitoring';
import type { Step, WalkthroughContext } from './common';

export type { Step, WalkthroughContext } from './common';

/** The step whose failure the negative control expects. */
export const REPLICA_OF_REPLICA_STEP = 'scale-3-replication';

/** Builds the steps; `timeouts` bound every wait. */
export function walkthrough(w: WalkthroughContext): Step[] {
  const { sts } = w;
  const h = stepHelpers(w);
  const { name, host, sql, replicaStatus, messages, waitRow, pods, claimFile, serverId, readPath } = h;
  const fmtStatus = (s: ReplicaStatus) =>
    s.configured
      ? `source=${s.sourceHost} IO=${s.ioRunning} SQL=${s.sqlRunning} file=${s.sourceLogFile} ` +
        `read_pos=${s.readSourceLogPos} exec_pos=${s.execSourceLogPos}${s.lastError ? ` error=${s.lastError}` : ''}`
      : 'replication NOT configured (SHOW SLAVE STATUS is empty)';

  /** Replication status, restarts and the last distinct sidecar errors of a pod (evidence for a failure). */
  const diagnose = async (ordinal: number) => {
    const pod = sts.pod(ordinal);
    const status: ReplicaStatus | Error = await replicaStatus(ordinal).catch((e: Error) => e);
    const errors = [
      ...new Set(
        pod
          .logs('xtrabackup')
          .split('\n')
          .filter((l) => /^ERROR/.test(l)),
      ),
    ];
    const shown = status instanceof Error ? status.message : fmtStatus(status);
    return `${name(ordinal)}: ${shown}; restarts=${pod.restarts}; sidecar errors: ${errors.slice(-3).join(' | ') || '(none)'}`;
  };

  let orig1Before = '';
  let status1Before: ReplicaStatus | undefined;

  return [
    {
      id: 'deploy-2',
      title: 'deploy 2 replicas in order (OrderedReady): rollout status, claims data-mysql-0/1',
      run: async () => {
        await sts.reconcile(90_000);
        const p0 = sts.pod(0);
        const p1 = sts.pod(1);
        const ready0 = p0.events.find((e) => e.includes('Ready=true'));
        const created1 = p1.events[0];
        if (!ready0 || !created1 || created1.slice(0, 12) < ready0.slice(0, 12)) {
          throw new Error(`mysql-1 was created before mysql-0 was Ready: ${ready0} / ${created1}`);
        }
        const claims = sts.claims();
        if (claims.join() !== 'data-mysql-0,data-mysql-1') throw new Error(`claims: ${claims.join(', ')}`);
        const ids = [await serverId(host(0)), await serverId(host(1))];
        if (ids.join() !== '100,101') throw new Error(`server ids ${ids.join(',')}`);
        return `${pods()}; mysql-0 Ready at ${ready0.slice(0, 12)}, mysql-1 created at ${created1.slice(0, 12)}; claims: ${claims.join(', ')}; server ids ${ids.join(', ')}`;
      },
    },
    {
      id: 'write-read',
      title: 'create test.messages on mysql-0.mysql, read it on mysql-1 and through mysql-read',
      run: async () => {
        await sql(
          host(0),
          "CREATE DATABASE test;\nCREATE TABLE test.messages (message VARCHAR(250));\nINSERT INTO test.messages VALUES ('hello, from mysql-client');\n",
        );
        try {
          await waitRow(1, 'hello, from mysql-client');
        } catch (err) {
          throw new Error(`${(err as Error).message}; ${await diagnose(1)}`);
        }
        const viaRead = await sql('mysql-read', 'SELECT * FROM test.messages');
        const s1 = await replicaStatus(1);
        if (s1.ioRunning !== 'Yes' || s1.sqlRunning !== 'Yes') throw new Error(fmtStatus(s1));
        const binlog = await sql(host(0), 'SHOW MASTER STATUS');
        return `mysql-1 has the row; mysql-read answered '${viaRead}'; mysql-1: ${fmtStatus(s1)}; mysql-0 binlog: ${binlog.split('\t').slice(0, 2).join(' ')}`;
      },
    },
    {
      id: 'client-missing',
      title: "mv /usr/bin/mysql in mysql-1's mysql container: 2/3 Ready, 0 restarts, then back to 3/3",
      run: async () => {
        const p1 = sts.pod(1);
        const mv = await p1.container('mysql').exec(['mv', '/usr/bin/mysql', '/usr/bin/mysql.off'], 5_000);
        if (mv.code !== 0) throw new Error(`mv failed: ${mv.stderr}`);
        await waitFor('mysql-1 to turn 2/3', 30_000, () => p1.readyColumn === '2/3', 100);
        const during = `${p1.name} ${p1.readyColumn} restarts=${p1.restarts}`;
        const sidecarStill = await p1.container('xtrabackup').exec(['test', '-e', '/usr/bin/mysql'], 5_000);
        const otherPod = await sts.pod(0).container('mysql').exec(['test', '-e', '/usr/bin/mysql'], 5_000);
        if (sidecarStill.code !== 0 || otherPod.code !== 0)
          throw new Error('the mv leaked out of the container');
        const reads = await readPath(6);
        if (reads.some((id) => id !== '100'))
          throw new Error(`mysql-read routed to a not-ready pod: ${reads}`);
        const back = await p1.container('mysql').exec(['mv', '/usr/bin/mysql.off', '/usr/bin/mysql'], 5_000);
        if (back.code !== 0) throw new Error(`mv back failed: ${back.stderr}`);
        await waitFor('mysql-1 to be 3/3 again', 30_000, () => p1.readyColumn === '3/3', 100);
        if (p1.restarts !== 0) throw new Error(`restarts=${p1.restarts}`);
        return `during: ${during} (mysql-0 and mysql-1's sidecar still have /usr/bin/mysql; mysql-read -> ${reads.join(',')}); after: ${p1.name} ${p1.readyColumn} restarts=${p1.restarts}`;
      },
    },
    {
      id: 'delete-pod',
      title:
        'delete pod mysql-1 (claim kept), write meanwhile, recreate: catches up, no re-clone, no new CHANGE MASTER',
      run: async () => {
        const orig = claimFile(1, 'change_master_to.sql.orig');
        orig1Before = h.fingerprint(orig);
        status1Before = await replicaStatus(1);
        const oldIp = sts.pod(1).ip;
        await sts.deletePod(1);
        const reads = await readPath(4);
        await sql(host(0), "INSERT INTO test.messages VALUES ('written while mysql-1 was deleted');");
        const primaryPos = (await sql(host(0), 'SHOW MASTER STATUS')).split('\t').slice(0, 2);
        await sts.reconcile(90_000);
        const p1 = sts.pod(1);
        await waitRow(1, 'written while mysql-1 was deleted');
        const origAfter = h.keptState(
          p1,
          orig,
          orig1Before,
          /CHANGE MASTER|starting replication|Initializing replication/i,
          'ran CHANGE MASTER',
        );
        const s1 = await waitFor(
          'mysql-1 to reach the primary position',
          20_000,
          async () => {
            const s = await replicaStatus(1);
            return s.execSourceLogPos === Number(primaryPos[1]) && s.sourceLogFile === primaryPos[0]
              ? s
              : undefined;
          },
          300,
        );
        if (s1.ioRunning !== 'Yes' || s1.sqlRunning !== 'Yes') throw new Error(fmtStatus(s1));
        return `while deleted mysql-read -> ${reads.join(',')}; recreated with IP ${oldIp} -> ${p1.ip}; clone-mysql: "nothing to clone"; sidecar log has no CHANGE MASTER; change_master_to.sql.orig unchanged (${origAfter}); before: exec_pos=${status1Before.execSourceLogPos}, after: ${fmtStatus(s1)} = primary ${primaryPos.join(' ')}`;
      },
    },
    {
      id: 'scale-3-clone',
      title: 'scale to 3: mysql-2 clones from mysql-1 (a replica) and becomes Ready; server ids 100,101,102',
      run: async () => {
        await sts.scale(3, 120_000);
        const p2 = sts.pod(2);
        const clone = p2.logs('clone-mysql');
        if (!/streaming a backup from mysql-1\.mysql:3307/.test(clone))
          throw new Error(`clone-mysql log: ${clone}`);
        const served = sts.pod(1).logs('xtrabackup');
        if (!/completed OK/.test(served)) throw new Error('mysql-1 sidecar log shows no finished backup');
        const ids = [await serverId(host(0)), await serverId(host(1)), await serverId(host(2))];
        if (ids.join() !== '100,101,102') throw new Error(`server ids ${ids.join(',')}`);
        const orig = claimFile(2, 'change_master_to.sql.orig');
        const applied = fs.existsSync(orig)
          ? fs.readFileSync(orig, 'utf8').trim()
          : '(no change_master_to.sql.orig)';
        return `${pods()}; clone-mysql: "${clone.match(/streaming a backup from \S+/)?.[0]}"; mysql-1 sidecar served a backup; server ids ${ids.join(', ')}; mysql-2 change_master_to.sql.orig: ${applied}`;
      },
    },
    {
      id: REPLICA_OF_REPLICA_STEP,
      title: 'scale to 3: a row written on mysql-0 after mysql-2 is Ready reaches mysql-2 by replication',
      run: async () => {
        const row = 'written after mysql-2 was Ready';
        await sql(host(0), `INSERT INTO test.messages VALUES ('${row}');`);
        let s2: ReplicaStatus | undefined;
        try {
          await waitRow(2, row, 15_000);
        } catch (err) {
          s2 = await replicaStatus(2).catch(() => undefined);
          const p2 = sts.pod(2);
          const errors = p2
            .logs('xtrabackup')
            .split('\n')
            .filter((l) => /^ERROR (?!2002)/.test(l));
          throw new Error(
            `${(err as Error).message}; mysql-2: ${s2 ? fmtStatus(s2) : '?'}; mysql-2 restarts=${p2.restarts}; ` +
              `sidecar errors: ${errors.slice(0, 3).join(' | ') || '(none)'}`,
          );
        }
        s2 = await replicaStatus(2);
        if (s2.sourceHost !== host(0) || s2.ioRunning !== 'Yes' || s2.sqlRunning !== 'Yes')
          throw new Error(fmtStatus(s2));
        const all = await messages(2);
        return `mysql-2: ${fmtStatus(s2)}; rows on mysql-2: ${all.split('\n').join(' | ')}`;
      },
    },
    {
      id: 'read-path',
      title: 'mysql-read spreads reads over the Ready pods (server ids 100, 101, 102)',
      run: async () => {
        const { seen, distinct, rows } = await h.readSpread();
        return `15 connections to mysql-read answered by server ids ${seen.join(',')} (distinct: ${distinct.join(', ')}); SELECT COUNT(*) via mysql-read = ${rows}`;
      },
    },
    replicasReadOnlyStep(w, h, 'replicas reject writes (super-read-only), the primary accepts them'),
    scaleTo2Step(w, h, 'scale to 2: mysql-2 goes, its claim and data remain', 60_000),
    replicaBrokenUnreadyStep(w, h, {
      what: 'a table missing on the replica: SQL thread error 1146',
      breakIt: async () => {
        await sql(
          host(0),
          'SET SESSION sql_log_bin = 0;\nCREATE TABLE test.e2e_unreplicated (id INT PRIMARY KEY);\nSET SESSION sql_log_bin = 1;\nINSERT INTO test.e2e_unreplicated VALUES (1);\n',
        );
        return 'mysql-0: CREATE TABLE test.e2e_unreplicated without binlog, then an INSERT into it (replicated)';
      },
      reason: /replication SQL thread is No \(Last_SQL_Errno 1146: /,
      repair: async () => {
        await sql(host(1), 'SET GLOBAL sql_slave_skip_counter = 1;\nSTART SLAVE SQL_THREAD;\n');
        await sql(host(0), 'SET SESSION sql_log_bin = 0;\nDROP TABLE test.e2e_unreplicated;\n');
        return 'mysql-1: SET GLOBAL sql_slave_skip_counter = 1; START SLAVE SQL_THREAD';
      },
    }),
    // MySQL 5.7 syntax (the mysql:5.7 client talks to MariaDB directly; both know it).
    ...monitoringSteps(w, h, { stop: 'STOP SLAVE SQL_THREAD', start: 'START SLAVE SQL_THREAD' }),
    stopFastStep(w, h),
    primaryVolumeLostStep(w, h, 'refuse'),
  ];
}
