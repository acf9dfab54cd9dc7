/**
 * Image inventories (test/e2e/inventories/*.yaml): the executables a real image provides, each with its source.
 * An emulated container's /usr/bin and /usr/sbin hold exactly these: the image emulation's shim where its layer
 * has one, else a link to the host's Debian binary. The host's own /usr/bin and /usr/sbin stay reachable only
 * under HOST_BIN / HOST_SBIN, for the emulation's shims and the harness's inspection, never on a script's PATH.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';

export const INVENTORIES_DIR = path.join(__dirname, '..', 'inventories');
/**
 * Where a container sees the host's /usr (read-only; its bin and sbin are on no PATH the manifests set): the
 * emulation's shims append HOST_BIN and HOST_SBIN to their own PATH, and MariaDB's tools take it as basedir.
 */
export const HOST_USR = '/usr/libexec/e2e-host';
export const HOST_BIN = `${HOST_USR}/bin`;
export const HOST_SBIN = `${HOST_USR}/sbin`;
/** The directories an inventory may list executables in; the harness replaces the first three wholesale. */
export const VIEW_DIRS = ['/usr/bin', '/usr/sbin', '/usr/local/bin'] as const;
const OTHER_DIRS = ['/usr/local/sbin', '/'];

export interface InventoryEntry {
  /** Absolute path in the image, e.g. /usr/bin/socat. */
  path: string;
  source: string;
  /** The host command that provides it when the layer has no shim (default: the basename). */
  host?: string;
  /** In the real image, but not emulated: the container does not get it. */
  absent: boolean;
}

export interface Inventory {
  /** The file it came from. */
  file: string;
  image: string;
  aliases: string[];
  sources: Record<string, string>;
  entries: InventoryEntry[];
}

/** The inventory without the named executables (basenames), for the negative control. */
export function without(inv: Inventory, names: readonly string[]): Inventory {
  return { ...inv, entries: inv.entries.filter((e) => !names.includes(path.basename(e.path))) };
}

/** Parses and checks one inventory file; throws naming the file and the problem. */
export function parseInventory(file: string): Inventory {
  const doc = yaml.load(fs.readFileSync(file, 'utf8')) as Record<string, unknown> | undefined;
  const fail = (what: string): never => {
    throw new Error(`${path.relative(process.cwd(), file)}: ${what}`);
  };
  if (!doc || typeof doc !== 'object') fail('expected a YAML mapping');
  const d = doc as Record<string, unknown>;
  for (const key of Object.keys(d))
    if (!['image', 'aliases', 'sources', 'executables'].includes(key)) fail(`unknown key "${key}"`);
  if (typeof d.image !== 'string' || !/^[\w./-]+:[\w.-]+$/.test(d.image))
    fail('"image" must be an exact reference name:tag');
  const aliases = (d.aliases ?? []) as unknown[];
  if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string')) fail('"aliases" must be a list');
  const sources = (d.sources ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(sources))
    if (typeof v !== 'string') fail(`sources.${k} must be a string`);
  const exes = d.executables as Record<string, unknown> | undefined;
  if (!exes || typeof exes !== 'object' || Object.keys(exes).length === 0) fail('"executables" is empty');
  const entries: InventoryEntry[] = [];
  for (const [p, v] of Object.entries(exes!)) {
    const dir = path.posix.dirname(p);
    if (![...VIEW_DIRS, ...OTHER_DIRS].includes(dir))
      fail(`${p}: executables live in ${[...VIEW_DIRS, ...OTHER_DIRS].join(', ')}`);
    const e = typeof v === 'string' ? { source: v } : (v as Record<string, unknown>);
    if (!e || typeof e.source !== 'string' || e.source.trim() === '') fail(`${p}: needs a source`);
    for (const key of Object.keys(e))
      if (!['source', 'host', 'harness'].includes(key)) fail(`${p}: unknown key "${key}"`);
    if (e.harness !== undefined && e.harness !== 'absent') fail(`${p}: harness may only be "absent"`);
    entries.push({
      path: p,
      source: e.source as string,
      host: e.host as string | undefined,
      absent: e.harness === 'absent',
    });
  }
  return {
    file,
    image: d.image as string,
    aliases: aliases as string[],
    sources: sources as Record<string, string>,
    entries,
  };
}

