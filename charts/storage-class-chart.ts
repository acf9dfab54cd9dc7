import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { VolumeSnapshotClass, VolumeSnapshotClassDeletionPolicy } from '../imports/snapshot.storage.k8s.io';
import { ResolvedConfig } from './config';

export interface StorageClassChartProps extends ChartProps {
  /** The validated stack config; `storage` describes the class. */
  readonly config: ResolvedConfig;
}

/**
 * The StorageClass the data volumes are provisioned from, by the Amazon EBS CSI driver, and optionally a
 * VolumeSnapshotClass for EBS snapshots of them.
 * Cluster-scoped, so it carries no namespace. `WaitForFirstConsumer` is fixed: EBS volumes live in one
 * availability zone, so a volume must be created where its pod was scheduled, not before.
 */
export class StorageClassChart extends Chart {
  public readonly storageClass: k8s.KubeStorageClass;
  public readonly snapshotClass?: VolumeSnapshotClass;

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
      metadata: { name: s.storageClassName, labels: labelsOrUndefined(props.config.labels) },
      provisioner: 'ebs.csi.aws.com',
      parameters,
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: s.reclaimPolicy,
      allowVolumeExpansion: s.allowVolumeExpansion,
      mountOptions: s.mountOptions && s.mountOptions.length > 0 ? [...s.mountOptions] : undefined,
    });

    if (s.snapshotClass !== undefined) {
      this.snapshotClass = new VolumeSnapshotClass(this, 'snapshot-class', {
        metadata: { name: s.snapshotClass.name, labels: labelsOrUndefined(props.config.labels) },
        driver: 'ebs.csi.aws.com',
        deletionPolicy:
          s.snapshotClass.deletionPolicy === 'Retain'
            ? VolumeSnapshotClassDeletionPolicy.RETAIN
            : VolumeSnapshotClassDeletionPolicy.DELETE,
      });
    }
  }
}

/** Cluster-scoped objects get only the common labels (no `app`: they may serve several stacks). */
function labelsOrUndefined(labels: Readonly<Record<string, string>>): Record<string, string> | undefined {
  return Object.keys(labels).length > 0 ? { ...labels } : undefined;
}
