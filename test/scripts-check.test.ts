import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkScript, readScript, ScriptError } from '../charts/scripts';

/** Scripts are checked at synth: a broken one fails the synth, not the pod. */
describe('checkScript', () => {
  const file = path.join(os.tmpdir(), 'check-script-test.sh');
  const rel = path.relative(process.cwd(), file);

  test('fails if a script is empty', () => {
    expect(() => checkScript(file, ' \n\n')).toThrow(ScriptError);
    expect(() => checkScript(file, '')).toThrow(`${rel} is empty; a pod would run nothing.`);
  });
  test('fails if a script has CRLF line endings, naming the first line', () => {
    expect(() => checkScript(file, '#!/bin/bash\nset -e\r\nif true; then\r\n  :\r\nfi\r\n')).toThrow(
      `${rel} has CRLF line endings (first at line 2);`,
    );
  });
  test('fails if a script has a bash syntax error, with bash’s own message and line', () => {
    expect(() => checkScript(file, '#!/bin/bash\nif true; then\n  echo hi\nfi fi\n')).toThrow(
      new RegExp(
        `^${rel.replace(/[.]/g, '\\.')} fails \`bash -n\`: ${rel.replace(/[.]/g, '\\.')} line 4: syntax error`,
      ),
    );
  });
  test('accepts a well-formed script', () => {
    expect(checkScript(file, '#!/bin/bash\nset -eu\necho ok\n')).toBe('#!/bin/bash\nset -eu\necho ok\n');
  });
  test('every real script passes', () => {
    for (const flavor of ['mysql57', 'mysql84'] as const)
      for (const name of ['init-mysql', 'clone-mysql', 'xtrabackup-sidecar'] as const)
        expect(readScript(name, flavor)).toMatch(/^#!\/usr\/bin\/env bash\n/);
  });
  test('.gitattributes keeps shell scripts at LF on every checkout', () => {
    const attrs = fs.readFileSync(path.join(__dirname, '..', '.gitattributes'), 'utf8');
    expect(attrs).toMatch(/^\*\.sh text eol=lf$/m);
  });
});
