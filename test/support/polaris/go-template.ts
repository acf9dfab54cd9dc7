/**
 * The part of Go's text/template (https://pkg.go.dev/text/template) that Polaris' check definitions use,
 * with Go's semantics where they differ from JavaScript's. Polaris runs each check's schema text through
 * text/template (with the functions hasPrefix and hasSuffix added) before parsing it as YAML or JSON.
 *
 * Supported: text; actions that print a pipeline; `{{- ` / ` -}}` whitespace trimming; comments
 * `{{/* … *\/}}`; `if`/`else`/`end`; `range` over maps (sorted keys) and arrays, with `$k, $v :=`;
 * variable declaration `$x := …` and assignment `$x = …` with Go's block scoping; field chains `.a.b`,
 * `$x.a`; string, number, `true`/`false` literals; parenthesized pipelines; and the functions `and`,
 * `or` (short-circuit, returning an operand), `not`, `eq`, `ne`, `print`, `index`, `hasPrefix`,
 * `hasSuffix`. Anything else (pipes `|`, `with`, `else if`, `define`, other functions) throws, so a
 * newer check that needs more fails loudly instead of being evaluated wrongly.
 *
 * Go semantics kept: a missing map key is an "invalid" value, not an error, and field access on it
 * stays invalid; printing it gives `<no value>`; `eq` of an invalid value is false, of two valid values
 * of different kinds an error; field access on a nil (YAML null) value is an error; truth is Go's
 * (empty string, 0, false, nil, empty map or array are false). No npm library implements variables,
 * `eq` or two-variable `range` (the closest, @ctrl/golang-template 2.0.1, lists them as unsupported),
 * hence this file.
 */

/** Go's invalid reflect.Value: what a missing map key evaluates to. */
export const MISSING: unique symbol = Symbol('<no value>');
type Value = unknown;

export class GoTemplateError extends Error {}

type Node =
  | { t: 'text'; text: string }
  | { t: 'print'; pipe: Pipe }
  | { t: 'decl'; name: string; pipe: Pipe; assign: boolean }
  | { t: 'if'; pipe: Pipe; then: Node[]; otherwise: Node[] }
  | { t: 'range'; vars: string[]; pipe: Pipe; body: Node[]; otherwise: Node[] };

type Arg =
  | { t: 'field'; base: 'dot' | string; path: string[] }
  | { t: 'lit'; value: Value }
  | { t: 'sub'; pipe: Pipe }
  | { t: 'ident'; name: string };
type Pipe = Arg[]; // a command: either a single operand, or a function identifier followed by its args

const FUNCTIONS = new Set(['and', 'or', 'not', 'eq', 'ne', 'print', 'index', 'hasPrefix', 'hasSuffix']);

/** Splits a template into text and the raw contents of its actions, applying trim markers. */
function lex(src: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      out.push({ text });
      break;
    }
    let j = open + 2;
    if (/^-\s/.test(src.slice(j, j + 2))) {
      text = text.replace(/\s+$/, '');
      j += 1;
    }
    out.push({ text });
    const inner = src.slice(j);
    const commentStart = inner.match(/^\s*\/\*/);
    if (commentStart) {
      const end = src.indexOf('*/', j + commentStart[0].length);
      if (end < 0) throw new GoTemplateError(`unclosed comment at offset ${open}`);
      const after = src.slice(end + 2).match(/^(\s*-)?\s*\}\}/);
      if (!after) throw new GoTemplateError(`comment ends without }} at offset ${end}`);
      trimNext = after[1] !== undefined;
      i = end + 2 + after[0].length;
      continue;
    }
    // Find the closing }} outside string literals.
    let k = j;
    let quote: string | null = null;
    for (; k < src.length; k++) {
      const ch = src[k];
      if (quote) {
        if (ch === '\\' && quote === '"') k++;
        else if (ch === quote) quote = null;
      } else if (ch === '"' || ch === '`') quote = ch;
      else if (src.startsWith('}}', k)) break;
    }
    if (k >= src.length) throw new GoTemplateError(`unclosed action at offset ${open}`);
    let body = src.slice(j, k);
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      trimNext = true;
    }
    out.push({ action: body.trim() });
    i = k + 2;
  }
  return out;
}

type Token = { k: 'field' | 'var' | 'ident' | 'str' | 'num' | 'op'; v: string };

