/**
 * The "cluster" of one run: the pod network, DNS (per-pod /etc/hosts files following the headless Service's
 * Ready endpoints), the StatefulSet controller (OrderedReady, stable names and claims) and ad-hoc client pods
 * (`kubectl run mysql-client …`).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FlavorAdapter } from '../adapters/types';
import type { EnvVar, Manifests, PodSpec, StatefulSet } from './manifest';
import type { ResourceTracker } from './tracker';
import { IpFamily, PodNetwork } from './network';
import { ClusterContext, Pod } from './pod';
import { sleep, waitFor } from './proc';
import { updateProjectedVolume } from './kube';
import type { RunResult } from './proc';

/**
 * Rewrites a file that containers bind-mount (so it cannot be replaced by a rename) without ever leaving it empty:
 * writeFileSync truncates first, and a resolver reading meanwhile (a concurrent `kubectl exec`) found no name at all
 * (ERROR 2005 Unknown server host). Unchanged content is not written.
 */
function rewriteInPlace(file: string, content: string): void {
  const fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
  try {
    const data = Buffer.from(content);
    const old = Buffer.alloc(data.length + 1);
    if (fs.readSync(fd, old, 0, old.length, 0) === data.length && old.subarray(0, data.length).equals(data))
      return;
    fs.writeSync(fd, data, 0, data.length, 0);
    fs.ftruncateSync(fd, data.length);
  } finally {
    fs.closeSync(fd);
  }
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Pods, DNS and the StatefulSet controller of one run. */
export class Cluster {
  readonly pods = new Set<Pod>();
  readonly ctx: ClusterContext;
  /** The objects of every namespace besides the run's own (e.g. a stack restored into a new namespace). */
  private readonly otherNamespaces = new Map<string, Manifests>();

  private constructor(
    readonly tracker: ResourceTracker,
    readonly network: PodNetwork,
    readonly adapter: FlavorAdapter,
    readonly manifests: Manifests,
    readonly runDir: string,
    readonly namespace: string,
    log: (line: string) => void,
  ) {
    this.ctx = { tracker, network, adapter, manifests, runDir, log, onPodChange: () => this.writeHosts() };
  }

  static async create(
    tracker: ResourceTracker,
    adapter: FlavorAdapter,
    manifests: Manifests,
    runDir: string,
    namespace: string,
    log: (line: string) => void,
    family: IpFamily = 'ipv4',
  ): Promise<Cluster> {
    const network = await PodNetwork.create(tracker, family);
    return new Cluster(tracker, network, adapter, manifests, runDir, namespace, log);
  }

  /**
   * Rewrites every pod's /etc/hosts: the kubelet's own lines, then what cluster DNS would answer. A headless
   * Service gives `<pod>.<service>` records for Ready pods only, or for every pod with an IP when it sets
   * `publishNotReadyAddresses`; a ClusterIP Service name resolves to one Ready endpoint picked at random at write
   * time (standing in for kube-proxy's per-connection choice). The file is rewritten in place because containers
   * bind-mount it.
   */
  writeHosts(): void {
    const everywhere = [...this.pods].filter((p) => p.phase !== 'Deleted' && p.ip);
    for (const pod of everywhere) {
      // Cluster DNS answers a short name from the pod's own namespace (its search path).
      const ns = pod.opts.namespace;
      const live = everywhere.filter((p) => p.opts.namespace === ns);
      const services = this.manifestsOf(ns).services(ns);
      const lines = [
        '# Kubernetes-managed hosts file (e2e harness).',
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
      ];
      const sub = pod.opts.spec.subdomain;
      lines.push(
        sub
          ? `${pod.ip}\t${pod.hostname}.${sub}.${ns}.svc.cluster.local\t${pod.hostname}`
          : `${pod.ip}\t${pod.hostname}`,
      );
      lines.push(
        '# cluster DNS (emulated): Ready endpoints (and not-ready ones where publishNotReadyAddresses)',
      );
      for (const svc of services) {
        const published = svc.spec.clusterIP === 'None' && svc.spec.publishNotReadyAddresses;
        const ready = live.filter(
          (p) =>
            (published || p.ready) && p.phase !== 'Terminating' && matches(svc.spec.selector, p.opts.labels),
        );
        const names = (n: string) => [n, `${n}.${ns}`, `${n}.${ns}.svc`, `${n}.${ns}.svc.cluster.local`];
        if (svc.spec.clusterIP === 'None') {
          for (const p of ready) {
            if (p.opts.spec.subdomain === svc.metadata.name) {
              lines.push(`${p.ip}\t${names(`${p.hostname}.${svc.metadata.name}`).join('\t')}`);
            }
          }
          for (const p of ready) lines.push(`${p.ip}\t${names(svc.metadata.name).join('\t')}`);
        } else if (ready.length) {
          const pick = ready[Math.floor(Math.random() * ready.length)];
          lines.push(`${pick.ip}\t${names(svc.metadata.name).join('\t')}`);
        }
      }
      try {
        rewriteInPlace(pod.files.hosts, lines.join('\n') + '\n');
      } catch {
        /* pod directory removed meanwhile */
      }
    }
  }

  /** Adds another namespace's objects (its Services answer DNS for the pods of that namespace). */
  addNamespace(namespace: string, manifests: Manifests): void {
    this.otherNamespaces.set(namespace, manifests);
  }

  /**
   * `kubectl apply` of changed objects in a namespace (the run's own included): Services answer DNS with their new
   * selectors at once, and every container started from now on, in new pods and in running ones, reads
   * ConfigMaps and Secrets from `manifests` (the kubelet resolves env and volumes when it creates a container).
   */
  replaceManifests(namespace: string, manifests: Manifests): void {
    this.otherNamespaces.set(namespace, manifests);
    for (const pod of this.pods)
      if (pod.opts.namespace === namespace) {
        pod.opts.manifests = manifests;
        // The kubelet updates the ConfigMap volumes of running pods (no subPath) in place.
        pod.refreshConfigMapVolumes();
      }
    this.writeHosts();
  }

  /** The objects of a namespace. */
  manifestsOf(namespace: string): Manifests {
    return this.otherNamespaces.get(namespace) ?? this.manifests;
  }

  /**
   * Runs one pod of a Job (restartPolicy Never) to completion, like the Job controller's first attempt: resolves
   * with its phase, or rejects after `timeoutMs`. The pod is deleted afterwards; its logs stay until cleanup.
   */
  async runJobPod(
    name: string,
    namespace: string,
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec },
    timeoutMs: number,
    /** Claim directories by volume name. @default none */
    claims: Record<string, string> = {},
  ): Promise<{ phase: 'Succeeded' | 'Failed'; pod: Pod }> {
    if (template.spec.restartPolicy !== 'Never')
      throw new Error(`${name}: a Job pod needs restartPolicy Never`);
    const pod = new Pod(this.ctx, {
      name,
      namespace,
      labels: template.metadata?.labels ?? {},
      spec: template.spec,
      claims,
      manifests: this.manifestsOf(namespace),
    });
    await this.startPod(pod);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${name} did not finish in ${timeoutMs / 1000}s`)),
        timeoutMs,
      );
    });
    try {
      const phase = await Promise.race([pod.finished, timeout]);
      return { phase, pod };
    } finally {
      clearTimeout(timer);
      await this.deletePod(pod, 5);
    }
  }

  /**
   * `kubectl replace` of a changed Secret: its data becomes exactly `values` (as `kubectl create secret generic
   * --dry-run=client -o yaml | kubectl replace -f -` makes it), and every running pod's volume of it is updated
   * in place (no subPath), one pod after another in `order` (pod names; default: every pod at once) with `gapMs`
   * between them: the kubelets of different nodes see an update at different times (their sync period plus the
   * cache TTL, up to about a minute on a real cluster). Environment variables taken from it keep their old values
   * until the container is recreated, as in Kubernetes.
   */
  async updateSecret(
    namespace: string,
    name: string,
    values: Record<string, string>,
    order: string[] = [],
    gapMs = 0,
  ): Promise<string[]> {
    const secret = this.manifestsOf(namespace).objects.find(
      (o) => o.kind === 'Secret' && o.metadata.namespace === namespace && o.metadata.name === name,
    );
    if (!secret) throw new Error(`no Secret ${namespace}/${name} to update`);
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) data[k] = Buffer.from(v, 'utf8').toString('base64');
    (secret as { data?: Record<string, string> }).data = data;
    delete (secret as { stringData?: unknown }).stringData;
    const live = [...this.pods].filter((p) => p.phase !== 'Deleted' && p.opts.namespace === namespace);
    const ranked = (p: Pod) => (order.includes(p.name) ? order.indexOf(p.name) : order.length);
    const updated: string[] = [];
    for (const pod of live.sort((a, b) => ranked(a) - ranked(b))) {
      for (const v of pod.opts.spec.volumes ?? []) {
        if (v.secret?.secretName !== name) continue;
        const mode = v.secret.defaultMode ?? 0o644;
        const items = v.secret.items ?? Object.keys(values).map((key) => ({ key, path: key, mode }));
        updateProjectedVolume(
          path.join(pod.dir, 'volumes', v.name),
          items
            .filter((i) => values[i.key] !== undefined)
            .map((i) => ({ path: i.path, content: values[i.key], mode: i.mode ?? mode })),
        );
        updated.push(`${pod.name}/${v.name}`);
      }
      if (gapMs && ranked(pod) < order.length) await sleep(gapMs);
    }
    return updated;
  }

  /** Starts a pod and registers it for DNS. */
  async startPod(pod: Pod): Promise<void> {
    this.pods.add(pod);
    await pod.start();
  }

  /** Deletes a pod (claims stay). */
  async deletePod(pod: Pod, graceSeconds: number): Promise<void> {
    await pod.delete(graceSeconds);
    this.pods.delete(pod);
    this.writeHosts();
  }

  /** Stops every pod (end of run). */
  async shutdown(): Promise<void> {
    await Promise.all([...this.pods].map((p) => this.deletePod(p, 1)));
  }
}

/** The StatefulSet controller with podManagementPolicy OrderedReady. */
export class StatefulSetController {
  readonly pods = new Map<number, Pod>();
  readonly claimsDir: string;
  replicas: number;

  readonly namespace: string;

  constructor(
    private readonly cluster: Cluster,
    readonly sts: StatefulSet,
  ) {
    this.replicas = sts.spec.replicas ?? 1;
    this.namespace = sts.metadata.namespace ?? cluster.namespace;
    // The run's own namespace keeps claims/ (the steps and the secret scan name it); others get claims-<ns>/.
    this.claimsDir = path.join(
      cluster.runDir,
      this.namespace === cluster.namespace ? 'claims' : `claims-${this.namespace}`,
    );
    if ((sts.spec.podManagementPolicy ?? 'OrderedReady') !== 'OrderedReady') {
      throw new Error('only podManagementPolicy OrderedReady is emulated');
    }
  }

  get name(): string {
    return this.sts.metadata.name;
  }

  /** The claim directory `<template>-<sts>-<ordinal>` (created on first use, like a fresh ext4 volume). */
  claimDir(template: string, ordinal: number): string {
    const dir = path.join(this.claimsDir, `${template}-${this.name}-${ordinal}`);
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(path.join(dir, 'lost+found'), { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o755);
    }
    return dir;
  }

  /** Claims that exist (like `kubectl get pvc -l app=mysql`). */
  claims(): string[] {
    return fs.existsSync(this.claimsDir) ? fs.readdirSync(this.claimsDir).sort() : [];
  }

  /** The pod of an ordinal. */
  pod(ordinal: number): Pod {
    const pod = this.pods.get(ordinal);
    if (!pod) throw new Error(`${this.name}-${ordinal} does not exist`);
    return pod;
  }

  /**
   * Drives the pods towards `replicas` the OrderedReady way: create missing ordinals lowest first, each only once
   * every lower ordinal is Ready; delete surplus ordinals highest first, each after the previous is gone.
   * Resolves when the set is complete and Ready (or rejects after `timeoutMs`).
   */
  async reconcile(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const ordinal of [...this.pods.keys()].sort((a, b) => b - a)) {
      if (ordinal >= this.replicas) await this.deletePod(ordinal);
    }
    for (let ordinal = 0; ordinal < this.replicas; ordinal++) {
      if (!this.pods.has(ordinal)) await this.createPod(ordinal);
      const pod = this.pod(ordinal);
      await waitFor(`${pod.name} to be Ready`, Math.max(1, deadline - Date.now()), () => pod.ready, 100);
    }
  }

  /** Sets replicas and reconciles (`kubectl scale` + `kubectl rollout status`). */
  async scale(replicas: number, timeoutMs: number): Promise<void> {
    this.replicas = replicas;
    await this.reconcile(timeoutMs);
  }

  /** `kubectl delete pod`: the pod goes, its claim stays; the next reconcile recreates it. */
  async deletePod(ordinal: number): Promise<void> {
    const pod = this.pod(ordinal);
    this.pods.delete(ordinal);
    await this.cluster.deletePod(pod, this.sts.spec.template.spec.terminationGracePeriodSeconds ?? 30);
  }

  /**
   * The pod's node is lost: every process of the pod is killed at once (SIGKILL, no grace), and the controller
   * does not recreate it until {@link startPod} or {@link reconcile} (a pod on a lost node stays until then).
   */
  async killPod(ordinal: number): Promise<void> {
    const pod = this.pod(ordinal);
    this.pods.delete(ordinal);
    await this.cluster.deletePod(pod, 0);
  }

  /** `kubectl delete pvc data-<name>-N` (after its pod is gone): the claim and its data go. */
  deleteClaim(template: string, ordinal: number): void {
    if (this.pods.has(ordinal)) throw new Error(`${this.name}-${ordinal} still uses its claim`);
    fs.rmSync(path.join(this.claimsDir, `${template}-${this.name}-${ordinal}`), {
      recursive: true,
      force: true,
    });
  }

  /** Creates a missing pod without waiting for it to be Ready (the controller's next step, observed). */
  async startPod(ordinal: number): Promise<void> {
    if (this.pods.has(ordinal)) throw new Error(`${this.name}-${ordinal} exists`);
    await this.createPod(ordinal);
  }

  private async createPod(ordinal: number): Promise<void> {
    const template = this.sts.spec.template;
    const spec: PodSpec = {
      ...template.spec,
      hostname: `${this.name}-${ordinal}`,
      subdomain: this.sts.spec.serviceName,
    };
    const claims: Record<string, string> = {};
    for (const t of this.sts.spec.volumeClaimTemplates ?? [])
      claims[t.metadata.name] = this.claimDir(t.metadata.name, ordinal);
    const pod = new Pod(this.cluster.ctx, {
      name: `${this.name}-${ordinal}`,
      namespace: this.namespace,
      // The StatefulSet controller's own labels on every pod (Services such as <name>-primary select them).
      labels: {
        ...template.metadata.labels,
        'statefulset.kubernetes.io/pod-name': `${this.name}-${ordinal}`,
        'apps.kubernetes.io/pod-index': String(ordinal),
      },
      spec,
      claims,
      manifests: this.cluster.manifestsOf(this.namespace),
    });
    this.pods.set(ordinal, pod);
    await this.cluster.startPod(pod);
  }
}

/**
 * `kubectl run mysql-client --image=… --rm --restart=Never -- CMD`, simplified: one client pod (same image
 * emulation, own network namespace and /etc/hosts) whose container idles; every command is an exec into it, and
 * the hosts files are rewritten first, so `mysql-read` picks a Ready endpoint anew for every command.
 */
export class ClientPod {
  private pod?: Pod;
  private runs = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly image: string,
    private readonly env: EnvVar[] = [],
    /** @default the run's namespace */
    private readonly namespace = cluster.namespace,
  ) {}

  /** Runs `argv` with `input` on stdin in a new container of the client pod and returns its output. */
  async run(argv: string[], input = '', timeoutMs = 20_000): Promise<RunResult> {
    if (!this.pod) {
      this.pod = new Pod(this.cluster.ctx, {
        name: 'mysql-client',
        namespace: this.namespace,
        labels: { run: 'mysql-client' },
        manifests: this.cluster.manifestsOf(this.namespace),
        spec: {
          containers: [
            { name: 'mysql-client', image: this.image, command: ['sleep', 'infinity'], env: this.env },
          ],
        },
        claims: {},
      });
      await this.cluster.startPod(this.pod);
      await waitFor('mysql-client pod', 10_000, () => this.pod?.ready, 50);
    }
    this.cluster.writeHosts();
    this.runs++;
    return this.pod.container('mysql-client').exec(argv, timeoutMs, input);
  }

  /** The pause process holding the client pod's network namespace (0 before the first run). */
  get sandboxPid(): number {
    return this.pod?.sandboxPid ?? 0;
  }

  /** Deletes the client pod. */
  async delete(): Promise<void> {
    if (this.pod) await this.cluster.deletePod(this.pod, 1);
    this.pod = undefined;
  }
}
