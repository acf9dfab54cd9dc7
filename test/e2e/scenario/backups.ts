/**
 * The backup steps of the production walkthrough: the <name>-backup CronJob's pod takes a backup into a local S3
 * server (s3rver), a new stack in a new namespace is restored from it, and the restore drill passes on it and fails
 * on a corrupted copy. The pods run the scripts of dist/production/ (the restored stack: the charts' output for
 * the same profile with `restore.from` and another namespace, synthesized by the run), with the AWS emulation
 * described in test/e2e/README.md ("Backups").
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, YamlOutputType } from 'cdk8s';
import { addMysqlStack } from '../../../charts/mysql-stack';
import type { MysqlStackConfig } from '../../../charts/config';
import { ClientPod, StatefulSetController } from '../lib/cluster';
import type { ContainerSpec, KObject, PodSpec, StatefulSet } from '../lib/manifest';
import { CertManager } from '../lib/cert-manager';
import { Manifests } from '../lib/manifest';
import { Pod } from '../lib/pod';
import { waitFor } from '../lib/proc';
import type { S3Server } from '../lib/s3';
import { S3RVER_KEYS } from '../lib/s3';
import type { GeneratedSecret } from '../lib/secrets';
import type { Step, WalkthroughContext } from './common';
import { stepHelpers } from './common';

export interface BackupContext extends WalkthroughContext {
  s3: S3Server;
  runDir: string;
  secrets: GeneratedSecret[];
  /** The profile's config (the restored stack is this one with another namespace and `restore.from`). */
  config: MysqlStackConfig;
  manifests: Manifests;
}

interface CronJob extends KObject {
  spec: {
    jobTemplate: {
      spec: {
        activeDeadlineSeconds?: number;
        template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
      };
    };
  };
}

/** The namespace the restored stack goes to. */
export const RESTORE_NAMESPACE = 'mysql-restore';
/** The namespace of the stack restored to a point in time. */
export const PITR_NAMESPACE = 'mysql-pitr';