/** Every inventory in test/e2e/inventories/, checked: one per image reference. */
export function loadInventories(dir = INVENTORIES_DIR): Inventory[] {
  const all = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => parseInventory(path.join(dir, f)));
  const seen = new Map<string, string>();
  for (const inv of all)
    for (const ref of [inv.image, ...inv.aliases]) {
      if (seen.has(ref))
        throw new Error(`image ${ref} has two inventories: ${seen.get(ref)} and ${inv.file}`);
      seen.set(ref, inv.file);
    }
  return all;
}

/** The inventory of an image reference (a digest suffix is ignored); throws when there is none. */
export function inventoryFor(ref: string, all = loadInventories()): Inventory {
  const name = ref.replace(/@sha256:[a-f0-9]{64}$/, '').replace(/^docker\.io\/(library\/)?/, '');
  const inv = all.find((i) => i.image === name || i.aliases.includes(name));
  if (!inv)
    throw new Error(
      `no image inventory for ${ref}: add test/e2e/inventories/<image>-<version>.yaml listing what the image contains, with sources`,
    );
  return inv;
}

/** The executables of an inventory the harness exposes, by basename. */
export function exposedNames(inv: Inventory): Set<string> {
  return new Set(inv.entries.filter((e) => !e.absent).map((e) => path.posix.basename(e.path)));
}

/** Where the host provides `name`: its real path, searched in /usr/bin, /usr/sbin (as Debian installs them). */
function hostBinary(name: string): string | undefined {
  for (const dir of ['/usr/bin', '/usr/sbin']) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return fs.realpathSync(p);
  }
  return undefined;
}

/** A host path as the container sees it (the host's /usr/bin and /usr/sbin are only under HOST_BIN/HOST_SBIN). */
function inContainer(hostPath: string): string {
  if (hostPath.startsWith('/usr/bin/')) return path.posix.join(HOST_BIN, hostPath.slice('/usr/bin/'.length));
  if (hostPath.startsWith('/usr/sbin/'))
    return path.posix.join(HOST_SBIN, hostPath.slice('/usr/sbin/'.length));
  return hostPath;
}

/**
 * Builds the executable view of an image into `target`: `target/usr/bin` and `target/usr/sbin` with a link to the
 * host binary for every inventory entry there that the layer has no shim for. The container's /usr/bin is an
 * overlay of this view over the layer's own usr/bin (its shims), and nothing else. Throws for a shim the
 * inventory does not list, and for an entry neither the layer nor the host provides.
 */
export function buildView(inv: Inventory, layer: string, target: string): void {
  const listed = new Set(inv.entries.map((e) => e.path));
  for (const dir of [...VIEW_DIRS, '/usr/local/sbin']) {
    const layerDir = path.join(layer, dir);
    if (!fs.existsSync(layerDir)) continue;
    for (const f of fs.readdirSync(layerDir)) {
      const p = path.posix.join(dir, f);
      if (!listed.has(p) || inv.entries.find((e) => e.path === p)?.absent)
        throw new Error(
          `${inv.file}: the image emulation has ${p}, which the inventory does not list (as present)`,
        );
    }
  }
  for (const dir of VIEW_DIRS) fs.mkdirSync(path.join(target, dir), { recursive: true });
  for (const e of inv.entries) {
    if (e.absent || fs.existsSync(path.join(layer, e.path))) continue;
    const dir = path.posix.dirname(e.path);
    if (!(VIEW_DIRS as readonly string[]).includes(dir))
      throw new Error(
        `${inv.file}: ${e.path} has no shim in the image emulation and the harness only links /usr/bin, /usr/sbin`,
      );
    const name = e.host ?? path.posix.basename(e.path);
    const real = hostBinary(name);
    if (!real)
      throw new Error(`${inv.file}: ${e.path} needs the host command ${name}, which is not installed`);
    fs.symlinkSync(inContainer(real), path.join(target, e.path));
  }
}
