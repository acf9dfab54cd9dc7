/**
 * End-to-end replication test: runs the pods of dist/<profile>/ as real processes against real database servers in
 * Linux namespaces and replays the seed walkthrough. Linux + root only.
 *
 *   node -r ./tools/ts-register.js test/e2e/run.ts [--profile workshop] [--negative-control | --all] [--logs DIR]
 *
 * Default: the walkthrough on the synthesized StatefulSet; every step must pass.
 * --negative-control: the same StatefulSet with the seed's old sidecar (fixtures/seed-old-sidecar.sh); the run
 *   passes only if every step before it passes and the replica-of-replica replication step fails.
 * --image-inventory-negative: the workshop with an XtraBackup image inventory lacking socat; clone-mysql must fail
 *   fast with the message that names the tool (scenario/image-inventory.ts).
 * --ipv6: the run on an IPv6-only pod network (as on an EKS IPv6 cluster); step ids get the prefix `ipv6-`.
 * --all: workshop, negative control, image-inventory negative control, production, workshop on IPv6, one after the
 *   other. --logs DIR: copy every pod's logs to DIR before cleanup.
 * Exit code 0 only when every expectation held and the cleanup check found nothing left.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { adapterFor } from './adapters';
import { Cluster, ClientPod, StatefulSetController } from './lib/cluster';
import { Manifests, StatefulSet } from './lib/manifest';
import { ResourceTracker } from './lib/tracker';
import { REPLICA_OF_REPLICA_STEP, walkthrough } from './scenario/walkthrough';
import { productionWalkthrough } from './scenario/production';
import { imageInventoryNegative, INVENTORY_NEGATIVE } from './scenario/image-inventory';
import { without } from './lib/inventory';
import type { IpFamily } from './lib/network';
import { CmdlineScanner, generateSecrets, needlesFor } from './lib/secrets';
import { S3Server } from './lib/s3';
import { backupSteps } from './scenario/backups';
import { PROFILES } from '../../charts/profiles';
import { CertManager } from './lib/cert-manager';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const OLD_SIDECAR = path.join(__dirname, 'fixtures', 'seed-old-sidecar.sh');
const REQUIRED_TOOLS = [
  'mariadbd',
  'mariadb',
  'mariadb-admin',
  'mariabackup',
  'mbstream',
  'mariadb-install-db',
  'my_print_defaults',
  'socat',
  'ncat',
  'ip',
  'unshare',
  'nsenter',
  'setpriv',
  'pivot_root',
  'hostname',
  'bash',
  'jq',
  'prometheus',
  'promtool',
  'prometheus-mysqld-exporter',
];

type Mode = 'positive' | 'negative' | 'inventory-negative';

/**
 * Steps the negative control leaves out: they do not lead to the step it must fail, and the pod
 * deletion alone costs the seed sidecar's 30 s grace period (its ncat ignores SIGTERM), which would
 * push `--all` past three minutes.
 */
const NEGATIVE_CONTROL_SKIPS = new Set(['client-missing', 'delete-pod']);
/** The IPv6 run leaves out the one step that involves no network (moving /usr/bin/mysql in one container). */
const IPV6_SKIPS = new Set(['client-missing']);

/** One run: a profile, a mode and the pod network's address family. */
interface Run {
  profile: string;
  mode: Mode;
  family: IpFamily;
}

interface Options {
  profile: string;
  /** the runs, in order */
  runs: Run[];
  logsDir?: string;
  /** --override-script CONTAINER=FILE: try a script change before it lands in charts/ (reported loudly). */
  overrides: [string, string][];
  /** --only STEP,STEP…: run only these steps (a developer's shortcut; the run then reports FAIL on purpose). */
  only?: Set<string>;
}

