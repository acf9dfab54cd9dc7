/**
 * Fairwinds Polaris' audit, evaluated in TypeScript from Polaris' own check definitions (vendored,
 * unchanged, in third_party/polaris/; see its SOURCE.md for the commit). It follows Polaris v10.2.2's Go
 * code step for step; the file and function each part mirrors is named beside it:
 *
 * - resources from a folder (pkg/kube/resources.go CreateResourceProviderFromPath, addResourcesFromYaml):
 *   every *.yaml / *.yml file, split on lines of dashes; an object is a "controller" when a pod spec is
 *   found under jobTemplate/spec/template (resource.go GetPodSpec, GetPodTemplate);
 * - which checks run on what (validator/schema.go applyControllerSchemaChecks, config/schema.go
 *   IsActionable): Controller checks on the object, kind checks (target = kind) on every object,
 *   PodSpec and PodTemplate checks on the pod, Container checks on each init container and container;
 * - exemptions (validator/schema.go hasExemptionAnnotation, config/exemptions.go IsActionable): the
 *   object's annotations `polaris.fairwinds.com/exempt` or `polaris.fairwinds.com/<check>-exempt` equal to
 *   "true" (case-insensitive), then the configuration's exemptions (namespace, controller-name and
 *   container-name prefixes, rules);
 * - schemas (config/schema.go TemplateForResource): each schema is Go-template text (./go-template.ts)
 *   over the object, with `.Polaris.PodSpec`, `.Polaris.PodTemplate` and `.Polaris.Container` added for
 *   pod and container checks; a schema that templates to blank text is dropped; additional schemas
 *   (e.g. a NetworkPolicy that must exist) must match at least one object of that group/kind in the
 *   object's namespace or cluster-wide;
 * - pods and containers are validated as Go's typed corev1 structs serialize them: a container always
 *   has `resources` (possibly `{}`), quantities are strings, init containers are dropped from the pod
 *   copy that `schemaTarget: PodSpec` container checks see (validator/schema.go applySchemaCheck);
 * - the score (validator/summary.go GetScore): successes count 2, warnings 1, dangers 2;
 *   score = floor(100 × 2·successes / (2·successes + warnings + 2·dangers)), 100 with no results.
 *
 * JSON Schema: Ajv's draft 2019-09 validator (Polaris uses qri-io/jsonschema, draft 2019-09), with RE2
 * regular expressions (re2js) because the checks' patterns are Go's RE2 syntax, e.g. `(?i)password`.
 * The one schema normalisation: a YAML `required:` with no value (null) is dropped, which is what
 * qri-io/jsonschema makes of it (no required properties) and what Ajv's meta-schema refuses.
 * Not implemented (throws if it would run): Polaris' two checks written in Go instead of a schema
 * (pdbMinAvailableGreaterThanHPAMinReplicas, on Deployments only) and mutations.
 */
import * as k8s from '@kubernetes/client-node';
import * as fs from 'fs';
import * as path from 'path';
import Ajv2019, { ValidateFunction } from 'ajv/dist/2019';
import * as yaml from 'js-yaml';
import { RE2JS } from 're2js';
import { GoTemplate } from './go-template';

export const POLARIS_DIR = path.join(__dirname, '..', '..', '..', 'third_party', 'polaris');
const HANDLED_TARGETS = ['Controller', 'Container', 'PodSpec', 'PodTemplate'];

export type Severity = 'danger' | 'warning' | 'ignore';
type Obj = Record<string, unknown>;

export interface PolarisCheck {
  readonly id: string;
  readonly category: string;
  readonly successMessage: string;
  readonly failureMessage: string;
  readonly target: string;
  readonly schemaTarget: string;
  readonly controllers: { readonly include: string[]; readonly exclude: string[] };
  readonly containers: { readonly include: string[]; readonly exclude: string[] };
  /** The schema as text: YAML from schemaString, or Go's json.Marshal of `schema` (keys sorted). */
  readonly schemaText: GoTemplate;
  readonly additional: ReadonlyArray<readonly [string, GoTemplate]>;
}

export interface Exemption {
  readonly namespace?: string;
  readonly controllerNames?: string[];
  readonly containerNames?: string[];
  readonly rules?: string[];
}

export interface PolarisConfig {
  readonly checks: Readonly<Record<string, Severity>>;
  readonly exemptions: readonly Exemption[];
}

