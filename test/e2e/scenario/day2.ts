/**
 * Day-2 steps both walkthroughs share (issue 10): a replica whose replication breaks turns NotReady and leaves the
 * read Service, and comes back when repaired; a pod deletion is quick when mysqld shuts down cleanly. Each returns its
 * evidence or throws.
 */
import type { Step, StepHelpers, WalkthroughContext } from './common';
import * as fs from 'fs';
import { waitFor } from '../lib/proc';

/** How replication is broken on mysql-1 and repaired, in the profile's SQL (through the client pod). */
export interface Breakage {
  /** What the break emulates, for the step's title. */
  what: string;
  /** Breaks replication on mysql-1; returns a description. */
  breakIt: () => Promise<string>;
  /** The sidecar's reason must match this once it is broken. */
  reason: RegExp;
  /** Repairs it the documented way; returns a description. */
  repair: () => Promise<string>;
}

/** Time from a break to the kubelet's NotReady: one check (and its duration) plus the probe's threshold. */
function probeWindowMs(w: WalkthroughContext): number {
  const x = w.sts.sts.spec.template.spec.containers.find((c) => c.name === 'xtrabackup');
  const p = x?.readinessProbe;
  // The sidecar's MONITOR_SECONDS default (2 s) plus the check's own duration: four client calls through the
  // 8.4 shim, up to ~5 s on the loaded 2-core machine.
  const checkSeconds = 2 + 5;
  return ((p?.periodSeconds ?? 10) * ((p?.failureThreshold ?? 3) + 1) + checkSeconds) * 1000;
}

export function replicaBrokenUnreadyStep(w: WalkthroughContext, h: StepHelpers, b: Breakage): Step {
  const { sts } = w;
  return {
    id: 'replica-broken-unready',
    title: `break replication on mysql-1 (${b.what}): NotReady and out of mysql-read within the probe window, with the reason; repair: Ready again`,
    run: async () => {
      const p1 = sts.pod(1);
      const window = probeWindowMs(w);
      if (!p1.ready) throw new Error(`mysql-1 is not Ready before the break: ${h.pods()}`);
      const eventsBefore = p1.events.length;
      const logBefore = p1.logs('xtrabackup').length;
      const how = await b.breakIt();
      const t = Date.now();
      await waitFor(`mysql-1 to turn NotReady (window ${window / 1000}s)`, window, () => !p1.ready, 100);
      const unreadyAfter = ((Date.now() - t) / 1000).toFixed(1);
      const reads = await h.readPath(8);
      if (reads.includes('101')) throw new Error(`mysql-read still routed to mysql-1: ${reads}`);
      const probeEvent = p1.events
        .slice(eventsBefore)
        .find((e) => /readiness probe of xtrabackup failed/.test(e) && b.reason.test(e));
      if (!probeEvent)
        throw new Error(`no probe failure with the reason: ${p1.events.slice(eventsBefore).join(' | ')}`);
      const logLine = p1
        .logs('xtrabackup')
        .slice(logBefore)
        .split('\n')
        .find((l) => /^sidecar: not-ready: /.test(l) && b.reason.test(l));
      if (!logLine) throw new Error(`the sidecar log has no not-ready line with the reason`);
      const fixed = await b.repair();
      const t2 = Date.now();
      await waitFor(`mysql-1 to be Ready again (window ${window / 1000}s)`, window, () => p1.ready, 100);
      const readyAfter = ((Date.now() - t2) / 1000).toFixed(1);
      const row = `written after mysql-1 was repaired ${Date.now()}`;
      await h.sql(h.host(0), `INSERT INTO test.messages VALUES ('${row}');`);
      await h.waitRow(1, row);
      if (p1.restarts !== 0) throw new Error(`mysql-1 restarted: ${h.pods()}`);
      return `${how}; NotReady after ${unreadyAfter}s (window ${window / 1000}s), mysql-read -> ${reads.join(',')}; probe: "${probeEvent.replace(/^\S+ /, '')}"; sidecar log: "${logLine}"; repair: ${fixed}; Ready again after ${readyAfter}s; a new row reached mysql-1; restarts=0`;
    },
  };
}

