/**
 * One container run: its mount namespace holds exactly the image emulation plus the pod's volume mounts, its PID
 * namespace makes its process PID 1, and it joins its pod's network, UTS and IPC namespaces. The rootfs is built by
 * images/common/container-init.sh from a spec directory written here.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ChildProcess } from 'child_process';
import type { ImageConfig } from '../adapters/types';
import type { ResourceTracker } from './tracker';
import { childrenOf, killGroup, run, RunResult, spawnTracked, waitFor } from './proc';
import { HOST_BIN, HOST_USR } from './inventory';

const CONTAINER_INIT = path.join(__dirname, '..', 'images', 'common', 'container-init.sh');

/** Docker's default capability set, the one containerd gives a container on EKS. */
const DEFAULT_CAPS = [
  'chown',
  'dac_override',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'net_bind_service',
  'net_raw',
  'sys_chroot',
  'mknod',
  'audit_write',
  'setfcap',
];

/** A mount of the container, in container-init.sh's spec format. */
export type MountLine =
  | ['dir', string, string, number, number]
  | ['symlink', string, string]
  | ['tmpfs', string, string]
  | ['overlay', string, string, string]
  | ['bind', string, string, 'ro' | 'rw']
  | ['proc', string]
  | ['ro', string];

/** Everything needed to start a container process. */
export interface ContainerLaunch {
  /** "<pod>/<container>" for logs and errors */
  id: string;
  image: ImageConfig;
  argv: string[];
  env: Record<string, string>;
  workingDir: string;
  uid: number;
  gid: number;
  groups: number[];
  capAdd: string[];
  capDrop: string[];
  /** securityContext.allowPrivilegeEscalation === false: the process runs with no_new_privs. */
  noNewPrivs: boolean;
  /** securityContext.readOnlyRootFilesystem: everything but the volumes (and /dev, /proc) is read-only. */
  readOnlyRoot: boolean;
  /** Pod-level files: /etc/hosts, /etc/hostname, /etc/resolv.conf */
  podFiles: { hosts: string; hostname: string; resolv: string; nsswitch: string };
  /** Volume mounts, already resolved to host paths */
  volumeMounts: { mountPath: string; source: string; readOnly: boolean }[];
  /** The pod's network/UTS/IPC holder */
  sandboxPid: number;
}