export interface Resource {
  readonly file: string;
  readonly kind: string;
  readonly groupKind: string;
  readonly name: string;
  readonly namespace: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly object: Obj;
  readonly podSpec?: Obj;
  readonly podTemplate?: Obj;
}

export interface Finding {
  readonly check: string;
  readonly severity: Severity;
  readonly category: string;
  readonly success: boolean;
  readonly message: string;
  /** `Kind/name`, plus `:container` for a container check. */
  readonly where: string;
  readonly kind: string;
  readonly name: string;
  readonly container?: string;
}

export interface Audit {
  readonly findings: readonly Finding[];
  readonly successes: number;
  readonly warnings: number;
  readonly dangers: number;
  readonly score: number;
}

/** Go's encoding/json matches struct fields case-insensitively (linuxHardening says FailureMessage). */
function get(o: Obj, key: string): unknown {
  const k = Object.keys(o).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : o[k];
}

/** Go's json.Marshal of a map: keys sorted at every level. */
function goJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Obj;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${goJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

function includeExclude(v: unknown): { include: string[]; exclude: string[] } {
  const o = (v ?? {}) as Obj;
  return { include: (get(o, 'include') as string[]) ?? [], exclude: (get(o, 'exclude') as string[]) ?? [] };
}

export function parseCheck(id: string, text: string): PolarisCheck {
  const raw = yaml.load(text) as Obj;
  const schemaString = get(raw, 'schemaString') as string | undefined;
  const additional: Array<[string, GoTemplate]> = [];
  for (const [kind, s] of Object.entries((get(raw, 'additionalSchemas') as Obj) ?? {})) {
    additional.push([kind, new GoTemplate(goJson(s))]);
  }
  for (const [kind, s] of Object.entries((get(raw, 'additionalSchemaStrings') as Obj) ?? {})) {
    additional.push([kind, new GoTemplate(s as string)]);
  }
  return {
    id,
    category: String(get(raw, 'category') ?? ''),
    successMessage: String(get(raw, 'successMessage') ?? ''),
    failureMessage: String(get(raw, 'failureMessage') ?? ''),
    target: String(get(raw, 'target') ?? ''),
    schemaTarget: String(get(raw, 'schemaTarget') ?? ''),
    controllers: includeExclude(get(raw, 'controllers')),
    containers: includeExclude(get(raw, 'containers')),
    schemaText: new GoTemplate(schemaString ? schemaString : goJson(get(raw, 'schema'))),
    additional,
  };
}

/** Every check definition in third_party/polaris/pkg/config/checks/, by id. */
export function loadChecks(
  dir = path.join(POLARIS_DIR, 'pkg', 'config', 'checks'),
): Map<string, PolarisCheck> {
  const checks = new Map<string, PolarisCheck>();
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith('.yaml')) continue;
    const id = f.slice(0, -'.yaml'.length);
    checks.set(id, parseCheck(id, fs.readFileSync(path.join(dir, f), 'utf8')));
  }
  return checks;
}

/** Polaris' default configuration (third_party/polaris/pkg/config/default.yaml): severities and exemptions. */
export function loadDefaultConfig(
  file = path.join(POLARIS_DIR, 'pkg', 'config', 'default.yaml'),
): PolarisConfig {
  const raw = yaml.load(fs.readFileSync(file, 'utf8')) as {
    checks: Record<string, Severity>;
    exemptions?: Exemption[];
  };
  return { checks: raw.checks, exemptions: raw.exemptions ?? [] };
}

// ---------------------------------------------------------------------------------------------------
// Resources (pkg/kube)

const POD_SPEC_FIELDS = ['jobTemplate', 'spec', 'template'];

function asMap(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`Polaris would panic: ${where} is not a map`);
  }
  return v as Obj;
}

function getPodSpec(o: Obj): Obj | undefined {
  for (const child of POD_SPEC_FIELDS) {
    if (child in o) return getPodSpec(asMap(o[child], child));
  }
  return 'containers' in o ? o : undefined;
}

function getPodTemplate(o: Obj): Obj | undefined {
  const spec = o.spec;
  if (spec && typeof spec === 'object' && 'containers' in (spec as Obj)) return o;
  for (const child of POD_SPEC_FIELDS) {
    if (child in o) return getPodTemplate(asMap(o[child], child));
  }
  return undefined;
}

function groupKindOf(o: Obj): string {
  const apiVersion = String(o.apiVersion ?? '');
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return group ? `${group}/${String(o.kind)}` : String(o.kind);
}

