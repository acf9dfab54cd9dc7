import { PROFILES } from '../charts/profiles';
import { distFolders, distObjects } from './support/dist';
import { schemaProblems } from './support/k8s-schema';

test('every profile and the Argo CD Applications have a folder', () => {
  expect(distFolders()).toEqual([...Object.keys(PROFILES), 'argocd'].sort());
});

describe.each(distFolders())('dist/%s passes the Kubernetes and CRD schemas', (profile) => {
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
