/**
 * The Polaris evaluator (test/support/polaris/) against Polaris' own expectations: every success/failure
 * fixture Polaris v10.2.2 ships for its schema checks (third_party/polaris/test/checks/), judged as
 * Polaris' test/schema_test.go judges them (the check alone, at danger: a failure file must produce a
 * danger, a success file a success and no danger). Then the pieces: Go's template semantics, the score.
 */
import * as fs from 'fs';
import * as path from 'path';
import { GoTemplate, GoTemplateError } from './support/polaris/go-template';
import {
  audit,
  loadChecks,
  loadDefaultConfig,
  POLARIS_DIR,
  resourcesFromPath,
  resourcesFromYaml,
  score,
} from './support/polaris/polaris';

const checks = loadChecks();
const FIXTURES = path.join(POLARIS_DIR, 'test', 'checks');
/** Written in Go, not as a schema (pkg/validator/pdb_hpa_validator.go); it applies to Deployments only. */
const GO_CHECKS = ['pdbMinAvailableGreaterThanHPAMinReplicas'];

describe('Polaris check definitions (third_party/polaris, v10.2.2)', () => {
  test('all 44 checks of the default configuration are vendored, and each parses', () => {
    const conf = loadDefaultConfig();
    expect(Object.keys(conf.checks).sort()).toEqual([...checks.keys()].sort());
    expect(checks.size).toBe(44);
  });

  const cases = fs
    .readdirSync(FIXTURES)
    .filter((check) => !GO_CHECKS.includes(check))
    .flatMap((check) => fs.readdirSync(path.join(FIXTURES, check)).map((f) => [check, f] as const));
  test('every schema check has fixtures', () => {
    const withFixtures = new Set(cases.map(([c]) => c));
    const without = [...checks.keys()].filter((c) => !withFixtures.has(c) && !GO_CHECKS.includes(c));
    expect(without).toEqual([]);
    expect(cases.length).toBeGreaterThan(250);
  });
  test.each(cases)('%s: %s gives the result Polaris expects', (check, file) => {
    const resources = resourcesFromPath(path.join(FIXTURES, check, file));
    const a = audit(resources, { checks: { [check]: 'danger' }, exemptions: [] }, checks);
    expect(a.successes + a.dangers).toBeGreaterThanOrEqual(1);
    if (file.includes('failure')) expect(a.dangers).toBeGreaterThanOrEqual(1);
    else expect([a.successes >= 1, a.dangers]).toEqual([true, 0]);
  });

  test('fails if a check written in Go would have to run (it is not evaluated, not passed)', () => {
    const deployment = resourcesFromPath(path.join(FIXTURES, GO_CHECKS[0], 'failure-gt-scalar.yaml'));
    expect(() =>
      audit(deployment, { checks: { [GO_CHECKS[0]]: 'warning' }, exemptions: [] }, checks),
    ).toThrow(/written in Go .* not evaluated here/);
  });
  test('the Go check passes a Deployment that no HPA targets, as the Go code does', () => {
    const deployment = resourcesFromPath(path.join(FIXTURES, GO_CHECKS[0], 'success.hpa-no-match.yaml'));
    const a = audit(deployment, { checks: { [GO_CHECKS[0]]: 'warning' }, exemptions: [] }, checks);
    expect([a.successes, a.warnings]).toEqual([1, 0]);
  });
  test('fails if the configuration names a check that is not vendored', () => {
    expect(() => audit([], { checks: { noSuchCheck: 'danger' }, exemptions: [] }, checks)).toThrow(
      'Check noSuchCheck not found',
    );
  });
});

describe('exemptions, as Polaris reads them', () => {
  const deployment = (annotations: Record<string, string>) =>
    resourcesFromYaml(
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: web',
        '  namespace: app',
        `  annotations: ${JSON.stringify(annotations)}`,
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: web',
        '          image: nginx:1.27.0',
      ].join('\n'),
    );
  const conf = {
    checks: { pullPolicyNotAlways: 'warning', priorityClassNotSet: 'warning' } as const,
    exemptions: [],
  };
  const failing = (annotations: Record<string, string>) =>
    audit(deployment(annotations), conf, checks)
      .findings.filter((f) => !f.success)
      .map((f) => f.check);
  test('<check>-exempt: "true" (any case) drops that check only; other values do not', () => {
    expect(failing({})).toEqual(['priorityClassNotSet', 'pullPolicyNotAlways']);
    expect(failing({ 'polaris.fairwinds.com/pullPolicyNotAlways-exempt': 'True' })).toEqual([
      'priorityClassNotSet',
    ]);
    expect(failing({ 'polaris.fairwinds.com/pullPolicyNotAlways-exempt': 'yes' })).toHaveLength(2);
  });
  test('polaris.fairwinds.com/exempt drops every check; config exemptions match name prefixes', () => {
    expect(failing({ 'polaris.fairwinds.com/exempt': 'true' })).toEqual([]);
    const byConfig = audit(
      deployment({}),
      {
        ...conf,
        exemptions: [{ namespace: 'app', controllerNames: ['we'], rules: ['pullPolicyNotAlways'] }],
      },
      checks,
    );
    expect(byConfig.findings.filter((f) => !f.success).map((f) => f.check)).toEqual(['priorityClassNotSet']);
  });
});