/** Builds the ordered mount plan for a container (rootfs first, volumes last, as the runtime does). */
export function mountPlan(c: ContainerLaunch): MountLine[] {
  const img = c.image;
  const plan: MountLine[] = [];
  for (const [link, value] of [
    ['/bin', 'usr/bin'],
    ['/sbin', 'usr/sbin'],
    ['/lib', 'usr/lib'],
    ['/lib64', 'usr/lib64'],
  ]) {
    plan.push(['symlink', link, value]);
  }
  plan.push(['overlay', '/usr', `${img.layer}/usr:/usr`, 'usr']);
  plan.push(['overlay', '/etc', `${img.layer}/etc:/etc`, 'etc']);
  for (const dir of img.opaqueDirs) {
    plan.push(['overlay', dir, `${img.layer}${dir}`, `opaque${dir.replace(/\//g, '-')}`]);
  }
  // The image's executables and nothing else (test/e2e/inventories): the layer's shims plus links to the host
  // binaries its inventory lists. The host's own /usr stays reachable under HOST_USR, read-only and off every
  // PATH, for the shims and for the harness's runtime steps below (pivot_root, setpriv).
  plan.push(['bind', HOST_USR, '/usr', 'ro']);
  plan.push(['overlay', '/usr/bin', `${img.view}/usr/bin:${img.layer}/usr/bin`, 'usr-bin']);
  plan.push(['overlay', '/usr/sbin', `${img.view}/usr/sbin:${img.layer}/usr/sbin`, 'usr-sbin']);
  plan.push([
    'overlay',
    '/usr/local/bin',
    `${img.view}/usr/local/bin:${img.layer}/usr/local/bin`,
    'usr-local-bin',
  ]);
  plan.push(['bind', '/etc/hosts', c.podFiles.hosts, 'rw']);
  plan.push(['bind', '/etc/hostname', c.podFiles.hostname, 'rw']);
  plan.push(['bind', '/etc/resolv.conf', c.podFiles.resolv, 'rw']);
  plan.push(['bind', '/etc/nsswitch.conf', c.podFiles.nsswitch, 'ro']);
  plan.push(['dir', '/root', '0700', 0, 0]);
  plan.push(['dir', '/home', '0755', 0, 0]);
  plan.push(['dir', '/tmp', '1777', 0, 0]);
  plan.push(['dir', '/run', '0755', 0, 0]);
  plan.push(['dir', '/var/lib', '0755', 0, 0]);
  plan.push(['dir', '/var/tmp', '1777', 0, 0]);
  plan.push(['symlink', '/var/run', '../run']);
  plan.push(['dir', '/mnt', '0755', 0, 0]);
  for (const d of img.dirs) plan.push(['dir', d.path, d.mode, d.uid, d.gid]);
  plan.push(['dir', '/dev', '0755', 0, 0]);
  for (const dev of ['null', 'zero', 'full', 'random', 'urandom'])
    plan.push(['bind', `/dev/${dev}`, `/dev/${dev}`, 'rw']);
  plan.push(['tmpfs', '/dev/shm', '1777']);
  plan.push(['symlink', '/dev/fd', '/proc/self/fd']);
  plan.push(['symlink', '/dev/stdin', '/proc/self/fd/0']);
  plan.push(['symlink', '/dev/stdout', '/proc/self/fd/1']);
  plan.push(['symlink', '/dev/stderr', '/proc/self/fd/2']);
  plan.push(['proc', '/proc']);
  for (const m of c.volumeMounts) plan.push(['bind', m.mountPath, m.source, m.readOnly ? 'ro' : 'rw']);
  if (c.readOnlyRoot) {
    // containerd: the rootfs (here the root tmpfs and the image's overlays, upper layers included) and the
    // kubelet's /etc/hosts, /etc/hostname and /etc/resolv.conf become read-only; volumes keep their own mode.
    for (const target of [
      '/',
      '/usr',
      '/usr/bin',
      '/usr/sbin',
      '/usr/local/bin',
      '/etc',
      ...img.opaqueDirs,
      '/etc/hosts',
      '/etc/hostname',
      '/etc/resolv.conf',
    ])
      plan.push(['ro', target]);
  }
  return plan;
}

/** The capability bounding set string for setpriv. */
function boundingSet(add: string[], drop: string[]): string {
  const norm = (cap: string) => cap.toLowerCase().replace(/^cap_/, '');
  const dropped = new Set(drop.map(norm));
  if (dropped.has('all')) return ['-all', ...add.map((c) => `+${norm(c)}`)].join(',');
  const caps = new Set([...DEFAULT_CAPS, ...add.map(norm)].filter((c) => !dropped.has(c)));
  return ['-all', ...[...caps].map((c) => `+${c}`)].join(',');
}

