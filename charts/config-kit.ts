/**
 * The building blocks of the config schema (`config.ts`), on zod 4: field types whose every failure
 * reads "<field> is <value>; <what is allowed>", strict objects that refuse unknown keys with a "did you
 * mean", and the error that lists every problem of a profile.
 */
import * as z from 'zod';

// Each config is parsed once per synth: zod's JIT (compiling a parser per object schema with
// `new Function`) costs more than it saves on a single parse.
z.config({ jitless: true });

/** Thrown when a profile's config is invalid; lists every problem found, one per line. */
export class ConfigError extends Error {
  constructor(
    public readonly profile: string,
    public readonly problems: readonly string[],
  ) {
    super(
      `Invalid config for profile "${profile}" (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** A value as the user wrote it: JSON, except what JSON cannot say (NaN, Infinity, undefined). */
export function show(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return String(v);
  return JSON.stringify(v) ?? String(v);
}

export const oneOf = (xs: readonly unknown[]): string => xs.map(show).join(', ');

// The grammar of resource.Quantity (k8s.io/apimachinery/pkg/api/resource).
const QUANTITY =
  /^[+-]?((\d+(\.\d*)?)|(\.\d+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?((\d+(\.\d*)?)|(\.\d+))))?$/;
const BINARY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL_SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** The numeric value of a Kubernetes quantity (bytes for sizes, cores for CPU), or undefined if malformed. */
export function parseQuantity(q: string): number | undefined {
  if (!QUANTITY.test(q)) return undefined;
  const m = /^([+-]?[\d.]+)(.*)$/.exec(q)!;
  const num = Number(m[1]);
  const suffix = m[2];
  if (suffix in BINARY_SUFFIX) return num * BINARY_SUFFIX[suffix];
  if (suffix in DECIMAL_SUFFIX) return num * DECIMAL_SUFFIX[suffix];
  return Number(q); // exponent form, e.g. 1e3
}

// ---------------------------------------------------------------------------------------------------
// Field types. Each takes the "what is allowed" text and uses it for every way the field can fail
// (wrong type, out of range, bad pattern), so one field always says one thing.

/** A whole number from `min` to `max` (NaN, Infinity, strings and fractions are refused). */
export function int(min: number, max: number) {
  const e = { error: `expected a whole number from ${min} to ${max}` };
  return z.number(e).int(e).min(min, e).max(max, e);
}

export function bool() {
  return z.boolean({ error: 'expected true or false' });
}

/** One of a fixed list of strings. */
export function member<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${oneOf(values)}` });
}

/** A string matching `pattern` (and at most `maxLength` characters). */
export function text(pattern: RegExp, allowed: string, maxLength = Infinity) {
  const e = { error: allowed };
  const s = z.string(e).regex(pattern, e);
  return Number.isFinite(maxLength) ? s.max(maxLength, e) : s;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const dnsLabel = () =>
  text(
    DNS1123_LABEL,
    'expected a DNS-1123 label: at most 63 characters, lower-case letters, digits and "-", starting and ending with a letter or digit',
    63,
  );

export const dnsSubdomain = () =>
  text(
    DNS1123_SUBDOMAIN,
    'expected a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", at most 253 characters',
    253,
  );

/** A positive Kubernetes quantity such as "10Gi" or "500m". */
export function quantity(example: string) {
  const e = { error: `expected a positive Kubernetes quantity such as "${example}"` };
  return z.string(e).refine((q) => (parseQuantity(q) ?? 0) > 0, e);
}

/** Kubernetes labels: each key a label name, each value a label value. */
export function labels() {
  return z
    .record(
      z.string(),
      text(
        LABEL_VALUE,
        'expected a label value: at most 63 characters, letters, digits, "-", "_" and "."',
        63,
      ),
      { error: 'expected labels: an object of label names to label values, such as {"tier": "db"}' },
    )
    .superRefine((record, ctx) => {
      for (const key of Object.keys(record)) {
        if (!LABEL_NAME.test(key))
          ctx.addIssue({
            code: 'custom',
            input: key,
            params: { subject: 'key' },
            message: 'expected a label name such as "app.kubernetes.io/part-of"',
          });
      }
    });
}

/** A list whose items are `item`; refuses a single value where a list belongs. */
export function list<T extends z.ZodType>(item: T, example: string) {
  return z.array(item, { error: `expected a list such as ${example}` });
}

/**
 * An object that refuses keys it does not declare. Unknown keys are reported one by one with the
 * nearest declared key ("did you mean …?"), so a typo is never silently ignored.
 */
export function strict<S extends z.ZodRawShape>(shape: S, what: string) {
  return z.strictObject(shape, {
    error: (iss) =>
      iss.code === 'unrecognized_keys'
        ? undefined
        : `expected ${what} (an object with the fields ${fieldList(shape)})`,
  });
}

const fieldList = (shape: z.ZodRawShape): string => Object.keys(shape).join(', ');

// ---------------------------------------------------------------------------------------------------
// Issues → problems

/** `a.b[0]["node.kubernetes.io/pool"]`: the field path as a user would write it in TypeScript. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The declared key nearest to `key`, if it is near enough to be a typo. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : distance(key, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** The object shape a path leads to in `schema` (through optional, default, pipe, array, record). */
function shapeAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let s: z.core.$ZodType | undefined = schema;
  let i = 0;
  while (s !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const def = s._zod.def as any;
    if (
      ['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch'].includes(def.type)
    )
      s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else if (i === path.length) return def.type === 'object' ? def.shape : undefined;
    else if (def.type === 'object') s = def.shape[path[i++] as string];
    else if (def.type === 'array') ((s = def.element), i++);
    else if (def.type === 'record') ((s = def.valueType), i++);
    else return undefined;
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path)
    v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

/** One line per problem: "<field> is <value>; <what is allowed>". */
export function problemsOf(
  schema: z.core.$ZodType,
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
): string[] {
  const out: string[] = [];
  for (const iss of issues) {
    const field = formatPath(iss.path);
    if (iss.code === 'unrecognized_keys') {
      const known = Object.keys(shapeAt(schema, iss.path) ?? {});
      const owner = field === '' ? 'the config' : field;
      for (const key of iss.keys) {
        const guess = nearest(key, known);
        out.push(
          `${formatPath([...iss.path, key])} is ${show(valueAt(input, [...iss.path, key]))}; ` +
            (guess !== undefined
              ? `${owner} has no field "${key}": did you mean "${guess}"?`
              : `${owner} has no field "${key}"; its fields are ${known.join(', ')}`),
        );
      }
      continue;
    }
    const params = (iss as { params?: { subject?: string; asWritten?: boolean } }).params;
    const value = 'input' in iss && !params?.asWritten ? iss.input : valueAt(input, iss.path);
    const subject = params?.subject === 'key' ? `${field} key` : field || 'config';
    const is = iss.code !== 'custom' && value === undefined ? 'is missing' : `is ${show(value)}`;
    out.push(`${subject} ${is}; ${iss.message}`);
  }
  return out;
}
