/**
 * Runs a chart's shell script outside a pod: real bash, a temp dir standing in for the volumes, and
 * fake commands on PATH (socat, xbstream, xtrabackup, mysql, …) that record how they were called.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Call {
  /** The fake command's name. */
  readonly name: string;
  readonly args: string[];
  /** What the script fed on standard input (for `mysql <<SQL`). */
  readonly stdin: string;
}

export interface ScriptRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly calls: Call[];
}

/** A scratch directory with a `bin/` for fakes and a call log. Remove it with `cleanup()`. */
export class ScriptSandbox {
  readonly root: string;
  private readonly bin: string;
  private readonly log: string;

  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'script-test-'));
    this.bin = path.join(this.root, 'bin');
    this.log = path.join(this.root, 'calls');
    fs.mkdirSync(this.bin);
  }

  /** A directory inside the sandbox (created), e.g. the data dir. */
  dir(rel: string): string {
    const p = path.join(this.root, rel);
    fs.mkdirSync(p, { recursive: true });
    return p;
  }

  /**
   * Installs a fake command. It logs its name, args and stdin, then runs `body` (bash) with the same
   * args and its stdin available as the file "$FAKE_STDIN"; `body`'s exit status is the command's.
   * Logged by bash alone (a node process per call made the script suites several times slower): the
   * name and args NUL-separated in `<log>/<ns time>-<pid>.args` (written last, under a temporary name,
   * so a reader never sees half a call), stdin beside it, so calls sort in the order they were made.
   */
  fake(name: string, body = 'exit 0'): void {
    const file = path.join(this.bin, name);
    fs.writeFileSync(
      file,
      `#!/usr/bin/env bash
# runWith: the fake's own helpers come from a directory the script's PATH does not have.
[[ -z \${FAKE_HELPERS:-} ]] || PATH=$FAKE_HELPERS:$PATH
# A SIGTERM while the call is being logged ends the fake right after, so the log is complete.
trap 'FAKE_TERM=1' TERM
FAKE_STDIN=$(mktemp)
cat >"$FAKE_STDIN"
fake_call="$FAKE_CALL_LOG/$(date +%s%N)-$$"
cp "$FAKE_STDIN" "$fake_call.stdin"
printf '%s\\0' "${name}" "$@" >"$fake_call.part"
mv "$fake_call.part" "$fake_call.args"
trap - TERM
[[ -z \${FAKE_TERM:-} ]] || exit 143
${body}
`,
      { mode: 0o755 },
    );
  }

  /** Runs a script file with bash (and `args`), the fakes first on PATH, and only the given environment. */
  run(script: string, env: Record<string, string>, args: string[] = []): ScriptRun {
    this.resetLog();
    const r = spawnSync('bash', [script, ...args], {
      env: { PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin`, FAKE_CALL_LOG: this.log, ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: this.calls() };
  }

  private resetLog(): void {
    fs.rmSync(this.log, { recursive: true, force: true });
    fs.mkdirSync(this.log);
  }

  /** The calls logged so far, in the order they were made. */
  calls(): Call[] {
    return fs
      .readdirSync(this.log)
      .filter((f) => f.endsWith('.args'))
      .map((f) => ({ f, t: BigInt(f.split('-')[0]) }))
      .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0))
      .map(({ f }) => {
        const [name, ...args] = fs.readFileSync(path.join(this.log, f), 'utf8').split('\0').slice(0, -1);
        const stdin = fs.readFileSync(path.join(this.log, f.replace(/\.args$/, '.stdin')), 'latin1');
        return { name, args, stdin };
      });
  }

  /**
   * Starts a script in the background (for signals): same environment as {@link run}; `exited` resolves with its
   * status and output, `waitFor` polls a condition (up to 10 s).
   */
  start(script: string, env: Record<string, string>): BackgroundRun {
    this.resetLog();
    const child = spawn('bash', [script], {
      env: { PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin`, FAKE_CALL_LOG: this.log, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on('close', (status) => resolve({ status, stdout, stderr })),
    );
    return {
      exited,
      kill: (signal) => child.kill(signal),
      waitFor: async (cond) => {
        const deadline = Date.now() + 10_000;
        while (!cond()) {
          if (Date.now() > deadline) throw new Error(`timed out; stdout: ${stdout} stderr: ${stderr}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
    };
  }

  /** How many calls of a fake command were logged so far (also while a background run goes on). */
  callCount(name: string): number {
    return this.calls().filter((c) => c.name === name).length;
  }

  /**
   * Runs a script as {@link run} does, but on a PATH that holds only `bash` and the commands in `available`
   * (the fakes, else the host's), as in an image that has nothing else. The fakes find their own helpers
   * (mktemp, cat, date, cp, mv) through FAKE_HELPERS, which the script's PATH does not include.
   */
  runWith(script: string, env: Record<string, string>, available: readonly string[]): ScriptRun {
    const link = (dir: string, names: readonly string[]) => {
      for (const name of names) {
        const source = [this.bin, '/usr/local/bin', '/usr/bin']
          .map((d) => path.join(d, name))
          .find((f) => fs.existsSync(f));
        if (source) fs.symlinkSync(source, path.join(dir, name));
      }
      return dir;
    };
    const dir = link(fs.mkdtempSync(path.join(this.root, 'path-')), [...new Set(['bash', ...available])]);
    const helpers = link(fs.mkdtempSync(path.join(this.root, 'helpers-')), [
      'mktemp',
      'cat',
      'date',
      'cp',
      'mv',
    ]);
    return this.run(script, { ...env, PATH: dir, FAKE_HELPERS: helpers });
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

export interface BackgroundRun {
  readonly exited: Promise<{ status: number | null; stdout: string; stderr: string }>;
  kill(signal: NodeJS.Signals): void;
  waitFor(cond: () => boolean): Promise<void>;
}

/** Whether a process id is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The calls of one fake command. */
export function callsOf(calls: readonly Call[], name: string): Call[] {
  return calls.filter((c) => c.name === name);
}

/** What a fake command was fed on standard input, for each call that was fed anything. */
export function stdinsOf(calls: readonly Call[], name: string): string[] {
  return callsOf(calls, name)
    .filter((c) => c.stdin !== '')
    .map((c) => c.stdin);
}

/** Names of the files directly in a directory, sorted. */
export function ls(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/**
 * A script text (as a chart synthesizes it, e.g. a library joined in front of a script) as a file to run,
 * under node_modules/.cache, named by its content hash: written once, shared by every test that runs it.
 */
export function scriptFile(text: string): string {
  const dir = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'script-texts');
  const file = path.join(dir, `${crypto.createHash('sha256').update(text).digest('hex').slice(0, 16)}.sh`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
}
