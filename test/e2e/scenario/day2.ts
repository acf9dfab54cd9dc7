/**
 * Day-2 steps both walkthroughs share (issue 10): a replica whose replication breaks turns NotReady and leaves the
 * read Service, and comes back when repaired; a pod deletion is quick when mysqld shuts down cleanly. Each returns its
 * evidence or throws.
 */
import type { Step, StepHelpers, WalkthroughContext } from './common';
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

/** Seconds from a change of the sidecar's verdict to the kubelet's NotReady: one check plus the probe's threshold. */
function probeWindowMs(w: WalkthroughContext): number {
  const x = w.sts.sts.spec.template.spec.containers.find((c) => c.name === 'xtrabackup');
  const p = x?.readinessProbe;
  const monitorSeconds = 2; // the sidecar's MONITOR_SECONDS default
  return ((p?.periodSeconds ?? 10) * ((p?.failureThreshold ?? 3) + 1) + monitorSeconds) * 1000;
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
