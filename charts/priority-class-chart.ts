import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { ResolvedConfig } from './config';

export interface PriorityClassChartProps extends ChartProps {
  /** The validated stack config; `priorityClass.value` must be set. */
  readonly config: ResolvedConfig;
}

/**
 * The PriorityClass the pods name, when the profile creates it (`priorityClass.value`). Cluster-scoped,
 * never the cluster's global default. A higher priority lets the scheduler place a database pod that
 * lost its node by evicting lower-priority pods (with `PreemptLowerPriority`) on a node in the zone of
 * its EBS volume, where it must run, and keeps the node-pressure eviction of these pods last.
 */
export class PriorityClassChart extends Chart {
  public readonly priorityClass: k8s.KubePriorityClass;

  constructor(scope: Construct, id: string, props: PriorityClassChartProps) {
    super(scope, id, props);
    const c = props.config;
    const pc = c.priorityClass;
    if (pc?.value === undefined) throw new Error(`profile "${c.profile}" creates no PriorityClass`);
    this.priorityClass = new k8s.KubePriorityClass(this, 'priority-class', {
      // Cluster-scoped: only the common labels (no `app`), as for the StorageClass.
      metadata: { name: pc.name, labels: Object.keys(c.labels).length > 0 ? { ...c.labels } : undefined },
      value: pc.value,
      globalDefault: false,
      preemptionPolicy: pc.preemptionPolicy ?? 'PreemptLowerPriority',
      description:
        pc.description ??
        `Pods of the MySQL StatefulSet ${c.namespace}/${c.name}: scheduled before, and evicted after, pods of lower priority.`,
    });
  }
}
