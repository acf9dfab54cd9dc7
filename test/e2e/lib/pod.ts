/**
 * A pod, run the way a kubelet runs it: a sandbox (pause process holding network, UTS and IPC namespaces, an
 * address on the pod network, /etc/hosts and friends), the volumes, the init containers in order, then all
 * containers together, with exec probes (readiness gates Ready, liveness failures restart the container) and the
 * restart policy Always.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomUUID } from 'crypto';
import type { FlavorAdapter } from '../adapters/types';
import type { ContainerSpec, Manifests, PodSpec, Probe } from './manifest';
import type { ResourceTracker } from './tracker';
import type { PodNetwork } from './network';
import { startPause } from './network';
import { ContainerLaunch, ContainerProcess } from './container';
import {
  applyFsGroup,
  resolveArgv,
  resolveEnv,
  resolveUser,
  updateProjectedVolume,
  writeProjectedVolume,
} from './kube';
import { killGroup, run, sleep } from './proc';

const secsSince = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)}s`;

/** What every pod of a run shares. */
export interface ClusterContext {
  tracker: ResourceTracker;
  network: PodNetwork;
  adapter: FlavorAdapter;
  manifests: Manifests;
  runDir: string;
  log: (line: string) => void;
  /** Called whenever a pod's readiness (or existence) changes, so DNS can follow. */
  onPodChange: () => void;
}

/** Status of one container, as `kubectl get pod` shows it. */
export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  running: boolean;
  /** Liveness probes run, over every restart of the container. */
  livenessRuns: number;
}

interface ProbeState {
  failures: number;
  successes: number;
}

/** Per-container runtime state. */
class ContainerRuntime {
  proc?: ContainerProcess;
  restartCount = 0;
  livenessRuns = 0;
  ready = false;
  startedAt = 0;
  attempt = 0;
  readiness: ProbeState = { failures: 0, successes: 0 };
  liveness: ProbeState = { failures: 0, successes: 0 };
  startup: ProbeState = { failures: 0, successes: 0 };
  constructor(readonly spec: ContainerSpec) {}
}

/** Options for a pod. */
export interface PodOptions {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  spec: PodSpec;
  /** Claim directories by volume name (from the StatefulSet's volumeClaimTemplates). */
  claims: Record<string, string>;
  /** The objects its ConfigMap and Secret volumes and env refer to. @default the cluster's */
  manifests?: Manifests;
}

/** A running (or stopping) pod. */
export class Pod {
  readonly uid = randomUUID();
  readonly dir: string;
  ip = '';
  sandboxPid = 0;
  phase: 'Pending' | 'Initializing' | 'Running' | 'Succeeded' | 'Failed' | 'Terminating' | 'Deleted' =
    'Pending';
  /** Resolves when a pod with restartPolicy Never has run to completion (never for restartPolicy Always). */
  readonly finished: Promise<'Succeeded' | 'Failed'>;
  private finish: (phase: 'Succeeded' | 'Failed') => void = () => undefined;
  /** Timestamped events (the evidence trail) */
  readonly events: string[] = [];
  private readonly containers: ContainerRuntime[];
  private readonly volumePaths = new Map<string, { path: string; readOnly: boolean }>();
  private stopping = false;
  private currentInit?: ContainerProcess;
  private lastReady = false;
  readonly hostname: string;
  readonly files: { hosts: string; hostname: string; resolv: string; nsswitch: string };

  constructor(
    private readonly ctx: ClusterContext,
    readonly opts: PodOptions,
  ) {
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.hostname = opts.spec.hostname ?? opts.name;
    this.dir = path.join(ctx.runDir, 'pods', `${opts.name}-${this.uid.slice(0, 8)}`);
    this.containers = opts.spec.containers.map((c) => new ContainerRuntime(c));
    this.files = {
      hosts: path.join(this.dir, 'etc-hosts'),
      hostname: path.join(this.dir, 'etc-hostname'),
      resolv: path.join(this.dir, 'resolv.conf'),
      nsswitch: path.join(this.dir, 'nsswitch.conf'),
    };
  }

  get name(): string {
    return this.opts.name;
  }

  /** Ready as the API reports it: running and every container ready. */
  get ready(): boolean {
    return this.phase === 'Running' && this.containers.every((c) => c.ready);
  }

  /** `READY` column, e.g. "1/2". */
  get readyColumn(): string {
    return `${this.containers.filter((c) => c.ready).length}/${this.containers.length}`;
  }

