import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { ResolvedConfig } from './config';

export interface NamespaceChartProps extends ChartProps {
  /** The validated stack config: `namespace`, `name` and `mysqlFiles`. */
  readonly config: ResolvedConfig;
}

/** The namespace every other object lives in, and the ConfigMap with the primary and replica option files. */
export class NamespaceChart extends Chart {
  public readonly namespaceObject: k8s.KubeNamespace;
  public readonly configMap: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: NamespaceChartProps) {
    super(scope, id, props);
    const c = props.config;
    this.namespaceObject = new k8s.KubeNamespace(this, 'namespace', {
      metadata: { name: c.namespace },
    });
    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: configMapName(c), namespace: c.namespace, labels: { app: c.name } },
      data: {
        [c.mysqlFiles.primaryKey]: c.mysqlFiles.primary,
        [c.mysqlFiles.replicaKey]: c.mysqlFiles.replica,
      },
    });
  }
}

/** Name of the ConfigMap holding the MySQL option files. */
export function configMapName(c: ResolvedConfig): string {
  return `${c.name}-config`;
}