/** One object as Polaris' resource provider holds it. */
export function toResource(object: Obj, file = ''): Resource {
  // A Pod is decoded into Go's typed corev1.Pod (resources.go addResourceFromString); others stay maps.
  const obj = (object.kind === 'Pod' ? typed(object, 'V1Pod') : JSON.parse(JSON.stringify(object))) as Obj;
  const meta = (obj.metadata ?? {}) as Obj;
  if (!meta.creationTimestamp) {
    delete meta.creationTimestamp;
    delete obj.status;
  }
  const podSpec = obj.kind === 'Pod' ? (obj.spec as Obj) : getPodSpec(obj);
  const podTemplate = obj.kind === 'Pod' ? obj : getPodTemplate(obj);
  return {
    file,
    kind: String(obj.kind),
    groupKind: groupKindOf(obj),
    name: String(meta.name ?? ''),
    namespace: String(meta.namespace ?? ''),
    annotations: (meta.annotations ?? {}) as Record<string, string>,
    object: obj,
    podSpec: podSpec ? JSON.parse(JSON.stringify(podSpec)) : undefined,
    podTemplate,
  };
}

/** The objects of one YAML stream, split as Polaris splits it (on lines of dashes). */
export function resourcesFromYaml(text: string, file = ''): Resource[] {
  const out: Resource[] = [];
  for (const spec of text.split(/[\r\n]-+[\r\n]/)) {
    if (spec.trim() === '') continue;
    const o = yaml.load(spec);
    if (o === null || o === undefined) continue;
    out.push(toResource(asMap(o, file), file));
  }
  return out;
}

/** Every object in every *.yaml / *.yml file under a path (a folder or one file). */
export function resourcesFromPath(p: string): Resource[] {
  if (fs.statSync(p).isDirectory()) {
    return fs
      .readdirSync(p)
      .sort()
      .flatMap((f) => resourcesFromPath(path.join(p, f)));
  }
  if (!p.endsWith('.yaml') && !p.endsWith('.yml')) return [];
  return resourcesFromYaml(fs.readFileSync(p, 'utf8'), p);
}

// ---------------------------------------------------------------------------------------------------
// Go's typed structs (corev1.Pod, PodSpec, Container) as encoding/json writes them back: unknown fields
// dropped (the @kubernetes/client-node models' field lists), nulls dropped (Go's omitempty pointers and
// slices), `resources` always present, quantities as strings.

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v !== null && typeof v === 'object') {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v as Obj)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

function typed(v: Obj, model: string): Obj {
  const s = k8s.ObjectSerializer;
  return dropNulls(JSON.parse(JSON.stringify(s.serialize(s.deserialize(v, model), model)))) as Obj;
}

function fixContainer(c: Obj): Obj {
  const resources = (c.resources ?? {}) as Obj;
  for (const part of ['limits', 'requests']) {
    const q = resources[part] as Obj | undefined;
    if (!q) continue;
    for (const k of Object.keys(q)) q[k] = String(q[k]);
  }
  c.resources = resources;
  return c;
}

function typedContainer(c: Obj): Obj {
  return fixContainer(typed(c, 'V1Container'));
}

