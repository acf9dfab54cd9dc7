/**
 * Moving the primary (issue 14, production): the switchover Job of a re-synthesized stack (`primary` changed,
 * `failover` set) runs as its pod would, from the manifests the charts make for that config; then the objects
 * that follow the primary change the way an Argo CD sync applies them after the Job (the `<name>-primary`
 * Service's selector and the `<name>-primary` ConfigMap). Each step returns its evidence or throws.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, YamlOutputType } from 'cdk8s';
import { MysqlStackConfig } from '../../../charts/config';
import { addMysqlStack } from '../../../charts/mysql-stack';
import type { Step, StepHelpers } from './common';
import type { ProductionContext } from './production';
import { Manifests } from '../lib/manifest';
import type { KObject, PodSpec } from '../lib/manifest';
import { sleep, waitFor } from '../lib/proc';
import { HOST_BIN } from '../lib/inventory';

/** What the switchover steps need beyond the production context. */
export interface SwitchoverContext extends ProductionContext {
  config: MysqlStackConfig;
}

interface JobObject extends KObject {
  spec: { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } };
}

export function switchoverSteps(w: SwitchoverContext, h: StepHelpers): Step[] {
  const { sts, cluster, client } = w;
  const { name, host, sql, pods } = h;
  const ns = sts.namespace;
  let jobs = 0;
  /** The primary the cluster's objects say, as the last "sync" applied them. */
  let configured = 0;

  /** The stack as the charts make it for `changes`, with the Secrets the run created (shared, so rotations show). */
  const synthWith = (changes: Partial<MysqlStackConfig>): Manifests => {
    const outdir = fs.mkdtempSync(path.join(w.runDir || os.tmpdir(), 'switchover-stack-'));
    const app = new App({
      outdir,
      yamlOutputType: YamlOutputType.FILE_PER_CHART,
      recordConstructMetadata: false,
    });
    addMysqlStack(app, { ...w.config, ...changes } as MysqlStackConfig);
    app.synth();
    const secrets = cluster.manifestsOf(ns).objects.filter((o) => o.kind === 'Secret');
    return Manifests.loadDir(outdir).withObjects(secrets);
  };
  /** The Job's pod, run to completion (kubectl apply of the Job, or the Argo CD Sync hook). */
  const runJob = async (m: Manifests) => {
    const job = m.get<JobObject>('Job', `${sts.name}-switchover`);
    const pod = `${job.metadata.name}-${++jobs}`;
    const t = Date.now();
    const { phase, pod: p } = await cluster.runJobPod(pod, ns, job.spec.template, 240_000);
    return { phase, log: p.logs('switchover'), secs: ((Date.now() - t) / 1000).toFixed(1) };
  };
  /**
   * The failover Job with `primary: first, failover: true` (synthesized by `synth`, the profile's by default). Which
   * replica is the most advanced is the Job's to check: when it names another (`set primary: N`), that one is run.
   */
  const failoverJob = async (
    first: number,
    synth: (primary: number) => Manifests = (primary) => synthWith({ primary, failover: true }),
  ) => {
    let target = first;
    let m = synth(target);
    let job = await runJob(m);
    const other = /set primary: (\d+)/.exec(job.log);
    if (job.phase === 'Failed' && other) {
      target = Number(other[1]);
      m = synth(target);
      job = await runJob(m);
    }
    if (job.phase !== 'Succeeded') throw new Error(`the failover Job ${job.phase}: ${job.log}`);
    return { target, m, job };
  };
  /** What Argo CD applies after the Job: the objects that follow the primary (the Service selector, the ConfigMap). */
  const sync = (m: Manifests, primary: number) => {
    cluster.replaceManifests(ns, m);
    configured = primary;
  };
  const live = () => [...sts.pods.keys()].sort((a, b) => a - b);
  const writable = async (ordinal: number) => (await sql(host(ordinal), 'SELECT @@GLOBAL.read_only')) === '0';
  /** Source host of a replica, or '' (through the 8.4 client, as a user would check). */
  const sourceOf = async (ordinal: number) => {
    const s = await h.replicaStatus(ordinal);
    return s.configured ? `${s.sourceHost} IO=${s.ioRunning} SQL=${s.sqlRunning}` : '';
  };
  const ids = async (ordinal: number, table = 'test.switchover') =>
    new Set(
      (await sql(host(ordinal), `SELECT id FROM ${table} ORDER BY id`))
        .split('\n')
        .filter(Boolean)
        .map(Number),
    );

  /**
   * A client that inserts one row per new connection through `<name>-primary` (as an application would) until
   * stopped; records each acknowledged id with its time. A failed insert is retried with the next id.
   */
  const writer = (table = 'test.switchover') => {
    const acked: { id: number; at: number }[] = [];
    const failures: string[] = [];
    let stop = false;
    let next = 1;
    const done = (async () => {
      while (!stop) {
        const id = next++;
        const r = await client.run(
          [...w.adapter.client(`${sts.name}-primary`), '--connect-timeout=2', '-N', '-B'],
          `INSERT INTO ${table} (id) VALUES (${id});`,
          10_000,
        );
        if (r.code === 0) acked.push({ id, at: Date.now() });
        else {
          failures.push(r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`);
          await sleep(50);
        }
      }
    })();
    return {
      acked,
      failures,
      async stop() {
        stop = true;
        await done;
      },
      /** The longest time between two acknowledged writes in [from, to]. */
      longestGap(from: number, to: number) {
        let gap = 0;
        for (let i = 1; i < acked.length; i++)
          if (acked[i].at >= from && acked[i - 1].at <= to)
            gap = Math.max(gap, acked[i].at - acked[i - 1].at);
        return gap;
      },
    };
  };
  /** A global status variable through the host's MariaDB client, by MariaDB's name (the harness's inspection). */
  const mariadbStatus = async (ordinal: number, variable: string) => {
    const r = await client.run([
      `${HOST_BIN}/mariadb`,
      '-uroot',
      '-h',
      host(ordinal),
      '-N',
      '-B',
      '-e',
      `SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = '${variable}'`,
    ]);
    if (r.code !== 0) throw new Error(`status ${variable} of ${name(ordinal)}: ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  const pauseOf = (log: string) => /writes were refused for ([\d.]+) s/.exec(log)?.[1];

  return [
    {
      id: 'switchover',
      title:
        'primary 0 -> 1 by the switchover Job while a client writes through <name>-primary: no acknowledged write lost, the old primary replicates from the new one, the write pause measured; a restarted pod follows the config',
      run: async () => {
        const others = live().filter((o) => o !== 1);
        await sql(
          host(0),
          'CREATE TABLE IF NOT EXISTS test.switchover (id INT PRIMARY KEY, at TIMESTAMP(3) DEFAULT NOW(3));',
        );
        // The Job with primary 0 changes nothing (it runs on every sync).
        const noop = await runJob(synthWith({ primary: 0 }));
        if (
          noop.phase !== 'Succeeded' ||
          !/is the primary; every reachable server replicates from it: nothing to do/.test(noop.log)
        )
          throw new Error(`the Job with primary 0 did not do nothing: ${noop.phase}: ${noop.log}`);
        const m = synthWith({ primary: 1 });
        const wr = writer();
        await waitFor('the writer to get 10 writes acknowledged', 30_000, () => wr.acked.length >= 10, 100);
        const t0 = Date.now();
        const job = await runJob(m);
        if (job.phase !== 'Succeeded') {
          await wr.stop();
          throw new Error(`the switchover Job ${job.phase}: ${job.log}`);
        }
        sync(m, 1);
        const t1 = Date.now();
        const acked0 = wr.acked.length;
        await waitFor(
          'writes acknowledged by the new primary',
          30_000,
          () => wr.acked.length >= acked0 + 10,
          100,
        );
        await wr.stop();
        const jobPause = pauseOf(job.log);
        if (!jobPause) throw new Error(`the Job log shows no write pause: ${job.log}`);
        const observed = (wr.longestGap(t0, t1) / 1000).toFixed(2);
        // Every acknowledged write is on the new primary, and reaches every replica.
        const acked = wr.acked.map((a) => a.id);
        const onNew = await ids(1);
        const lost = acked.filter((id) => !onNew.has(id));
        if (lost.length) throw new Error(`acknowledged writes missing on mysql-1: ${lost.join(',')}`);
        for (const o of others)
          await waitFor(`${name(o)} to have every acknowledged write`, 30_000, async () => {
            const have = await ids(o);
            return acked.every((id) => have.has(id));
          });
        if (!(await writable(1))) throw new Error('mysql-1 is read-only after the switchover');
        if (await writable(0)) throw new Error('mysql-0 is writable after the switchover');
        const srcs = await Promise.all(others.map(async (o) => `${name(o)} ${await sourceOf(o)}`));
        if (srcs.some((x) => !/^\S+ mysql-1\.mysql IO=Yes SQL=Yes/.test(x)))
          throw new Error(`replicas' sources: ${srcs.join('; ')}`);
        if ((await h.replicaStatus(1)).configured) throw new Error('mysql-1 still has a replication source');
        const refused = await client.run(
          [...w.adapter.client(host(0)), '-N', '-B'],
          'INSERT INTO test.switchover (id) VALUES (-1);',
        );
        if (refused.code === 0 || !/read.only/i.test(refused.stderr))
          throw new Error(
            `a write on mysql-0 was not refused as read-only: ${refused.code} ${refused.stderr}`,
          );
        await waitFor('every pod Ready', 30_000, () => live().every((o) => sts.pod(o).ready), 200);
        // The sidecar sees the promotion on its next monitor round (every MONITOR_SECONDS, 2 s, plus the round's
        // own queries): the Job does not wait for it, so neither may the check.
        const promotedLine = await waitFor(
          `mysql-1's sidecar to notice its promotion (${pods()})`,
          20_000,
          () =>
            sts
              .pod(1)
              .logs('xtrabackup')
              .split('\n')
              .find((l) => /promoted by the switchover Job/.test(l)),
          200,
        );
        // The Job again: nothing to do.
        const again = await runJob(m);
        if (again.phase !== 'Succeeded' || !/nothing to do/.test(again.log))
          throw new Error(`rerunning the Job: ${again.phase}: ${again.log}`);
        // mysql-0 restarted later follows the config (ordinal 1 is the primary): a replica of mysql-1.
        await sts.deletePod(0);
        await sts.reconcile(120_000);
        const init0 = sts.pod(0).logs('init-mysql');
        if (!/mysql-0 is ordinal 0, server-id 100, using replica\.cnf/.test(init0))
          throw new Error(`the recreated mysql-0's init-mysql: ${init0}`);
        const row = 1_000_000 + (Date.now() % 1_000_000);
        await sql(`${sts.name}-primary`, `INSERT INTO test.switchover (id) VALUES (${row});`);
        await waitFor('the new row on the recreated mysql-0', 20_000, async () => (await ids(0)).has(row));
        const src0b = await sourceOf(0);
        return `Job (kubectl apply / Argo CD Sync hook) ran ${job.secs}s: "${job.log
          .split('\n')
          .filter((l) => /fenced|killed|promoted|refused for|now replicates/.test(l))
          .join(
            ' | ',
          )}"; write pause: ${jobPause}s fence→promotion (the Job), ${observed}s between acknowledged writes through mysql-primary (the client's view, incl. the Service switch); ${acked.length} acknowledged writes, 0 lost, all on mysql-0/1/2; ${wr.failures.length} refused meanwhile (e.g. "${wr.failures[0] ?? ''}"); mysql-0 read-only; sources: ${srcs.join('; ')}; mysql-1 writable, no source, sidecar: "${promotedLine.replace(/^sidecar: /, '')}"; rerun: nothing to do; the Job with primary 0 before: nothing to do; mysql-0 recreated: init-mysql "using replica.cnf", replicating ${src0b}; ${pods()}`;
      },
    },
    {
      id: 'switchover-refused-lagging',
      title:
        'primary 1 -> a lagging replica (SOURCE_DELAY), then one whose applier is stopped: the Job fails with the reason, nothing changes',
      run: async () => {
        // The replica to refuse: mysql-2 with three pods, mysql-0 with two.
        const lt = live()
          .filter((o) => o !== 1)
          .at(-1)!;
        const m = synthWith({ primary: lt });
        const out: string[] = [];
        const unchanged = async () => {
          if (!(await writable(1))) throw new Error('mysql-1 was fenced by a refused switchover');
          if (await writable(lt)) throw new Error(`${name(lt)} became writable`);
          for (const o of live().filter((x) => x !== 1)) {
            const s = await sourceOf(o);
            if (!s.startsWith('mysql-1.mysql')) throw new Error(`${name(o)}'s source changed: ${s}`);
          }
        };
        // Lagging: a delayed replica (MySQL's SOURCE_DELAY) behind by more than switchover.maxLagSeconds (5).
        await sql(host(lt), 'STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_DELAY=20; START REPLICA;');
        await sleep(1500);
        await sql(host(1), 'INSERT INTO test.switchover (id) VALUES (-2);');
        const lag = await waitFor(
          `${name(lt)} to lag more than 5 s`,
          30_000,
          async () => {
            const behind = Number((await h.replicaStatus(lt)).fields?.Seconds_Behind_Source);
            return behind > 5 ? behind : undefined;
          },
          300,
        );
        const lagging = await runJob(m);
        if (
          lagging.phase !== 'Failed' ||
          !new RegExp(`refusing to switch over to ${name(lt)}\\.mysql: it lags`).test(lagging.log) ||
          !/it lags \d+ s behind, more than MAX_LAG_SECONDS=5; nothing was changed/.test(lagging.log)
        )
          throw new Error(`the Job on a lagging target: ${lagging.phase}: ${lagging.log}`);
        await unchanged();
        out.push(`lagging (${lag} s): "${lagging.log.split('\n').find((l) => /refusing/.test(l))}"`);
        await sql(host(lt), 'STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_DELAY=0; START REPLICA;');
        // Broken: its applier stopped.
        await sql(host(lt), 'STOP REPLICA SQL_THREAD;');
        const broken = await runJob(m);
        if (broken.phase !== 'Failed' || !/its applier \(SQL thread\) is No/.test(broken.log))
          throw new Error(`the Job on a broken target: ${broken.phase}: ${broken.log}`);
        await unchanged();
        out.push(`applier stopped: "${broken.log.split('\n').find((l) => /refusing/.test(l))}"`);
        await sql(host(lt), 'START REPLICA SQL_THREAD;');
        await waitFor(`${name(lt)} to catch up`, 40_000, async () => (await ids(lt)).has(-2), 300);
        // Nothing changed: the primary still takes writes through mysql-primary.
        await sql(`${sts.name}-primary`, 'INSERT INTO test.switchover (id) VALUES (-3);');
        return `${out.join('; ')}; each time mysql-1 stayed writable (never fenced), the replicas kept mysql-1 as source; repaired: ${name(lt)} caught up; ${pods()}`;
      },
    },
    {
      id: 'failover',
      title:
        "the primary's pod is killed (SIGKILL) while a client writes: the Job with primary: 2, failover: true promotes the most advanced replica; every acknowledged write that reached a replica is on it; the old primary, recreated, rejoins as a replica",
      run: async () => {
        const wr = writer();
        await waitFor('the writer to get 10 writes acknowledged', 30_000, () => wr.acked.length >= 10, 100);
        const old = configured;
        await sts.killPod(old);
        const killedAt = Date.now();
        await wr.stop();
        const ackedBeforeKill = wr.acked.filter((a) => a.at <= killedAt).map((a) => a.id);
        // Without failover: refused.
        const m = synthWith({ primary: 0, failover: false });
        const refused = await runJob(m);
        if (refused.phase !== 'Failed' || !/does not answer; a planned switchover needs it/.test(refused.log))
          throw new Error(`the Job without failover: ${refused.phase}: ${refused.log}`);
        // Try 0 first; the Job names the most advanced replica if it is another.
        const { target, m: fm, job } = await failoverJob(0);
        sync(fm, target);
        const onNew = await ids(target);
        const replicaIds = new Set(onNew);
        for (const o of live().filter((x) => x !== target)) for (const id of await ids(o)) replicaIds.add(id);
        const reached = ackedBeforeKill.filter((id) => replicaIds.has(id));
        const missing = reached.filter((id) => !onNew.has(id));
        if (missing.length)
          throw new Error(
            `acknowledged writes that reached a replica are missing on the new primary: ${missing}`,
          );
        const lost = ackedBeforeKill.filter((id) => !replicaIds.has(id));
        const row = 2_000_000 + (Date.now() % 1_000_000);
        await sql(`${sts.name}-primary`, `INSERT INTO test.switchover (id) VALUES (${row});`);
        // The old primary comes back (its node returned: the StatefulSet controller recreates the pod).
        await sts.startPod(old);
        const back = sts.pod(old);
        const verdict = await waitFor(
          `${name(old)} to rejoin or refuse`,
          120_000,
          () => {
            const log = back.logs('xtrabackup');
            if (/rejoining as its replica/.test(log) && back.ready) return 'rejoined';
            if (/errant transactions:/.test(log)) return 'refused';
            return undefined;
          },
          300,
        );
        if (verdict === 'rejoined') {
          await waitFor(`the new row on ${name(old)}`, 20_000, async () => (await ids(old)).has(row));
        } else if (lost.length === 0) {
          throw new Error(
            `${name(old)} refused to rejoin although no acknowledged write was lost: ${back.logs('xtrabackup')}`,
          );
        }
        return `killed ${name(old)} (SIGKILL) after ${ackedBeforeKill.length} acknowledged writes; the Job without failover: "${refused.log.split('\n').find((l) => /refusing/.test(l))}"; with failover: true (primary: ${target}) ran ${job.secs}s: "${job.log
          .split('\n')
          .filter((l) => /FAILOVER|most advanced|promoted|now replicates|failover done/.test(l))
          .join(
            ' | ',
          )}"; ${reached.length} acknowledged writes had reached a replica, all on ${name(target)}; ${lost.length} acknowledged only by the dead primary (lost, asynchronous replication); a new write through mysql-primary reached ${name(target)}; ${name(old)} recreated: ${
          verdict === 'rejoined'
            ? `rejoined as a replica ("${back
                .logs('xtrabackup')
                .split('\n')
                .find((l) => /rejoining/.test(l))}"), has the new row`
            : 'refused (errant transactions: it had writes no replica received)'
        }; ${pods()}`;
      },
    },
    {
      id: 'failover-partitioned-primary',
      title:
        "the primary's pod is cut off the network (alive, never restarted), failed over from, then reconnected: it sees the new config, finds the new primary writable, fences itself and rejoins it",
      run: async () => {
        const old = configured;
        const replicas = live().filter((o) => o !== old);
        // Every row the old primary has is on the replicas first (an unreplicated one would be errant: the next step).
        const row0 = 3_000_000 + (Date.now() % 1_000_000);
        await sql(`${sts.name}-primary`, `INSERT INTO test.switchover (id) VALUES (${row0});`);
        for (const o of replicas)
          await waitFor(`${name(o)} to have row ${row0}`, 20_000, async () => (await ids(o)).has(row0), 200);
        const p = sts.pod(old);
        const state = () =>
          fs.readFileSync(path.join(p.dir, 'volumes', 'tmp', 'replication-state'), 'utf8').trim();
        // A client session open on the old primary through the partition (an application's pooled connection):
        // the fence must end it.
        const held = client.run([...w.adapter.client(host(old)), '-N', '-B'], 'SELECT SLEEP(600);', 120_000);
        held.catch(() => undefined); // awaited below; never an unhandled rejection if the step fails first
        await waitFor(
          `the held session on ${name(old)}`,
          10_000,
          async () =>
            (await sql(
              host(old),
              "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(600)%'",
            )) !== '0',
          200,
        );
        await p.setPartitioned(true);
        let cut = true;
        try {
          const { target, m: fm, job } = await failoverJob(replicas[0]);
          if (!/FAILOVER: \S+ does not answer/.test(job.log))
            throw new Error(`the failover Job reached ${name(old)} through the partition: ${job.log}`);
          // The sync: the Service moves, and the kubelet updates every pod's ConfigMap volume (the old
          // primary's too: the emulation cuts the pod network, not its node's link to the API server).
          sync(fm, target);
          const row1 = row0 + 1;
          await sql(`${sts.name}-primary`, `INSERT INTO test.switchover (id) VALUES (${row1});`);
          // Cut off, the old primary cannot ask the new one: it keeps its role, and says why.
          const cutOff = await waitFor(
            `${name(old)}'s sidecar to see the new config while cut off`,
            20_000,
            () =>
              /the config names \S+ the primary, which does not answer: this server stays the primary/.test(
                state(),
              ) && state(),
            200,
          );
          await p.setPartitioned(false);
          cut = false;
          const healedAt = Date.now();
          // Fenced: read-only within a few monitor rounds of the partition's end.
          await waitFor(
            `${name(old)} to fence itself after the partition healed (two writable primaries: ${name(old)}, ${name(target)})`,
            30_000,
            async () => {
              try {
                return (await sql(host(old), 'SELECT @@GLOBAL.super_read_only')) === '1';
              } catch {
                return false;
              }
            },
            200,
          );
          const fencedSecs = ((Date.now() - healedAt) / 1000).toFixed(1);
          const log = () => p.logs('xtrabackup');
          // The sidecar logs FENCED once the client sessions are killed, just after the read-only switch.
          const fencedLine = await waitFor(
            `${name(old)}'s sidecar to say FENCED (it is read-only)`,
            15_000,
            () =>
              log()
                .split('\n')
                .find((l) => /^sidecar: FENCED: /.test(l)),
            200,
          );
          const ended = await Promise.race([held, sleep(20_000).then(() => undefined)]);
          if (!ended || ended.code === 0)
            throw new Error(
              `the session held open on ${name(old)} was not ended by the fence: ${ended?.stdout ?? 'still running'}`,
            );
          await waitFor(
            `${name(old)} to rejoin ${name(target)}`,
            60_000,
            () => /rejoining as its replica/.test(log()) && p.ready,
            300,
          );
          await waitFor(`row ${row1} on ${name(old)}`, 20_000, async () => (await ids(old)).has(row1), 200);
          const src = await sourceOf(old);
          if (!new RegExp(`^${sts.name}-${target}\\.${sts.name} IO=Yes SQL=Yes`).test(src))
            throw new Error(`${name(old)} replicates from '${src}', not ${name(target)}`);
          if (!(await writable(target)))
            throw new Error(`${name(target)} is read-only after the partition healed`);
          await waitFor('every pod Ready', 30_000, () => live().every((o) => sts.pod(o).ready), 200);
          return `${name(old)} cut off (eth0 down, its processes alive); failover Job (primary: ${target}, failover: true) ran ${job.secs}s: "${job.log
            .split('\n')
            .filter((l) => /FAILOVER|failover done/.test(l))
            .join(
              ' | ',
            )}"; synced; while cut off ${name(old)}'s sidecar: "${cutOff.replace(/^\d+ \S+ /, '')}"; reconnected: read-only after ${fencedSecs}s, "${fencedLine.replace(/^sidecar: /, '')}"; the session held open through the partition ended: "${ended.stderr.trim().split('\n').pop()}"; rejoined: ${src}, has row ${row1} written on ${name(target)} meanwhile; ${name(target)} writable; ${pods()}`;
        } finally {
          if (cut) await p.setPartitioned(false).catch(() => undefined);
        }
      },
    },
    {
      id: 'failover-errant-refused',
      title:
        'an errant transaction planted on the primary, then it is killed and failed over from: when it comes back it stays NotReady, saying why, and serves no clone',
      run: async () => {
        const old = configured;
        // A transaction only the primary has: written with the binary log sent to no replica (its receivers stopped).
        const replicas = live().filter((o) => o !== old);
        for (const o of replicas) await sql(host(o), 'STOP REPLICA IO_THREAD;');
        await sql(`${sts.name}-primary`, 'INSERT INTO test.switchover (id) VALUES (-4);');
        await sts.killPod(old);
        for (const o of replicas) await sql(host(o), 'START REPLICA IO_THREAD;');
        const { target: chosen, m: fm, job } = await failoverJob(replicas[0]);
        sync(fm, chosen);
        if ((await ids(chosen)).has(-4)) throw new Error('the errant row reached the new primary');
        await sts.startPod(old);
        const back = sts.pod(old);
        const reason = await waitFor(
          `${name(old)} to refuse`,
          120_000,
          () =>
            back
              .logs('xtrabackup')
              .split('\n')
              .find((l) => /^sidecar: not-ready: errant transactions:/.test(l)),
          300,
        );
        await sleep(6000);
        if (back.ready) throw new Error(`${name(old)} is Ready with errant transactions: ${pods()}`);
        const event = back.events.find((e) =>
          /readiness probe of xtrabackup failed.*errant transactions/.test(e),
        );
        if (!event) throw new Error(`no probe event with the reason: ${back.events.slice(-5).join(' | ')}`);
        if ((await h.replicaStatus(old)).configured) throw new Error(`${name(old)} got a replication source`);
        const refusedFile = path.join(
          sts.claimsDir,
          `data-${sts.name}-${old}`,
          'mysql',
          'replication-refused',
        );
        if (!fs.existsSync(refusedFile)) throw new Error('no replication-refused file');
        const onIt = await client.run([
          `${HOST_BIN}/mariadb`,
          '-uroot',
          '-h',
          host(old),
          '-N',
          '-B',
          '-e',
          'SELECT COUNT(*) FROM test.switchover WHERE id = -4',
        ]);
        return `errant row on ${name(old)} (${onIt.stdout.trim()} row), never on a replica; killed; failover to ${name(chosen)}: "${job.log.split('\n').find((l) => /failover done/.test(l))}"; ${name(old)} recreated: NotReady, "${reason.replace(/^sidecar: not-ready: /, '')}"; probe event: "${event.replace(/^\S+ /, '').slice(0, 160)}…"; no replication source; replication-refused written (no backup served); ${pods()}`;
      },
    },
    {
      id: 'semisync-lossless',
      title:
        'replication.semiSync on (pods rolled from the variant): with every receiver stopped a commit waits for the timeout, a restarted receiver releases it; SIGKILL of the primary under a writer, failover by the Job: 0 acknowledged writes lost, the old primary rejoins with the replica side on',
      run: async () => {
        // E2E_SEMISYNC_OFF=1: the same step with semi-sync off in the variant (the negative control: (a) must fail).
        const enabled = !process.env.E2E_SEMISYNC_OFF;
        const timeoutSeconds = 3;
        const variant = (primary: number, failover: boolean) =>
          synthWith({
            primary,
            failover,
            replication: { ...(w.config.replication ?? {}), semiSync: { enabled, timeoutSeconds } },
          });
        const out: string[] = [];
        // Roll every pod onto the variant (a sync of the changed ConfigMap and StatefulSet: rollOnConfigChange), the
        // primary first; a pod the previous step left refused (errant transactions) is re-cloned, as the README says.
        const m = variant(configured, false);
        sync(m, configured);
        sts.sts.spec.template = m.get<KObject & { spec: { template: typeof sts.sts.spec.template } }>(
          'StatefulSet',
          sts.name,
        ).spec.template;
        const t0 = Date.now();
        // One pod at a time, each recreated at once and waited for (a StatefulSet rolling update; not the
        // OrderedReady start-up, which would wait for a lower ordinal that is NotReady while the primary restarts).
        const refusedPods = live().filter((o) => fs.existsSync(h.claimFile(o, 'replication-refused')));
        const order = [
          ...refusedPods,
          configured,
          ...live().filter((o) => o !== configured && !refusedPods.includes(o)),
        ];
        const recloned: string[] = [];
        for (const o of order) {
          await sts.deletePod(o);
          if (refusedPods.includes(o)) {
            sts.deleteClaim('data', o);
            recloned.push(name(o));
          }
          await sts.startPod(o);
          const p = sts.pod(o);
          await waitFor(`${p.name} to be Ready on the variant`, 120_000, () => p.ready, 200);
        }
        const init = sts.pod(configured).logs('init-mysql');
        const wantCnf = enabled ? /also using semisync-primary\.cnf/ : /using primary\.cnf/;
        if (!wantCnf.test(init)) throw new Error(`the primary's init-mysql: ${init}`);
        out.push(
          `rolled ${order.map(name).join(', ')} onto the variant in ${((Date.now() - t0) / 1000).toFixed(1)}s${recloned.length ? ` (${recloned.join(', ')} re-cloned: it had been refused)` : ''}`,
        );
        const primaryHost = `${sts.name}-primary`;
        const replicas = () => live().filter((o) => o !== configured);
        await sql(primaryHost, 'CREATE TABLE IF NOT EXISTS test.semisync (id INT PRIMARY KEY);');
        await waitFor(
          'the primary in semi-sync (a semi-sync replica connected and caught up)',
          30_000,
          async () => !enabled || (await mariadbStatus(configured, 'RPL_SEMI_SYNC_MASTER_STATUS')) === 'ON',
          300,
        );
        // The cost with a replica acknowledging: one commit's time.
        let t = Date.now();
        await sql(primaryHost, 'INSERT INTO test.semisync VALUES (-1);');
        const ackedCommit = (Date.now() - t) / 1000;

        // (a) Every receiver stopped: the commit waits. A receiver started again after 1.5 s releases it.
        for (const o of replicas()) await sql(host(o), 'STOP REPLICA IO_THREAD;');
        t = Date.now();
        let doneAt = 0;
        const pending = sql(primaryHost, 'INSERT INTO test.semisync VALUES (-2);').then(
          () => (doneAt = Date.now()),
        );
        await sleep(1500);
        if (doneAt)
          throw new Error(
            `(a) a commit with every replica's receiver stopped was acknowledged after ${((doneAt - t) / 1000).toFixed(2)} s (semi-sync would wait up to ${timeoutSeconds} s)`,
          );
        const released = replicas()[0];
        const restartAt = Date.now();
        await sql(host(released), 'START REPLICA IO_THREAD;');
        await pending;
        const waitedA = (doneAt - t) / 1000;
        const afterRestart = (doneAt - restartAt) / 1000;
        if (afterRestart > timeoutSeconds * 0.8)
          throw new Error(
            `(a) the commit was released ${afterRestart.toFixed(2)} s after ${name(released)}'s receiver restarted: by the timeout, not by its acknowledgement`,
          );
        out.push(
          `(a) receivers of ${replicas().map(name).join(', ')} stopped: a commit waited ${waitedA.toFixed(2)} s, released ${afterRestart.toFixed(2)} s after ${name(released)}'s receiver restarted (commit with a replica acknowledging: ${ackedCommit.toFixed(3)} s)`,
        );
        // ... and with no receiver at all, it waits for the timeout and the primary falls back to asynchronous.
        await sql(host(released), 'STOP REPLICA IO_THREAD;');
        t = Date.now();
        await sql(primaryHost, 'INSERT INTO test.semisync VALUES (-3);');
        const waitedTimeout = (Date.now() - t) / 1000;
        if (waitedTimeout < timeoutSeconds * 0.8)
          throw new Error(
            `(a) with no receiver a commit was acknowledged after ${waitedTimeout.toFixed(2)} s, before the ${timeoutSeconds} s timeout`,
          );
        const fellBack = await mariadbStatus(configured, 'RPL_SEMI_SYNC_MASTER_STATUS');
        if (fellBack !== 'OFF')
          throw new Error(`after the timeout Rpl_semi_sync_master_status is ${fellBack}, not OFF`);
        t = Date.now();
        await sql(primaryHost, 'INSERT INTO test.semisync VALUES (-4);');
        const asyncCommit = (Date.now() - t) / 1000;
        for (const o of replicas()) await sql(host(o), 'START REPLICA IO_THREAD;');
        await waitFor(
          'the primary back in semi-sync',
          30_000,
          async () => (await mariadbStatus(configured, 'RPL_SEMI_SYNC_MASTER_STATUS')) === 'ON',
          300,
        );
        out.push(
          `no receiver: a commit waited ${waitedTimeout.toFixed(2)} s (timeout ${timeoutSeconds} s), then the primary fell back (status OFF: the next commit took ${asyncCommit.toFixed(3)} s) and returned to semi-sync (ON) once the receivers ran`,
        );

        // (b) A writer through <name>-primary; the primary's pod is killed; failover by the Job.
        const old = configured;
        const wr = writer('test.semisync');
        await waitFor('the writer to get 20 writes acknowledged', 30_000, () => wr.acked.length >= 20, 100);
        await sts.killPod(old);
        await wr.stop();
        const acked = wr.acked.map((a) => a.id);
        const { target, m: fm, job } = await failoverJob(replicas()[0], (primary) => variant(primary, true));
        sync(fm, target);
        const onNew = await ids(target, 'test.semisync');
        const lost = acked.filter((id) => !onNew.has(id));
        if (lost.length)
          throw new Error(
            `(b) ${lost.length} acknowledged writes are not on the new primary ${name(target)}: ${lost.join(',')}`,
          );
        const sourceOn = await sql(host(target), 'SELECT @@GLOBAL.rpl_semi_sync_source_enabled');
        if (sourceOn !== '1') throw new Error(`the new primary's source side is ${sourceOn}`);
        out.push(
          `(b) killed ${name(old)} (SIGKILL) after ${acked.length} acknowledged writes; failover Job (primary: ${target}) ${job.secs}s: "${job.log
            .split('\n')
            .filter((l) => /promoted|now replicates/.test(l))
            .join(' | ')}"; ${acked.length} acknowledged, 0 lost, all on ${name(target)}`,
        );
        // The old primary comes back and rejoins, replica side on.
        await sts.startPod(old);
        const back = sts.pod(old);
        await waitFor(
          `${name(old)} to rejoin`,
          120_000,
          () => {
            const log = back.logs('xtrabackup');
            if (/errant transactions:/.test(log)) throw new Error(`${name(old)} refused to rejoin: ${log}`);
            return /rejoining as its replica/.test(log) && back.ready;
          },
          300,
        );
        const replicaSide = await sql(
          host(old),
          'SELECT @@GLOBAL.rpl_semi_sync_replica_enabled, @@GLOBAL.rpl_semi_sync_source_enabled',
        );
        const registered = await waitFor(
          `${name(old)} registered as a semi-sync replica`,
          20_000,
          async () => ((await mariadbStatus(old, 'RPL_SEMI_SYNC_SLAVE_STATUS')) === 'ON' ? 'ON' : undefined),
          300,
        );
        if (!/^1\s+0$/.test(replicaSide))
          throw new Error(`${name(old)}: replica side, source side = ${replicaSide} (want 1, 0)`);
        const row = 4_000_000 + (Date.now() % 1_000_000);
        await sql(primaryHost, `INSERT INTO test.semisync VALUES (${row});`);
        await waitFor(`the new row on ${name(old)}`, 20_000, async () =>
          (await ids(old, 'test.semisync')).has(row),
        );
        const initBack = back.logs('init-mysql');
        out.push(
          `${name(old)} recreated: init-mysql "${initBack.split('\n').find((l) => /also using semisync/.test(l)) ?? ''}", sidecar "${back
            .logs('xtrabackup')
            .split('\n')
            .find((l) => /rejoining/.test(l))
            ?.replace(
              /^sidecar: /,
              '',
            )}"; rpl_semi_sync_replica_enabled=1, source side 0, Rpl_semi_sync_slave_status ${registered}; a new write reached it`,
        );
        return `${out.join('; ')}; ${pods()}`;
      },
    },
  ];
}