const log = (line: string) => process.stdout.write(line + '\n');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function parseArgs(argv: string[]): Options {
  const opts: Options = { profile: 'workshop', runs: [], overrides: [] };
  let modes: Mode[] = ['positive'];
  let all = false;
  let family: IpFamily = 'ipv4';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--profile') opts.profile = argv[++i];
    else if (a.startsWith('--profile=')) opts.profile = a.slice('--profile='.length);
    else if (a === '--negative-control') modes = ['negative'];
    else if (a === '--image-inventory-negative') modes = ['inventory-negative'];
    else if (a === '--ipv6') family = 'ipv6';
    else if (a === '--all') all = true;
    else if (a === '--logs') opts.logsDir = path.resolve(argv[++i]);
    else if (a === '--override-script') {
      const [container, file] = (argv[++i] ?? '').split('=');
      if (!container || !file) throw new Error('--override-script needs CONTAINER=FILE');
      opts.overrides.push([container, path.resolve(file)]);
    } else if (a === '--only') opts.only = new Set((argv[++i] ?? '').split(',').filter(Boolean));
    else
      throw new Error(
        `unknown argument ${a}\nusage: run.ts [--profile NAME] [--negative-control | --image-inventory-negative | --all] [--ipv6] [--logs DIR]`,
      );
  }
  if (!opts.profile) throw new Error('--profile needs a value');
  opts.runs = all
    ? [
        { profile: 'workshop', mode: 'positive', family: 'ipv4' },
        { profile: 'workshop', mode: 'negative', family: 'ipv4' },
        { profile: 'workshop', mode: 'inventory-negative', family: 'ipv4' },
        { profile: 'production', mode: 'positive', family: 'ipv4' },
        { profile: 'workshop', mode: 'positive', family: 'ipv6' },
      ]
    : modes.map((mode) => ({ profile: opts.profile, mode, family }));
  if (opts.runs.some((r) => r.profile !== 'workshop' && r.mode !== 'positive'))
    throw new Error('the negative controls exist for the workshop profile only');
  return opts;
}