function typedPodSpec(spec: Obj): Obj {
  const out = typed(spec, 'V1PodSpec');
  out.containers = ((out.containers as Obj[] | undefined) ?? []).map(fixContainer);
  if (Array.isArray(out.initContainers) && out.initContainers.length > 0) {
    out.initContainers = (out.initContainers as Obj[]).map(fixContainer);
  } else {
    delete out.initContainers;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Evaluation (pkg/validator/schema.go)

/** Go's regexp.MatchString (RE2 syntax, unanchored) in the shape Ajv's `code.regExp` option wants. */
function re2(pattern: string): { test(s: string): boolean; toString(): string } {
  const re = RE2JS.compile(pattern);
  // Ajv keys its compiled patterns by toString(): it must differ per pattern.
  return { test: (s: string) => re.matcher(s).find(), toString: () => `re2:${pattern}` };
}

const ajv = new Ajv2019({
  strict: false,
  allErrors: false,
  validateFormats: false,
  // `code` names the engine in standalone generated code, which is not used here.
  code: {
    regExp: Object.assign(re2 as unknown as (pattern: string, u: string) => RegExp, { code: 're2js' }),
  },
});
const compiled = new Map<string, ValidateFunction | undefined>();

function dropNullRequired(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(dropNullRequired);
  if (s !== null && typeof s === 'object') {
    const out: Obj = {};
    for (const [k, v] of Object.entries(s as Obj)) {
      if (k === 'required' && v === null) continue;
      out[k] = dropNullRequired(v);
    }
    return out;
  }
  return s;
}

/** A templated schema text as Polaris reads it (YAML or JSON); undefined when it is blank. */
function validatorFor(text: string): ValidateFunction | undefined {
  if (text.trim() === '') return undefined;
  if (!compiled.has(text)) {
    const schema = dropNullRequired(yaml.load(text));
    // An absent `schema:` marshals as `null`: Polaris' "empty validator" (custom Go checks use it).
    const empty = schema === null || schema === undefined || Object.keys(schema as object).length === 0;
    compiled.set(text, empty ? undefined : ajv.compile(schema as object));
  }
  return compiled.get(text);
}

interface TestCase {
  readonly target: string; // '' for a kind check
  readonly resource: Resource;
  readonly container?: Obj;
  readonly isInit: boolean;
}

function hasExemptionAnnotation(r: Resource, checkId: string): boolean {
  const a = r.annotations;
  return (
    String(a['polaris.fairwinds.com/exempt'] ?? '').toLowerCase() === 'true' ||
    String(a[`polaris.fairwinds.com/${checkId}-exempt`] ?? '').toLowerCase() === 'true'
  );
}

function configAllows(conf: PolarisConfig, checkId: string, r: Resource, containerName: string): boolean {
  const severity = conf.checks[checkId];
  if (severity !== 'warning' && severity !== 'danger') return false;
  const matches = (names: string[] | undefined, s: string) =>
    !names || names.length === 0 || names.some((n) => s.startsWith(n));
  for (const e of conf.exemptions) {
    if (e.namespace && e.namespace !== r.namespace) continue;
    if (!e.rules || e.rules.length === 0 || e.rules.includes(checkId)) {
      if (!matches(e.controllerNames, r.name)) continue;
      if (matches(e.containerNames, containerName)) return false;
    }
  }
  return true;
}

function checkApplies(check: PolarisCheck, target: string, kind: string, isInit: boolean): boolean {
  if (HANDLED_TARGETS.includes(target)) {
    if (check.target === 'PodTemplate' && target === 'PodSpec') return true;
    if (check.target !== target) return false;
  } else if (check.target !== kind && !check.target.endsWith(`/${kind}`)) {
    return false;
  }
  if (check.controllers.include.length > 0 && !check.controllers.include.includes(kind)) return false;
  if (check.controllers.exclude.includes(kind)) return false;
  if (check.target === 'Container') {
    const inc = check.containers.include;
    if (
      inc.length > 0 &&
      !inc.some((i) => (i === 'initContainer' && isInit) || (i === 'container' && !isInit))
    ) {
      return false;
    }
    if (
      check.containers.exclude.some(
        (e) => (e === 'initContainer' && isInit) || (e === 'container' && !isInit),
      )
    ) {
      return false;
    }
  }
  return true;
}

function templateInput(tc: TestCase): Obj {
  const input = JSON.parse(JSON.stringify(tc.resource.object)) as Obj;
  if ((tc.target === 'PodSpec' || tc.target === 'Container') && tc.resource.podSpec) {
    const polaris: Obj = { PodSpec: typedPodSpec(tc.resource.podSpec) };
    if (tc.resource.podTemplate) polaris.PodTemplate = JSON.parse(JSON.stringify(tc.resource.podTemplate));
    if (tc.target === 'Container' && tc.container) polaris.Container = typedContainer(tc.container);
    input.Polaris = polaris;
  }
  return input;
}

function applyCheck(
  conf: PolarisConfig,
  check: PolarisCheck,
  tc: TestCase,
  all: readonly Resource[],
): boolean | undefined {
  const r = tc.resource;
  if (hasExemptionAnnotation(r, check.id)) return undefined;
  if (!configAllows(conf, check.id, r, tc.container ? String(tc.container.name) : '')) return undefined;
  if (!checkApplies(check, tc.target, r.kind, tc.isInit)) return undefined;

  const input = templateInput(tc);
  const main = validatorFor(check.schemaText.execute(input));
  const validate = (data: unknown) => (main ? (main(data) as boolean) : true);
  let passes: boolean;
  if (check.schemaTarget) {
    if (check.schemaTarget !== 'PodSpec' || check.target !== 'Container') {
      throw new Error(
        `Unknown combination of target (${check.target}) and schema target (${check.schemaTarget})`,
      );
    }
    const pod = typedPodSpec(r.podSpec!);
    delete pod.initContainers;
    pod.containers = [typedContainer(tc.container!)];
    passes = validate(pod);
  } else if (check.target === 'PodSpec') {
    passes = validate(typedPodSpec(r.podSpec!));
  } else if (check.target === 'PodTemplate') {
    passes = validate(r.podTemplate);
  } else if (check.target === 'Container') {
    passes = validate(typedContainer(tc.container!));
  } else if (main) {
    passes = validate(r.object);
  } else if (check.id === 'pdbMinAvailableGreaterThanHPAMinReplicas') {
    // The Go check compares a PDB's minAvailable with the minReplicas of the HorizontalPodAutoscaler whose
    // scaleTargetRef is this Deployment; without such an HPA it passes. Only that case is evaluated here.
    const hpa = all.some(
      (o) =>
        o.kind === 'HorizontalPodAutoscaler' &&
        o.namespace === r.namespace &&
        (o.object as { spec?: { scaleTargetRef?: { kind?: string; name?: string } } }).spec?.scaleTargetRef
          ?.kind === r.kind &&
        (o.object as { spec?: { scaleTargetRef?: { name?: string } } }).spec?.scaleTargetRef?.name === r.name,
    );
    if (hpa)
      throw new Error(
        `${check.id} is written in Go (validator/pdb_hpa_validator.go) and not evaluated here for a Deployment an HPA targets`,
      );
    passes = true;
  } else {
    passes = true;
  }

  for (const [groupKind, tmpl] of check.additional) {
    if (!passes) break;
    const v = validatorFor(tmpl.execute(input));
    if (!v) continue;
    const ns = r.kind === 'Namespace' ? r.name : r.namespace;
    const candidates = all.filter(
      (o) => o.groupKind === groupKind && (o.namespace === '' || o.namespace === ns),
    );
    passes = candidates.some((o) => v(o.object) as boolean);
  }
  return passes;
}

/** Runs every check of the configuration over the resources, as `polaris audit --audit-path` does. */
export function audit(
  resources: readonly Resource[],
  conf: PolarisConfig = loadDefaultConfig(),
  checks: Map<string, PolarisCheck> = loadChecks(),
): Audit {
  const ids = Object.keys(conf.checks).sort();
  for (const id of ids) {
    if (!checks.has(id)) throw new Error(`Check ${id} not found`);
  }
  const findings: Finding[] = [];
  const run = (tc: TestCase) => {
    for (const id of ids) {
      const check = checks.get(id)!;
      const passes = applyCheck(conf, check, tc, resources);
      if (passes === undefined) continue;
      const container = tc.container ? String(tc.container.name) : undefined;
      findings.push({
        check: id,
        severity: conf.checks[id],
        category: check.category,
        success: passes,
        message: passes ? check.successMessage : check.failureMessage,
        where: `${tc.resource.kind}/${tc.resource.name}${container ? `:${container}` : ''}`,
        kind: tc.resource.kind,
        name: tc.resource.name,
        container,
      });
    }
  };
  for (const r of resources) {
    if (!r.podSpec) {
      run({ target: '', resource: r, isInit: false });
      continue;
    }
    run({ target: 'Controller', resource: r, isInit: false });
    run({ target: '', resource: r, isInit: false });
    run({ target: 'PodSpec', resource: r, isInit: false });
    for (const c of (r.podSpec.initContainers as Obj[] | undefined) ?? []) {
      run({ target: 'Container', resource: r, container: c, isInit: true });
    }
    for (const c of (r.podSpec.containers as Obj[] | undefined) ?? []) {
      run({ target: 'Container', resource: r, container: c, isInit: false });
    }
  }
  const successes = findings.filter((f) => f.success).length;
  const warnings = findings.filter((f) => !f.success && f.severity === 'warning').length;
  const dangers = findings.filter((f) => !f.success && f.severity !== 'warning').length;
  return { findings, successes, warnings, dangers, score: score(successes, warnings, dangers) };
}

/** validator/summary.go CountSummary.GetScore. */
export function score(successes: number, warnings: number, dangers: number): number {
  const total = successes * 2 + warnings + dangers * 2;
  if (total === 0) return 100;
  return Math.floor(((successes * 2) / total) * 100);
}