/** Deleting mysql-1 takes a small fraction of its grace period: every container stops on SIGTERM. */
export function stopFastStep(w: WalkthroughContext, h: StepHelpers): Step {
  const { sts } = w;
  return {
    id: 'stop-fast',
    title:
      'delete pod mysql-1: done in a small fraction of terminationGracePeriodSeconds (SIGTERM handled at once)',
    run: async () => {
      const grace = sts.sts.spec.template.spec.terminationGracePeriodSeconds ?? 30;
      const p1 = sts.pod(1);
      const t = Date.now();
      await sts.deletePod(1);
      const took = (Date.now() - t) / 1000;
      const sidecar = p1.logs('xtrabackup');
      const mysqld = p1.logs('mysql');
      if (took > grace / 10)
        throw new Error(
          `deletion took ${took.toFixed(1)}s of the ${grace}s grace period; sidecar log tail: ${sidecar.split('\n').slice(-3).join(' | ')}`,
        );
      if (!/sidecar: SIGTERM: stopping/.test(sidecar))
        throw new Error('the sidecar log shows no SIGTERM handling');
      const shutdown = mysqld.split('\n').find((l) => /Shutdown complete/.test(l));
      if (!shutdown) throw new Error('mysqld did not log a clean shutdown');
      await sts.reconcile(120_000);
      return `deleted in ${took.toFixed(1)}s (grace ${grace}s, limit ${grace / 10}s); sidecar: "SIGTERM: stopping"; mysqld: "${shutdown.replace(/^.*\]\s*/, '').trim()}"; recreated: ${h.pods()}`;
    },
  };
}

/** Row count and the sorted rows of test.messages on a pod. */
async function rows(h: StepHelpers, ordinal: number): Promise<string[]> {
  return (await h.messages(ordinal)).split('\n').filter(Boolean);
}

/**
 * mysql-0 loses its volume (pod and claim deleted) while mysql-1 holds data. `refuse` (workshop): the new mysql-0
 * stays in Init with clone-mysql's message and nothing else changes. `clone` (production): mysql-0 comes back as a
 * clone of the most advanced replica with every row, and new writes replicate.
 */
