/**
 * What a change does to a live cluster: WARNING for changes the API server refuses on an existing object
 * (so `kubectl apply` and the Argo CD sync fail) or that lose data, NOTE for changes that restart,
 * re-create or delete the database pods.
 *
 * The immutable fields follow the API server's update validation (kubernetes/kubernetes, read through the
 * `search` tool, master as of 2025):
 * - StatefulSet: pkg/apis/apps/validation/validation.go, ValidateStatefulSetUpdate: "updates to
 *   statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy',
 *   'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden" (so volumeClaimTemplates,
 *   selector, serviceName, podManagementPolicy and revisionHistoryLimit are refused).
 * - StorageClass: pkg/apis/storage/validation/validation.go, ValidateStorageClassUpdate: parameters,
 *   provisioner, reclaimPolicy ("updates to … are forbidden") and volumeBindingMode (immutable).
 * - Service: pkg/apis/core/validation/validation.go, ValidateServiceUpdate: spec.clusterIP is immutable
 *   unless the old or the new type is ExternalName; pkg/registry/core/service/strategy.go,
 *   patchAllocatedValues: an omitted clusterIP/clusterIPs keeps the old value (so removing
 *   `clusterIP: None` is silently ignored, and the object stays out of sync).
 * - ConfigMap/Secret: ValidateConfigMapUpdate/ValidateSecretUpdate: with `immutable: true`, data,
 *   binaryData and `immutable` itself are forbidden to change.
 * - PersistentVolumeClaim: ValidatePersistentVolumeClaimUpdate: "spec is immutable after creation except
 *   resources.requests and volumeAttributesClassName for bound claims"; the storage request cannot shrink.
 * - Deployment/DaemonSet/ReplicaSet apps/v1: spec.selector is immutable (pkg/registry/apps/*\/strategy.go).
 * - PriorityClass: pkg/apis/scheduling/validation/validation.go, ValidatePriorityClassUpdate: "PriorityClass
 *   does not allow updating name, value, and preemptionPolicy".
 * A Namespace (like any object) cannot be renamed: that shows up as an added and a removed object.
 */
import type { Finding, FieldChange, Json, JsonObject, ObjectChange } from './diff-manifests';
import { apiGroup } from './diff-manifests';

type Change = Omit<ObjectChange, 'findings'>;

const STATEFULSET_MUTABLE = new Set([
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
]);

const STORAGECLASS_IMMUTABLE = ['parameters', 'provisioner', 'reclaimPolicy', 'volumeBindingMode'];

const warning = (message: string): Finding => ({ level: 'WARNING', message });
const note = (message: string): Finding => ({ level: 'NOTE', message });

function obj(v: Json | undefined): JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function get(o: Json | undefined, ...keys: string[]): Json | undefined {
  let cur: Json | undefined = o;
  for (const k of keys) cur = obj(cur)[k];
  return cur;
}

/** Top-level keys under `spec` (or at the root, with `root`) that a change touches, sorted. */
function touched(fields: readonly FieldChange[], under?: string): string[] {
  const keys = fields
    .filter((f) =>
      under ? f.path[0] === under && typeof f.path[1] === 'string' : typeof f.path[0] === 'string',
    )
    .map((f) => (under ? f.path[1] : f.path[0]) as string);
  return [...new Set(keys)].sort();
}

export function findingsFor(c: Change): Finding[] {
  const o = (c.new ?? c.old)!.object;
  const group = apiGroup(typeof o.apiVersion === 'string' ? o.apiVersion : undefined);
  const kind = `${group}/${String(o.kind)}`;
  const findings: Finding[] = [];
  switch (kind) {
    case 'apps/StatefulSet':
      findings.push(...statefulSet(c));
      break;
    case 'apps/Deployment':
    case 'apps/DaemonSet':
    case 'apps/ReplicaSet':
      if (c.change === 'changed' && touched(c.fields, 'spec').includes('selector')) {
        findings.push(
          warning(`spec.selector is immutable on a live ${String(o.kind)}: the update is refused.`),
        );
      }
      break;
    case '/Service':
      findings.push(...service(c));
      break;
    case 'storage.k8s.io/StorageClass':
      findings.push(...storageClass(c));
      break;
    case 'scheduling.k8s.io/PriorityClass':
      findings.push(...priorityClass(c));
      break;
    case '/ConfigMap':
      findings.push(...primaryMoves(c), ...configMapOrSecret(c, String(o.kind)));
      break;
    case '/Secret':
      findings.push(...configMapOrSecret(c, String(o.kind)));
      break;
    case 'batch/Job':
      findings.push(...failoverSwitch(c));
      break;
    case '/PersistentVolumeClaim':
      findings.push(...claim(c));
      break;
    case '/Namespace':
      if (c.change === 'removed') {
        findings.push(
          warning(
            'removing the Namespace deletes every object in it, including the PersistentVolumeClaims; with ' +
              'reclaimPolicy Delete their volumes and the data are deleted too. (A rename is this removal plus an addition.)',
          ),
        );
      }
      break;
  }
  return findings;
}

