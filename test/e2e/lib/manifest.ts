/**
 * Reads the synthesized manifests of one profile from dist/<profile>/ (never a copy) and gives typed access to the
 * parts a kubelet and the StatefulSet controller need.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';

/** Minimal Kubernetes object shape. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface EnvFromSource {
  prefix?: string;
  secretRef?: { name: string; optional?: boolean };
  configMapRef?: { name: string; optional?: boolean };
}

export interface Probe {
  exec?: { command: string[] };
  /** An HTTP GET from the node to the pod's IP; `port` a number or a container port's name. */
  httpGet?: { path?: string; port: number | string; scheme?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  supplementalGroups?: number[];
  capabilities?: { add?: string[]; drop?: string[] };
  readOnlyRootFilesystem?: boolean;
  runAsNonRoot?: boolean;
  allowPrivilegeEscalation?: boolean;
  seccompProfile?: { type: string };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumeMounts?: VolumeMount[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: SecurityContext;
  ports?: { name?: string; containerPort: number }[];
}

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface Volume {
  name: string;
  emptyDir?: Record<string, unknown>;
  configMap?: { name: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  secret?: { secretName: string; items?: KeyToPath[]; defaultMode?: number; optional?: boolean };
  /** A generic ephemeral volume: a claim created with the pod and deleted with it. */
  ephemeral?: { volumeClaimTemplate: { spec: Record<string, unknown> } };
}

export interface PodSpec {
  initContainers?: ContainerSpec[];
  containers: ContainerSpec[];
  volumes?: Volume[];
  securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number;
  hostname?: string;
  subdomain?: string;
  /** Always (the default) or Never (Job pods; OnFailure is not emulated). */
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  serviceAccountName?: string;
}

export interface StatefulSet extends KObject {
  spec: {
    replicas?: number;
    serviceName: string;
    podManagementPolicy?: string;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string; labels?: Record<string, string> } }[];
  };
}

export interface Service extends KObject {
  spec: {
    clusterIP?: string;
    selector?: Record<string, string>;
    ports: { port: number; name?: string }[];
    publishNotReadyAddresses?: boolean;
  };
}

/** Every object of a profile, as synthesized. */
export class Manifests {
  constructor(
    readonly dir: string,
    readonly objects: KObject[],
  ) {}

  /** Loads every *.yaml file of `dist/<profile>/` (multi-document files included). */
  static load(repoRoot: string, profile: string): Manifests {
    return Manifests.loadDir(path.join(repoRoot, 'dist', profile));
  }

  /** Loads every *.yaml file of a folder of synthesized manifests. */
  static loadDir(dir: string): Manifests {
    if (!fs.existsSync(dir)) throw new Error(`no synthesized manifests in ${dir} (run \`npm run synth\`)`);
    const objects: KObject[] = [];
    for (const file of fs.readdirSync(dir).sort()) {
      if (!/\.ya?ml$/.test(file)) continue;
      for (const doc of yaml.loadAll(fs.readFileSync(path.join(dir, file), 'utf8'))) {
        if (doc && typeof doc === 'object') objects.push(doc as KObject);
      }
    }
    return new Manifests(dir, objects);
  }

  /** The object of a kind and name, or an error. */
  get<T extends KObject = KObject>(kind: string, name: string): T {
    const found = this.objects.filter((o) => o.kind === kind && o.metadata.name === name);
    if (found.length !== 1)
      throw new Error(`expected one ${kind} ${name} in ${this.dir}, found ${found.length}`);
    return found[0] as T;
  }

  /** The one StatefulSet of the profile. */
  statefulSet(): StatefulSet {
    const sets = this.objects.filter((o) => o.kind === 'StatefulSet') as StatefulSet[];
    if (sets.length !== 1)
      throw new Error(`expected exactly one StatefulSet in ${this.dir}, found ${sets.length}`);
    return sets[0];
  }

  /** Services of a namespace. */
  services(namespace: string): Service[] {
    return this.objects.filter(
      (o) => o.kind === 'Service' && o.metadata.namespace === namespace,
    ) as Service[];
  }

  /** A ConfigMap's data, or undefined. */
  configMap(namespace: string, name: string): Record<string, string> | undefined {
    const cm = this.find('ConfigMap', namespace, name);
    return cm ? ((cm.data as Record<string, string>) ?? {}) : undefined;
  }

  /** A Secret's decoded data (data is base64, stringData is plain), or undefined. */
  secret(namespace: string, name: string): Record<string, string> | undefined {
    const secret = this.find('Secret', namespace, name);
    if (!secret) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries((secret.data as Record<string, string>) ?? {})) {
      out[k] = Buffer.from(v, 'base64').toString('utf8');
    }
    Object.assign(out, (secret.stringData as Record<string, string>) ?? {});
    return out;
  }

  /** A copy of these manifests with `extra` added (objects the user creates by hand, e.g. a Secret). */
  withObjects(extra: KObject[]): Manifests {
    return new Manifests(this.dir, [...this.objects, ...extra]);
  }

  /** A copy of these manifests with the StatefulSet replaced (for the negative control). */
  withStatefulSet(sts: StatefulSet): Manifests {
    return new Manifests(
      this.dir,
      this.objects.map((o) => (o.kind === 'StatefulSet' ? sts : o)),
    );
  }

  private find(kind: string, namespace: string, name: string): KObject | undefined {
    return this.objects.find(
      (o) => o.kind === kind && o.metadata.namespace === namespace && o.metadata.name === name,
    );
  }
}
