/**
 * test/support/crd-schema.ts: validation of custom resources against the vendored CRDs, including the
 * unknown fields a structural schema would silently prune.
 */
import { Testing } from 'cdk8s';
import * as path from 'path';
import { Application } from '../imports/argoproj.io';
import { VolumeSnapshotClass, VolumeSnapshotClassDeletionPolicy } from '../imports/snapshot.storage.k8s.io';
import { formatSchemaErrors, loadCrd, validateCustomResource } from './support/crd-schema';

const CRDS = path.join(__dirname, '..', 'imports', 'crds');
const applicationCrd = loadCrd(path.join(CRDS, 'application-crd.yaml'));
const snapshotClassCrd = loadCrd(path.join(CRDS, 'snapshot.storage.k8s.io_volumesnapshotclasses.yaml'));

/** A realistic per-profile Application, built with the typed construct generated from the CRD. */
function synthApplication(): Record<string, unknown> {
  const chart = Testing.chart();
  new Application(chart, 'app', {
    metadata: { name: 'mysql-workshop', namespace: 'argocd', labels: { app: 'mysql' } },
    spec: {
      project: 'default',
      source: {
        repoUrl: 'https://github.com/example/gitops.git',
        targetRevision: 'main',
        path: 'dist/workshop',
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'mysql' },
      syncPolicy: {
        automated: { prune: true, selfHeal: true },
        syncOptions: ['ServerSideApply=true'],
        retry: { limit: 5, backoff: { duration: '5s', factor: 2, maxDuration: '3m' } },
      },
      ignoreDifferences: [
        { group: 'apps', kind: 'StatefulSet', jsonPointers: ['/spec/volumeClaimTemplates'] },
      ],
    },
  });
  const [manifest] = Testing.synth(chart);
  return manifest;
}

describe('validateCustomResource: Argo CD Application', () => {
  test('a valid Application synthesized from the typed construct has no errors', () => {
    const app = synthApplication();
    // The construct renames repoUrl to the CRD's repoURL: the schema check confirms it.
    expect((app.spec as { source: Record<string, unknown> }).source.repoURL).toBe(
      'https://github.com/example/gitops.git',
    );
    const errors = validateCustomResource(app, applicationCrd);
    expect(formatSchemaErrors(errors)).toBe('');
  });

  test('an invalid Application: unknown fields, wrong types and missing required fields, with paths', () => {
    const app = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'mysql-workshop', namespace: 'argocd', label: { app: 'mysql' } },
      spec: {
        // project is required
        source: {
          repoUrl: 'https://github.com/example/gitops.git',
          path: 'dist/workshop',
          targetRevision: 3,
        },
        destination: { server: 'https://kubernetes.default.svc', namespace: 'mysql' },
        syncPolicy: { automated: { prune: 'yes', selfheal: true }, retry: { limit: '5' } },
        ignoreDifferences: [{ group: 'apps', jsonPointers: ['/spec/replicas'] }],
      },
      extra: true,
    };
    expect(validateCustomResource(app, applicationCrd)).toEqual([
      { path: 'extra', message: 'unknown field: not in the CRD schema (the API server would drop it)' },
      {
        path: 'metadata.label',
        message: 'unknown field: not in the CRD schema (the API server would drop it)',
      },
      { path: 'spec.ignoreDifferences[0].kind', message: 'required field is missing' },
      { path: 'spec.project', message: 'required field is missing' },
      // The CRD's field is repoURL: repoUrl would be pruned, and repoURL is then missing.
      { path: 'spec.source.repoURL', message: 'required field is missing' },
      {
        path: 'spec.source.repoUrl',
        message: 'unknown field: not in the CRD schema (the API server would drop it)',
      },
      { path: 'spec.source.targetRevision', message: 'must be string' },
      { path: 'spec.syncPolicy.automated.prune', message: 'must be boolean' },
      {
        path: 'spec.syncPolicy.automated.selfheal',
        message: 'unknown field: not in the CRD schema (the API server would drop it)',
      },
      { path: 'spec.syncPolicy.retry.limit', message: 'must be integer' },
    ]);
  });

  test('fields under x-kubernetes-preserve-unknown-fields are free-form', () => {
    const app = synthApplication() as { spec: { source: Record<string, unknown> } };
    app.spec.source.helm = { valuesObject: { anything: { goes: [1, 'two'] } } };
    expect(validateCustomResource(app, applicationCrd)).toEqual([]);
  });

  test('apiVersion and kind must name the CRD version', () => {
    const app = { ...synthApplication(), apiVersion: 'argoproj.io/v1', kind: 'App' };
    expect(validateCustomResource(app, applicationCrd)).toEqual([
      { path: 'apiVersion', message: 'must be "argoproj.io/v1alpha1"' },
      { path: 'kind', message: 'must be "Application"' },
    ]);
  });

  test('an unknown version is an error that lists the versions', () => {
    expect(() => validateCustomResource({}, applicationCrd, 'v9')).toThrow(
      'applications.argoproj.io: no version v9; versions: v1alpha1',
    );
  });
});

describe('validateCustomResource: other CRDs (VolumeSnapshotClass)', () => {
  test('the typed construct output is valid; an enum violation names the allowed values', () => {
    const chart = Testing.chart();
    new VolumeSnapshotClass(chart, 'snap', {
      metadata: { name: 'ebs-snapshots' },
      driver: 'ebs.csi.aws.com',
      deletionPolicy: VolumeSnapshotClassDeletionPolicy.RETAIN,
    });
    const [manifest] = Testing.synth(chart);
    expect(validateCustomResource(manifest, snapshotClassCrd)).toEqual([]);
    expect(validateCustomResource({ ...manifest, deletionPolicy: 'Keep' }, snapshotClassCrd)).toEqual([
      { path: 'deletionPolicy', message: 'must be one of "Delete", "Retain"' },
    ]);
  });
});