/** A started container process. */
export class ContainerProcess {
  /** Host pid of the container's PID 1 (set once started) */
  initPid = 0;
  /** Resolves with the exit code when the container's PID 1 exits */
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  private constructor(
    readonly launch: ContainerLaunch,
    private readonly tracker: ResourceTracker,
    specDir: string,
    logFile: string,
  ) {
    const log = fs.openSync(logFile, 'a');
    this.child = spawnTracked(
      tracker,
      `container ${launch.id}`,
      'setpriv',
      [
        '--pdeathsig',
        'SIGKILL',
        '--',
        'nsenter',
        `--net=/proc/${launch.sandboxPid}/ns/net`,
        `--uts=/proc/${launch.sandboxPid}/ns/uts`,
        `--ipc=/proc/${launch.sandboxPid}/ns/ipc`,
        '--',
        'unshare',
        '--mount',
        '--pid',
        '--fork',
        '--kill-child=SIGKILL',
        '--propagation',
        'private',
        '--',
        'bash',
        CONTAINER_INIT,
        specDir,
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 143)));
      this.child.once('error', () => resolve(-1));
    });
  }

  /**
   * Writes the spec directory and starts the container; resolves once its PID 1 runs the container's own
   * process (container-init.sh has exec'd it), or rejects if it exits first.
   */
  static async start(launch: ContainerLaunch, tracker: ResourceTracker, specDir: string, logFile: string) {
    fs.mkdirSync(path.join(specDir, 'root'), { recursive: true });
    fs.mkdirSync(path.join(specDir, 'stage'), { recursive: true });
    fs.writeFileSync(
      path.join(specDir, 'mounts'),
      mountPlan(launch)
        .map((l) => l.join('\t') + '\n')
        .join(''),
    );
    fs.writeFileSync(path.join(specDir, 'argv'), launch.argv.map((a) => a + '\0').join(''));
    fs.writeFileSync(
      path.join(specDir, 'env'),
      Object.entries(launch.env)
        .map(([k, v]) => `${k}=${v}\0`)
        .join(''),
    );
    const groups = launch.groups.length ? launch.groups.join(',') : '-';
    fs.writeFileSync(
      path.join(specDir, 'user'),
      `${launch.uid} ${launch.gid} ${groups} ${boundingSet(launch.capAdd, launch.capDrop)} ${launch.noNewPrivs ? 1 : 0}\n`,
    );
    fs.writeFileSync(path.join(specDir, 'workdir'), `${launch.workingDir}\n`);
    const proc = new ContainerProcess(launch, tracker, specDir, logFile);
    let exitedEarly = false;
    void proc.exited.then(() => (exitedEarly = true));
    const unsharePid = proc.child.pid as number;
    await waitFor(
      `${launch.id} to start`,
      15_000,
      () => {
        if (exitedEarly) return true;
        const [init] = childrenOf(unsharePid);
        if (!init) return false;
        try {
          const cmdline = fs.readFileSync(`/proc/${init}/cmdline`, 'utf8');
          // Empty while the kernel swaps the process image (an exec in progress, seen under load): not yet.
          if (cmdline === '' || cmdline.includes(CONTAINER_INIT)) return false;
        } catch {
          return false;
        }
        proc.initPid = init;
        tracker.trackProcess(init, `container ${launch.id} PID 1`);
        try {
          tracker.trackNamespaces(init, ['mnt', 'pid'], `container ${launch.id}`);
        } catch {
          /* exited in between */
        }
        return true;
      },
      20,
    );
    return proc;
  }

  /** True while the container's PID 1 runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Runs a command inside the container, as `kubectl exec` does: the container's namespaces, root, user, groups,
   * capabilities, no_new_privs and environment. The environment is passed as the process environment, never on a
   * command line (where /proc/PID/cmdline would show a secret to every process).
   */
  exec(argv: string[], timeoutMs: number, input?: string): Promise<RunResult> {
    if (!this.initPid || !this.running) {
      return Promise.resolve({ code: -1, stdout: '', stderr: 'container is not running', timedOut: false });
    }
    const l = this.launch;
    const groups = l.groups.length ? ['--groups', l.groups.join(',')] : ['--clear-groups'];
    return run(
      this.tracker,
      'nsenter',
      [
        `--target=${this.initPid}`,
        '--mount',
        '--uts',
        '--net',
        '--ipc',
        '--pid',
        '--root',
        '--wd',
        '--',
        `${HOST_BIN}/setpriv`,
        '--reuid',
        String(l.uid),
        '--regid',
        String(l.gid),
        ...groups,
        '--bounding-set',
        boundingSet(l.capAdd, l.capDrop),
        '--inh-caps',
        '-all',
        ...(l.noNewPrivs ? ['--no-new-privs'] : []),
        '--',
        ...argv,
      ],
      { timeoutMs, input, env: { ...l.env }, label: `exec ${l.id}: ${argv.join(' ')}`.slice(0, 120) },
    );
  }

  /** Sends `signal` to the container's PID 1. */
  signal(signal: NodeJS.Signals): void {
    if (this.initPid && this.running) {
      try {
        process.kill(this.initPid, signal);
      } catch {
        /* gone */
      }
    }
  }

  /** Stops the container as the kubelet does: SIGTERM, then SIGKILL after the grace period. */
  async stop(graceMs: number): Promise<number> {
    this.signal('SIGTERM');
    const timer = setTimeout(() => {
      this.signal('SIGKILL');
      killGroup(this.child.pid, 'SIGKILL');
    }, graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
