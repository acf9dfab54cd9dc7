/**
 * Records every resource the harness creates (processes, namespaces, network interfaces, directories) by id,
 * removes exactly those, and proves afterwards that none is left. Nothing is ever looked up by a broad name match.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { processStartTime } from './proc';

interface TrackedProcess {
  pid: number;
  start: string;
  label: string;
}

interface TrackedNamespace {
  /** e.g. "net:[4026532301]" as read from /proc/PID/ns/net */
  id: string;
  label: string;
}

/** Registry of what one harness run created. */
export class ResourceTracker {
  private readonly processes = new Map<number, TrackedProcess>();
  /** Every process ever tracked, for the final check. */
  private readonly everProcesses: TrackedProcess[] = [];
  private readonly namespaces: TrackedNamespace[] = [];
  private readonly interfaces: string[] = [];
  private readonly dirs: string[] = [];

  /** Records a process by pid and kernel start time (so a reused pid is never mistaken for ours). */
  trackProcess(pid: number, label: string): void {
    const start = processStartTime(pid);
    if (start === undefined) return;
    const entry = { pid, start, label };
    this.processes.set(pid, entry);
    this.everProcesses.push(entry);
  }

  /** Forgets a process that has exited and been reaped. */
  processExited(pid: number): void {
    this.processes.delete(pid);
  }

  /** Records the namespaces a process holds (read from /proc/PID/ns/KIND). */
  trackNamespaces(pid: number, kinds: string[], label: string): void {
    for (const kind of kinds) {
      this.namespaces.push({ id: fs.readlinkSync(`/proc/${pid}/ns/${kind}`), label: `${label} ${kind}` });
    }
  }

  /** Records a network interface name created inside one of our namespaces. */
  trackInterface(name: string): void {
    this.interfaces.push(name);
  }

  /** Records a directory the run created (removed recursively at cleanup). */
  trackDir(dir: string): void {
    this.dirs.push(dir);
  }

  /** True when this exact process (pid and start time) is still alive. */
  private alive(p: TrackedProcess): boolean {
    return processStartTime(p.pid) === p.start;
  }

  /** Kills every recorded process that is still alive, waits for them, then removes the recorded directories. */
  async cleanup(log: (line: string) => void): Promise<void> {
    const victims = [...this.processes.values()].filter((p) => this.alive(p));
    for (const p of victims) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    const deadline = Date.now() + 10_000;
    while (victims.some((p) => this.alive(p)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (victims.length)
      log(`cleanup: killed ${victims.length} process(es): ${victims.map((p) => p.pid).join(' ')}`);
    // Namespaces die with their last process; wait (bounded) until no process holds one of ours.
    const nsDeadline = Date.now() + 10_000;
    while (this.heldNamespaces().length && Date.now() < nsDeadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const dir of [...this.dirs].reverse()) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (this.dirs.length) log(`cleanup: removed ${this.dirs.join(' ')}`);
  }

  /**
   * Our namespaces that some process in the system still holds (checked by namespace id). The kernel reuses the
   * inode number of a namespace that died, so a holder that descends from another harness run (another
   * `test/e2e/run.ts` process: other runs share the machine) holds a new namespace with an old number, not ours.
   */
  private heldNamespaces(): TrackedNamespace[] {
    const wanted = new Map(this.namespaces.map((n) => [n.id, n]));
    const held = new Set<string>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      for (const kind of ['net', 'uts', 'ipc', 'mnt', 'pid']) {
        try {
          const id = fs.readlinkSync(path.join('/proc', entry, 'ns', kind));
          if (wanted.has(id) && !fromAnotherRun(Number(entry))) held.add(id);
        } catch {
          /* process gone or kernel thread */
        }
      }
    }
    return [...held].map((id) => wanted.get(id) as TrackedNamespace);
  }

  /**
   * Proves that nothing this run created is left: no recorded process alive, no recorded namespace held, no mount
   * in the host's mount table under a recorded directory, no recorded interface in the host's network namespace,
   * no recorded directory on disk. Returns the leftovers (empty when clean) and a summary of what was checked.
   */
  verify(): { leftovers: string[]; summary: string } {
    const leftovers: string[] = [];
    for (const p of this.everProcesses) if (this.alive(p)) leftovers.push(`process ${p.pid} (${p.label})`);
    for (const n of this.heldNamespaces()) leftovers.push(`namespace ${n.id} (${n.label})`);
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    for (const dir of this.dirs) {
      for (const line of mounts) if (line.split(' ')[4]?.startsWith(dir)) leftovers.push(`mount ${line}`);
      if (fs.existsSync(dir)) leftovers.push(`directory ${dir}`);
    }
    const hostLinks = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    for (const name of this.interfaces) {
      if (new RegExp(`^\\d+: ${name}[@:]`, 'm').test(hostLinks)) leftovers.push(`host interface ${name}`);
    }
    const summary =
      `${this.everProcesses.length} processes, ${this.namespaces.length} namespaces, ` +
      `${this.interfaces.length} interfaces, ${this.dirs.length} directories checked`;
    return { leftovers, summary };
  }
}

/** Whether a process descends from another harness run than this one (walks the parent chain). */
function fromAnotherRun(pid: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p === process.pid) return false;
    try {
      const cmdline = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmdline.includes('test/e2e/run.ts')) return true;
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}
