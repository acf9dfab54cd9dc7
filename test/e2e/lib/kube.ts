/**
 * Small pieces of kubelet semantics: $(VAR) expansion, env resolution, command/args resolution, users and groups,
 * and fsGroup volume ownership.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ImageConfig } from '../adapters/types';
import type { ContainerSpec, Manifests, PodSpec } from './manifest';

/** The pod fields the downward API can expose. */
export interface PodIdentity {
  name: string;
  namespace: string;
  uid: string;
  ip: string;
}

/**
 * Kubernetes' $(VAR) expansion (command, args and env values): `$$` is a literal `$`, `$(NAME)` is replaced when
 * NAME is defined and kept as written otherwise, anything else stays.
 */
export function expand(input: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== '$' || i + 1 >= input.length) {
      out += input[i];
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i += 1;
      } else {
        const name = input.slice(i + 2, close);
        out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : `$(${name})`;
        i = close;
      }
    } else {
      out += '$' + next;
      i += 1;
    }
  }
  return out;
}

/** The container's environment: image ENV, then envFrom, then env (later wins), plus HOSTNAME as set by the runtime. */
export function resolveEnv(
  c: ContainerSpec,
  image: ImageConfig,
  pod: PodIdentity,
  hostname: string,
  manifests: Manifests,
): Record<string, string> {
  const env: Record<string, string> = { ...image.env, HOSTNAME: hostname };
  const source = (kind: 'secret' | 'configMap', name: string, optional?: boolean) => {
    const data =
      kind === 'secret' ? manifests.secret(pod.namespace, name) : manifests.configMap(pod.namespace, name);
    if (!data && !optional)
      throw new Error(`${c.name}: ${kind} ${pod.namespace}/${name} not found in the manifests`);
    return data ?? {};
  };
  for (const from of c.envFrom ?? []) {
    const data = from.secretRef
      ? source('secret', from.secretRef.name, from.secretRef.optional)
      : from.configMapRef
        ? source('configMap', from.configMapRef.name, from.configMapRef.optional)
        : {};
    for (const [k, v] of Object.entries(data)) env[(from.prefix ?? '') + k] = v;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = expand(e.value, env);
    } else if (e.valueFrom?.fieldRef) {
      const field = e.valueFrom.fieldRef.fieldPath;
      const values: Record<string, string> = {
        'metadata.name': pod.name,
        'metadata.namespace': pod.namespace,
        'metadata.uid': pod.uid,
        'status.podIP': pod.ip,
      };
      if (!(field in values)) throw new Error(`${c.name}: fieldRef ${field} is not emulated`);
      env[e.name] = values[field];
    } else if (e.valueFrom?.secretKeyRef || e.valueFrom?.configMapKeyRef) {
      const ref = (e.valueFrom.secretKeyRef ?? e.valueFrom.configMapKeyRef)!;
      const data = source(e.valueFrom.secretKeyRef ? 'secret' : 'configMap', ref.name, ref.optional);
      if (ref.key in data) env[e.name] = data[ref.key];
      else if (!ref.optional) throw new Error(`${c.name}: key ${ref.key} missing in ${ref.name}`);
    } else {
      env[e.name] = '';
    }
  }
  return env;
}

/** argv as the runtime builds it: `command` replaces ENTRYPOINT, `args` replaces CMD; $(VAR) expanded. */
export function resolveArgv(c: ContainerSpec, image: ImageConfig, env: Record<string, string>): string[] {
  const argv = c.command
    ? [...c.command, ...(c.args ?? [])]
    : [...image.entrypoint, ...(c.args ?? image.cmd)];
  if (!argv.length) throw new Error(`${c.name}: no command, and the image has neither ENTRYPOINT nor CMD`);
  return argv.map((a) => expand(a, env));
}