function statefulSet(c: Change): Finding[] {
  const name = String(get(c.old?.object ?? c.new!.object, 'metadata', 'name'));
  if (c.change === 'added') return [];
  const oldSpec = obj(get(c.old!.object, 'spec'));
  const claims = (spec: JsonObject) =>
    (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []).map((t) =>
      String(get(t, 'metadata', 'name')),
    );
  if (c.change === 'removed') {
    const whenDeleted = get(oldSpec, 'persistentVolumeClaimRetentionPolicy', 'whenDeleted') ?? 'Retain';
    const fate =
      whenDeleted === 'Delete'
        ? 'its claims are deleted too (persistentVolumeClaimRetentionPolicy.whenDeleted: Delete)'
        : 'its claims are kept';
    return [note(`removing the StatefulSet deletes all its pods (the database goes down); ${fate}.`)];
  }
  const newSpec = obj(get(c.new!.object, 'spec'));
  const out: Finding[] = [];
  const immutable = touched(c.fields, 'spec').filter((f) => !STATEFULSET_MUTABLE.has(f));
  if (immutable.length > 0) {
    const names = immutable.map((f) => `spec.${f}`).join(', ');
    let msg =
      `${names} cannot be changed on a live StatefulSet: the API server refuses the update ("updates ` +
      `to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', ` +
      `'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"), so the sync fails. ` +
      `To apply it, delete the StatefulSet with --cascade=orphan (pods and claims stay) and let it be re-created.`;
    if (immutable.includes('volumeClaimTemplates')) {
      msg +=
        ' Existing claims never change with the template: to grow a volume, edit each claim (the ' +
        'StorageClass needs allowVolumeExpansion: true).';
    }
    out.push(warning(msg));
  }
  if (touched(c.fields, 'spec').includes('template')) {
    const strategy = get(newSpec, 'updateStrategy', 'type') ?? 'RollingUpdate';
    const partition = get(newSpec, 'updateStrategy', 'rollingUpdate', 'partition');
    out.push(
      note(
        strategy === 'OnDelete'
          ? 'spec.template changed: with updateStrategy OnDelete, each database pod takes the change only when it is deleted.'
          : 'spec.template changed: every database pod is re-created, one at a time from the highest ordinal ' +
              `(rolling update${typeof partition === 'number' && partition > 0 ? `, ordinals >= ${partition} only` : ''}).`,
      ),
    );
  }
  const oldReplicas = typeof oldSpec.replicas === 'number' ? oldSpec.replicas : 1;
  const newReplicas = typeof newSpec.replicas === 'number' ? newSpec.replicas : 1;
  if (oldReplicas !== newReplicas) {
    const pods = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => `${name}-${from + i}`).join(', ');
    if (newReplicas > oldReplicas) {
      out.push(note(`replicas ${oldReplicas} → ${newReplicas}: creates ${pods(oldReplicas, newReplicas)}.`));
    } else {
      const whenScaled = get(newSpec, 'persistentVolumeClaimRetentionPolicy', 'whenScaled') ?? 'Retain';
      const claimNames = claims(newSpec).flatMap((t) =>
        Array.from({ length: oldReplicas - newReplicas }, (_, i) => `${t}-${name}-${newReplicas + i}`),
      );
      const fate = claimNames.length
        ? whenScaled === 'Delete'
          ? `; their claims (${claimNames.join(', ')}) are deleted (whenScaled: Delete)`
          : `; their claims (${claimNames.join(', ')}) are kept`
        : '';
      out.push(
        note(
          `replicas ${oldReplicas} → ${newReplicas}: deletes ${pods(newReplicas, oldReplicas)}, highest ordinal first${fate}.`,
        ),
      );
    }
  }
  return out;
}

function service(c: Change): Finding[] {
  if (c.change !== 'changed') return [];
  const oldType = get(c.old!.object, 'spec', 'type') ?? 'ClusterIP';
  const newType = get(c.new!.object, 'spec', 'type') ?? 'ClusterIP';
  if (oldType === 'ExternalName' || newType === 'ExternalName') return [];
  const fields = touched(c.fields, 'spec').filter((f) => f === 'clusterIP' || f === 'clusterIPs');
  return fields.map((f) =>
    warning(
      `spec.${f} is immutable once set: a new value is refused ("field is immutable") and a removed one is ` +
        'ignored (the old value is kept, so Argo CD shows the Service out of sync). Delete and re-create the Service.',
    ),
  );
}