export function primaryVolumeLostStep(w: WalkthroughContext, h: StepHelpers, mode: 'refuse' | 'clone'): Step {
  const { sts } = w;
  return {
    id: 'primary-volume-lost',
    title:
      mode === 'refuse'
        ? 'delete mysql-0 and its claim: the new mysql-0 refuses to initialize an empty primary (clear message); mysql-1 keeps its data and its source'
        : 'delete mysql-0 and its claim: mysql-0 returns as a clone of the most advanced replica with every row; new writes replicate',
    run: async () => {
      const before = await rows(h, 1);
      const before0 = await rows(h, 0);
      if (before.join() !== before0.join()) throw new Error(`mysql-1 is not caught up before the step`);
      const status1 = await h.replicaStatus(1);
      await sts.deletePod(0);
      sts.deleteClaim('data', 0);
      if (mode === 'refuse') {
        await sts.startPod(0);
        const p0 = sts.pod(0);
        // Each attempt asks mysql-1, then mysql-2 and mysql-3 until two names do not resolve; in the harness an
        // unknown name costs the resolver's timeouts (no DNS server), so an attempt takes ~20 s here.
        await waitFor('clone-mysql on mysql-0 to refuse (or to let it start)', 90_000, () =>
          p0.events.some((e) => /init container clone-mysql exited [01]$/.test(e)),
        );
        if (p0.events.some((e) => e.endsWith('init container clone-mysql exited 0')))
          throw new Error(`clone-mysql let mysql-0 start as a new, empty primary: ${p0.logs('clone-mysql')}`);
        const log = p0.logs('clone-mysql');
        const msg = log.split('\n').find((l) => /refusing to initialize an empty primary/.test(l));
        if (!msg || !msg.includes('mysql-1.mysql')) throw new Error(`clone-mysql log: ${log}`);
        const dataDir = h.claimFile(0, 'mysql');
        if (fs.existsSync(dataDir)) throw new Error('mysql-0 initialized a database anyway');
        if (p0.phase !== 'Initializing') throw new Error(`mysql-0 phase ${p0.phase}`);
        const after = await rows(h, 1);
        const status1After = await h.replicaStatus(1);
        if (after.join() !== before.join()) throw new Error(`mysql-1's rows changed: ${after}`);
        if (
          status1After.sourceHost !== status1.sourceHost ||
          status1After.execSourceLogPos !== status1.execSourceLogPos
        )
          throw new Error(`mysql-1's replication changed: ${JSON.stringify(status1After)}`);
        return `mysql-0 (new, empty claim) stays in Init (${p0.events.filter((e) => e.includes('clone-mysql exited 1')).length} failed clone-mysql runs, back-off), no data directory initialized; clone-mysql: "${msg}"; mysql-1 keeps ${after.length} rows and its source ${status1After.sourceHost} at exec_pos ${status1After.execSourceLogPos}, IO=${status1After.ioRunning}; mysql-1 ${sts.pod(1).readyColumn}`;
      }
      await sts.reconcile(180_000);
      const p0 = sts.pod(0);
      const clone = p0.logs('clone-mysql');
      const chose = clone
        .split('\n')
        .find((l) => /cloning the primary from the most advanced replica/.test(l));
      if (!chose || !chose.includes('mysql-1.mysql')) throw new Error(`clone-mysql log: ${clone}`);
      const sidecar = p0.logs('xtrabackup');
      if (!/restoring the primary from a replica's backup/.test(sidecar))
        throw new Error(`the sidecar did not restore the GTID state: ${sidecar}`);
      const after0 = await rows(h, 0);
      if (after0.join() !== before.join())
        throw new Error(`mysql-0 has ${after0.length} rows, mysql-1 had ${before.length}`);
      const id = await h.serverId(h.host(0));
      const row = `written on the rebuilt primary ${Date.now()}`;
      await h.sql(h.host(0), `INSERT INTO test.messages VALUES ('${row}');`);
      await h.waitRow(1, row, 40_000);
      await waitFor('mysql-1 to be Ready', 40_000, () => sts.pod(1).ready, 200);
      const s1 = await h.replicaStatus(1);
      if (s1.sourceHost !== h.host(0) || s1.ioRunning !== 'Yes' || s1.sqlRunning !== 'Yes')
        throw new Error(`mysql-1: ${JSON.stringify(s1)}`);
      return `clone-mysql: "${chose}"; sidecar: "restoring the primary from a replica's backup"; mysql-0 (server id ${id}) has all ${after0.length} rows; a new row written on it reached mysql-1 (IO=${s1.ioRunning} SQL=${s1.sqlRunning}, source ${s1.sourceHost}, auto-position); ${h.pods()}`;
    },
  };
}

/**
 * A transaction written on mysql-1 (an errant transaction) makes mysql-0 a source that lacks this replica's
 * transactions: mysql-1 refuses it (STOP REPLICA), stays NotReady with the reason and applies none of its writes;
 * recovery as documented: re-clone mysql-1 (delete its claim and pod).
 */
export function sourceDivergentRefusedStep(w: WalkthroughContext, h: StepHelpers): Step {
  const { sts } = w;
  return {
    id: 'source-divergent-refused',
    title:
      'a transaction written on mysql-1 (its source lacks it): mysql-1 refuses mysql-0, stays NotReady with the reason, applies none of its writes; re-cloned, Ready again',
    run: async () => {
      const p1 = sts.pod(1);
      if (!p1.ready) throw new Error(`mysql-1 not Ready before: ${h.pods()}`);
      const window = probeWindowMs(w);
      const logBefore = p1.logs('xtrabackup').length;
      await h.sql(
        h.host(1),
        "SET GLOBAL super_read_only = OFF;\nINSERT INTO test.messages VALUES ('errant write on mysql-1');\nSET GLOBAL super_read_only = ON;\n",
      );
      const t = Date.now();
      await waitFor(`mysql-1 to turn NotReady (window ${window / 1000}s)`, window, () => !p1.ready, 100);
      const after = ((Date.now() - t) / 1000).toFixed(1);
      const probeEvent = p1.events.find((e) =>
        /readiness probe of xtrabackup failed.*refusing source mysql-0\.mysql/.test(e),
      );
      if (!probeEvent)
        throw new Error(`no probe failure naming the refusal: ${p1.events.slice(-4).join(' | ')}`);
      const logLine = p1
        .logs('xtrabackup')
        .slice(logBefore)
        .split('\n')
        .find((l) => /^sidecar: not-ready: refusing source mysql-0\.mysql/.test(l));
      if (!logLine) throw new Error('the sidecar log has no refusal line');
      const marker = h.claimFile(1, 'replication-refused');
      if (!fs.existsSync(marker)) throw new Error('no replication-refused file in the data directory');
      const s1 = await h.replicaStatus(1);
      if (s1.ioRunning !== 'No' || s1.sqlRunning !== 'No')
        throw new Error(`replication still runs: IO=${s1.ioRunning} SQL=${s1.sqlRunning}`);
      const row = `written on mysql-0 while mysql-1 refuses it ${Date.now()}`;
      await h.sql(h.host(0), `INSERT INTO test.messages VALUES ('${row}');`);
      await new Promise((r) => setTimeout(r, 6_000));
      if ((await rows(h, 1)).includes(row)) throw new Error('mysql-1 applied a write of the refused source');
      if (p1.ready) throw new Error('mysql-1 turned Ready while refusing its source');
      // Recovery: re-clone mysql-1 from the primary.
      await sts.deletePod(1);
      sts.deleteClaim('data', 1);
      await sts.reconcile(180_000);
      const fresh = await rows(h, 1);
      if (!fresh.includes(row) || fresh.includes('errant write on mysql-1'))
        throw new Error(`re-cloned mysql-1 rows: ${fresh.join(' | ')}`);
      return `errant INSERT on mysql-1; NotReady after ${after}s (window ${window / 1000}s); probe: "${probeEvent.replace(/^\S+ /, '').slice(0, 260)}…"; sidecar: "${logLine.slice(0, 120)}…"; replication-refused recorded; IO=No SQL=No; a row written on mysql-0 did not reach mysql-1 in 6 s; re-cloned (claim and pod deleted): Ready, has that row, not the errant one; ${h.pods()}`;
    },
  };
}
