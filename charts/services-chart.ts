import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { ResolvedConfig } from './config';
import { objectLabels, selectorLabels } from './labels';

export interface ServicesChartProps extends ChartProps {
  /** The validated stack config: `name`, `namespace`, `mysqlPort`. */
  readonly config: ResolvedConfig;
}

/**
 * The two Services in front of the MySQL pods:
 * - `<name>`, headless: gives each pod the stable DNS name `<name>-N.<name>` (writes go to `<name>-0`);
 * - `<name>-read`: a ClusterIP balancing reads over every Ready pod.
 */
export class ServicesChart extends Chart {
  public readonly headless: k8s.KubeService;
  public readonly read: k8s.KubeService;

  constructor(scope: Construct, id: string, props: ServicesChartProps) {
    super(scope, id, props);
    const c = props.config;
    const labels = objectLabels(c);
    const selector = selectorLabels(c);
    const ports = [{ name: 'mysql', port: c.mysqlPort }];
    this.headless = new k8s.KubeService(this, 'headless', {
      metadata: { name: c.name, namespace: c.namespace, labels },
      spec: { ports, clusterIp: 'None', selector },
    });
    this.read = new k8s.KubeService(this, 'read', {
      metadata: { name: readServiceName(c), namespace: c.namespace, labels },
      spec: { ports, selector },
    });
  }
}

/** Name of the Service that balances reads over every Ready pod. */
export function readServiceName(c: ResolvedConfig): string {
  return `${c.name}-read`;
}
