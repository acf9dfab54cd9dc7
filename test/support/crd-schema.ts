/**
 * Validates a plain object (a parsed manifest) against the `openAPIV3Schema` of a CustomResourceDefinition
 * version, the way the API server treats it as far as a JSON Schema validator can:
 *
 * - unknown fields are errors: CRD schemas are structural and the API server *prunes* fields that are not
 *   in `properties` (silently, so a typo such as `syncPolicy.automated.prun` would be lost without a
 *   trace), unless `x-kubernetes-preserve-unknown-fields: true` or `additionalProperties` allows them;
 * - type, enum, required, pattern, min/max and `nullable` errors, each with the field's path;
 * - `metadata` at the root is checked as ObjectMeta's common fields (the API server validates it itself,
 *   whatever the CRD says);
 * - not checked: `format` (int64, date-time, … are advisory here) and `x-kubernetes-validations` (CEL
 *   rules, evaluated only by a real API server).
 *
 * Uses `ajv` (v8), present in node_modules through cdk8s-cli.
 *
 *   const errors = validateCustomResource(object, loadCrd('imports/crds/application-crd.yaml'));
 *   expect(errors).toEqual([]);
 */
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import * as fs from 'fs';
import * as yaml from 'js-yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = Record<string, any>;

export interface CrdVersion {
  readonly name: string;
  readonly served?: boolean;
  readonly storage?: boolean;
  readonly schema?: { readonly openAPIV3Schema?: Schema };
}

export interface Crd {
  readonly apiVersion: string;
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly group: string;
    readonly names: { readonly kind: string };
    readonly versions: readonly CrdVersion[];
  };
}

export interface SchemaError {
  /** The field, e.g. `spec.source.repoURL` or `spec.ignoreDifferences[0].kind`; `(root)` for the object. */
  readonly path: string;
  readonly message: string;
}

/** Reads a CRD from a YAML file (the first CustomResourceDefinition document in it). */
export function loadCrd(file: string): Crd {
  const docs = yaml.loadAll(fs.readFileSync(file, 'utf8')) as Schema[];
  const crd = docs.find((d) => d?.kind === 'CustomResourceDefinition');
  if (!crd) throw new Error(`${file}: no CustomResourceDefinition in it`);
  return crd as Crd;
}

/**
 * CRD patterns are Go (RE2) regular expressions; the one Go-only construct in the vendored CRDs is a
 * `(?i)` at the start, after an optional `^` (case-insensitive, e.g. the Prometheus Operator's `^(?i)(abort|warn)?$`), which
 * JavaScript spells as the `i` flag.
 */
function goRegExp(pattern: string, flags: string): RegExp {
  const m = /^(\^?)\(\?i\)/.exec(pattern);
  return m ? new RegExp(m[1] + pattern.slice(m[0].length), `${flags}i`) : new RegExp(pattern, flags);
}
goRegExp.code = 'goRegExp';

/** The version to validate against: the given one, or the storage version. */
function pickVersion(crd: Crd, version?: string): CrdVersion {
  const versions = crd.spec.versions;
  const v = version ? versions.find((x) => x.name === version) : versions.find((x) => x.storage);
  if (!v) {
    throw new Error(
      `${crd.metadata.name}: no version ${version ?? '(storage)'}; versions: ${versions.map((x) => x.name).join(', ')}`,
    );
  }
  if (!v.schema?.openAPIV3Schema) throw new Error(`${crd.metadata.name} ${v.name}: no openAPIV3Schema`);
  return v;
}

/** The common ObjectMeta fields a manifest sets; the API server manages or rejects the rest. */
const OBJECT_META: Schema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    generateName: { type: 'string' },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' } },
    ownerReferences: { type: 'array', items: { type: 'object' } },
  },
  additionalProperties: false,
};

const COMBINATORS = ['allOf', 'anyOf', 'oneOf', 'not'];

/**
 * A copy of a structural schema in which every object node that does not preserve unknown fields rejects
 * them (`additionalProperties: false`). Only the structural skeleton (properties, items,
 * additionalProperties) is closed: in a structural schema, allOf/anyOf/oneOf/not may not declare fields of
 * their own, so closing them would reject valid objects.
 */