  /** Container statuses. */
  statuses(): ContainerStatus[] {
    return this.containers.map((c) => ({
      name: c.spec.name,
      ready: c.ready,
      restartCount: c.restartCount,
      running: !!c.proc?.running,
      livenessRuns: c.livenessRuns,
    }));
  }

  /** Sum of restarts (the RESTARTS column). */
  get restarts(): number {
    return this.containers.reduce((n, c) => n + c.restartCount, 0);
  }

  /** The running process of a container (for exec). */
  container(name: string): ContainerProcess {
    const c = this.containers.find((x) => x.spec.name === name);
    if (!c?.proc) throw new Error(`${this.name}: container ${name} is not running`);
    return c.proc;
  }

  /** Log file of a container run (attempt 0 is the first). */
  logFile(container: string, attempt = 0): string {
    return path.join(this.dir, 'logs', `${container}-${attempt}.log`);
  }

  /** Every log of a container, concatenated. */
  logs(container: string): string {
    const dir = path.join(this.dir, 'logs');
    if (!fs.existsSync(dir)) return '';
    return fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(`${container}-`))
      .sort()
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('');
  }

  private event(text: string): void {
    const line = `${new Date().toISOString().slice(11, 23)} ${this.name}: ${text}`;
    this.events.push(line);
    this.ctx.log(`    ${line}`);
  }

  /** Creates the sandbox and volumes, runs the init containers, and starts the containers (does not wait for Ready). */
  async start(): Promise<void> {
    fs.mkdirSync(path.join(this.dir, 'logs'), { recursive: true });
    this.sandboxPid = await startPause(
      this.ctx.tracker,
      `pod ${this.name} sandbox`,
      ['--net', '--uts', '--ipc'],
      this.hostname,
    );
    this.ctx.tracker.trackNamespaces(this.sandboxPid, ['net', 'uts', 'ipc'], `pod ${this.name}`);
    this.ip = await this.ctx.network.attach(this.sandboxPid);
    fs.writeFileSync(this.files.hostname, `${this.hostname}\n`);
    fs.writeFileSync(
      this.files.resolv,
      '# e2e: no DNS server; names resolve through /etc/hosts only\noptions ndots:5\n',
    );
    // Cluster DNS answers a name that does not exist (a pod not created yet) with NXDOMAIN at once. With no
    // DNS server, glibc's query to 127.0.0.1:53 is refused instead, which getaddrinfo reports as a temporary
    // failure (EAI_AGAIN), and MariaDB's client retries that for 8 s before its ERROR 2005. Hosts from
    // /etc/hosts only: an unknown name is "not found" at once (EAI_NONAME), as with CoreDNS.
    fs.writeFileSync(
      this.files.nsswitch,
      '# e2e: cluster DNS is /etc/hosts (rewritten as Services change); an unknown name is not found at once\n' +
        'passwd: files\ngroup: files\nshadow: files\nhosts: files\nnetworks: files\n' +
        'protocols: files\nservices: files\nethers: files\nrpc: files\n',
    );
    this.ctx.onPodChange();
    this.prepareVolumes();
    this.event(`sandbox up (pause pid ${this.sandboxPid}, IP ${this.ip})`);
    this.phase = 'Initializing';
    void this.runLifecycle();
  }

  private get manifests(): Manifests {
    return this.opts.manifests ?? this.ctx.manifests;
  }

  /**
   * What the kubelet does for a running pod when a ConfigMap it mounts changed (after its sync period; here at
   * once): the volume's files replaced atomically, an event for each volume whose content changed.
   */
  refreshConfigMapVolumes(): void {
    if (this.phase === 'Deleted') return;
    for (const v of this.opts.spec.volumes ?? []) {
      if (!v.configMap) continue;
      const dir = path.join(this.dir, 'volumes', v.name);
      const data = this.manifests.configMap(this.opts.namespace, v.configMap.name);
      if (!data || !fs.existsSync(path.join(dir, '..data'))) continue;
      const mode = v.configMap.defaultMode ?? 0o644;
      const items = v.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key, mode }));
      const files = items.map((i) => ({ path: i.path, content: data[i.key] ?? '', mode: i.mode ?? mode }));
      const same = files.every((f) => {
        try {
          return fs.readFileSync(path.join(dir, f.path), 'utf8') === f.content;
        } catch {
          return false;
        }
      });
      if (same) continue;
      updateProjectedVolume(dir, files);
      this.event(`volume ${v.name} updated (ConfigMap ${v.configMap.name} changed)`);
    }
  }

  /**
   * A network partition of this pod: its end of the veth pair down (every peer's packets to it, and its own, are
   * lost; connections stay open on both sides, as across a partition), or up again.
   */
  async setPartitioned(partitioned: boolean): Promise<void> {
    await this.ctx.network.ip(this.sandboxPid, 'link', 'set', 'eth0', partitioned ? 'down' : 'up');
    this.event(partitioned ? 'network partitioned (eth0 down)' : 'network back (eth0 up)');
  }

  private get runsOnce(): boolean {
    const policy = this.opts.spec.restartPolicy ?? 'Always';
    if (policy === 'OnFailure') throw new Error(`${this.name}: restartPolicy OnFailure is not emulated`);
    return policy === 'Never';
  }

  private complete(phase: 'Succeeded' | 'Failed'): void {
    this.phase = phase;
    this.event(`pod ${phase}`);
    this.changed();
    this.finish(phase);
  }

  private async runLifecycle(): Promise<void> {
    for (const spec of this.opts.spec.initContainers ?? []) {
      let attempt = 0;
      let backoff = 1_000;
      for (;;) {
        if (this.stopping) return;
        const proc = await this.launch(spec, attempt);
        this.currentInit = proc;
        const code = await proc.exited;
        this.currentInit = undefined;
        this.event(`init container ${spec.name} exited ${code}`);
        if (code === 0) break;
        if (this.stopping) return;
        if (this.runsOnce) return this.complete('Failed');
        attempt++;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
    if (this.stopping) return;
    this.phase = 'Running';
    const codes = await Promise.all(this.containers.map((c) => this.superviseContainer(c)));
    if (this.runsOnce && !this.stopping) this.complete(codes.every((c) => c === 0) ? 'Succeeded' : 'Failed');
  }

  /**
   * Starts a container and restarts it whenever it exits (restartPolicy Always, kubelet back-off 10 s doubling);
   * with restartPolicy Never, returns its exit code instead.
   */
  private async superviseContainer(c: ContainerRuntime): Promise<number | undefined> {
    let backoff = 10_000;
    for (;;) {
      if (this.stopping) return;
      c.ready = false;
      c.readiness = { failures: 0, successes: 0 };
      c.liveness = { failures: 0, successes: 0 };
      c.startup = { failures: 0, successes: 0 };
      c.proc = await this.launch(c.spec, c.attempt++);
      c.startedAt = Date.now();
      this.event(`container ${c.spec.name} started (PID 1 = host pid ${c.proc.initPid})`);
      const probes = this.probeLoops(c, c.proc);
      const code = await c.proc.exited;
      c.ready = false;
      this.changed();
      await probes.stop();
      if (this.stopping) return;
      if (this.runsOnce) {
        this.event(`container ${c.spec.name} exited ${code}`);
        return code ?? 1;
      }
      this.event(`container ${c.spec.name} exited ${code}; restarting in ${backoff / 1000}s`);
      c.restartCount++;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 300_000);
    }
  }

  /**
   * Runs the startup probe, then readiness and liveness probes, for one container process until it exits. As in
   * the kubelet, readiness and liveness wait until the startup probe has succeeded (they then probe at once);
   * `failureThreshold` startup failures kill the container.
   */
  private probeLoops(c: ContainerRuntime, proc: ContainerProcess) {
    let active = true;
    const loops: Promise<void>[] = [];
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const loop = async (kind: 'startup' | 'readiness' | 'liveness', probe: Probe | undefined) => {
      if (kind !== 'startup') {
        await started;
        if (!active) return;
      }
      if (!probe) {
        if (kind === 'startup') markStarted();
        if (kind === 'readiness') {
          c.ready = true;
          this.changed();
        }
        return;
      }
      const period = (probe.periodSeconds ?? 10) * 1000;
      const timeout = (probe.timeoutSeconds ?? 1) * 1000;
      const failureThreshold = probe.failureThreshold ?? 3;
      const successThreshold = probe.successThreshold ?? 1;
      const state = kind === 'readiness' ? c.readiness : kind === 'liveness' ? c.liveness : c.startup;
      const deadline = Date.now() + (probe.initialDelaySeconds ?? 0) * 1000;
      while (active && Date.now() < deadline) await sleep(Math.min(100, deadline - Date.now()));
      while (active && proc.running) {
        const started = Date.now();
        const result = probe.httpGet
          ? await this.httpGet(c.spec, probe.httpGet, timeout)
          : await proc.exec(probe.exec?.command ?? ['true'], timeout);
        if (kind === 'liveness') c.livenessRuns++;
        if (!active || !proc.running) break;
        const ok = result.code === 0 && !result.timedOut;
        if (ok) {
          state.successes++;
          state.failures = 0;
        } else {
          state.failures++;
          state.successes = 0;
          if (state.failures === 1 || state.failures === failureThreshold) {
            const why = result.timedOut
              ? 'timed out'
              : `exit ${result.code}: ${(result.stderr || result.stdout).trim().split('\n').pop()}`;
            this.event(`${kind} probe of ${c.spec.name} failed (${state.failures}x): ${why}`);
          }
        }
        if (kind === 'startup') {
          if (ok && state.successes >= successThreshold) {
            this.event(`startup probe of ${c.spec.name} succeeded after ${secsSince(c.startedAt)}`);
            markStarted();
            return;
          }
          if (!ok && state.failures >= failureThreshold) {
            this.event(`startup probe failed ${failureThreshold}x: killing container ${c.spec.name}`);
            proc.signal('SIGKILL');
            break;
          }
        } else if (kind === 'readiness') {
          const before = c.ready;
          if (ok && state.successes >= successThreshold) c.ready = true;
          if (!ok && state.failures >= failureThreshold) c.ready = false;
          if (before !== c.ready) this.changed();
        } else if (!ok && state.failures >= failureThreshold) {
          this.event(`liveness probe failed ${failureThreshold}x: killing container ${c.spec.name}`);
          proc.signal('SIGKILL');
          break;
        }
        const wait = period - (Date.now() - started);
        const until = Date.now() + wait;
        while (active && proc.running && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
      }
    };
    loops.push(
      loop('startup', c.spec.startupProbe),
      loop('readiness', c.spec.readinessProbe),
      loop('liveness', c.spec.livenessProbe),
    );
    return {
      stop: async () => {
        active = false;
        markStarted();
        await Promise.all(loops);
      },
    };
  }

  /**
   * An httpGet probe as the kubelet runs it: from outside the container (the kubelet's own HTTP client, not the
   * image's tools) to the pod's IP, through the pod's network namespace (held by the pause process); success is
   * a status from 200 to 399. Only `http` is emulated.
   */
  private async httpGet(spec: ContainerSpec, get: NonNullable<Probe['httpGet']>, timeoutMs: number) {
    const port =
      typeof get.port === 'number' ? get.port : spec.ports?.find((p) => p.name === get.port)?.containerPort;
    if (port === undefined || (get.scheme ?? 'HTTP') !== 'HTTP') {
      return {
        code: 1,
        stdout: '',
        stderr: `httpGet: no port ${get.port} or scheme ${get.scheme}`,
        timedOut: false,
      };
    }
    const request =
      'exec 3<>"/dev/tcp/$1/$2" && printf "GET %s HTTP/1.0\\r\\nHost: %s:%s\\r\\nUser-Agent: kube-probe/1.27\\r\\n\\r\\n" "$3" "$1" "$2" >&3 && ' +
      'read -r status <&3 && [[ $status =~ ^HTTP/1\\.[01]\\ [23][0-9][0-9] ]] || { echo "HTTP probe failed: ${status:-no answer}" >&2; exit 1; }';
    return run(
      this.ctx.tracker,
      'nsenter',
      [
        `--target=${this.sandboxPid}`,
        '--net',
        '--',
        'bash',
        '-c',
        request,
        'probe',
        this.ip,
        String(port),
        get.path ?? '/',
      ],
      { timeoutMs, label: `${this.name} httpGet probe` },
    );
  }

  private changed(): void {
    if (this.ready !== this.lastReady) {
      this.lastReady = this.ready;
      this.event(`Ready=${this.ready} (${this.readyColumn})`);
    }
    this.ctx.onPodChange();
  }

  /** Resolves the container's launch spec and starts it. */
  private async launch(spec: ContainerSpec, attempt: number): Promise<ContainerProcess> {
    const image = this.ctx.adapter.image(spec.image);
    const identity = { name: this.name, namespace: this.opts.namespace, uid: this.uid, ip: this.ip };
    const env = resolveEnv(spec, image, identity, this.hostname, this.manifests);
    const user = resolveUser(this.opts.spec, spec, image);
    const launch: ContainerLaunch = {
      id: `${this.name}/${spec.name}`,
      image,
      argv: resolveArgv(spec, image, env),
      env,
      workingDir: spec.workingDir ?? image.workingDir,
      ...user,
      capAdd: spec.securityContext?.capabilities?.add ?? [],
      capDrop: spec.securityContext?.capabilities?.drop ?? [],
      noNewPrivs: spec.securityContext?.allowPrivilegeEscalation === false,
      readOnlyRoot: spec.securityContext?.readOnlyRootFilesystem === true,
      podFiles: this.files,
      volumeMounts: (spec.volumeMounts ?? []).map((m) => {
        const vol = this.volumePaths.get(m.name);
        if (!vol) throw new Error(`${this.name}/${spec.name}: volume ${m.name} is not defined`);
        let source = vol.path;
        if (m.subPath) {
          source = path.join(vol.path, m.subPath);
          if (!fs.existsSync(source)) {
            // The kubelet creates a missing subPath with the volume root's mode (so fsGroup can write).
            fs.mkdirSync(source, { recursive: true });
            fs.chmodSync(source, fs.statSync(vol.path).mode & 0o7777);
          }
        }
        return { mountPath: m.mountPath, source, readOnly: vol.readOnly || !!m.readOnly };
      }),
      sandboxPid: this.sandboxPid,
    };
    const specDir = path.join(this.dir, 'containers', `${spec.name}-${attempt}`);
    return ContainerProcess.start(launch, this.ctx.tracker, specDir, this.logFile(spec.name, attempt));
  }

  /** Creates the pod's volumes: emptyDirs and projected ConfigMaps/Secrets per pod, claims from the controller. */
  private prepareVolumes(): void {
    const fsGroup = this.opts.spec.securityContext?.fsGroup;
    for (const v of this.opts.spec.volumes ?? []) {
      const dir = path.join(this.dir, 'volumes', v.name);
      if (v.emptyDir) {
        fs.mkdirSync(dir, { recursive: true });
        fs.chmodSync(dir, 0o777);
        this.volumePaths.set(v.name, { path: dir, readOnly: false });
      } else if (v.configMap || v.secret) {
        const data = v.configMap
          ? this.manifests.configMap(this.opts.namespace, v.configMap.name)
          : this.manifests.secret(this.opts.namespace, v.secret!.secretName);
        const src = (v.configMap ?? v.secret)!;
        if (!data && !src.optional)
          throw new Error(`${this.name}: volume ${v.name} refers to a missing object`);
        const mode = src.defaultMode ?? 0o644;
        const items = src.items ?? Object.keys(data ?? {}).map((key) => ({ key, path: key, mode }));
        fs.mkdirSync(dir, { recursive: true });
        writeProjectedVolume(
          dir,
          items.map((i) => ({ path: i.path, content: (data ?? {})[i.key] ?? '', mode: i.mode ?? mode })),
        );
        // ConfigMap and Secret volumes are always mounted read-only.
        this.volumePaths.set(v.name, { path: dir, readOnly: true });
      } else if (v.ephemeral) {
        // A fresh claim for this pod only (like a new ext4 EBS volume: lost+found, root-owned 0755), gone with it.
        fs.mkdirSync(path.join(dir, 'lost+found'), { recursive: true, mode: 0o700 });
        fs.chmodSync(dir, 0o755);
        this.volumePaths.set(v.name, { path: dir, readOnly: false });
      } else {
        throw new Error(
          `${this.name}: volume ${v.name}: only emptyDir, configMap, secret, ephemeral and claims are emulated`,
        );
      }
      if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, !v.emptyDir && !v.ephemeral);
    }
    for (const [name, dir] of Object.entries(this.opts.claims)) {
      if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, false);
      this.volumePaths.set(name, { path: dir, readOnly: false });
    }
  }

  /**
   * Deletes the pod like the kubelet: SIGTERM to every container, SIGKILL after the grace period, then the sandbox
   * and the pod directory (emptyDirs) go; claims stay.
   */
  async delete(graceSeconds: number): Promise<void> {
    this.stopping = true;
    this.phase = 'Terminating';
    this.changed();
    this.event(`deleting (grace ${graceSeconds}s)`);
    await Promise.all([
      this.currentInit?.stop(0),
      ...this.containers.map((c) => c.proc?.stop(graceSeconds * 1000)),
    ]);
    killGroup(this.sandboxPid, 'SIGKILL');
    try {
      process.kill(this.sandboxPid, 'SIGKILL');
    } catch {
      /* gone */
    }
    this.phase = 'Deleted';
    this.ctx.onPodChange();
    this.event('deleted');
  }

  /** Removes the pod's directory (its emptyDirs and logs); call after {@link delete} once logs were read. */
  removeDir(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
