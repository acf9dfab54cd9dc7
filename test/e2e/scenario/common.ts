/**
 * What the walkthroughs of every profile share: the step type, the context, the helpers the steps are written
 * with (names, SQL through the client pod, replica status, waiting for a row, evidence about pods and files),
 * and the steps that are the same in each walkthrough but for their title and timeout.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { FlavorAdapter, ReplicaStatus } from '../adapters/types';
import type { Cluster, ClientPod, StatefulSetController } from '../lib/cluster';
import type { Pod } from '../lib/pod';
import { sleep, waitFor } from '../lib/proc';

/** One step of the walkthrough. */
export interface Step {
  id: string;
  title: string;
  run: () => Promise<string>;
}

/** What the steps share. */
export interface WalkthroughContext {
  cluster: Cluster;
  sts: StatefulSetController;
  client: ClientPod;
  adapter: FlavorAdapter;
}

/** The helpers the steps are written with. */
export type StepHelpers = ReturnType<typeof stepHelpers>;

export function stepHelpers(w: WalkthroughContext) {
  const { sts, client, adapter } = w;
  const name = (ordinal: number) => `${sts.name}-${ordinal}`;
  const host = (ordinal: number) => `${name(ordinal)}.${sts.sts.spec.serviceName}`;

  /** Runs SQL through the client pod; throws with the client's error unless it succeeds. */
  const sql = async (target: string, statements: string): Promise<string> => {
    const r = await client.run([...adapter.client(target), '-N', '-B'], statements);
    if (r.code !== 0) throw new Error(`mysql -h ${target} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  const replicaStatus = async (ordinal: number): Promise<ReplicaStatus> => {
    const r = await client.run(adapter.replicaStatusQuery(host(ordinal)));
    if (r.code !== 0) throw new Error(`replica status of ${name(ordinal)}: ${r.stderr.trim()}`);
    return adapter.parseReplicaStatus(r.stdout);
  };
  const messages = (ordinal: number) =>
    sql(host(ordinal), 'SELECT message FROM test.messages ORDER BY message');
  /** Waits until `row` is visible on the pod. */
  const waitRow = (ordinal: number, row: string, timeoutMs = 20_000) =>
    waitFor(
      `'${row}' on ${name(ordinal)}`,
      timeoutMs,
      async () => {
        try {
          return (await messages(ordinal)).split('\n').includes(row);
        } catch {
          return false;
        }
      },
      300,
    );
  const pods = () =>
    [...sts.pods.values()]
      .map((p) => `${p.name} ${p.readyColumn} restarts=${p.restarts} ip=${p.ip}`)
      .join('; ');
  const claimFile = (ordinal: number, rel: string) =>
    path.join(sts.claimsDir, `data-${sts.name}-${ordinal}`, 'mysql', rel);
  const fingerprint = (file: string) => {
    const st = fs.statSync(file);
    const hash = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16);
    return `sha256:${hash} ino=${st.ino} mtime=${st.mtime.toISOString()}`;
  };
  /**
   * After a pod's recreation on its kept claim: clone-mysql found the data, the sidecar's log does not match
   * `configuredAgain` (`what` names what the sidecar did then), and `orig` (written once, when replication was
   * configured) still has the fingerprint `before`. Returns its fingerprint now.
   */
  const keptState = (pod: Pod, orig: string, before: string, configuredAgain: RegExp, what: string) => {
    const clone = pod.logs('clone-mysql');
    if (!/already holds a database; nothing to clone/.test(clone))
      throw new Error(`clone-mysql log: ${clone}`);
    const sidecar = pod.logs('xtrabackup');
    if (configuredAgain.test(sidecar)) throw new Error(`the sidecar ${what} again: ${sidecar}`);
    const after = fingerprint(orig);
    if (after !== before) throw new Error(`${path.basename(orig)} changed: ${before} -> ${after}`);
    return after;
  };
  const serverId = async (target: string) => sql(target, 'SELECT @@server_id');
  /** The server ids that answer `tries` connections to mysql-read, one after the other. */
  const readPath = async (tries: number) => {
    const seen: string[] = [];
    for (let i = 0; i < tries; i++) seen.push(await serverId('mysql-read'));
    return seen;
  };
  /** 15 connections to mysql-read must reach at least 2 of the servers 100, 101, 102; counts the rows via it. */
  const readSpread = async () => {
    const seen = await readPath(15);
    const distinct = [...new Set(seen)].sort();
    if (distinct.some((id) => !['100', '101', '102'].includes(id)) || distinct.length < 2)
      throw new Error(`mysql-read answered from ${seen.join(',')}`);
    const rows = await sql('mysql-read', 'SELECT COUNT(*) FROM test.messages');
    return { seen, distinct, rows };
  };

  return {
    name,
    host,
    sql,
    replicaStatus,
    messages,
    waitRow,
    pods,
    claimFile,
    fingerprint,
    keptState,
    serverId,
    readPath,
    readSpread,
  };
}

/** mysql-1 and mysql-2 reject a write with the adapter's read-only error; mysql-0 accepts one. */
export function replicasReadOnlyStep(w: WalkthroughContext, h: StepHelpers, title: string): Step {
  const { client, adapter } = w;
  const { name, host, sql } = h;
  return {
    id: 'replicas-read-only',
    title,
    run: async () => {
      const out: string[] = [];
      for (const ordinal of [1, 2]) {
        const r = await client.run(
          [...adapter.client(host(ordinal))],
          "INSERT INTO test.messages VALUES ('must fail');",
        );
        if (r.code === 0 || !adapter.readOnlyError.test(r.stderr))
          throw new Error(
            `${name(ordinal)} accepted a write or failed otherwise: exit ${r.code} ${r.stderr.trim()}`,
          );
        out.push(`${name(ordinal)}: ${r.stderr.trim().split('\n').pop()}`);
      }
      await sql(host(0), "INSERT INTO test.messages VALUES ('primary accepts writes');");
      return out.join('; ') + '; mysql-0 accepted the write';
    },
  };
}

/** Scale to 2 within `timeoutMs`: mysql-2 goes, its claim and its data stay. */
export function scaleTo2Step(w: WalkthroughContext, h: StepHelpers, title: string, timeoutMs: number): Step {
  const { sts } = w;
  const { pods, claimFile } = h;
  return {
    id: 'scale-2',
    title,
    run: async () => {
      await sts.scale(2, timeoutMs);
      await sleep(100);
      if (sts.pods.has(2)) throw new Error('mysql-2 still exists');
      const claims = sts.claims();
      const data = claimFile(2, 'test/messages.ibd');
      if (!claims.includes('data-mysql-2') || !fs.existsSync(data))
        throw new Error(`claims ${claims}; ${data} missing`);
      return `pods: ${pods()}; claims: ${claims.join(', ')}; ${path.relative(sts.claimsDir, data)} is ${fs.statSync(data).size} bytes`;
    },
  };
}