function closeSchema(node: Schema, inCombinator = false): Schema {
  if (node === null || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, closeSchema(s)]));
    } else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) {
      out[k] = closeSchema(v as Schema);
    } else if (COMBINATORS.includes(k)) {
      out[k] = Array.isArray(v) ? v.map((s) => closeSchema(s, true)) : closeSchema(v, true);
    } else {
      out[k] = v;
    }
  }
  const isObjectNode = node.type === 'object' || node.properties !== undefined;
  if (!inCombinator && isObjectNode && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    if (node['x-kubernetes-embedded-resource'] === true) {
      // An embedded object always has apiVersion, kind and metadata (the API server adds them to the schema).
      out.properties = {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: OBJECT_META,
        ...out.properties,
      };
    }
    if (out.additionalProperties === undefined) out.additionalProperties = false;
  }
  return out;
}

const KUBERNETES_KEYWORDS = [
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
];

const compiled = new WeakMap<Crd, Map<string, ValidateFunction>>();

function validatorFor(crd: Crd, version?: string): { fn: ValidateFunction; version: CrdVersion } {
  const v = pickVersion(crd, version);
  let byVersion = compiled.get(crd);
  if (!byVersion) compiled.set(crd, (byVersion = new Map()));
  let fn = byVersion.get(v.name);
  if (!fn) {
    const ajv = new Ajv({
      allErrors: true,
      strict: false,
      validateFormats: false,
      code: { regExp: goRegExp },
    });
    for (const keyword of KUBERNETES_KEYWORDS) ajv.addKeyword({ keyword });
    const schema = closeSchema(v.schema!.openAPIV3Schema!);
    schema.properties = { ...schema.properties, metadata: OBJECT_META };
    fn = ajv.compile(schema);
    byVersion.set(v.name, fn);
  }
  return { fn, version: v };
}

/** `/spec/ignoreDifferences/0/kind` → `spec.ignoreDifferences[0].kind`. */
function toPath(pointer: string, child?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  let s = '';
  for (const p of parts) {
    if (/^\d+$/.test(p)) s += `[${p}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)) s += s ? `.${p}` : p;
    else s += `[${JSON.stringify(p)}]`;
  }
  return s || '(root)';
}

function describeError(e: ErrorObject): SchemaError {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return {
        path: toPath(e.instancePath, String(p.additionalProperty)),
        message: 'unknown field: not in the CRD schema (the API server would drop it)',
      };
    case 'required':
      return {
        path: toPath(e.instancePath, String(p.missingProperty)),
        message: 'required field is missing',
      };
    case 'enum':
      return {
        path: toPath(e.instancePath),
        message: `must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`,
      };
    case 'type':
      return { path: toPath(e.instancePath), message: `must be ${String(p.type)}` };
    default:
      return { path: toPath(e.instancePath), message: e.message ?? e.keyword };
  }
}

/**
 * Errors of `object` against the CRD's schema for `version` (default: the storage version), sorted by path;
 * empty when valid. Also checks that apiVersion and kind name this CRD and version.
 */
export function validateCustomResource(object: unknown, crd: Crd, version?: string): SchemaError[] {
  const { fn, version: v } = validatorFor(crd, version);
  const errors: SchemaError[] = [];
  const o = (object ?? {}) as Schema;
  const apiVersion = `${crd.spec.group}/${v.name}`;
  if (o.apiVersion !== apiVersion) {
    errors.push({ path: 'apiVersion', message: `must be ${JSON.stringify(apiVersion)}` });
  }
  if (o.kind !== crd.spec.names.kind) {
    errors.push({ path: 'kind', message: `must be ${JSON.stringify(crd.spec.names.kind)}` });
  }
  if (!fn(object)) errors.push(...(fn.errors ?? []).map(describeError));
  const seen = new Set<string>();
  return errors
    .filter((e) => {
      const key = `${e.path}\u0000${e.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.message < b.message ? -1 : 1));
}

/** One line per error, for a test failure message. */
export function formatSchemaErrors(errors: readonly SchemaError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('\n');
}
