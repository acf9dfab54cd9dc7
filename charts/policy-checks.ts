import * as k8s from '../imports/k8s';

/**
 * Exemptions from Fairwinds Polaris' checks (README, "Policy checks"), computed from the pod spec as
 * built, so that an exemption is written only while its reason holds: a container added later, or a
 * config that breaks the reason (a floating tag, a literal password), gets no exemption and Polaris
 * reports it. Each exemption is Polaris' own annotation on the controller,
 * `polaris.fairwinds.com/<check>-exempt: "true"` (Polaris v10.2.2, pkg/validator/schema.go
 * hasExemptionAnnotation), next to `polaris.fairwinds.com/<check>-exempt-reason`, which Polaris ignores
 * and a reviewer reads.
 */
export const exemptAnnotation = (check: string) => `polaris.fairwinds.com/${check}-exempt`;
export const reasonAnnotation = (check: string) => `polaris.fairwinds.com/${check}-exempt-reason`;

/**
 * Environment variable names Polaris' sensitiveContainerEnvVar check flags when they carry a literal
 * `value` (pkg/config/checks/sensitiveContainerEnvVar.yaml at v10.2.2; RE2 `(?i)` = case-insensitive).
 */
const SENSITIVE_ENV_NAMES: readonly RegExp[] = [
  /^AWS_SECRET_ACCESS_KEY$/i,
  /^GOOGLE_APPLICATION_CREDENTIALS$/i,
  /^AZURE_.+KEY$/i,
  /^OCI_CLI_KEY_CONTENT$/i,
  /password/i,
  /token/i,
  /bearer/i,
  /secret/i,
];

/** An image reference pinned to one release: a digest, or a tag with major.minor.patch (8.4.0-6.1, 5.7.44). */
export function isPinnedImage(ref: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(ref)) return true;
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon >= 0 && /^v?\d+\.\d+\.\d+([.+_-][0-9A-Za-z.+_-]+)?$/.test(last.slice(colon + 1));
}

function allContainers(pod: k8s.PodSpec): k8s.Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/**
 * pullPolicyNotAlways: `IfNotPresent` is right when every image is pinned. `Always` makes every pod
 * start ask the registry, so a registry outage or Docker Hub's pull rate limit keeps a rescheduled
 * database pod down, and it only helps when a tag is re-pushed; a digest pin rules that out too.
 */
function pullPolicyExemption(pod: k8s.PodSpec): string | undefined {
  const containers = allContainers(pod);
  if (!containers.every((c) => c.imagePullPolicy === 'IfNotPresent' && c.image && isPinnedImage(c.image))) {
    return undefined;
  }
  const images = [...new Set(containers.map((c) => c.image!))].join(', ');
  return (
    `IfNotPresent with every image pinned to one release (${images}): a node pulls each image once; ` +
    'Always would make every pod start depend on the registry (an outage or a pull rate limit keeps a ' +
    'rescheduled database pod down) and only helps if a tag is re-pushed. Pin digests to rule that out too.'
  );
}

/**
 * sensitiveContainerEnvVar: a variable whose name looks sensitive is harmless when its value is the path
 * of a file in a mounted Secret volume (the `*_FILE` convention of the mysql image's entrypoint), not the
 * secret itself. Exempt only if every flagged variable of every container is such a path.
 */
function sensitiveEnvExemption(pod: k8s.PodSpec): string | undefined {
  const secretVolumes = new Set((pod.volumes ?? []).filter((v) => v.secret !== undefined).map((v) => v.name));
  const flagged: string[] = [];
  for (const c of allContainers(pod)) {
    const secretDirs = (c.volumeMounts ?? [])
      .filter((m) => secretVolumes.has(m.name))
      .map((m) => m.mountPath.replace(/\/$/, ''));
    for (const e of c.env ?? []) {
      if (e.value === undefined || !SENSITIVE_ENV_NAMES.some((re) => re.test(e.name))) continue;
      const isSecretFile = e.name.endsWith('_FILE') && secretDirs.some((d) => e.value!.startsWith(`${d}/`));
      if (!isSecretFile) return undefined;
      flagged.push(e.name);
    }
  }
  if (flagged.length === 0) return undefined;
  const names = [...new Set(flagged)];
  return names.length === 1
    ? `${names[0]} holds the path of a file in the Secret volume, not a secret: the script reads the password from it.`
    : `${names.join(', ')} hold paths of files in the Secret volume, not secrets: the scripts and the mysql ` +
        'image read the passwords from those files.';
}

