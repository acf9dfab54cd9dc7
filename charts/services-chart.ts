import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { FOLLOWS_PRIMARY_WAVE, setSyncWave } from './argocd';
import { ResolvedConfig } from './config';
import { objectLabels, selectorLabels } from './labels';

export interface ServicesChartProps extends ChartProps {
  /** The validated stack config: `name`, `namespace`, `mysqlPort`. */
  readonly config: ResolvedConfig;
}

/**
 * The Services in front of the MySQL pods:
 * - `<name>`, headless: gives each pod the stable DNS name `<name>-N.<name>` (writes go to `<name>-0`),
 *   also while the pod is not Ready (`publishNotReadyAddresses`): peers find each other whatever their
 *   readiness (a replica whose replication broke, a primary whose sidecar restarts), and CoreDNS never
 *   caches an NXDOMAIN for a pod that exists;
 * - `<name>-read`: a ClusterIP balancing reads over every Ready pod;
 * - with `primaryService`, `<name>-primary`: a ClusterIP for writers, selecting pod `<name>-<primary>` by
 *   the label the StatefulSet controller gives every pod (`statefulset.kubernetes.io/pod-name`), Ready only;
 *   in Argo CD's wave after the switchover Job, so writers move only once the Job promoted that pod.
 */
export class ServicesChart extends Chart {
  public readonly headless: k8s.KubeService;
  public readonly read: k8s.KubeService;
  public readonly primary?: k8s.KubeService;

  constructor(scope: Construct, id: string, props: ServicesChartProps) {
    super(scope, id, props);
    const c = props.config;
    const labels = objectLabels(c);
    const selector = selectorLabels(c);
    const ports = [{ name: 'mysql', port: c.mysqlPort }];
    this.headless = new k8s.KubeService(this, 'headless', {
      metadata: { name: c.name, namespace: c.namespace, labels },
      spec: { ports, clusterIp: 'None', selector, publishNotReadyAddresses: true },
    });
    this.read = new k8s.KubeService(this, 'read', {
      metadata: { name: readServiceName(c), namespace: c.namespace, labels },
      spec: { ports, selector },
    });
    if (c.primaryService) {
      this.primary = new k8s.KubeService(this, 'primary', {
        metadata: { name: primaryServiceName(c), namespace: c.namespace, labels },
        spec: { ports, selector: { ...selector, [POD_NAME_LABEL]: `${c.name}-${c.primary}` } },
      });
      // It follows the primary only once the switchover Job moved it (charts/switchover-chart.ts).
      if (c.flavor === 'mysql84') setSyncWave(this.primary, FOLLOWS_PRIMARY_WAVE);
    }
  }
}

/** Name of the Service that balances reads over every Ready pod. */
export function readServiceName(c: ResolvedConfig): string {
  return `${c.name}-read`;
}

/** The label the StatefulSet controller puts on every pod, holding its name. */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';

/** Name of the Service for writers (pod `primary`). */
export function primaryServiceName(c: ResolvedConfig): string {
  return `${c.name}-primary`;
}
