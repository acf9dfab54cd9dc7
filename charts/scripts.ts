import { readFileSync } from 'fs';
import { join } from 'path';
import { MysqlFlavor } from './config';

/** The shell scripts the pods run; each is a real file under `charts/scripts/`, read at synth time. */
export type ScriptName = 'init-mysql' | 'clone-mysql' | 'xtrabackup-sidecar';

const SCRIPT_DIR = join(__dirname, 'scripts');
/** Scripts that do not depend on the MySQL flavor live in `common/`. */
const COMMON: readonly ScriptName[] = ['init-mysql', 'clone-mysql'];

/** Path of a script file for a flavor. */
export function scriptPath(name: ScriptName, flavor: MysqlFlavor): string {
  return join(SCRIPT_DIR, COMMON.includes(name) ? 'common' : flavor, `${name}.sh`);
}

/** The script's text, as the container runs it with `bash -c`. */
export function readScript(name: ScriptName, flavor: MysqlFlavor): string {
  return readFileSync(scriptPath(name, flavor), 'utf8');
}
