import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join, relative } from 'path';
import { MysqlFlavor } from './config';

/** The shell scripts the pods run; each is a real file under `charts/scripts/`, read at synth time. */
export type ScriptName =
  | 'init-mysql'
  | 'clone-mysql'
  | 'xtrabackup-sidecar'
  | 'replica-ready'
  | 'xtrabackup-liveness'
  | 'tls-reload'
  | 'tls-reload-probe';

const SCRIPT_DIR = join(__dirname, 'scripts');
const ROOT = join(__dirname, '..');
/** Scripts that do not depend on the MySQL flavor live in `common/`. */
const COMMON: readonly ScriptName[] = ['init-mysql', 'clone-mysql', 'replica-ready', 'xtrabackup-liveness'];
/** `bash -n` results, by content hash: a script that parsed once parses again. */
const PARSED_DIR = join(ROOT, 'node_modules', '.cache', 'bash-n');
/** Scripts of a concern of their own live in its folder. */
const CONCERN: Partial<Record<ScriptName, string>> = { 'tls-reload': 'tls', 'tls-reload-probe': 'tls' };

/** Path of a script file for a flavor. */
export function scriptPath(name: ScriptName, flavor: MysqlFlavor): string {
  const folder = CONCERN[name] ?? (COMMON.includes(name) ? 'common' : flavor);
  return join(SCRIPT_DIR, folder, `${name}.sh`);
}

/** Thrown when a script would not run in its container. */
export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** Hashes of the texts that passed `bash -n` in this process. */
const parsed = new Set<string>();

/**
 * Refuses a script that cannot run as `bash -c "$script"`: empty, with CRLF line endings (bash reads
 * `then\r` as a command name), or failing `bash -n`. Returns the text.
 */
export function checkScript(file: string, text: string): string {
  const shown = relative(process.cwd(), file) || file;
  if (text.trim() === '')
    throw new ScriptError(`${shown} is empty; a pod would run nothing. Restore the script.`);
  const cr = text.indexOf('\r');
  if (cr >= 0) {
    const line = text.slice(0, cr).split('\n').length;
    throw new ScriptError(
      `${shown} has CRLF line endings (first at line ${line}); bash would read "then\\r" as a command. ` +
        'Convert it to LF (e.g. `sed -i "s/\\r$//" <file>`); .gitattributes keeps *.sh at eol=lf on checkout.',
    );
  }
  const hash = createHash('sha256').update(text).digest('hex');
  const marker = join(PARSED_DIR, hash);
  if (parsed.has(hash) || existsSync(marker)) return text;
  const r = spawnSync('bash', ['-n'], { input: text, encoding: 'utf8' });
  if (r.error) throw new ScriptError(`cannot run bash -n on ${shown}: ${r.error.message}`);
  if (r.status !== 0) {
    const why = r.stderr
      .trim()
      .replace(/^bash: /gm, '')
      .replace(/line (\d+)/g, `${shown} line $1`);
    throw new ScriptError(`${shown} fails \`bash -n\`: ${why}`);
  }
  parsed.add(hash);
  try {
    mkdirSync(PARSED_DIR, { recursive: true });
    writeFileSync(marker, '');
  } catch {
    // A read-only cache only costs the next run another `bash -n`.
  }
  return text;
}

/** The script's text, as the container runs it with `bash -c`; refused if it could not run. */
export function readScript(name: ScriptName, flavor: MysqlFlavor): string {
  const file = scriptPath(name, flavor);
  return checkScript(file, readFileSync(file, 'utf8'));
}

/** The monitoring concern's scripts, in `charts/scripts/monitoring/`. */
export type MonitoringScriptName = 'exporter-config' | 'exporter-user';

/** Path of a monitoring script. */
export function monitoringScriptPath(name: MonitoringScriptName): string {
  return join(SCRIPT_DIR, 'monitoring', `${name}.sh`);
}

/** A monitoring script's text. */
export function readMonitoringScript(name: MonitoringScriptName): string {
  return readFileSync(monitoringScriptPath(name), 'utf8');
}
