/**
 * Checks synthesized Kubernetes objects against the Kubernetes OpenAPI schemas, as `kubectl apply
 * --validate=strict` would on a cluster:
 * - types, required fields, enums and formats with the validators of `kubernetes-models`;
 * - unknown fields (which those validators let through) with the field lists of the
 *   `@kubernetes/client-node` models, walked recursively.
 */
import * as client from '@kubernetes/client-node';
import * as path from 'path';
import { Crd, formatSchemaErrors, loadCrd, validateCustomResource } from './crd-schema';

/** Custom resources, checked against the CRDs vendored in imports/crds (unknown fields included). */
const CRD_FILES: Record<string, string> = {
  'snapshot.storage.k8s.io/v1/VolumeSnapshotClass': 'snapshot.storage.k8s.io_volumesnapshotclasses.yaml',
  'external-secrets.io/v1/ExternalSecret': 'external-secrets.io_externalsecrets.yaml',
  'argoproj.io/v1alpha1/Application': 'application-crd.yaml',
  'monitoring.coreos.com/v1/PodMonitor': 'monitoring.coreos.com_podmonitors.yaml',
  'monitoring.coreos.com/v1/PrometheusRule': 'monitoring.coreos.com_prometheusrules.yaml',
  'cert-manager.io/v1/Certificate': 'cert-manager.io_certificates.yaml',
  'cert-manager.io/v1/Issuer': 'cert-manager.io_issuers.yaml',
  'cert-manager.io/v1/ClusterIssuer': 'cert-manager.io_clusterissuers.yaml',
};
const crds = new Map<string, Crd>();
function crdFor(key: string): Crd | undefined {
  const file = CRD_FILES[key];
  if (!file) return undefined;
  if (!crds.has(key)) crds.set(key, loadCrd(path.join(__dirname, '..', '..', 'imports', 'crds', file)));
  return crds.get(key);
}

/** apiVersion/kind → [kubernetes-models module, @kubernetes/client-node model]. */
const KINDS: Record<string, [string, string]> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'V1Namespace'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'V1ConfigMap'],
  'v1/Secret': ['kubernetes-models/v1/Secret', 'V1Secret'],
  'v1/Service': ['kubernetes-models/v1/Service', 'V1Service'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'V1ServiceAccount'],
  'apps/v1/StatefulSet': ['kubernetes-models/apps/v1/StatefulSet', 'V1StatefulSet'],
  'batch/v1/CronJob': ['kubernetes-models/batch/v1/CronJob', 'V1CronJob'],
  'batch/v1/Job': ['kubernetes-models/batch/v1/Job', 'V1Job'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'V1Deployment'],
  'rbac.authorization.k8s.io/v1/Role': ['kubernetes-models/rbac.authorization.k8s.io/v1/Role', 'V1Role'],
  'rbac.authorization.k8s.io/v1/RoleBinding': [
    'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding',
    'V1RoleBinding',
  ],
  'storage.k8s.io/v1/StorageClass': ['kubernetes-models/storage.k8s.io/v1/StorageClass', 'V1StorageClass'],
  'scheduling.k8s.io/v1/PriorityClass': [
    'kubernetes-models/scheduling.k8s.io/v1/PriorityClass',
    'V1PriorityClass',
  ],
  'policy/v1/PodDisruptionBudget': [
    'kubernetes-models/policy/v1/PodDisruptionBudget',
    'V1PodDisruptionBudget',
  ],
  'networking.k8s.io/v1/NetworkPolicy': [
    'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    'V1NetworkPolicy',
  ],
};

/** Types whose values are leaves for the unknown-field walk. */
const LEAF = new Set(['string', 'number', 'boolean', 'Date', 'object', 'any', 'IntOrString']);

interface Attr {
  name: string;
  baseName: string;
  type: string;
}

function attributes(typeName: string): Attr[] | undefined {
  const model = (client as unknown as Record<string, { getAttributeTypeMap?: () => Attr[] }>)[typeName];
  return model?.getAttributeTypeMap?.();
}

function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || LEAF.has(type)) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1], `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [k, v] of Object.entries(value as object)) unknownFields(v, map[1], `${path}.${k}`, out);
    return;
  }
  const attrs = attributes(type);
  if (!attrs) throw new Error(`no model for type ${type} at ${path}`);
  if (typeof value !== 'object' || Array.isArray(value)) return; // a type error, reported by kubernetes-models
  for (const [key, v] of Object.entries(value as object)) {
    const attr = attrs.find((a) => a.baseName === key);
    if (!attr) out.push(`${path}.${key}: unknown field in ${type}`);
    else unknownFields(v, attr.type, `${path}.${key}`, out);
  }
}

/** The problems found in one object; empty when it is valid. */
export function schemaProblems(obj: { apiVersion?: string; kind?: string; [k: string]: unknown }): string[] {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const crd = crdFor(key);
  if (crd) {
    const errors = validateCustomResource(obj, crd, String(obj.apiVersion).split('/')[1]);
    return errors.length === 0 ? [] : [`${key}: ${formatSchemaErrors(errors)}`];
  }
  const entry = KINDS[key];
  if (!entry) return [`${key}: no schema registered in test/support/k8s-schema.ts`];
  const [modelPath, clientType] = entry;
  const problems: string[] = [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Model = Object.values(
    require(modelPath) as Record<string, new (d: unknown) => { validate(): void }>,
  )[0];
  try {
    new Model(obj).validate();
  } catch (err) {
    problems.push(`${key}: ${(err as Error).message}`);
  }
  unknownFields(obj, clientType, key, problems);
  return problems;
}
