/**
 * Compares two output folders (`<dir>/<profile>/*.yaml`) object by object, the way a cluster sees them:
 * an object is identified by its profile folder, API group, kind, namespace and name, never by the file
 * it is in, so moving an object between files is no change, and a rename is an add plus a remove.
 *
 * The API *group* (not the full apiVersion) is part of the identity, as it is for the API server and
 * Argo CD: `policy/v1beta1` → `policy/v1` of the same object is reported as a changed `apiVersion`, not
 * as a deletion and a creation.
 */
import * as fs from 'fs';
import * as yaml from 'js-yaml';
import * as path from 'path';
import { unifiedLineDiff } from './line-diff';
import { findingsFor } from './rules';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** One step of a field path: an object key, a list item identified by a key field, or a list index. */
export type Segment = string | { readonly item: string } | { readonly index: number };

export interface Manifest {
  /** The profile folder, e.g. `workshop`. */
  readonly profile: string;
  /** The file, relative to the profile folder. */
  readonly file: string;
  readonly object: JsonObject;
}

export interface FieldChange {
  readonly path: readonly Segment[];
  /** `undefined`: the field is absent on that side. */
  readonly old: Json | undefined;
  readonly new: Json | undefined;
}

export type Level = 'WARNING' | 'NOTE';

export interface Finding {
  readonly level: Level;
  readonly message: string;
}

export interface ObjectChange {
  readonly change: 'added' | 'removed' | 'changed';
  readonly profile: string;
  /** e.g. `apps/v1 StatefulSet mysql/mysql` (the new apiVersion when both exist). */
  readonly label: string;
  readonly old?: Manifest;
  readonly new?: Manifest;
  readonly fields: readonly FieldChange[];
  readonly findings: readonly Finding[];
}

export interface DiffResult {
  readonly changes: readonly ObjectChange[];
  /** Objects compared on the new side, for the summary. */
  readonly objectCount: number;
  readonly profiles: readonly string[];
}

const YAML_FILE = /\.ya?ml$/;

/**
 * Reads every YAML document of every `*.yaml` file under `<dir>/<profile>/` (recursively) for the given
 * profiles (default: every sub-folder). A missing folder has no objects.
 */
export function loadManifests(dir: string, profiles?: readonly string[]): Manifest[] {
  if (!fs.existsSync(dir)) return [];
  const names =
    profiles ??
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name);
  const out: Manifest[] = [];
  for (const profile of [...names].sort()) {
    const root = path.join(dir, profile);
    if (!fs.existsSync(root)) continue;
    for (const file of listYamlFiles(root)) {
      const text = fs.readFileSync(path.join(root, file), 'utf8');
      let docs: unknown[];
      try {
        docs = yaml.loadAll(text);
      } catch (err) {
        throw new Error(`${path.join(root, file)}: not valid YAML: ${(err as Error).message}`);
      }
      for (const doc of docs) {
        if (doc === null || doc === undefined) continue;
        if (typeof doc !== 'object' || Array.isArray(doc)) {
          throw new Error(`${path.join(root, file)}: a YAML document is not an object`);
        }
        out.push({ profile, file, object: doc as JsonObject });
      }
    }
  }
  return out;
}

function listYamlFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listYamlFiles(root, child));
    else if (YAML_FILE.test(e.name)) out.push(child);
  }
  return out.sort();
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function metadataOf(o: JsonObject): JsonObject {
  const m = o.metadata;
  return m !== null && typeof m === 'object' && !Array.isArray(m) ? m : {};
}