/** What the checks on a controller other than the stack's StatefulSet need to know about it. */
export interface ComponentFacts {
  /** The controller's metadata. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The stack instance (its StatefulSet's name), which `app.kubernetes.io/instance` names. */
  readonly instance: string;
  /**
   * A NetworkPolicy of this stack selects the pods by their `app` label, with policy types Ingress and
   * Egress, egress rules and no ingress rule: nothing may connect to them.
   */
  readonly ingressDeniedByNetworkPolicy: boolean;
  /**
   * What the pods do with the Kubernetes API, when they need their ServiceAccount token: the pods' own
   * ServiceAccount is bound to a namespaced Role allowing only that.
   * @default - they need no token
   */
  readonly apiAccess?: string;
  /**
   * Why a Deployment runs exactly one replica (`replicas: 1`, strategy Recreate).
   * @default - it may run more
   */
  readonly singleReplica?: string;
}

function singleReplicaExemption(f: ComponentFacts): string | undefined {
  return f.singleReplica;
}

/**
 * metadataAndInstanceMismatched: Polaris wants each controller's `app.kubernetes.io/instance` to be its
 * own name. The label names the instance of the application (Kubernetes' recommended labels), which a
 * component such as a backup CronJob shares with the StatefulSet.
 */
function instanceExemption(f: ComponentFacts): string | undefined {
  if (f.name === f.instance || f.labels['app.kubernetes.io/instance'] !== f.instance) return undefined;
  return (
    `app.kubernetes.io/instance names the instance this ${f.name} belongs to (${f.instance}, its ` +
    "StatefulSet), as Kubernetes' recommended labels define it; Polaris expects every controller to be its own instance."
  );
}

/**
 * missingNetworkPolicy: Polaris requires a NetworkPolicy with at least one ingress rule. Pods that accept
 * no connection at all get one that denies every ingress (no rule), which its schema cannot express.
 */
function denyAllIngressExemption(f: ComponentFacts): string | undefined {
  if (!f.ingressDeniedByNetworkPolicy) return undefined;
  return (
    `The NetworkPolicy ${f.labels.app} selects these pods and denies all ingress (they accept no ` +
    'connection) and limits egress; Polaris counts only a policy with an ingress rule.'
  );
}

/**
 * automountServiceAccountToken: a pod that calls the Kubernetes API needs its token. Exempt only a pod that
 * says what it does with it (`apiAccess`) and mounts it.
 */
function apiTokenExemption(pod: k8s.PodSpec, f: ComponentFacts): string | undefined {
  if (f.apiAccess === undefined || pod.automountServiceAccountToken !== true) return undefined;
  return (
    `${f.apiAccess}: it needs its ServiceAccount's token, and its ServiceAccount ${pod.serviceAccountName} is ` +
    'bound to a Role of this namespace that allows only that.'
  );
}

/**
 * The exemption annotations (and their reasons) for a controller with this pod spec; {} when none apply.
 * `component` describes a controller other than the StatefulSet (a backup CronJob).
 */
export function polarisExemptions(pod: k8s.PodSpec, component?: ComponentFacts): Record<string, string> {
  const out: Record<string, string> = {};
  const reasons: Record<string, string | undefined> = {
    pullPolicyNotAlways: pullPolicyExemption(pod),
    sensitiveContainerEnvVar: sensitiveEnvExemption(pod),
    metadataAndInstanceMismatched: component && instanceExemption(component),
    missingNetworkPolicy: component && denyAllIngressExemption(component),
    automountServiceAccountToken: component && apiTokenExemption(pod, component),
    deploymentMissingReplicas: component && singleReplicaExemption(component),
  };
  for (const [check, reason] of Object.entries(reasons)) {
    if (reason === undefined) continue;
    out[exemptAnnotation(check)] = 'true';
    out[reasonAnnotation(check)] = reason;
  }
  return out;
}
