/**
 * The Secrets a user creates by hand (`kubectl create secret generic …`), generated per run with characters that
 * exercise quoting, and the checks that they never leak: a sampler of every process's command line during the run
 * and a scan of data directories. Secret values are never printed: evidence names only the key and the place.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { UserSecret } from '../adapters/types';
import type { KObject } from './manifest';

/** Characters every generated password contains: SQL, shell and option-file quoting must all cope with them. */
export const AWKWARD = `'"\\$\`#; `;

const ALNUM = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/**
 * A random password: 8 alphanumerics, the awkward characters (but `forbidden`) shuffled among 8 more, 8
 * alphanumerics.
 */
export function generatePassword(forbidden = ''): string {
  const pick = (n: number) => Array.from({ length: n }, () => ALNUM[crypto.randomInt(ALNUM.length)]);
  const middle = [...pick(8), ...[...AWKWARD].filter((c) => !forbidden.includes(c))];
  for (let i = middle.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [middle[i], middle[j]] = [middle[j], middle[i]];
  }
  return [...pick(8), ...middle, ...pick(8)].join('');
}

/** One generated Secret: the object (as `kubectl create secret generic` makes it) and its values by key. */
export interface GeneratedSecret {
  object: KObject;
  values: Record<string, string>;
}

/** Generates the user's Secrets of a profile in `namespace`. */
export function generateSecrets(namespace: string, secrets: UserSecret[]): GeneratedSecret[] {
  return secrets.map((s) => {
    const values: Record<string, string> = {};
    for (const key of s.keys) values[key] = generatePassword(s.forbidden?.[key]);
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) data[k] = Buffer.from(v, 'utf8').toString('base64');
    return {
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: s.name, namespace },
        type: 'Opaque',
        data,
      },
      values,
    };
  });
}

/** A secret value in every form a leak could take: as is, as a SQL string body, as an option-file value. */
export interface Needle {
  /** e.g. "mysql-credentials/root-password (SQL-escaped)" */
  label: string;
  bytes: Buffer;
}

export function needlesFor(secrets: GeneratedSecret[]): Needle[] {
  const out: Needle[] = [];
  for (const s of secrets) {
    for (const [key, value] of Object.entries(s.values)) {
      const name = `${s.object.metadata.name}/${key}`;
      const forms: [string, string][] = [
        ['as is', value],
        ['SQL-escaped', value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")],
        ['option-file-escaped', value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')],
      ];
      const seen = new Set<string>();
      for (const [form, text] of forms) {
        if (seen.has(text)) continue;
        seen.add(text);
        out.push({ label: `${name} (${form})`, bytes: Buffer.from(text, 'utf8') });
      }
    }
  }
  return out;
}

/** A hit: where a secret was found (never the secret itself). */
export interface Hit {
  where: string;
  needle: string;
}

/**
 * Samples /proc/PID/cmdline of every process on the host every `intervalMs` while running. A process that lives
 * shorter than the interval can be missed: the evidence says how many distinct command lines were seen.
 */
export class CmdlineScanner {
  private timer?: NodeJS.Timeout;
  scans = 0;
  private readonly seen = new Set<string>();
  readonly hits: Hit[] = [];

  constructor(private readonly needles: Needle[]) {}

  start(intervalMs = 50): void {
    this.scanOnce();
    this.timer = setInterval(() => this.scanOnce(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Distinct (pid, command line) pairs sampled so far. */
  get distinctProcesses(): number {
    return this.seen.size;
  }

  scanOnce(): void {
    this.scans++;
    let pids: string[];
    try {
      pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    } catch {
      return;
    }
    for (const pid of pids) {
      let cmdline: Buffer;
      try {
        cmdline = fs.readFileSync(`/proc/${pid}/cmdline`);
      } catch {
        continue;
      }
      if (!cmdline.length) continue;
      const key = `${pid}:${crypto.createHash('sha1').update(cmdline).digest('hex')}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      for (const n of this.needles) {
        if (cmdline.includes(n.bytes)) {
          const argv0 = cmdline.subarray(0, Math.max(0, cmdline.indexOf(0))).toString() || '?';
          this.hits.push({ where: `pid ${pid} (${path.basename(argv0)})`, needle: n.label });
        }
      }
    }
  }
}

/** Every file below `root` (symlinks not followed) that contains a needle. */
export function scanFiles(root: string, needles: Needle[]): { files: number; bytes: number; hits: Hit[] } {
  const hits: Hit[] = [];
  let files = 0;
  let bytes = 0;
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else if (st.isFile()) {
      files++;
      bytes += st.size;
      const content = fs.readFileSync(p);
      for (const n of needles) {
        if (content.includes(n.bytes)) hits.push({ where: path.relative(root, p), needle: n.label });
      }
    }
  };
  if (fs.existsSync(root)) walk(root);
  return { files, bytes, hits };
}
