/**
 * Child processes for the e2e harness: every process is spawned in its own process group, recorded in the
 * {@link ResourceTracker} by pid and start time, and bounded by a timeout.
 */
import { spawn, SpawnOptions } from 'child_process';
import * as fs from 'fs';
import type { ResourceTracker } from './tracker';

/** Result of a finished command. */
export interface RunResult {
  /** Exit code, or 128 + signal number when killed; -1 when it could not start. */
  code: number;
  stdout: string;
  stderr: string;
  /** True when the harness killed it for running past its timeout. */
  timedOut: boolean;
}

/** Options of {@link run}. */
export interface RunOptions {
  timeoutMs: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  label?: string;
}

const SIGNALS: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1, SIGPIPE: 13 };

/** The kernel's start time of a process (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Direct children of a process (needs CONFIG_PROC_CHILDREN). */
export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Sleeps for `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined/false, or throws after `timeoutMs`
 * with `what` in the message.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Spawns a process in a new process group and records it; the caller owns its lifetime. */
export function spawnTracked(
  tracker: ResourceTracker,
  label: string,
  command: string,
  args: string[],
  options: SpawnOptions,
) {
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid !== undefined) {
    tracker.trackProcess(child.pid, label);
    child.once('exit', () => tracker.processExited(child.pid as number));
  }
  return child;
}

/** Runs a command to completion with a timeout (the whole process group is killed on timeout). */
export function run(
  tracker: ResourceTracker,
  command: string,
  args: string[],
  options: RunOptions,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawnTracked(
      tracker,
      options.label ?? `${command} ${args.join(' ')}`.slice(0, 120),
      command,
      args,
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: options.env ?? process.env,
      },
    );
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(err), timedOut });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (SIGNALS[signal ?? ''] ?? 0), stdout, stderr, timedOut });
    });
  });
}

/** Like {@link run} but throws with the command's output when it does not exit 0. */
export async function runOk(tracker: ResourceTracker, command: string, args: string[], timeoutMs = 10_000) {
  const result = await run(tracker, command, args, { timeoutMs });
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

/** Sends a signal to a process group led by `pid` (spawned detached), ignoring groups that are gone. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}
