/**
 * What a bash script calls, as far as a line-based extraction can tell (see test/image-inventory.test.ts for
 * what it sees and what it cannot).
 */
const BUILTINS = new Set(
  (
    'if then else elif fi for in do done while until case esac function select time ' +
    'echo printf read cd exit return set shift test [ [[ ]] : true false local declare readonly export unset ' +
    'trap wait umask source . eval exec command type hash mapfile readarray let break continue getopts ' +
    'pushd popd dirs shopt compgen complete alias unalias kill ulimit times enable builtin caller bind help history jobs fg bg disown suspend logout'
  ).split(' '),
);

/** The external commands a bash script calls, as far as a line-based extraction can tell. */
export function commandsOf(script: string): Set<string> {
  const found = new Set<string>();
  const functions = new Set<string>();
  const lines = script.split('\n');
  let heredoc: string | undefined;
  for (const raw of lines) {
    if (heredoc !== undefined) {
      if (raw.trim() === heredoc) heredoc = undefined;
      continue;
    }
    const here = raw.match(/<<-?\s*['"]?(\w+)['"]?/);
    if (here && !raw.includes('<<<')) heredoc = here[1];
    const fn = raw.match(/^\s*(?:function\s+)?([a-zA-Z_][\w-]*)\s*\(\)\s*\{?/);
    if (fn) functions.add(fn[1]);
    const line = raw.replace(/(^|\s)#.*$/, ''); // comments (a '#' inside a quoted string is not at a word start here)
    // socat's SYSTEM: runs its text with /bin/sh -c: that text's commands are called too.
    for (const m of line.matchAll(/"SYSTEM:((?:[^"\\]|\\.)*)"/g)) {
      found.add('sh');
      for (const c of commandsOf(m[1].replace(/\\(.)/g, '$1'))) found.add(c);
    }
    // Strings are not commands: drop quoted text, keeping $( … ) inside double quotes.
    const unquoted = stripQuotes(line)
      .replace(/\$\{[^}]*\}/g, '$v') // parameter expansions: ${x:-y}
      .replace(/(^|\s)(\w+)\+?=\([^()]*\)/g, '$1$2=v') // array assignments: local a=() b=(x y)
      .replace(/\$?\(\([^)]*\)\)/g, ' ') // arithmetic: (( … )), $(( … ))
      .replace(/^\s*[^\s()]+\)\s*/, ''); // a case label: previous) …
    const segments = unquoted.split(/;|\|\||&&|\||\$\(|`|\(|\)|\{|\}|!(?=\s)/);
    for (const seg of segments) {
      let words = seg.trim().split(/\s+/).filter(Boolean);
      while (
        words.length &&
        (/^\w+=/.test(words[0]) ||
          ['then', 'do', 'else', 'if', 'while', 'until', 'exec', 'command', 'time', '!'].includes(words[0]))
      )
        words = words.slice(1);
      const w = words[0];
      if (!w || !/^[a-z][\w.-]*$/.test(w)) continue;
      found.add(w);
    }
  }
  for (const f of functions) found.delete(f);
  for (const b of BUILTINS) found.delete(b);
  return found;
}

/**
 * A line with its quoted text removed: single-quoted strings entirely, double-quoted ones except the command
 * substitutions `$( … )` inside them, which are commands.
 */
function stripQuotes(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      out += "''";
      i = end < 0 ? line.length : end;
    } else if (ch === '"') {
      out += '""';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\') i++;
        else if (line[i] === '$' && line[i + 1] === '(') {
          let depth = 0;
          let sub = '';
          for (; i < line.length; i++) {
            if (line[i] === '(') depth++;
            if (line[i] === ')' && --depth === 0) break;
            sub += line[i];
          }
          out += ` ${sub}) `;
        }
      }
    } else out += ch;
  }
  return out;
}

/** The tools a script declares in its fail-fast check (`for tool in …; do command -v` or `command -v X`). */
export function declaredTools(script: string): Set<string> {
  const loop = script.match(/^for tool in ([^;]+); do\n\s+command -v "\$tool"/m);
  if (loop) return new Set(loop[1].trim().split(/\s+/));
  return new Set([...script.matchAll(/^command -v (\S+) >\/dev\/null/gm)].map((m) => m[1]));
}
