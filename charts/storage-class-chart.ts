import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { ResolvedConfig } from './config';

export interface StorageClassChartProps extends ChartProps {
  /** The validated stack config; `storage` describes the class. */
  readonly config: ResolvedConfig;
}

/**
 * The StorageClass the data volumes are provisioned from, by the Amazon EBS CSI driver.
 * Cluster-scoped, so it carries no namespace. `WaitForFirstConsumer` is fixed: EBS volumes live in one
 * availability zone, so a volume must be created where its pod was scheduled, not before.
 */
export class StorageClassChart extends Chart {
  public readonly storageClass: k8s.KubeStorageClass;

  constructor(scope: Construct, id: string, props: StorageClassChartProps) {
    super(scope, id, props);
    const s = props.config.storage;
    const parameters: Record<string, string> = { type: s.volumeType };
    if (s.iops !== undefined) parameters.iops = String(s.iops);
    if (s.throughput !== undefined) parameters.throughput = String(s.throughput);
    parameters.encrypted = String(s.encrypted);
    if (s.kmsKeyId !== undefined) parameters.kmsKeyId = s.kmsKeyId;
    if (s.fsType !== undefined) parameters['csi.storage.k8s.io/fstype'] = s.fsType;

    this.storageClass = new k8s.KubeStorageClass(this, 'storage-class', {
      metadata: { name: s.storageClassName },
      provisioner: 'ebs.csi.aws.com',
      parameters,
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: s.reclaimPolicy,
      allowVolumeExpansion: s.allowVolumeExpansion,
      mountOptions: s.mountOptions && s.mountOptions.length > 0 ? [...s.mountOptions] : undefined,
    });
  }
}