/** Linux, root, the tools, and overlayfs; a clear message otherwise. */
function preflight(): void {
  if (process.platform !== 'linux')
    throw new Error(`the e2e harness needs Linux (namespaces, overlayfs); this is ${process.platform}`);
  if (process.getuid?.() !== 0)
    throw new Error(
      'the e2e harness needs root (it creates namespaces, mounts and veth pairs); run it as root',
    );
  const missing = REQUIRED_TOOLS.filter((t) => {
    try {
      execFileSync('bash', ['-c', `command -v ${t}`], {
        stdio: 'ignore',
        env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
      });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) {
    throw new Error(
      `missing tools: ${missing.join(', ')}; install: apt-get install -y mariadb-server mariadb-client mariadb-backup socat ncat iproute2 util-linux hostname prometheus prometheus-mysqld-exporter`,
    );
  }
  // The percona-xtrabackup 8.4 emulation's aws is Debian's AWS CLI v2 (not another aws earlier on PATH).
  if (!fs.existsSync('/usr/bin/aws'))
    throw new Error('missing /usr/bin/aws (AWS CLI v2); install: apt-get install -y awscli');
  if (!fs.readFileSync('/proc/filesystems', 'utf8').includes('overlay'))
    throw new Error('the kernel has no overlayfs');
}

/**
 * A copy of the StatefulSet whose container `name` runs `script` instead of its own `bash -c` script, optionally
 * as another user.
 */
function withScript(sts: StatefulSet, name: string, script: string, runAsUser?: number): StatefulSet {
  const copy = JSON.parse(JSON.stringify(sts)) as StatefulSet;
  const spec = copy.spec.template.spec;
  const container = [...(spec.initContainers ?? []), ...spec.containers].find((c) => c.name === name);
  if (!container?.command || container.command.length !== 3 || container.command[1] !== '-c') {
    throw new Error(`expected container ${name} to run \`bash -c <script>\``);
  }
  container.command = [container.command[0], '-c', script];
  if (runAsUser !== undefined) {
    container.securityContext = { ...container.securityContext, runAsUser, runAsGroup: runAsUser };
  }
  return copy;
}

/**
 * The negative control's StatefulSet: the seed's sidecar, i.e. its old script run as the user the seed's sidecar
 * image ran it as (root; gcr.io/google-samples/xtrabackup:1.0 had no USER), so that the old replication logic,
 * not the user its `mysql` calls connect as, decides the outcome.
 */
function withOldSidecar(sts: StatefulSet): StatefulSet {
  return withScript(sts, 'xtrabackup', fs.readFileSync(OLD_SIDECAR, 'utf8'), 0);
}

interface StepResult {
  id: string;
  title: string;
  ok: boolean;
  evidence: string;
  ms: number;
}

/** Cleanup hook for signals: the run in progress registers itself here. */
let abortCurrent: (() => Promise<void>) | undefined;

/** A run's verdict, and the lines that say why it failed (repeated at the end of the whole log). */
interface RunOutcome {
  readonly ok: boolean;
  readonly failures: string[];
}

async function runMode(opts: Options, { profile, mode, family }: Run): Promise<RunOutcome> {
  const started = Date.now();
  const title = {
    positive: 'walkthrough',
    negative: "NEGATIVE CONTROL (seed's old sidecar)",
    'inventory-negative': `IMAGE-INVENTORY NEGATIVE CONTROL (${INVENTORY_NEGATIVE.image} without ${INVENTORY_NEGATIVE.tool})`,
  }[mode];
  log(`\n=== e2e ${title} — profile ${profile}${family === 'ipv6' ? ', IPv6-only pod network' : ''} ===`);
  const tracker = new ResourceTracker();
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-mysql-'));
  tracker.trackDir(runDir);
  const phases: [string, number][] = [];
  const results: StepResult[] = [];
  let cluster: Cluster | undefined;
  let scanner: CmdlineScanner | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    scanner?.stop();
    const t = Date.now();
    if (cluster) {
      if (opts.logsDir) copyLogs(runDir, path.join(opts.logsDir, family === 'ipv6' ? `${mode}-ipv6` : mode));
      await Promise.race([
        cluster.shutdown().catch(() => undefined),
        new Promise((r) => setTimeout(r, 15_000)),
      ]);
    }
    await tracker.cleanup(log);
    phases.push(['cleanup', Date.now() - t]);
  };
  abortCurrent = async () => {
    await cleanup();
    const { leftovers, summary } = tracker.verify();
    log(
      leftovers.length
        ? `FAIL cleanup: left behind: ${leftovers.join('; ')}`
        : `PASS cleanup: nothing left (${summary})`,
    );
  };
  let ok = true;
  let stepCount = -1;
  const failures: string[] = [];
  try {
    const t0 = Date.now();
    const adapter = adapterFor(profile);
    let manifests = Manifests.load(REPO_ROOT, profile);
    const namespace = manifests.statefulSet().metadata.namespace ?? 'default';
    // The Secrets the README has the user create by hand: generated per run, never printed.
    const secrets = generateSecrets(namespace, adapter.userSecrets ?? []);
    for (const s of secrets) {
      const literals = Object.entries(s.values)
        .map(([k, v]) => `--from-literal=${k}=<generated, ${v.length} chars>`)
        .join(' ');
      log(`kubectl -n ${namespace} create secret generic ${s.object.metadata.name} ${literals}`);
    }
    manifests = manifests.withObjects(secrets.map((s) => s.object));
    // cert-manager's part: the profile's Certificates issued into kubernetes.io/tls Secrets.
    const certManager = new CertManager(manifests, namespace, path.join(runDir, 'cert-manager'));
    const tlsSecrets = certManager.issueAll();
    if (tlsSecrets.length) {
      log(
        `cert-manager (emulated with openssl): issued ${tlsSecrets.map((s) => `Secret/${s.metadata.name}`).join(', ')} (tls.crt, tls.key, ca.crt)`,
      );
      manifests = manifests.withObjects(tlsSecrets);
    }
    const needles = needlesFor(secrets);
    if (needles.length) {
      scanner = new CmdlineScanner(needles);
      scanner.start();
    }
    if (mode === 'negative') {
      manifests = manifests.withStatefulSet(withOldSidecar(manifests.statefulSet()));
      // The seed's sidecar image (gcr.io/google-samples/xtrabackup:1.0) had ncat, which its script runs.
      adapter.overrideInventory?.(INVENTORY_NEGATIVE.image, (inv) => ({
        ...inv,
        entries: [
          ...inv.entries,
          { path: '/usr/bin/ncat', source: "the seed's sidecar image runs ncat", absent: false },
        ],
      }));
    }
    if (mode === 'inventory-negative')
      adapter.overrideInventory?.(INVENTORY_NEGATIVE.image, (inv) => without(inv, [INVENTORY_NEGATIVE.tool]));
    for (const [container, file] of opts.overrides) {
      log(`WARNING: container ${container} runs ${file} instead of its script in dist/ (--override-script)`);
      manifests = manifests.withStatefulSet(
        withScript(manifests.statefulSet(), container, fs.readFileSync(file, 'utf8')),
      );
    }
    const sts = manifests.statefulSet();
    const imagesDir = path.join(runDir, 'images');
    fs.mkdirSync(imagesDir);
    adapter.prepare(imagesDir);
    cluster = await Cluster.create(
      tracker,
      adapter,
      manifests,
      runDir,
      sts.metadata.namespace ?? 'default',
      log,
      family,
    );
    const controller = new StatefulSetController(cluster, sts);
    const client = new ClientPod(cluster, adapter.clientImage, adapter.clientEnv);
    log(`manifests: ${manifests.dir}; flavor: ${adapter.description}; run dir: ${runDir}`);
    phases.push(['setup', Date.now() - t0]);

    const context = { cluster, sts: controller, client, adapter };
    // Backups: a local S3 server on the pod network, with the bucket the backup CronJob writes to.
    const backupCronJob = manifests.objects.find(
      (o) => o.kind === 'CronJob' && o.metadata.name === `${sts.metadata.name}-backup`,
    );
    let backups: ReturnType<typeof backupSteps> = [];
    if (backupCronJob) {
      const t1 = Date.now();
      const uri = JSON.stringify(backupCronJob).match(/"name":"BACKUP_URI","value":"s3:\/\/([^/"]+)\//);
      if (!uri) throw new Error('the backup CronJob names no s3:// bucket');
      const s3 = await S3Server.start(tracker, cluster.network, runDir, REPO_ROOT, [uri[1]]);
      log(`s3rver on ${s3.endpoint} (bucket ${uri[1]}) in ${secs(Date.now() - t1)}`);
      backups = backupSteps({ ...context, s3, runDir, secrets, config: PROFILES[profile], manifests });
    }
    let steps =
      mode === 'inventory-negative'
        ? imageInventoryNegative(context)
        : profile === 'production'
          ? productionWalkthrough({
              ...context,
              secrets,
              needles,
              scanner: scanner!,
              runDir,
              backupSteps: backups,
              certManager,
              config: PROFILES[profile],
            })
          : walkthrough(context);
    if (family === 'ipv6')
      steps = steps.filter((s) => !IPV6_SKIPS.has(s.id)).map((s) => ({ ...s, id: `ipv6-${s.id}` }));
    stepCount = steps.length;
    for (const step of steps) {
      if (mode === 'negative' && NEGATIVE_CONTROL_SKIPS.has(step.id)) {
        log(
          `--- ${step.id}: skipped in the negative control (not on the path to the replica-of-replica bug)`,
        );
        continue;
      }
      if (opts.only && !opts.only.has(step.id)) {
        log(`--- ${step.id}: skipped (--only)`);
        continue;
      }
      const t = Date.now();
      log(`--- ${step.id}: ${step.title}`);
      let result: StepResult;
      try {
        const evidence = await step.run();
        result = { id: step.id, title: step.title, ok: true, evidence, ms: Date.now() - t };
      } catch (err) {
        result = {
          id: step.id,
          title: step.title,
          ok: false,
          evidence: (err as Error).message,
          ms: Date.now() - t,
        };
      }
      results.push(result);
      phases.push([step.id, result.ms]);
      log(`${result.ok ? 'PASS' : 'FAIL'} ${step.id} (${secs(result.ms)}): ${result.evidence}`);
      if (!result.ok && mode !== 'negative')
        failures.push(`FAIL ${step.id} (${secs(result.ms)}): ${result.evidence}`);
      if (mode === 'negative' && step.id === REPLICA_OF_REPLICA_STEP) break;
      if (!result.ok) break;
    }
  } catch (err) {
    ok = false;
    log(`ERROR: ${(err as Error).stack ?? err}`);
    failures.push(`ERROR: ${(err as Error).message}`);
  } finally {
    await cleanup();
    abortCurrent = undefined;
  }

  if (opts.overrides.length) {
    ok = false;
    log('FAIL: --override-script was used, so dist/ itself was not what ran');
    failures.push('FAIL: --override-script was used');
  }
  if (opts.only) {
    ok = false;
    log(`FAIL: --only ran a subset of the steps (${[...opts.only].join(', ')})`);
    failures.push('FAIL: --only ran a subset of the steps');
  }
  const { leftovers, summary } = tracker.verify();
  log(
    leftovers.length
      ? `FAIL cleanup: left behind: ${leftovers.join('; ')}`
      : `PASS cleanup: nothing left (${summary})`,
  );
  ok = ok && leftovers.length === 0;
  if (leftovers.length) failures.push(`FAIL cleanup: left behind: ${leftovers.join('; ')}`);

  if (mode !== 'negative') {
    ok = ok && results.length === stepCount && results.every((r) => r.ok);
  } else {
    const target = results.find((r) => r.id === REPLICA_OF_REPLICA_STEP);
    const before = results.slice(0, results.length - 1);
    const expectedFailure = !!target && !target.ok && before.every((r) => r.ok);
    log(
      expectedFailure
        ? `PASS negative control: the old sidecar breaks replication of a replica cloned from a replica, as expected`
        : `FAIL negative control: expected every step before ${REPLICA_OF_REPLICA_STEP} to pass and it to fail`,
    );
    ok = ok && expectedFailure;
    if (!expectedFailure)
      failures.push(
        `FAIL negative control: ${results.map((r) => `${r.id} ${r.ok ? 'passed' : 'failed'}`).join(', ')}`,
      );
  }
  log(
    `phases: ${phases.map(([p, ms]) => `${p} ${secs(ms)}`).join(', ')}; total ${secs(Date.now() - started)}`,
  );
  log(`${ok ? 'OK' : 'FAILED'}: ${mode} run`);
  return { ok, failures };
}