/** `apps/v1` → `apps`; `v1` → `` (the core group). */
export function apiGroup(apiVersion: string | undefined): string {
  if (!apiVersion) return '';
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Identity of an object inside its profile; objects without a name (e.g. a Kustomization) use their file. */
function identity(m: Manifest): string {
  const o = m.object;
  const meta = metadataOf(o);
  const name = str(meta.name);
  return JSON.stringify([
    m.profile,
    apiGroup(str(o.apiVersion)),
    str(o.kind) ?? '',
    str(meta.namespace) ?? '',
    name ?? `(file ${m.file})`,
  ]);
}

export function describe(m: Manifest): string {
  const o = m.object;
  const meta = metadataOf(o);
  const ns = str(meta.namespace);
  const name = str(meta.name) ?? `(unnamed, ${m.file})`;
  return `${str(o.apiVersion) ?? '?'} ${str(o.kind) ?? '?'} ${ns ? `${ns}/` : ''}${name}`;
}

/** Compares two sets of manifests. Throws when one side holds the same object twice. */
export function diffManifests(oldSide: readonly Manifest[], newSide: readonly Manifest[]): DiffResult {
  const index = (side: readonly Manifest[], which: string) => {
    const map = new Map<string, Manifest>();
    for (const m of side) {
      const id = identity(m);
      const dup = map.get(id);
      if (dup) {
        throw new Error(`${which}: ${describe(m)} is defined twice (${dup.file} and ${m.file})`);
      }
      map.set(id, m);
    }
    return map;
  };
  const oldById = index(oldSide, 'old');
  const newById = index(newSide, 'new');
  const ids = [...new Set([...oldById.keys(), ...newById.keys()])].sort();
  const changes: ObjectChange[] = [];
  for (const id of ids) {
    const o = oldById.get(id);
    const n = newById.get(id);
    const base = { profile: (n ?? o)!.profile, label: describe((n ?? o)!), old: o, new: n };
    let change: ObjectChange;
    if (!o) change = { ...base, change: 'added', fields: [], findings: [] };
    else if (!n) change = { ...base, change: 'removed', fields: [], findings: [] };
    else {
      const fields: FieldChange[] = [];
      diffValues(o.object, n.object, [], fields);
      if (fields.length === 0) continue;
      change = { ...base, change: 'changed', fields, findings: [] };
    }
    changes.push({ ...change, findings: findingsFor(change) });
  }
  const profiles = [...new Set([...oldSide, ...newSide].map((m) => m.profile))].sort();
  return { changes, objectCount: newSide.length, profiles };
}

// ---------------------------------------------------------------------------------------------------
// Structural diff

function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isScalar(v: Json | undefined): boolean {
  return v === null || typeof v !== 'object';
}

function equal(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return false;
}

/**
 * Fields that identify list items, tried in order; the first one present, scalar and unique in every item
 * of both lists wins. `name` covers containers, initContainers, env, ports, volumes, volumeMounts and
 * volumeClaimTemplates (through metadata.name, see itemKey); `mountPath` is the fallback for mounts of one
 * volume at several paths.
 */
const LIST_KEYS = ['name', 'mountPath', 'containerPort', 'key'] as const;

function itemKey(item: Json, field: string): string | undefined {
  if (!isObject(item)) return undefined;
  let v = item[field];
  // volumeClaimTemplates and other embedded objects are named by metadata.name.
  if (v === undefined && field === 'name' && isObject(item.metadata)) v = item.metadata.name;
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function listKeyField(a: Json[], b: Json[]): string | undefined {
  for (const field of LIST_KEYS) {
    const ok = [a, b].every((list) => {
      const keys = list.map((x) => itemKey(x, field));
      return keys.every((k) => k !== undefined) && new Set(keys).size === keys.length;
    });
    if (ok && (a.length > 0 || b.length > 0)) return field;
  }
  return undefined;
}

function hasMultiline(list: Json[]): boolean {
  return list.some((x) => typeof x === 'string' && x.includes('\n'));
}

function diffValues(a: Json | undefined, b: Json | undefined, at: Segment[], out: FieldChange[]): void {
  if (equal(a, b)) return;
  if (isObject(a) && isObject(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      diffValues(a[k], b[k], [...at, k], out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    // Short lists of scalars (args, access modes, architectures): one line, old list → new list.
    if (a.every(isScalar) && b.every(isScalar) && !hasMultiline(a) && !hasMultiline(b)) {
      out.push({ path: at, old: a, new: b });
      return;
    }
    const field = listKeyField(a, b);
    if (field) {
      const label = (k: string) => (field === 'name' ? k : `${field}=${k}`);
      const oldByKey = new Map(a.map((x) => [itemKey(x, field)!, x]));
      const newByKey = new Map(b.map((x) => [itemKey(x, field)!, x]));
      for (const [k, v] of newByKey) diffValues(oldByKey.get(k), v, [...at, { item: label(k) }], out);
      for (const [k, v] of oldByKey)
        if (!newByKey.has(k)) out.push({ path: [...at, { item: label(k) }], old: v, new: undefined });
      const oldOrder = a.map((x) => itemKey(x, field)!).filter((k) => newByKey.has(k));
      const newOrder = b.map((x) => itemKey(x, field)!).filter((k) => oldByKey.has(k));
      if (oldOrder.join('\u0000') !== newOrder.join('\u0000')) {
        out.push({ path: [...at, '(order)'], old: oldOrder, new: newOrder });
      }
      return;
    }
    for (let i = 0; i < Math.max(a.length, b.length); i++) diffValues(a[i], b[i], [...at, { index: i }], out);
    return;
  }
  out.push({ path: at, old: a, new: b });
}

// ---------------------------------------------------------------------------------------------------
// Formatting

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(p: readonly Segment[]): string {
  let s = '';
  for (const seg of p) {
    if (typeof seg === 'string') {
      if (seg === '(order)') s += ' (order)';
      else if (PLAIN_KEY.test(seg)) s += s ? `.${seg}` : seg;
      else s += `[${JSON.stringify(seg)}]`;
    } else if ('item' in seg) s += `[${seg.item}]`;
    else s += `[${seg.index}]`;
  }
  return s || '(object)';
}

const INLINE_LIMIT = 100;

function inline(v: Json | undefined): string | undefined {
  if (v === undefined) return '(absent)';
  if (typeof v === 'string') return v.includes('\n') ? undefined : JSON.stringify(v);
  if (isScalar(v)) return String(v);
  if (Array.isArray(v) && v.every(isScalar) && !hasMultiline(v)) {
    const s = `[${v.map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x))).join(', ')}]`;
    return s.length <= INLINE_LIMIT ? s : undefined;
  }
  const s = JSON.stringify(v);
  return s.length <= INLINE_LIMIT ? s : undefined;
}

function block(v: Json, marker: string, indent: string): string[] {
  if (typeof v === 'string')
    return v
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => `${indent}${marker}${l}`);
  const text = yaml.dump(v, { sortKeys: true, lineWidth: -1, noRefs: true }).replace(/\n$/, '');
  return text.split('\n').map((l) => `${indent}${marker}${l}`);
}

/** The lines for one changed field, with `indent` before each. */
export function formatField(f: FieldChange, indent: string): string[] {
  const p = formatPath(f.path);
  const a = inline(f.old);
  const b = inline(f.new);
  if (a !== undefined && b !== undefined) return [`${indent}${p}: ${a} → ${b}`];
  if (typeof f.old === 'string' && typeof f.new === 'string') {
    return [
      `${indent}${p}: (multi-line text changed)`,
      ...unifiedLineDiff(f.old, f.new).map((l) => `${indent}    ${l}`),
    ];
  }
  const lines = [`${indent}${p}: ${a ?? '(see below)'} → ${b ?? '(see below)'}`];
  if (a === undefined) lines.push(...block(f.old!, '- ', `${indent}    `));
  if (b === undefined) lines.push(...block(f.new!, '+ ', `${indent}    `));
  return lines;
}

function countFindings(changes: readonly ObjectChange[], level: Level): number {
  return changes.reduce((n, c) => n + c.findings.filter((f) => f.level === level).length, 0);
}

const SIGN = { added: '+', removed: '-', changed: '~' } as const;

/**
 * The report, for a terminal or a pull request log: a summary line, then per profile and per object
 * (sorted), its WARNING and NOTE lines first, then its changed fields. `oldName`/`newName` describe the
 * two sides (e.g. `dist/` and `a fresh synth`).
 */
export function formatReport(result: DiffResult, oldName: string, newName: string): string {
  const { changes } = result;
  if (changes.length === 0) {
    return `No changes: ${oldName} matches ${newName} (${result.objectCount} objects in ${result.profiles.length} profile folder(s)).\n`;
  }
  const count = (k: ObjectChange['change']) => changes.filter((c) => c.change === k).length;
  const warnings = countFindings(changes, 'WARNING');
  const notes = countFindings(changes, 'NOTE');
  const out: string[] = [
    `${oldName} differs from ${newName}: ${count('changed')} changed, ${count('added')} added, ` +
      `${count('removed')} removed; ${warnings} warning(s), ${notes} note(s).`,
  ];
  if (warnings > 0) {
    out.push('WARNING lines are changes the cluster refuses or that lose data: read them before merging.');
  }
  for (const profile of [...new Set(changes.map((c) => c.profile))]) {
    out.push('', `== ${profile} ==`);
    for (const c of changes.filter((x) => x.profile === profile)) {
      const file = c.change === 'removed' ? c.old!.file : c.new!.file;
      out.push(`${SIGN[c.change]} ${c.label}  (${c.change}, ${file})`);
      for (const f of c.findings) out.push(`    ${f.level}: ${f.message}`);
      for (const f of c.fields) out.push(...formatField(f, '    '));
    }
  }
  return `${out.join('\n')}\n`;
}
