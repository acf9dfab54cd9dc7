import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { ResolvedConfig } from './config';
import { backupNames } from './backup-chart';
import { objectLabels, selectorLabels } from './labels';
import { switchoverNames } from './switchover-chart';

export interface PolicyChartProps extends ChartProps {
  /** The validated stack config: `availability.maxUnavailable` and `networkPolicy`. */
  readonly config: ResolvedConfig;
}

/**
 * Policies around the MySQL pods, each only when configured:
 * - a PodDisruptionBudget, so that node drains and cluster upgrades take at most `maxUnavailable`
 *   pods at once;
 * - a NetworkPolicy admitting clients to the MySQL port only from the configured namespaces/pods,
 *   the pods to each other (MySQL port for replication, backup port for cloning), and DNS egress.
 *   EKS enforces NetworkPolicy only with the VPC CNI's network policy support enabled.
 */
export class PolicyChart extends Chart {
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: PolicyChartProps) {
    super(scope, id, props);
    const c = props.config;
    const metadata = (name: string) => ({ name, namespace: c.namespace, labels: objectLabels(c) });
    const podSelector = { matchLabels: selectorLabels(c) };

    if (c.availability.maxUnavailable !== undefined) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'pdb', {
        metadata: metadata(c.name),
        spec: {
          maxUnavailable: k8s.IntOrString.fromNumber(c.availability.maxUnavailable),
          selector: podSelector,
          // A crash-looping pod must not use up the budget and block every drain in the cluster.
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      });
    }

    if (c.networkPolicy !== undefined) {
      const tcp = (port: number): k8s.NetworkPolicyPort => ({
        protocol: 'TCP',
        port: k8s.IntOrString.fromNumber(port),
      });
      const peers: k8s.NetworkPolicyPeer[] = [{ podSelector }];
      const fromNamespace = (
        client: ResolvedConfig['monitoring']['scrapers'][number],
      ): k8s.NetworkPolicyPeer => ({
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': client.namespace } },
        podSelector: { matchLabels: { ...(client.podLabels ?? {}) } },
      });
      const clients = c.networkPolicy.clients.map(fromNamespace);
      const ingress: k8s.NetworkPolicyIngressRule[] = [
        { from: peers, ports: [tcp(c.mysqlPort), tcp(c.backupPort)] },
      ];
      if (clients.length > 0) ingress.push({ from: clients, ports: [tcp(c.mysqlPort)] });
      // The backup job asks each replica for its replication status, then reads one backup stream.
      if (c.backup)
        ingress.push({
          from: [{ podSelector: { matchLabels: { app: backupNames(c).backupPodApp } } }],
          ports: [tcp(c.mysqlPort), tcp(c.backupPort)],
        });
      // The binlog archiver streams the primary's binary logs and rotates them (FLUSH BINARY LOGS).
      if (c.backup?.pitr)
        ingress.push({
          from: [{ podSelector: { matchLabels: { app: backupNames(c).archiver } } }],
          ports: [tcp(c.mysqlPort)],
        });
      // The volume snapshot job stops and starts a replica's SQL thread.
      if (c.backup?.volumeSnapshots)
        ingress.push({
          from: [{ podSelector: { matchLabels: { app: backupNames(c).snapshots } } }],
          ports: [tcp(c.mysqlPort)],
        });
      // The switchover Job asks every pod's mysqld what it is, fences, promotes and repoints them.
      if (c.flavor === 'mysql84')
        ingress.push({
          from: [{ podSelector: { matchLabels: { app: switchoverNames(c).job } } }],
          ports: [tcp(c.mysqlPort)],
        });
      // Restoring mysql-0 reads S3 and gets credentials from STS (IRSA) or the EKS Pod Identity agent.
      // S3 and STS have no fixed addresses a NetworkPolicy could name: HTTPS to anywhere.
      const awsEgress: k8s.NetworkPolicyEgressRule[] = [
        { ports: [tcp(443)] },
        { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: [tcp(80)] },
      ];
      const dnsEgress: k8s.NetworkPolicyEgressRule = {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
          { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
        ],
      };
      // Prometheus scrapes the exporter sidecar (charts/exporter.ts) on its metrics port only.
      const m = c.monitoring;
      if (m.exporter && m.scrapers.length > 0) {
        ingress.push({
          from: m.scrapers.map(fromNamespace),
          ports: [tcp(m.port)],
        });
      }
      this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'network-policy', {
        metadata: metadata(c.name),
        spec: {
          podSelector,
          policyTypes: ['Ingress', 'Egress'],
          ingress,
          egress: [
            { to: peers, ports: [tcp(c.mysqlPort), tcp(c.backupPort)] },
            dnsEgress,
            ...(c.restore ? awsEgress : []),
          ],
        },
      });

      // The job pods accept no connection (no ingress rule: all denied); their egress, by job.
      const mysql = (...ports: number[]): k8s.NetworkPolicyEgressRule => ({
        to: peers,
        ports: ports.map(tcp),
      });
      const egress: Record<JobApp, k8s.NetworkPolicyEgressRule[]> = {
        // S3, and the credentials service: STS over HTTPS, or the EKS Pod Identity agent.
        backup: [mysql(c.mysqlPort, c.backupPort), dnsEgress, ...awsEgress],
        drill: [dnsEgress, ...awsEgress],
        archiver: [mysql(c.mysqlPort), dnsEgress, ...awsEgress],
        // The Kubernetes API server: HTTPS, at the cluster's addresses (not known here).
        snapshots: [mysql(c.mysqlPort), dnsEgress, { ports: [tcp(443)] }],
        switchover: [mysql(c.mysqlPort), dnsEgress],
      };
      for (const [job, app] of jobNetworkPolicies(c)) {
        new k8s.KubeNetworkPolicy(this, `${app}-network-policy`, {
          metadata: { name: app, namespace: c.namespace, labels: { ...c.labels, app } },
          spec: {
            podSelector: { matchLabels: { app } },
            policyTypes: ['Ingress', 'Egress'],
            egress: egress[job],
          },
        });
      }
    }
  }
}

type JobApp = 'backup' | 'drill' | 'snapshots' | 'archiver' | 'switchover';

/**
 * The job pods (by their `app` label) that get a NetworkPolicy of their own: every job of the stack, when
 * the stack has NetworkPolicies (`networkPolicy`). The backup chart asks this before it exempts a job from
 * Polaris' missingNetworkPolicy.
 */
export function jobNetworkPolicies(c: ResolvedConfig): [JobApp, string][] {
  if (c.networkPolicy === undefined) return [];
  const out: [JobApp, string][] = [];
  if (c.backup) {
    const names = backupNames(c);
    out.push(['backup', names.backupPodApp]);
    if (c.backup.restoreDrill) out.push(['drill', names.drillPodApp]);
    if (c.backup.volumeSnapshots && c.storage.snapshotClass) out.push(['snapshots', names.snapshots]);
    if (c.backup.pitr) out.push(['archiver', names.archiver]);
  }
  if (c.flavor === 'mysql84') out.push(['switchover', switchoverNames(c).job]);
  return out;
}
