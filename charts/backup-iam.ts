/**
 * The least-privilege IAM policy for the backup jobs' role (IRSA or EKS Pod Identity), generated from a profile's
 * `backup` (and `restore`) config: `npm run iam-policy -- <profile>` prints it; the README shows production's.
 *
 * What the scripts call, and the permission each needs:
 * - backup-to-s3: `aws s3 cp - s3://…` (CreateMultipartUpload, UploadPart, CompleteMultipartUpload, or PutObject
 *   for a small stream: s3:PutObject; AbortMultipartUpload when the CLI gives up: s3:AbortMultipartUpload),
 *   `s3api head-object` and the read-back (s3:GetObject), the manifest (s3:PutObject, s3:GetObject);
 *   SSE-KMS: kms:GenerateDataKey for the upload, kms:Decrypt for multipart completion and every read.
 * - restore-from-s3 and the drill: s3:GetObject; `latest` lists the prefix (s3:ListBucket, limited to it).
 * Never s3:DeleteObject or s3:PutObjectAcl/Retention: the product never deletes or re-protects a backup
 * (retention is the bucket's lifecycle rules and Object Lock).
 */
import type { ResolvedConfig } from './config';

export interface IamPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly Record<string, unknown>[];
}

const partitionOf = (arn: string) => arn.split(':')[1];

export function backupIamPolicy(c: ResolvedConfig): IamPolicyDocument {
  const b = c.backup;
  if (!b) throw new Error(`profile "${c.profile}" has no backup config`);
  const s3 = `arn:${partitionOf(b.kmsKeyArn)}:s3:::${b.bucket}`;
  const statements: Record<string, unknown>[] = [
    {
      Sid: 'ListOwnBackups',
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Resource: s3,
      Condition: { StringLike: { 's3:prefix': [`${b.prefix}/*`] } },
    },
    {
      Sid: 'WriteAndReadOwnBackups',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
      Resource: `${s3}/${b.prefix}/*`,
    },
  ];
  const from = c.restore?.from;
  if (from) {
    // The folder restore.from names, when it lies outside this stack's own prefix (a restore into a new namespace).
    const key = from.replace(`s3://${b.bucket}/`, '');
    if (!key.startsWith(`${b.prefix}/`))
      statements.push({
        Sid: 'ReadRestoreSource',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: `${s3}/${key}/*`,
      });
    // restore.toTime reads the source stack's binlog archive, beside its base/ folder.
    const archive = key.replace(/\/base\/[^/]+$/, '/binlogs');
    if (c.restore?.toTime && !archive.startsWith(`${b.prefix}/`))
      statements.push(
        {
          Sid: 'ListRestoreBinlogs',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: s3,
          Condition: { StringLike: { 's3:prefix': [`${archive}/*`] } },
        },
        {
          Sid: 'ReadRestoreBinlogs',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: `${s3}/${archive}/*`,
        },
      );
  }
  statements.push({
    Sid: 'EncryptWithBackupKey',
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
    Resource: b.kmsKeyArn,
    Condition: { StringEquals: { 'kms:ViaService': `s3.${b.region}.amazonaws.com` } },
  });
  return { Version: '2012-10-17', Statement: statements };
}
