/**
 * The pod network: a bridge inside a network namespace that the harness creates (held by a pause process), and
 * one veth pair per pod sandbox. Addresses come from a private /24; no namespace gets a default route, so no
 * packet can leave the namespaces of this run. The host's interfaces and routes are never touched.
 */
import * as fs from 'fs';
import type { ResourceTracker } from './tracker';
import { runOk, spawnTracked, waitFor } from './proc';

/** Subnet of the pod network (a /24 given as its first three octets). */
export const POD_SUBNET = '10.244.77';
/** The IPv6-only pod network (`--ipv6`, as on an EKS IPv6 cluster): a ULA /64. */
export const POD_SUBNET6 = 'fd00:10:244:77::';

/** The pod network's address family. */
export type IpFamily = 'ipv4' | 'ipv6';

/** Starts a "pause" process that holds fresh namespaces of the given kinds; returns its pid once they exist. */
export async function startPause(
  tracker: ResourceTracker,
  label: string,
  unshareFlags: string[],
  hostname?: string,
): Promise<number> {
  const script = hostname ? 'hostname "$1" && exec sleep infinity' : 'exec sleep infinity';
  const child = spawnTracked(
    tracker,
    label,
    'setpriv',
    [
      '--pdeathsig',
      'SIGKILL',
      '--',
      'unshare',
      ...unshareFlags,
      '--',
      'sh',
      '-c',
      script,
      'pause',
      hostname ?? '',
    ],
    { stdio: 'ignore' },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the pause process for ${label}`);
  await waitFor(
    `${label} pause process`,
    5_000,
    () => {
      try {
        return fs.readlinkSync(`/proc/${pid}/exe`).endsWith('/sleep');
      } catch {
        return false;
      }
    },
    10,
  );
  return pid;
}

/** The bridge and its namespace. */
export class PodNetwork {
  private nextHost = 10;
  private nextLink = 0;
  private constructor(
    private readonly tracker: ResourceTracker,
    /** pid of the pause process holding the bridge's network namespace */
    readonly pid: number,
    readonly family: IpFamily,
  ) {}

  /** Creates the bridge namespace and bridge `br0`. */
  static async create(tracker: ResourceTracker, family: IpFamily = 'ipv4'): Promise<PodNetwork> {
    const pid = await startPause(tracker, 'pod network (bridge netns)', ['--net']);
    tracker.trackNamespaces(pid, ['net'], 'pod network');
    const net = new PodNetwork(tracker, pid, family);
    await net.ip(pid, 'link', 'set', 'lo', 'up');
    await net.ip(pid, 'link', 'add', 'br0', 'type', 'bridge');
    await net.ip(pid, 'link', 'set', 'br0', 'up');
    tracker.trackInterface('br0');
    return net;
  }

  /** Runs `ip ARGS` inside the network namespace of `pid`. */
  async ip(pid: number, ...args: string[]): Promise<string> {
    return runOk(this.tracker, 'nsenter', [`--net=/proc/${pid}/ns/net`, '--', 'ip', ...args]);
  }

  /**
   * Connects a sandbox (the pause process `sandboxPid`) to the bridge: a veth pair whose pod end is `eth0`,
   * a fresh address (pods get a new IP each time, as on a real cluster) and lo up. Returns the address. On the
   * IPv6 network eth0 gets only an IPv6 address (no duplicate address detection, so it is usable at once); lo
   * keeps 127.0.0.1 and ::1, as in an EKS IPv6 pod.
   */
  async attach(sandboxPid: number): Promise<string> {
    if (this.nextHost > 250) throw new Error('pod network: out of addresses');
    const host = this.nextHost++;
    const address = this.family === 'ipv6' ? `${POD_SUBNET6}${host.toString(16)}` : `${POD_SUBNET}.${host}`;
    const hostEnd = `e2eveth${this.nextLink++}`;
    this.tracker.trackInterface(hostEnd);
    await this.ip(
      this.pid,
      'link',
      'add',
      hostEnd,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      String(sandboxPid),
    );
    await this.ip(this.pid, 'link', 'set', hostEnd, 'master', 'br0', 'up');
    await this.ip(sandboxPid, 'link', 'set', 'lo', 'up');
    if (this.family === 'ipv6') {
      await this.ip(sandboxPid, '-6', 'addr', 'add', `${address}/64`, 'dev', 'eth0', 'nodad');
    } else {
      await this.ip(sandboxPid, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    }
    await this.ip(sandboxPid, 'link', 'set', 'eth0', 'up');
    return address;
  }
}
