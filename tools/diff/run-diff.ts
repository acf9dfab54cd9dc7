/**
 * `npm run diff`: what a change to the charts or profiles does to the committed `dist/`, per object.
 * The CLI (main.ts) is a thin wrapper around `runDiff`, which the tests call directly.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { MysqlStackConfig } from '../../charts/config';
import { synthesize } from '../../charts/synth';
import { diffManifests, formatReport, loadManifests } from './diff-manifests';

export interface RunDiffOptions {
  /** The committed output folder (`dist/`). */
  readonly distDir: string;
  /**
   * Compare with this folder instead of a fresh synth (two folders directly).
   * @default - synthesize `profiles` into a temporary folder, removed afterwards
   */
  readonly newDir?: string;
  /** The profiles to synthesize; required unless `newDir` is given. */
  readonly profiles?: Readonly<Record<string, MysqlStackConfig>>;
  /**
   * Only these profiles (as `MYSQL_PROFILES` for `npm run synth`): the other folders are not compared.
   * @default - every profile, and every folder of both sides (a folder that synth no longer writes shows
   * its objects as removed)
   */
  readonly only?: readonly string[];
}

export interface RunDiffResult {
  /** 0: no change; 1: changes found; 2: error (synth failed, unreadable YAML, bad usage). */
  readonly exitCode: 0 | 1 | 2;
  /** The report (exit 0 or 1). */
  readonly stdout: string;
  /** The error message (exit 2). */
  readonly stderr: string;
}

function display(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  return `${rel && !rel.startsWith('..') ? rel : dir}/`;
}

export function runDiff(options: RunDiffOptions): RunDiffResult {
  const only = options.only && options.only.length > 0 ? [...new Set(options.only)] : undefined;
  let tmp: string | undefined;
  try {
    let newDir = options.newDir;
    let newName = newDir ? display(newDir) : 'a fresh synth';
    if (!newDir) {
      if (!options.profiles) throw new Error('runDiff: either profiles or newDir is required');
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mysql-diff-'));
      try {
        synthesize({ profiles: options.profiles, only, distDir: tmp });
      } catch (err) {
        return { exitCode: 2, stdout: '', stderr: `error: synth failed: ${message(err)}\n` };
      }
      newDir = tmp;
      newName = `a fresh synth (${only ? only.join(', ') : 'all profiles'})`;
    } else if (!fs.existsSync(newDir)) {
      throw new Error(`${newDir}: no such folder`);
    }
    const result = diffManifests(loadManifests(options.distDir, only), loadManifests(newDir, only));
    return {
      exitCode: result.changes.length === 0 ? 0 : 1,
      stdout: formatReport(result, display(options.distDir), newName),
      stderr: '',
    };
  } catch (err) {
    return { exitCode: 2, stdout: '', stderr: `error: ${message(err)}\n` };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
