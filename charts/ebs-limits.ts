/**
 * The Amazon EBS limits a StorageClass runs into, per volume type. A value outside them makes the EBS
 * CSI driver's CreateVolume call fail, which a user only sees as a claim stuck in Pending: the config
 * schema refuses them at synth instead.
 *
 * Sources (Amazon EC2 API reference, CreateVolume / ModifyVolume parameters, as published in the AWS
 * SDK reference pages, e.g. docs.aws.amazon.com/sdk-for-kotlin/api/latest/ec2/…/-modify-volume-request/
 * `size` and `iops`; and the Amazon EBS User Guide, "Amazon EBS volume types"):
 * - Size: gp2 1–16,384 GiB; gp3 1–65,536 GiB (raised from 16,384 in 2025); io1 4–16,384 GiB; io2
 *   4–65,536 GiB; st1 and sc1 125–16,384 GiB; standard 1–1,024 GiB.
 * - IOPS: gp3 3,000 (its baseline, included) to 80,000 (raised from 16,000 in 2025), at most 500 IOPS
 *   per GiB above the baseline; io1 100–64,000 at most 50 IOPS per GiB; io2 100–256,000 at most 1,000
 *   IOPS per GiB. gp2, st1, sc1 and standard take no provisioned IOPS.
 * - Throughput (gp3 only): 125 MiB/s (baseline) to 2,000 MiB/s (raised from 1,000 in 2025), at most
 *   0.25 MiB/s per provisioned IOPS (so 2,000 MiB/s needs 8,000 IOPS).
 */
import type { EbsVolumeType } from './config';

export interface EbsTypeLimits {
  /** Smallest volume, GiB. */
  readonly minGiB: number;
  /** Largest volume, GiB. */
  readonly maxGiB: number;
  /** Provisioned IOPS, for the types that take them. */
  readonly iops?: {
    readonly min: number;
    readonly max: number;
    /** At most this many IOPS per GiB of volume size… */
    readonly perGiB: number;
    /** …except up to this baseline, which every size gets (gp3: 3,000). */
    readonly baseline: number;
  };
  /** Provisioned throughput in MiB/s (gp3 only). */
  readonly throughput?: {
    readonly min: number;
    readonly max: number;
    /** At most this many MiB/s per provisioned IOPS… */
    readonly perIops: number;
    /** …except up to this baseline (gp3: 125 MiB/s). */
    readonly baseline: number;
  };
}

export const EBS_LIMITS: Readonly<Record<EbsVolumeType, EbsTypeLimits>> = {
  gp2: { minGiB: 1, maxGiB: 16_384 },
  gp3: {
    minGiB: 1,
    maxGiB: 65_536,
    iops: { min: 3_000, max: 80_000, perGiB: 500, baseline: 3_000 },
    throughput: { min: 125, max: 2_000, perIops: 0.25, baseline: 125 },
  },
  io1: { minGiB: 4, maxGiB: 16_384, iops: { min: 100, max: 64_000, perGiB: 50, baseline: 0 } },
  io2: { minGiB: 4, maxGiB: 65_536, iops: { min: 100, max: 256_000, perGiB: 1_000, baseline: 0 } },
  st1: { minGiB: 125, maxGiB: 16_384 },
  sc1: { minGiB: 125, maxGiB: 16_384 },
  standard: { minGiB: 1, maxGiB: 1_024 },
};

/** A GiB count as a Kubernetes quantity, in the largest binary unit that keeps it whole. */
export function gibQuantity(gib: number): string {
  return gib % 1024 === 0 ? `${gib / 1024}Ti` : `${gib}Gi`;
}