describe('the score (pkg/validator/summary.go GetScore)', () => {
  test('successes weigh 2, warnings 1, dangers 2; truncated, 100 when nothing ran', () => {
    expect(score(0, 0, 0)).toBe(100);
    expect(score(10, 0, 0)).toBe(100);
    expect(score(59, 7, 3)).toBe(90); // dist/production before this project's fixes (issue 15)
    expect(score(35, 26, 7)).toBe(63); // dist/workshop before them
    expect(score(1, 1, 0)).toBe(66);
    expect(score(0, 0, 1)).toBe(0);
  });
});

describe("Go's text/template, as far as Polaris' checks use it", () => {
  const run = (src: string, data: unknown) => new GoTemplate(src).execute(data);
  test('fields, missing keys (<no value>), trim markers and comments', () => {
    expect(run('a {{ .x.y }} b', { x: { y: 'v' } })).toBe('a v b');
    expect(run('{{ .x.y }}', {})).toBe('<no value>');
    expect(run('a  {{- .x -}}  b', { x: 1 })).toBe('a1b');
    expect(run('a{{/* a\ncomment */}}b', {})).toBe('ab');
    expect(run('a {{- /* c */ -}} b', {})).toBe('ab');
  });
  test('if/else with and, or, not, eq, ne; Go truth', () => {
    const t = '{{ if and (ne .a "x") (not (eq .b false)) }}yes{{ else }}no{{ end }}';
    expect(run(t, { a: 'y', b: true })).toBe('yes');
    expect(run(t, { a: 'y', b: false })).toBe('no');
    expect(run(t, { a: 'y' })).toBe('yes'); // eq of a missing value is false, not an error
    expect(
      run('{{ if .m }}1{{ else }}0{{ end }}{{ if .e }}1{{ else }}0{{ end }}', { m: { k: 1 }, e: {} }),
    ).toBe('10');
    expect(run('{{ or .a .b }}', { a: '', b: 'B' })).toBe('B');
  });
  test('variables: declaration, assignment from an inner block, block scope', () => {
    const t = '{{ $v := false }}{{ if .c }}{{ $v = index .m "k" }}{{ $w := 1 }}{{ end }}{{ $v }}';
    expect(run(t, { c: true, m: { k: 'K' } })).toBe('K');
    expect(run(t, { c: false, m: {} })).toBe('false');
    expect(() => run('{{ if true }}{{ $w := 1 }}{{ end }}{{ $w }}', {})).toThrow('undefined variable: $w');
  });
  test('range over a map in sorted key order, print, hasPrefix', () => {
    expect(run('{{ range $k, $v := .l }}{{ $k }}={{ $v }};{{ end }}', { l: { b: '2', a: '1' } })).toBe(
      'a=1;b=2;',
    );
    expect(run('{{ range $k, $v := .none }}x{{ end }}', {})).toBe('');
    expect(run('{{ print "p/" .n }}', { n: 'c' })).toBe('p/c');
    expect(run('{{ if hasPrefix .n "system:" }}sys{{ end }}', { n: 'system:x' })).toBe('sys');
  });
  test('fails like Go: nil field access, mismatched eq, unsupported syntax', () => {
    expect(() => run('{{ .a.b }}', { a: null })).toThrow('nil pointer evaluating interface {}.b');
    expect(() => run('{{ eq .a 1 }}', { a: 'x' })).toThrow('incompatible types for comparison');
    expect(() => run('{{ .a | printf "%s" }}', { a: 'x' })).toThrow(GoTemplateError);
    expect(() => run('{{ with .a }}x{{ end }}', { a: 'x' })).toThrow('unsupported action');
    expect(() => run('{{ if .a }}x', { a: 'x' })).toThrow('missing {{end}}');
  });
});