/** Copies the pods' logs (and events) to `target`. */
function copyLogs(runDir: string, target: string): void {
  const podsDir = path.join(runDir, 'pods');
  if (!fs.existsSync(podsDir)) return;
  for (const pod of fs.readdirSync(podsDir)) {
    const logs = path.join(podsDir, pod, 'logs');
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(target, pod), { recursive: true });
  }
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  preflight();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      log(`\n${signal}: cleaning up`);
      const done = abortCurrent ? abortCurrent() : Promise.resolve();
      void done.finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  const started = Date.now();
  let ok = true;
  const timings: string[] = [];
  const failed: string[] = [];
  for (const r of opts.runs) {
    const t = Date.now();
    const outcome = await runMode(opts, r);
    ok = outcome.ok && ok;
    const name = `${r.profile} ${r.mode}${r.family === 'ipv6' ? ' ipv6' : ''}`;
    timings.push(`${name} ${secs(Date.now() - t)}${outcome.ok ? '' : ' FAILED'}`);
    // CI keeps only the head and tail of a long log: the reasons are repeated at the very end.
    for (const f of outcome.ok
      ? []
      : outcome.failures.length
        ? outcome.failures
        : ['(no failing step recorded)'])
      failed.push(`  ${name}: ${f.length > 1500 ? `${f.slice(0, 1500)} […]` : f}`);
  }
  if (opts.runs.length > 1) log(`\nruns: ${timings.join(', ')}`);
  if (failed.length) log(`\nfailures:\n${failed.join('\n')}`);
  log(`\n${ok ? 'E2E PASSED' : 'E2E FAILED'} in ${secs(Date.now() - started)}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`e2e: ${(err as Error).message}\n`);
    process.exit(2);
  },
);
