import * as fs from 'fs';
import * as path from 'path';
import { distObjects, distFolders } from './support/dist';
import { commandsOf, declaredTools } from './support/script-commands';
import {
  exposedNames,
  HOST_USR,
  INVENTORIES_DIR,
  inventoryFor,
  loadInventories,
  parseInventory,
} from './e2e/lib/inventory';

/**
 * The image inventories (test/e2e/inventories/) against what actually runs: every command each chart script
 * calls, every probe and container command in dist/, must be in the inventory of the image it runs in.
 *
 * What this simple extraction sees: the first word of every simple command (after `;`, `|`, `&&`, `||`, `$(`,
 * `(`, `{`, `!`, `then`, `do`, `else`, `if`, `while`, `until`, `exec`, `command`, variable assignments), and the
 * command socat's `SYSTEM:` runs (through /bin/sh). What it cannot see: a command name held in a variable or
 * built at run time, commands inside `bash -c '…'`/`eval` strings, and heredoc bodies (skipped: they are SQL
 * here). The e2e harness closes that gap at run time: its containers only have the inventory's executables.
 */
interface Container {
  name: string;
  image: string;
  command?: string[];
  readinessProbe?: { exec?: { command: string[] } };
  livenessProbe?: { exec?: { command: string[] } };
  startupProbe?: { exec?: { command: string[] } };
}

const profiles = distFolders().filter((f) => f !== 'argocd');
const inventories = loadInventories();

describe('the inventories themselves', () => {
  test.each(fs.readdirSync(INVENTORIES_DIR).filter((f) => f.endsWith('.yaml')))(
    '%s: an exact image, every executable with a source',
    (file) => {
      const inv = parseInventory(path.join(INVENTORIES_DIR, file));
      expect(file).toBe(`${inv.image.split('/').pop()!.replace(':', '-')}.yaml`);
      for (const e of inv.entries) expect(e.source.length).toBeGreaterThan(8);
      // A source named by its key must be one the file defines, and every defined source must carry a commit.
      for (const [key, text] of Object.entries(inv.sources)) {
        if (!/^(inferred|UNCONFIRMED)/.test(text)) expect(text).toMatch(/ @ [0-9a-f]{40}\b|@ [0-9a-f]{40}/);
        expect(inv.entries.some((e) => e.source.startsWith(key))).toBe(true);
      }
    },
  );

  test('fails if an inventory names an unknown key, a relative path or an entry without a source', () => {
    const dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'inv-'));
    const write = (text: string) => {
      const f = path.join(dir, 'x.yaml');
      fs.writeFileSync(f, text);
      return () => parseInventory(f);
    };
    expect(write('image: a:1\nexecutables:\n  /usr/bin/x: src\nextra: 1\n')).toThrow('unknown key "extra"');
    expect(write('image: a\nexecutables:\n  /usr/bin/x: src\n')).toThrow(
      '"image" must be an exact reference',
    );
    expect(write('image: a:1\nexecutables:\n  /opt/x: src\n')).toThrow('/opt/x: executables live in');
    expect(write('image: a:1\nexecutables:\n  /usr/bin/x: { host: y }\n')).toThrow(
      '/usr/bin/x: needs a source',
    );
    expect(write('image: a:1\nexecutables:\n  /usr/bin/x: { source: s, harness: maybe }\n')).toThrow(
      'harness may only be "absent"',
    );
    fs.rmSync(dir, { recursive: true });
  });

  test('an image without an inventory is refused with a message that says what to add', () => {
    expect(() => inventoryFor('mysql:9.9.9', inventories)).toThrow(
      'no image inventory for mysql:9.9.9: add test/e2e/inventories/<image>-<version>.yaml',
    );
    expect(inventoryFor(`mysql:8.4.10@sha256:${'0'.repeat(64)}`, inventories).image).toBe('mysql:8.4.10');
  });
});

describe.each(profiles)('dist/%s: everything that runs is in its image inventory', (profile) => {
  // Every pod template: the StatefulSet's, and the backup, restore-drill and snapshot CronJobs'.
  const containers: Container[] = distObjects(profile).flatMap((o) => {
    const spec =
      o.kind === 'StatefulSet' || o.kind === 'Job'
        ? o.spec.template.spec
        : o.kind === 'CronJob'
          ? o.spec.jobTemplate.spec.template.spec
          : undefined;
    return spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
  });

  test.each(containers.map((c) => [c.name, c.image] as const))('%s (%s) has an inventory', (_n, image) => {
    expect(() => inventoryFor(image, inventories)).not.toThrow();
  });

  const scripted = containers.filter((c) => c.command?.[0] === 'bash' && c.command[1] === '-c');
  test.each(scripted.map((c) => [c.name, c] as const))(
    '%s: its image has every tool the script calls; a fail-fast list, where there is one, matches them',
    (_n, c) => {
      const script = c.command![2];
      const declared = declaredTools(script);
      const called = commandsOf(script);
      // Everything called is declared (so checked at start), everything declared is called (no stale list).
      if (declared.size > 0) expect([...called].sort()).toEqual([...declared].sort());
      const exposed = exposedNames(inventoryFor(c.image, inventories));
      expect(['bash', ...called, ...declared].filter((t) => !exposed.has(t))).toEqual([]);
      // The harness's back door to the host's tools is never used by a chart script.
      expect(script).not.toContain(HOST_USR);
    },
  );

  test.each(containers.map((c) => [c.name, c] as const))(
    '%s: its command and exec probes run programs its image has',
    (_n, c) => {
      const exposed = exposedNames(inventoryFor(c.image, inventories));
      const argv0s = [
        c.command?.[0],
        c.readinessProbe?.exec?.command[0],
        c.livenessProbe?.exec?.command[0],
        c.startupProbe?.exec?.command[0],
      ].filter((a): a is string => !!a);
      for (const a of argv0s) expect(exposed.has(path.posix.basename(a)) ? a : `${a} (missing)`).toBe(a);
    },
  );
});

describe('the extraction itself (so the test above can fail)', () => {
  test('finds commands after pipes, substitutions, keywords and assignments; skips builtins, strings, heredocs, functions', () => {
    const script = [
      'set -euo pipefail',
      'x=$(tr -d "a" <f) # comment with fakecmd',
      'if [[ -f a ]] && grep -q b c; then mv a b; fi',
      'helper() { rm -f z; }',
      'helper',
      'echo "not a command: curl"',
      "printf '%s' 'jq is text here'",
      'mysql -h h <<SQL',
      'SELECT 1;',
      'SQL',
      'FOO=1 sleep 1 | sort',
      'exec socat -U "$listen" "SYSTEM:xtrabackup --backup"',
      'socat -U "$listen" "SYSTEM:read -r t v <$F && test x\\$v = xready && exec gzip -c"',
      'for ((n = 1; ; n++)); do ((n > 2)) && break; done',
      'local a=${b[c]:-0} d',
      'local e=() f g=(h i) j; k+=(l) && sort -u m',
      'case $x in',
      '  first) y=1 ;;',
      '  *) cat z ;;',
      'esac',
    ].join('\n');
    expect([...commandsOf(script)].sort()).toEqual(
      ['cat', 'grep', 'gzip', 'mv', 'mysql', 'rm', 'sh', 'sleep', 'socat', 'sort', 'tr', 'xtrabackup'].sort(),
    );
  });
});
