import * as fs from 'fs';
import * as yaml from 'js-yaml';
import * as path from 'path';
import { PROFILES } from '../charts/profiles';
import { schemaProblems } from './support/k8s-schema';

const DIST = path.join(__dirname, '..', 'dist');

/** Every object in dist/<profile>/, as `kubectl apply -f dist/<profile>/` would read them. */
function distObjects(profile: string): Array<Record<string, unknown>> {
  const dir = path.join(DIST, profile);
  return fs
    .readdirSync(dir)
    .sort()
    .flatMap(
      (f) => yaml.loadAll(fs.readFileSync(path.join(dir, f), 'utf8')) as Array<Record<string, unknown>>,
    );
}

describe.each(Object.keys(PROFILES))('dist/%s passes the Kubernetes schemas', (profile) => {
  const objects = distObjects(profile);
  test.each(objects.map((o) => [`${o.kind}/${(o.metadata as { name: string }).name}`, o]))('%s', (_, obj) => {
    expect(schemaProblems(obj as Record<string, unknown>)).toEqual([]);
  });
});

describe('the schema check itself', () => {
  const sts = distObjects('workshop').find((o) => o.kind === 'StatefulSet')!;
  test('fails if a field is unknown', () => {
    const bad = JSON.parse(JSON.stringify(sts));
    bad.spec.template.spec.containers[0].readinessProbe.execute = { command: ['true'] };
    expect(schemaProblems(bad)).toEqual([
      'apps/v1/StatefulSet.spec.template.spec.containers[0].readinessProbe.execute: unknown field in V1Probe',
    ]);
  });
  test('fails if a field has the wrong type', () => {
    const bad = JSON.parse(JSON.stringify(sts));
    bad.spec.replicas = 'two';
    expect(schemaProblems(bad).join('\n')).toMatch(/replicas/);
  });
  test('fails if a required field is missing', () => {
    const bad = JSON.parse(JSON.stringify(sts));
    delete bad.spec.template.spec.containers[0].name;
    expect(schemaProblems(bad).join('\n')).toMatch(/name/);
  });
});