interface Deployment extends KObject {
  spec: { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } };
}
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * What the IRSA (or Pod Identity) webhook injects into a pod whose ServiceAccount has a role, replaced by what the
 * local S3 server needs: its endpoint (the scripts' S3_ENDPOINT_URL) and its one key pair. Only containers that run
 * the AWS CLI (they have AWS_REGION) get them.
 */
export function withAwsEmulation<T extends { spec: PodSpec }>(template: T, endpoint: string): T {
  const copy = JSON.parse(JSON.stringify(template)) as T;
  for (const c of [...(copy.spec.initContainers ?? []), ...copy.spec.containers]) {
    if (!c.env?.some((e) => e.name === 'AWS_REGION')) continue;
    c.env.push(
      { name: 'S3_ENDPOINT_URL', value: endpoint },
      { name: 'AWS_ACCESS_KEY_ID', value: S3RVER_KEYS.accessKeyId },
      { name: 'AWS_SECRET_ACCESS_KEY', value: S3RVER_KEYS.secretAccessKey },
    );
  }
  return copy;
}

export function backupSteps(w: BackupContext): Step[] {
  const { cluster, sts, s3 } = w;
  const h = stepHelpers(w);
  const { host, sql, name } = h;
  const backupCronJob = w.manifests.get<CronJob>('CronJob', `${sts.name}-backup`);
  const drillCronJob = w.manifests.get<CronJob>('CronJob', `${sts.name}-restore-drill`);
  const envOf = (cj: CronJob, container: string, key: string) =>
    [
      ...(cj.spec.jobTemplate.spec.template.spec.initContainers ?? []),
      ...cj.spec.jobTemplate.spec.template.spec.containers,
    ]
      .find((c) => c.name === container)
      ?.env?.find((e) => e.name === key)?.value ?? '';
  const backupUri = envOf(backupCronJob, 'backup', 'BACKUP_URI');
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(backupUri);
  if (!m) throw new Error(`the backup CronJob has no BACKUP_URI: '${backupUri}'`);
  const [bucket, prefix] = [m[1], m[2]];
  let jobs = 0;
  /** `kubectl create job --from=cronjob/<name>`: one pod of the CronJob's job template, run to completion. */
  const runJob = async (cj: CronJob) => {
    const template = withAwsEmulation(cj.spec.jobTemplate.spec.template, s3.endpoint);
    const podName = `${cj.metadata.name}-manual-${++jobs}-${crypto.randomBytes(3).toString('hex')}`;
    const { phase, pod } = await cluster.runJobPod(podName, sts.namespace, template, 180_000);
    return { phase, pod, logs: logsOf(pod, template.spec) };
  };
  /**
   * One container of a StatefulSet pod (restore-from-s3) run alone as pod mysql-0 of `namespace`, with the
   * pod's security context and the volumes it mounts, on the claim directory `data`: to see it refuse.
   */
  const runAlone = (spec: PodSpec, container: ContainerSpec, namespace: string, app: string, data: string) =>
    cluster.runJobPod(
      'mysql-0',
      namespace,
      {
        metadata: { labels: { app } },
        spec: {
          restartPolicy: 'Never',
          securityContext: spec.securityContext,
          containers: [container],
          volumes: (spec.volumes ?? []).filter((v) => container.volumeMounts?.some((m) => m.name === v.name)),
        },
      },
      60_000,
      { data },
    );
  const logsOf = (pod: Pod, spec: PodSpec) =>
    [...(spec.initContainers ?? []), ...spec.containers].map((c) => pod.logs(c.name)).join('');
  const lastLine = (log: string, re: RegExp) =>
    log
      .split('\n')
      .filter((l) => re.test(l))
      .pop() ?? '';
  const tables = ['test.messages', 'test.backup_rows'];
  const checksums = async (target: string) => {
    const out = await sql(target, `CHECKSUM TABLE ${tables.join(', ')}`);
    return out.split('\n').map((l) => l.replace('\t', '='));
  };

  let folder = '';
  let sourceChecksums: string[] = [];

  return [
    {
      id: 'backup-to-s3',
      title:
        'the mysql-backup CronJob backs up the healthiest replica to S3 (SSE-KMS, --expected-size), verified, with its manifest',
      run: async () => {
        const rows = Array.from({ length: 200 }, (_, i) => `(${i + 1}, 'row ${i + 1} before the backup')`);
        await sql(
          host(0),
          `CREATE TABLE test.backup_rows (id INT PRIMARY KEY, note VARCHAR(100));\nINSERT INTO test.backup_rows VALUES ${rows.join(', ')};\n`,
        );
        for (const o of [1, 2])
          await waitFor(
            `200 rows on ${name(o)}`,
            20_000,
            async () => (await sql(host(o), 'SELECT COUNT(*) FROM test.backup_rows')) === '200',
            300,
          );
        const { phase, pod, logs } = await runJob(backupCronJob);
        if (phase !== 'Succeeded')
          throw new Error(`${pod.name} ${phase}: ${logs.trim().split('\n').slice(-8).join(' | ')}`);
        sourceChecksums = await checksums(host(0));
        const keys = s3.keys(bucket, `${prefix}/base/`);
        const folders = [...new Set(keys.map((k) => k.replace(/\/[^/]+$/, '')))];
        if (folders.length !== 1 || keys.length !== 2)
          throw new Error(`objects under ${prefix}/base/: ${keys.join(', ')}`);
        folder = `s3://${bucket}/${folders[0]}`;
        const manifest = JSON.parse(
          fs.readFileSync(s3.objectFile(bucket, `${folders[0]}/manifest.json`), 'utf8'),
        );
        const object = s3.objectFile(bucket, `${folders[0]}/backup.xbstream`);
        const size = fs.statSync(object).size;
        const hash = sha256(object);
        const problems: string[] = [];
        if (manifest.size !== size) problems.push(`manifest size ${manifest.size} != object ${size}`);
        if (manifest.sha256 !== hash) problems.push(`manifest sha256 ${manifest.sha256} != object ${hash}`);
        if (manifest.source?.role !== 'replica') problems.push(`source ${JSON.stringify(manifest.source)}`);
        if (!/^[0-9a-f-]+:1-\d+$/.test(manifest.binlog?.gtidSet ?? ''))
          problems.push(`binlog ${JSON.stringify(manifest.binlog)}`);
        if (manifest.encryption?.sse !== 'aws:kms' || !manifest.encryption?.kmsKeyId)
          problems.push(`encryption ${JSON.stringify(manifest.encryption)}`);
        if (!/verified: .* reads back with \d+ bytes and the same sha256/.test(logs))
          problems.push('no read-back verification in the log');
        if (problems.length) throw new Error(`${problems.join('; ')}; log: ${lastLine(logs, /backup: /)}`);
        const choice = logs
          .split('\n')
          .filter((l) => /^backup: mysql-\d: /.test(l))
          .join(' | ');
        return `${pod.name} Succeeded; ${choice}; ${lastLine(logs, /^backup: source: /)}; objects: ${keys.join(', ')}; backup.xbstream ${size} bytes, sha256 ${hash.slice(0, 16)}… = manifest; manifest: source ${manifest.source.pod} (${manifest.source.role}, ${manifest.source.secondsBehindSource}s behind), version ${manifest.source.serverVersion}, binlog ${manifest.binlog.file}:${manifest.binlog.position}, GTID set ${manifest.binlog.gtidSet} (read from the stream's xtrabackup_binlog_info), sse ${manifest.encryption.sse}; source checksums ${sourceChecksums.join(', ')}`;
      },
    },
    {
      id: 'restore-from-s3',
      title: `a new stack in namespace ${RESTORE_NAMESPACE} with restore.from seeds mysql-0 from the backup; replicas clone from it; CHECKSUM TABLE equals the source's`,
      run: async () => {
        if (!folder) throw new Error('no backup from backup-to-s3');
        const restored = synthRestoredStack(w, folder, w.runDir);
        cluster.addNamespace(RESTORE_NAMESPACE, restored);
        const rsts = restored.statefulSet();
        const emulated = withAwsEmulation(rsts.spec.template, s3.endpoint);
        const controller = new StatefulSetController(cluster, {
          ...rsts,
          spec: { ...rsts.spec, template: emulated },
        } as StatefulSet);
        const t = Date.now();
        await controller.reconcile(240_000);
        const secs = ((Date.now() - t) / 1000).toFixed(1);
        const client = new ClientPod(cluster, w.adapter.clientImage, w.adapter.clientEnv, RESTORE_NAMESPACE);
        const rh = stepHelpers({ ...w, sts: controller, client });
        let evidence = '';
        try {
          const p0 = controller.pod(0);
          const fetchLog = p0.logs('restore-from-s3');
          const finishLog = p0.logs('restore-mysqld');
          if (!/verified: \d+ bytes, sha256 matches the manifest/.test(fetchLog))
            throw new Error(`mysql-0 restore-from-s3: ${fetchLog}`);
          if (!/done: replication settings from the backup dropped/.test(finishLog))
            throw new Error(`mysql-0 restore-mysqld: ${finishLog}`);
          const p1 = controller.pod(1);
          if (!/replica: it clones from the restored primary/.test(p1.logs('restore-from-s3')))
            throw new Error(`mysql-1 restore-from-s3: ${p1.logs('restore-from-s3')}`);
          const marker = fs.readFileSync(rh.claimFile(0, '.restored-from'), 'utf8').trim();
          if (marker !== folder) throw new Error(`.restored-from: ${marker}`);
          const status0 = await rh.replicaStatus(0);
          if (status0.configured)
            throw new Error(`restored mysql-0 still has a replication channel: ${status0.sourceHost}`);
          await waitFor(
            'restored mysql-1 to hold the 200 rows',
            30_000,
            async () => {
              try {
                return (await rh.sql(rh.host(1), 'SELECT COUNT(*) FROM test.backup_rows')) === '200';
              } catch {
                return false;
              }
            },
            300,
          );
          const got0 = await checksumsVia(rh.sql, rh.host(0), tables);
          const got1 = await checksumsVia(rh.sql, rh.host(1), tables);
          if (got0.join() !== sourceChecksums.join() || got1.join() !== sourceChecksums.join())
            throw new Error(
              `CHECKSUM TABLE: source ${sourceChecksums.join(', ')}; restored mysql-0 ${got0.join(', ')}; mysql-1 ${got1.join(', ')}`,
            );
          const s1 = await rh.replicaStatus(1);
          // The pod comes back on its claim: nothing is restored twice.
          await controller.deletePod(0);
          await controller.reconcile(120_000);
          const again = controller.pod(0).logs('restore-from-s3');
          if (!/already restored from .*; nothing to do/.test(again))
            throw new Error(`mysql-0 after recreation: ${again}`);
          evidence = `restored stack (${rsts.spec.replicas} pods) Ready in ${secs}s; mysql-0: ${lastLine(fetchLog, /verified/)}; ${lastLine(finishLog, /done/)}; no replication channel on mysql-0; mysql-1 cloned from it and replicates (IO=${s1.ioRunning} SQL=${s1.sqlRunning}); CHECKSUM TABLE source = restored mysql-0 = restored mysql-1: ${got0.join(', ')}; mysql-0 recreated on its claim: "${lastLine(again, /already restored/).replace(/^restore-from-s3: /, '')}"`;
        } finally {
          await client.delete();
          await Promise.all(
            [...controller.pods.keys()].sort((a, b) => b - a).map((o) => controller.deletePod(o)),
          );
        }
        // Refused over data: the restored stack's restore-from-s3 container, as mysql-0, on a claim that holds
        // a database no restore wrote (the source's mysql-0 volume: what a stack gets that adds restore.from).
        const fetch = emulated.spec.initContainers!.find((c) => c.name === 'restore-from-s3')!;
        const sourceClaim = sts.claimDir('data', 0);
        // The source's mysqld keeps running on it, so compare names, not times: nothing added or removed.
        const listing = () => fs.readdirSync(path.join(sourceClaim, 'mysql')).sort().join(',');
        const before = listing();
        const refusal = await runAlone(
          emulated.spec,
          fetch,
          RESTORE_NAMESPACE,
          'restore-refusal',
          sourceClaim,
        );
        const refused = refusal.pod.logs('restore-from-s3');
        if (refusal.phase !== 'Failed' || !/refusing to restore over existing data/.test(refused))
          throw new Error(`restore-from-s3 over data: ${refusal.phase}: ${refused}`);
        if (listing() !== before)
          throw new Error('restore-from-s3 changed the data it refused to restore over');
        return `${evidence}; over a volume with data (the source's data-mysql-0): Failed, "${lastLine(
          refused,
          /refusing/,
        )
          .replace(/^restore-from-s3: FAILED: /, '')
          .slice(0, 160)}…", no file added or removed`;
      },
    },
    {
      id: 'restore-drill',
      title:
        'the mysql-restore-drill CronJob restores the latest backup into a scratch claim and passes; on a corrupted newer copy it fails',
      run: async () => {
        const good = await runJob(drillCronJob);
        if (good.phase !== 'Succeeded')
          throw new Error(
            `drill on the good backup: ${good.phase}: ${good.logs.trim().split('\n').slice(-6).join(' | ')}`,
          );
        const passed = lastLine(good.logs, /PASSED/);
        const perTable = good.logs
          .split('\n')
          .filter((l) => /restore-mysqld: `test`\./.test(l))
          .join(' | ');
        if (!/`test`\.`backup_rows`: OK, 200 rows/.test(perTable))
          throw new Error(`drill output: ${perTable}`);
        // A newer backup folder whose object has 64 bytes flipped in the middle (its manifest otherwise intact).
        const key = folder.replace(`s3://${bucket}/`, '');
        const newerId = bumpId(path.basename(key));
        const newer = `${path.dirname(key)}/${newerId}`;
        const srcObject = s3.objectFile(bucket, `${key}/backup.xbstream`);
        const data = fs.readFileSync(srcObject);
        const at = Math.floor(data.length / 2);
        for (let i = at; i < at + 64; i++) data[i] ^= 0xff;
        const scratch = fs.mkdtempSync(path.join(w.runDir, 'corrupt-'));
        fs.writeFileSync(path.join(scratch, 'backup.xbstream'), data);
        await s3.put(bucket, `${newer}/backup.xbstream`, path.join(scratch, 'backup.xbstream'));
        const manifest = JSON.parse(fs.readFileSync(s3.objectFile(bucket, `${key}/manifest.json`), 'utf8'));
        manifest.id = newerId;
        manifest.object = `s3://${bucket}/${newer}/backup.xbstream`;
        fs.writeFileSync(path.join(scratch, 'manifest.json'), JSON.stringify(manifest) + '\n');
        await s3.put(bucket, `${newer}/manifest.json`, path.join(scratch, 'manifest.json'));
        fs.rmSync(scratch, { recursive: true });
        const bad = await runJob(drillCronJob);
        if (bad.phase !== 'Failed') throw new Error(`drill on the corrupted copy: ${bad.phase}: ${bad.logs}`);
        const why = lastLine(bad.logs, /FAILED/);
        if (!why.includes(newer) || !/is corrupted/.test(why))
          throw new Error(`drill on the corrupted copy failed otherwise: ${why}`);
        return `good backup: ${good.pod.name} Succeeded: ${passed.replace(/^restore-mysqld: /, '')}; per table: ${perTable.replace(/restore-mysqld: /g, '')}; corrupted newer copy (${newerId}, 64 bytes flipped at offset ${at}): ${bad.pod.name} Failed: ${why.replace(/^restore-from-s3: /, '')}`;
      },
    },
    {
      id: 'pitr-restore',
      title: `the binlog archiver streams the primary's binary logs to S3; a stack restored in ${PITR_NAMESPACE} from the backup with restore.toTime holds the rows written before that time and none after`,
      run: async () => {
        if (!folder) throw new Error('no backup from backup-to-s3');
        // The archiver Deployment's pod, with its RPO settings shortened for the run (rotation 300 s -> 2 s).
        const deployment = w.manifests.get<Deployment>('Deployment', `${sts.name}-binlog-archiver`);
        const template = withAwsEmulation(deployment.spec.template, s3.endpoint);
        for (const c of template.spec.containers)
          for (const e of c.env ?? []) {
            if (e.name === 'ROTATE_SECONDS') e.value = '2';
            if (e.name === 'UPLOAD_INTERVAL_SECONDS') e.value = '1';
          }
        const archiverPod = new Pod(cluster.ctx, {
          name: `${deployment.metadata.name}-${crypto.randomBytes(4).toString('hex')}`,
          namespace: sts.namespace,
          labels: template.metadata?.labels ?? {},
          spec: template.spec,
          claims: {},
          manifests: cluster.manifestsOf(sts.namespace),
        });
        const archiverLog = () => archiverPod.logs('binlog-archiver');
        const binlogPrefix = `${prefix}/binlogs/`;
        let restored: StatefulSetController | undefined;
        try {
          await cluster.startPod(archiverPod);
          // Rows on distinct seconds: before T, then T, then after it.
          await sql(host(0), 'CREATE TABLE test.pitr_rows (id INT PRIMARY KEY, note VARCHAR(100));');
          await sql(
            host(0),
            "INSERT INTO test.pitr_rows VALUES (1, 'before'), (2, 'before'), (3, 'before');",
          );
          const t = Math.ceil((Date.now() + 1) / 1000) * 1000;
          await sleepUntil(t + 1100);
          const logBefore = archiverLog().length;
          await sql(host(0), "INSERT INTO test.pitr_rows VALUES (4, 'after'), (5, 'after');");
          const toTime = new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
          // A rotation after the later rows closed the file that holds them, and it was uploaded.
          await waitFor(
            'the archiver to rotate and upload the binary log holding the later rows',
            60_000,
            async () =>
              /rotated [^\n]*\n(?:[^\n]*\n)*?[^\n]*archived binlog\./.test(archiverLog().slice(logBefore)),
            500,
          );
          const archived = s3.keys(bucket, binlogPrefix);
          // Its readiness probe (every 10 s) has seen a fresh heartbeat.
          await waitFor('the archiver to be Ready', 30_000, () => archiverPod.ready, 200);
          const stream = lastLine(archiverLog(), /archiving the binary logs of/).replace(
            /^binlog-archiver: /,
            '',
          );

          // The restored stack: one pod, mysql-0 seeded from the backup and replayed up to T.
          const manifests = synthRestoredStack(w, folder, w.runDir, {
            namespace: PITR_NAMESPACE,
            replicas: 1,
            toTime,
          });
          cluster.addNamespace(PITR_NAMESPACE, manifests);
          const rsts = manifests.statefulSet();
          const emulated = withAwsEmulation(rsts.spec.template, s3.endpoint);
          restored = new StatefulSetController(cluster, {
            ...rsts,
            spec: { ...rsts.spec, template: emulated },
          } as StatefulSet);
          const t0 = Date.now();
          await restored.reconcile(240_000);
          const secs = ((Date.now() - t0) / 1000).toFixed(1);
          const client = new ClientPod(cluster, w.adapter.clientImage, w.adapter.clientEnv, PITR_NAMESPACE);
          let rows = '';
          let backupRows = '';
          try {
            const rh = stepHelpers({ ...w, sts: restored, client });
            rows = await rh.sql(rh.host(0), 'SELECT GROUP_CONCAT(id ORDER BY id) FROM test.pitr_rows');
            backupRows = await rh.sql(rh.host(0), 'SELECT COUNT(*) FROM test.backup_rows');
          } finally {
            await client.delete();
          }
          const p0 = restored.pod(0);
          const fetchLog = p0.logs('restore-from-s3');
          const finishLog = p0.logs('restore-mysqld');
          if (rows !== '1,2,3' || backupRows !== '200')
            throw new Error(
              `restored to ${toTime}: test.pitr_rows ids [${rows}] (want 1,2,3: the rows before T, none of 4,5 after it), test.backup_rows ${backupRows} rows; restore-from-s3: ${lastLine(fetchLog, /point in time|FAILED/)}; restore-mysqld: ${lastLine(finishLog, /replayed|FAILED/)}`,
            );
          if (
            !/decoded into \.restore-pitr\.sql/.test(fetchLog) ||
            !/replayed: gtid_executed/.test(finishLog)
          )
            throw new Error(`restore logs: ${fetchLog.slice(-600)} | ${finishLog.slice(-400)}`);

          // Refused: a time before the backup finished (restore-from-s3 alone, on an empty claim).
          const manifest = JSON.parse(
            fs.readFileSync(
              s3.objectFile(bucket, `${folder.replace(`s3://${bucket}/`, '')}/manifest.json`),
              'utf8',
            ),
          );
          const early = new Date(Date.parse(manifest.finishedAt) - 60_000)
            .toISOString()
            .replace('T', ' ')
            .slice(0, 19);
          const fetch = JSON.parse(
            JSON.stringify(emulated.spec.initContainers!.find((c) => c.name === 'restore-from-s3')!),
          ) as (typeof emulated.spec.containers)[number];
          for (const e of fetch.env ?? []) if (e.name === 'RESTORE_TO_TIME') e.value = early;
          const emptyClaim = fs.mkdtempSync(path.join(w.runDir, 'pitr-refusal-'));
          const refusal = await runAlone(emulated.spec, fetch, PITR_NAMESPACE, 'pitr-refusal', emptyClaim);
          const refused = refusal.pod.logs('restore-from-s3');
          if (refusal.phase !== 'Failed' || !/is before backup .* finished/.test(refused))
            throw new Error(
              `restore-from-s3 with toTime ${early} (before the backup): ${refusal.phase}: ${refused}`,
            );
          return `archiver: ${stream}; Ready, ${archived.length} objects under ${binlogPrefix} (${archived.map((k) => k.replace(/^.*\//, '')).join(', ')}); rows 1-3 before T=${toTime}, 4-5 after it; restored stack Ready in ${secs}s: ${lastLine(fetchLog, /downloaded/).replace(/^restore-from-s3: /, '')}; ${lastLine(fetchLog, /point in time/).replace(/^restore-from-s3: /, '')}; ${lastLine(finishLog, /replayed/).replace(/^restore-mysqld: /, '')}; test.pitr_rows ids ${rows}, test.backup_rows ${backupRows}; toTime ${early} (before the backup): Failed, "${lastLine(
            refused,
            /FAILED/,
          )
            .replace(/^restore-from-s3: FAILED: /, '')
            .slice(0, 140)}…"`;
        } finally {
          if (restored)
            await Promise.all(
              [...restored.pods.keys()].sort((a, b) => b - a).map((o) => restored!.deletePod(o)),
            );
          await cluster.deletePod(archiverPod, 60);
        }
      },
    },
  ];
}

async function sleepUntil(ms: number): Promise<void> {
  const wait = ms - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

async function checksumsVia(
  sql: (t: string, s: string) => Promise<string>,
  target: string,
  tables: string[],
) {
  const out = await sql(target, `CHECKSUM TABLE ${tables.join(', ')}`);
  return out.split('\n').map((l) => l.replace('\t', '='));
}

/** The backup id one second later (YYYYMMDDTHHMMSSZ). */
function bumpId(id: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
  if (!m) throw new Error(`not a backup id: ${id}`);
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6] + 1));
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The restored stack, as a user makes it: the same profile with another namespace and `restore.from` set to the
 * backup folder, synthesized by the charts into the run directory (its Secret holds the source's passwords: the
 * accounts come from the backup).
 */
function synthRestoredStack(
  w: BackupContext,
  folder: string,
  runDir: string,
  o: { namespace: string; replicas: number; toTime?: string } = { namespace: RESTORE_NAMESPACE, replicas: 2 },
): Manifests {
  const outdir = fs.mkdtempSync(path.join(runDir || os.tmpdir(), 'restored-stack-'));
  const app = new App({
    outdir,
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
    recordConstructMetadata: false,
  });
  addMysqlStack(app, {
    ...w.config,
    profile: 'restored',
    namespace: o.namespace,
    replicas: o.replicas,
    restore: { from: folder, ...(o.toTime ? { toTime: o.toTime } : {}) },
    gitops: { ...w.config.gitops, argocd: undefined },
  });
  app.synth();
  const secrets = w.secrets.map((s) => ({
    ...s.object,
    metadata: { ...s.object.metadata, namespace: o.namespace },
  }));
  const restored = Manifests.loadDir(outdir).withObjects(secrets);
  // cert-manager issues the restored stack's certificates too (its own bootstrap CA in its namespace).
  const certManager = new CertManager(restored, o.namespace, path.join(outdir, 'cert-manager'));
  return restored.withObjects(certManager.issueAll());
}