/** uid, gid and supplementary groups from the pod and container securityContext, falling back to the image USER. */
export function resolveUser(pod: PodSpec, c: ContainerSpec, image: ImageConfig) {
  const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser ?? image.user.uid;
  const gid = c.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup ?? image.user.gid;
  const groups = [...(pod.securityContext?.supplementalGroups ?? [])];
  if (pod.securityContext?.fsGroup !== undefined) groups.push(pod.securityContext.fsGroup);
  if (c.securityContext?.runAsNonRoot && uid === 0) throw new Error(`${c.name}: runAsNonRoot but uid 0`);
  return { uid, gid, groups: [...new Set(groups)] };
}

/**
 * The kubelet's fsGroup ownership (fsGroupChangePolicy OnRootMismatch): unless the volume root already has the
 * group and permission bits, every file gets group `gid` and g+rw (g+r when read-only), every directory also g+x
 * and the setgid bit.
 */
export function applyFsGroup(root: string, gid: number, readOnly: boolean): void {
  const fileMask = readOnly ? 0o440 : 0o660;
  const dirMask = (readOnly ? 0o550 : 0o770) | 0o2000;
  const st = fs.statSync(root);
  if (st.gid === gid && (st.mode & dirMask) === dirMask) return;
  const walk = (p: string) => {
    const s = fs.lstatSync(p);
    if (s.isSymbolicLink()) return;
    fs.chownSync(p, s.uid, gid);
    fs.chmodSync(p, (s.mode & 0o7777) | (s.isDirectory() ? dirMask : fileMask));
    if (s.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(root);
}

/**
 * Writes a ConfigMap/Secret volume the way the kubelet's atomic writer does: a timestamped directory holding the
 * files, a `..data` symlink to it, and one symlink per key.
 */
export function writeProjectedVolume(
  dir: string,
  files: { path: string; content: string; mode: number }[],
): void {
  const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}`;
  fs.mkdirSync(path.join(dir, stamp), { recursive: true, mode: 0o755 });
  for (const f of files) {
    const target = path.join(dir, stamp, f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, f.content, { mode: f.mode });
    fs.chmodSync(target, f.mode);
  }
  fs.symlinkSync(stamp, path.join(dir, '..data'));
  for (const top of new Set(files.map((f) => f.path.split('/')[0]))) {
    fs.symlinkSync(path.join('..data', top), path.join(dir, top));
  }
}

/**
 * Updates a ConfigMap/Secret volume in place as the kubelet's atomic writer does when the object changes: the new
 * files in a new timestamped directory, `..data` switched to it by one rename, a symlink added for each new key and
 * removed for each key that is gone, the old directory removed. A container sees either the old or the new set.
 * New files get the owner and group of the old ones (the fsGroup the kubelet applied).
 */
export function updateProjectedVolume(
  dir: string,
  files: { path: string; content: string; mode: number }[],
): void {
  const oldStamp = fs.readlinkSync(path.join(dir, '..data'));
  const owner = fs
    .readdirSync(path.join(dir, oldStamp))
    .map((f) => fs.statSync(path.join(dir, oldStamp, f)))[0];
  const oldTops = fs.readdirSync(path.join(dir, oldStamp));
  let stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}`;
  while (fs.existsSync(path.join(dir, stamp))) stamp += '_';
  fs.mkdirSync(path.join(dir, stamp), { mode: 0o755 });
  for (const f of files) {
    const target = path.join(dir, stamp, f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, f.content, { mode: f.mode });
    fs.chmodSync(target, f.mode);
    if (owner) fs.chownSync(target, owner.uid, owner.gid);
  }
  if (owner) fs.chownSync(path.join(dir, stamp), owner.uid, owner.gid);
  fs.symlinkSync(stamp, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  const tops = new Set(files.map((f) => f.path.split('/')[0]));
  for (const top of tops)
    if (!fs.existsSync(path.join(dir, top))) fs.symlinkSync(path.join('..data', top), path.join(dir, top));
  for (const top of oldTops) if (!tops.has(top)) fs.rmSync(path.join(dir, top), { force: true });
  fs.rmSync(path.join(dir, oldStamp), { recursive: true, force: true });
}