function storageClass(c: Change): Finding[] {
  if (c.change === 'removed') {
    return [
      note(
        'removing the StorageClass does not touch existing volumes, but new claims (a scale-up) stay Pending ' +
          'until it exists again.',
      ),
    ];
  }
  if (c.change !== 'changed') return [];
  return touched(c.fields)
    .filter((f) => STORAGECLASS_IMMUTABLE.includes(f))
    .map((f) =>
      warning(
        `${f} of a StorageClass cannot be updated: the API server refuses it. Delete and re-create the ` +
          'StorageClass (existing volumes keep the settings they were created with).',
      ),
    );
}

function priorityClass(c: Change): Finding[] {
  if (c.change === 'removed') {
    return [
      warning(
        'removing the PriorityClass leaves running pods alone, but no pod that names it can be created again ' +
          '(a restarted or rescheduled database pod stays missing) until it exists again.',
      ),
    ];
  }
  if (c.change !== 'changed') return [];
  return touched(c.fields)
    .filter((f) => f === 'value' || f === 'preemptionPolicy')
    .map((f) =>
      warning(
        `${f} of a PriorityClass cannot be updated: the API server refuses it. Create a class under a new ` +
          'name and point priorityClass.name at it (pods keep the priority they were created with).',
      ),
    );
}

/**
 * The `<name>-primary` ConfigMap (charts/switchover-chart.ts) holds the primary's ordinal: a change of it is
 * a switchover, run by the `<name>-switchover` Job before the Service and the ConfigMap change.
 */
function primaryMoves(c: Change): Finding[] {
  if (c.change !== 'changed') return [];
  const name = String(get(c.new!.object, 'metadata', 'name'));
  const before = get(c.old!.object, 'data', 'ordinal');
  const after = get(c.new!.object, 'data', 'ordinal');
  if (
    !name.endsWith('-primary') ||
    typeof before !== 'string' ||
    typeof after !== 'string' ||
    before === after
  )
    return [];
  const sts = name.slice(0, -'-primary'.length);
  return [
    note(
      `this PR performs a SWITCHOVER: the primary moves from ${sts}-${before} to ${sts}-${after}. The Job ` +
        `${sts}-switchover (an Argo CD Sync hook before the StatefulSet) fences ${sts}-${before} (super_read_only, ` +
        `client connections killed), waits for ${sts}-${after} to apply every transaction, promotes it and repoints ` +
        `the others; writes are refused meanwhile (seconds), and it refuses, changing nothing, if ${sts}-${after} ` +
        'lags or is broken. Without Argo CD, run the Job first (README "Planned switchover").',
    ),
  ];
}

/** The switchover Job's FAILOVER: promoting without the old primary can lose what it alone had. */
function failoverSwitch(c: Change): Finding[] {
  if (c.change === 'removed') return [];
  const failover = (o: Json | undefined) => {
    const containers = get(o, 'spec', 'template', 'spec', 'containers');
    for (const ct of Array.isArray(containers) ? containers : []) {
      const env = get(ct, 'env');
      for (const e of Array.isArray(env) ? env : [])
        if (get(e, 'name') === 'FAILOVER') return get(e, 'value');
    }
    return undefined;
  };
  if (failover(c.new!.object) !== 'true' || (c.old && failover(c.old.object) === 'true')) return [];
  return [
    note(
      'failover: true: if the current primary does not answer, the switchover Job promotes the configured primary ' +
        'without it (if that replica is the most advanced); writes the old primary acknowledged and no replica ' +
        'received are lost (asynchronous replication). Set it back to false once done (README "Failover").',
    ),
  ];
}

function configMapOrSecret(c: Change, kind: string): Finding[] {
  if (c.change !== 'changed') return [];
  const out: Finding[] = [];
  const dataFields = touched(c.fields).filter(
    (f) => f === 'data' || f === 'binaryData' || f === 'stringData',
  );
  if (get(c.old!.object, 'immutable') === true) {
    for (const f of [...dataFields, ...touched(c.fields).filter((x) => x === 'immutable')]) {
      out.push(
        warning(
          `${f} of an immutable ${kind} cannot be changed: the update is refused. Create a new ${kind} instead.`,
        ),
      );
    }
  } else if (dataFields.length > 0) {
    out.push(
      note(
        `running pods are not restarted by a ${kind} change: mounted files update after a delay, and what ` +
          'was read or copied at start (env, init containers, a server config) changes only when the pods restart.',
      ),
    );
  }
  return out;
}

function claim(c: Change): Finding[] {
  if (c.change === 'removed') {
    return [
      warning('removing the claim deletes its volume when the reclaimPolicy is Delete: the data is lost.'),
    ];
  }
  if (c.change !== 'changed') return [];
  const specFields = c.fields.filter((f) => f.path[0] === 'spec');
  const other = specFields.filter(
    (f) =>
      !(f.path[1] === 'resources' && f.path[2] === 'requests') && f.path[1] !== 'volumeAttributesClassName',
  );
  return other.length > 0
    ? [
        warning(
          "a claim's spec is immutable after creation except resources.requests and volumeAttributesClassName: the update is refused.",
        ),
      ]
    : [];
}