function tokenize(action: string): Token[] {
  const toks: Token[] = [];
  const re =
    /\s*(?:(\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?)|(\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|("(?:[^"\\]|\\.)*"|`[^`]*`)|(-?\d+(?:\.\d+)?)|(:=|=|\(|\)|,|\|)|([A-Za-z_][A-Za-z0-9_]*))/y;
  let pos = 0;
  while (pos < action.length) {
    if (/^\s*$/.test(action.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(action);
    if (!m) throw new GoTemplateError(`cannot parse "${action}" at "${action.slice(pos)}"`);
    pos = re.lastIndex;
    if (m[1] !== undefined) toks.push({ k: 'field', v: m[1] });
    else if (m[2] !== undefined) toks.push({ k: 'var', v: m[2] });
    else if (m[3] !== undefined) toks.push({ k: 'str', v: m[3] });
    else if (m[4] !== undefined) toks.push({ k: 'num', v: m[4] });
    else if (m[5] !== undefined) toks.push({ k: 'op', v: m[5] });
    else toks.push({ k: 'ident', v: m[6] });
  }
  return toks;
}

function parsePipe(toks: Token[], action: string): Pipe {
  let pos = 0;
  const args = (stopAtParen: boolean): Pipe => {
    const out: Arg[] = [];
    while (pos < toks.length) {
      const tok = toks[pos];
      if (tok.k === 'op' && tok.v === ')') {
        if (!stopAtParen) throw new GoTemplateError(`unexpected ) in "${action}"`);
        return out;
      }
      pos++;
      if (tok.k === 'op' && tok.v === '(') {
        const sub = args(true);
        if (toks[pos]?.v !== ')') throw new GoTemplateError(`unclosed ( in "${action}"`);
        pos++;
        out.push({ t: 'sub', pipe: sub });
      } else if (tok.k === 'op') {
        throw new GoTemplateError(`unsupported "${tok.v}" in "${action}"`);
      } else if (tok.k === 'field') {
        out.push({ t: 'field', base: 'dot', path: tok.v === '.' ? [] : tok.v.slice(1).split('.') });
      } else if (tok.k === 'var') {
        const [name, ...path] = tok.v.split('.');
        out.push({ t: 'field', base: name, path });
      } else if (tok.k === 'str') {
        out.push({ t: 'lit', value: tok.v.startsWith('`') ? tok.v.slice(1, -1) : JSON.parse(tok.v) });
      } else if (tok.k === 'num') {
        out.push({ t: 'lit', value: Number(tok.v) });
      } else if (tok.v === 'true' || tok.v === 'false') {
        out.push({ t: 'lit', value: tok.v === 'true' });
      } else if (FUNCTIONS.has(tok.v)) {
        out.push({ t: 'ident', name: tok.v });
      } else {
        throw new GoTemplateError(`unsupported function or keyword "${tok.v}" in "${action}"`);
      }
    }
    if (stopAtParen) throw new GoTemplateError(`unclosed ( in "${action}"`);
    return out;
  };
  const pipe = args(false);
  if (pipe.length === 0) throw new GoTemplateError(`empty pipeline in "${action}"`);
  if (pipe.length > 1 && pipe[0].t !== 'ident') {
    throw new GoTemplateError(`"${action}": only a function can take arguments`);
  }
  return pipe;
}

function parse(src: string): Node[] {
  const items = lex(src);
  let pos = 0;
  const block = (ends: string[]): { nodes: Node[]; end: string } => {
    const nodes: Node[] = [];
    while (pos < items.length) {
      const item = items[pos++];
      if ('text' in item) {
        if (item.text) nodes.push({ t: 'text', text: item.text });
        continue;
      }
      const a = item.action;
      const word = a.match(/^([A-Za-z]+)\b\s*([\s\S]*)$/);
      const kw = word?.[1];
      if (kw === 'end' || kw === 'else') {
        if (!ends.includes(kw)) throw new GoTemplateError(`unexpected {{${a}}}`);
        if (word![2]) throw new GoTemplateError(`unsupported {{${a}}}`);
        return { nodes, end: kw };
      }
      if (kw === 'if' || kw === 'range') {
        let rest = word![2];
        const vars: string[] = [];
        if (kw === 'range') {
          const decl = rest.match(/^(\$[A-Za-z0-9_]+)\s*(?:,\s*(\$[A-Za-z0-9_]+)\s*)?:=\s*([\s\S]*)$/);
          if (decl) {
            vars.push(decl[1]);
            if (decl[2]) vars.push(decl[2]);
            rest = decl[3];
          }
        }
        const pipe = parsePipe(tokenize(rest), a);
        const first = block(['end', 'else']);
        const second = first.end === 'else' ? block(['end']).nodes : [];
        nodes.push(
          kw === 'if'
            ? { t: 'if', pipe, then: first.nodes, otherwise: second }
            : { t: 'range', vars, pipe, body: first.nodes, otherwise: second },
        );
        continue;
      }
      if (kw && !FUNCTIONS.has(kw) && kw !== 'true' && kw !== 'false') {
        throw new GoTemplateError(`unsupported action {{${a}}}`);
      }
      const decl = a.match(/^(\$[A-Za-z0-9_]+)\s*(:=|=)\s*([\s\S]*)$/);
      if (decl) {
        nodes.push({
          t: 'decl',
          name: decl[1],
          assign: decl[2] === '=',
          pipe: parsePipe(tokenize(decl[3]), a),
        });
      } else {
        nodes.push({ t: 'print', pipe: parsePipe(tokenize(a), a) });
      }
    }
    if (ends.length) throw new GoTemplateError(`missing {{end}}`);
    return { nodes, end: '' };
  };
  return block([]).nodes;
}

/** Go's notion of truth (text/template's isTrue). */
export function truth(v: Value): boolean {
  if (v === MISSING || v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function kind(v: Value): string {
  if (v === MISSING || v === null || v === undefined) return 'invalid';
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return typeof v;
  throw new GoTemplateError(`error calling eq: non-comparable type ${Array.isArray(v) ? 'slice' : 'map'}`);
}

function eq(a: Value, ...rest: Value[]): boolean {
  if (rest.length === 0) throw new GoTemplateError('error calling eq: missing argument for comparison');
  const ka = kind(a);
  for (const b of rest) {
    const kb = kind(b);
    if (ka !== kb) {
      if (ka !== 'invalid' && kb !== 'invalid') {
        throw new GoTemplateError(`error calling eq: incompatible types for comparison (${ka}, ${kb})`);
      }
    } else if (ka !== 'invalid' && a === b) {
      return true;
    }
  }
  return false;
}

/** fmt.Sprint's formatting of one operand. */
function sprintValue(v: Value): string {
  if (v === MISSING || v === null || v === undefined) return '<nil>';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new GoTemplateError(`printing a ${Array.isArray(v) ? 'slice' : 'map'} is not supported`);
}

function requireString(fn: string, v: Value): string {
  if (typeof v !== 'string') {
    throw new GoTemplateError(
      `error calling ${fn}: ${v === MISSING ? 'invalid value' : 'wrong type for value'}; expected string`,
    );
  }
  return v;
}

class Scope {
  private readonly frames: Array<Map<string, Value>>;
  constructor(root: Value) {
    this.frames = [new Map([['$', root]])];
  }
  push(): void {
    this.frames.push(new Map());
  }
  pop(): void {
    this.frames.pop();
  }
  declare(name: string, v: Value): void {
    this.frames[this.frames.length - 1].set(name, v);
  }
  assign(name: string, v: Value): void {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      if (this.frames[i].has(name)) {
        this.frames[i].set(name, v);
        return;
      }
    }
    throw new GoTemplateError(`undefined variable: ${name}`);
  }
  get(name: string): Value {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      if (this.frames[i].has(name)) return this.frames[i].get(name);
    }
    throw new GoTemplateError(`undefined variable: ${name}`);
  }
}

function field(v: Value, name: string): Value {
  if (v === MISSING) return MISSING;
  if (v === null || v === undefined) throw new GoTemplateError(`nil pointer evaluating interface {}.${name}`);
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new GoTemplateError(
      `can't evaluate field ${name} in type ${Array.isArray(v) ? 'slice' : typeof v}`,
    );
  }
  return Object.prototype.hasOwnProperty.call(v, name) ? (v as Record<string, Value>)[name] : MISSING;
}

function evalArg(arg: Arg, dot: Value, scope: Scope): Value {
  switch (arg.t) {
    case 'lit':
      return arg.value;
    case 'sub':
      return evalPipe(arg.pipe, dot, scope);
    case 'ident':
      return callFunction(arg.name, [], dot, scope);
    case 'field': {
      let v = arg.base === 'dot' ? dot : scope.get(arg.base);
      for (const name of arg.path) v = field(v, name);
      return v;
    }
  }
}

function callFunction(name: string, args: Arg[], dot: Value, scope: Scope): Value {
  const val = (a: Arg) => evalArg(a, dot, scope);
  switch (name) {
    case 'and': {
      let v: Value = MISSING;
      for (const a of args) {
        v = val(a);
        if (!truth(v)) return v;
      }
      return v;
    }
    case 'or': {
      let v: Value = MISSING;
      for (const a of args) {
        v = val(a);
        if (truth(v)) return v;
      }
      return v;
    }
    case 'not':
      if (args.length !== 1) throw new GoTemplateError('wrong number of args for not: want 1');
      return !truth(val(args[0]));
    case 'eq': {
      const [a, ...rest] = args.map(val);
      return eq(a, ...rest);
    }
    case 'ne':
      if (args.length !== 2) throw new GoTemplateError('wrong number of args for ne: want 2');
      return !eq(val(args[0]), val(args[1]));
    case 'print': {
      const vs = args.map(val);
      return vs
        .map(
          (v, i) =>
            (i > 0 && typeof v !== 'string' && typeof vs[i - 1] !== 'string' ? ' ' : '') + sprintValue(v),
        )
        .join('');
    }
    case 'hasPrefix':
    case 'hasSuffix': {
      if (args.length !== 2) throw new GoTemplateError(`wrong number of args for ${name}: want 2`);
      const s = requireString(name, val(args[0]));
      const p = requireString(name, val(args[1]));
      return name === 'hasPrefix' ? s.startsWith(p) : s.endsWith(p);
    }
    case 'index': {
      if (args.length === 0) throw new GoTemplateError('wrong number of args for index');
      let v = val(args[0]);
      for (const a of args.slice(1)) {
        const key = val(a);
        if (v === MISSING || v === null || v === undefined) {
          throw new GoTemplateError('error calling index: index of untyped nil');
        }
        if (Array.isArray(v)) {
          if (typeof key !== 'number' || key < 0 || key >= v.length) {
            throw new GoTemplateError(`error calling index: index out of range: ${String(key)}`);
          }
          v = v[key];
        } else if (typeof v === 'object') {
          if (typeof key !== 'string')
            throw new GoTemplateError('error calling index: value has type non-string');
          // A missing key gives the map's zero value: a nil interface, not an invalid value.
          v = Object.prototype.hasOwnProperty.call(v, key) ? (v as Record<string, Value>)[key] : null;
        } else {
          throw new GoTemplateError(`error calling index: can't index item of type ${typeof v}`);
        }
      }
      return v;
    }
  }
  throw new GoTemplateError(`unsupported function ${name}`);
}

function evalPipe(pipe: Pipe, dot: Value, scope: Scope): Value {
  const [head, ...args] = pipe;
  if (head.t === 'ident') return callFunction(head.name, args, dot, scope);
  return evalArg(head, dot, scope);
}

/** How an action prints its value (text/template's printValue). */
function printValue(v: Value): string {
  if (v === MISSING || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new GoTemplateError(`printing a ${Array.isArray(v) ? 'slice' : 'map'} is not supported`);
}

function exec(nodes: Node[], dot: Value, scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.t) {
      case 'text':
        out.push(n.text);
        break;
      case 'print':
        out.push(printValue(evalPipe(n.pipe, dot, scope)));
        break;
      case 'decl': {
        const v = evalPipe(n.pipe, dot, scope);
        if (n.assign) scope.assign(n.name, v);
        else scope.declare(n.name, v);
        break;
      }
      case 'if': {
        const branch = truth(evalPipe(n.pipe, dot, scope)) ? n.then : n.otherwise;
        scope.push();
        exec(branch, dot, scope, out);
        scope.pop();
        break;
      }
      case 'range': {
        const v = evalPipe(n.pipe, dot, scope);
        let entries: Array<[Value, Value]> = [];
        if (Array.isArray(v)) entries = v.map((e, i) => [i, e]);
        else if (v !== null && typeof v === 'object') {
          entries = Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, Value>)[k]]);
        } else if (v !== MISSING && v !== null && v !== undefined) {
          throw new GoTemplateError(`range can't iterate over ${String(v)}`);
        }
        if (entries.length === 0) {
          scope.push();
          exec(n.otherwise, dot, scope, out);
          scope.pop();
        }
        for (const [k, e] of entries) {
          scope.push();
          if (n.vars.length === 1) scope.declare(n.vars[0], e);
          if (n.vars.length === 2) {
            scope.declare(n.vars[0], k);
            scope.declare(n.vars[1], e);
          }
          exec(n.body, e, scope, out);
          scope.pop();
        }
        break;
      }
    }
  }
}

/** A parsed template, executed against data (the `.`). */
export class GoTemplate {
  private readonly nodes: Node[];
  constructor(readonly source: string) {
    this.nodes = parse(source);
  }
  execute(data: Value): string {
    const out: string[] = [];
    exec(this.nodes, data, new Scope(data), out);
    return out.join('');
  }
}
