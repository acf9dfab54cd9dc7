import { backupIamPolicy } from '../charts/backup-iam';
import { production, workshop } from '../charts/profiles';
import { ConfigError, validateConfig } from '../charts/config';
import { schemaProblems } from './support/k8s-schema';
import { container, only, synthStack, withChanges } from './support/synth';

const FOLDER = 's3://example-org-mysql-backups/mysql-production/mysql/base/20250101T021700Z';
const objects = synthStack(production).objects;
const backupJob = only(objects, 'CronJob', 'mysql-backup');
const drillJob = only(objects, 'CronJob', 'mysql-restore-drill');
const podOf = (cj: Record<string, any>) => cj.spec.jobTemplate.spec.template.spec;
const envOf = (c: Record<string, any>) =>
  Object.fromEntries((c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));

function problemsFor(changes: Record<string, unknown>, base = production): string[] {
  try {
    validateConfig(withChanges(base, changes));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error(`config with ${JSON.stringify(changes)} was accepted`);
}

describe('backup CronJob', () => {
  test('named <name>-backup, on the schedule, never two at once, with deadlines and history', () => {
    expect(backupJob.metadata).toMatchObject({ name: 'mysql-backup', namespace: 'mysql-production' });
    expect(backupJob.spec).toMatchObject({
      schedule: '17 2 * * *',
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: { spec: { backoffLimit: 1, activeDeadlineSeconds: 21600 } },
    });
  });
  test('one restricted container in the XtraBackup image, as the backup ServiceAccount, run once', () => {
    const pod = podOf(backupJob);
    expect(pod).toMatchObject({
      serviceAccountName: 'mysql-backup',
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 999,
        fsGroup: 999,
        seccompProfile: { type: 'RuntimeDefault' },
      },
    });
    const c = container(pod, 'backup');
    expect(c.image).toBe(production.images.xtrabackup);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    expect(c.resources).toEqual({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { cpu: '1', memory: '1Gi' },
    });
    expect(podOf(backupJob).volumes[0].secret).toEqual({
      secretName: 'mysql-credentials',
      defaultMode: 0o440,
      items: [{ key: 'replication-password', path: 'replication-password' }],
    });
  });
  test('its env: the bucket prefix, the KMS key, an upper bound of the stream, the StatefulSet to choose from', () => {
    expect(envOf(container(podOf(backupJob), 'backup'))).toMatchObject({
      AWS_REGION: 'eu-west-1',
      HOME: '/tmp',
      STATEFULSET: 'mysql',
      SERVICE_NAME: 'mysql',
      REPLICAS: '3',
      BACKUP_URI: 's3://example-org-mysql-backups/mysql-production/mysql',
      KMS_KEY_ID: production.backup!.kmsKeyArn,
      EXPECTED_SIZE: String(2 * 50 * 2 ** 30),
      MAX_LAG_SECONDS: '3600',
      VERIFY: 'full',
      REPLICATION_USER: 'repl',
      REPLICATION_PASSWORD_FILE: '/etc/mysql/credentials/replication-password',
    });
  });
  test('no static AWS keys anywhere', () => {
    expect(JSON.stringify(objects)).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws_secret/i);
  });
  test('schema-valid', () => {
    for (const o of objects.filter((x) => ['CronJob', 'ServiceAccount'].includes(x.kind)))
      expect(schemaProblems(o)).toEqual([]);
  });
});

describe('ServiceAccount', () => {
  test('annotated with the IRSA role', () => {
    expect(only(objects, 'ServiceAccount', 'mysql-backup').metadata.annotations).toMatchObject({
      'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/mysql-production-backup',
    });
  });
  test('without roleArn no annotation (EKS Pod Identity associates the ServiceAccount instead)', () => {
    const sa = only(
      synthStack(withChanges(production, { 'backup.roleArn': undefined })).objects,
      'ServiceAccount',
      'mysql-backup',
    );
    expect(sa.metadata.annotations['eks.amazonaws.com/role-arn']).toBeUndefined();
  });
});

describe('restore drill CronJob', () => {
  const pod = podOf(drillJob);
  test('named <name>-restore-drill, never retried (a failed drill must alert)', () => {
    expect(drillJob.metadata.name).toBe('mysql-restore-drill');
    expect(drillJob.spec).toMatchObject({ schedule: '47 5 * * *', concurrencyPolicy: 'Forbid' });
    expect(drillJob.spec.jobTemplate.spec.backoffLimit).toBe(0);
  });
  test('restores the latest backup into a temporary claim (XtraBackup image), then checks it with mysqld (mysql image)', () => {
    expect(pod.initContainers.map((c: { name: string }) => c.name)).toEqual(['restore-from-s3']);
    expect(envOf(pod.initContainers[0])).toMatchObject({
      RESTORE_FROM: 'latest',
      TARGET_DIR: '/var/lib/mysql',
    });
    const check = container(pod, 'restore-check');
    expect(check.image).toBe(production.images.mysql);
    expect(envOf(check)).toMatchObject({ ACTION: 'drill', DATA_DIR: '/var/lib/mysql' });
    const scratch = pod.volumes.find((v: { name: string }) => v.name === 'scratch');
    expect(scratch.ephemeral.volumeClaimTemplate.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'mysql-gp3',
      resources: { requests: { storage: '50Gi' } },
    });
  });
});

describe('restore.from', () => {
  const restored = synthStack(
    withChanges(production, { namespace: 'mysql-restored', 'restore.from': FOLDER }),
  ).objects;
  const sts = only(restored, 'StatefulSet').spec.template.spec;
  test('mysql-0 restores between init-mysql and clone-mysql, reading S3 as the backup ServiceAccount', () => {
    expect(sts.initContainers.map((c: { name: string }) => c.name)).toEqual([
      'init-mysql',
      'restore-from-s3',
      'restore-mysqld',
      'clone-mysql',
      'exporter-config',
    ]);
    expect(envOf(container({ containers: sts.initContainers }, 'restore-from-s3'))).toMatchObject({
      RESTORE_FROM: FOLDER,
      TARGET_DIR: '/var/lib/mysql',
    });
    expect(sts.serviceAccountName).toBe('mysql-backup');
  });
  test('the NetworkPolicy lets the pods reach S3/STS (HTTPS) and the Pod Identity agent', () => {
    const egress = only(restored, 'NetworkPolicy', 'mysql').spec.egress;
    expect(egress).toContainEqual({ ports: [{ protocol: 'TCP', port: 443 }] });
    expect(egress).toContainEqual({
      to: [{ ipBlock: { cidr: '169.254.170.23/32' } }],
      ports: [{ protocol: 'TCP', port: 80 }],
    });
  });
  test('without restore.from, the StatefulSet has neither', () => {
    const plain = only(objects, 'StatefulSet').spec.template.spec;
    expect(plain.initContainers.map((c: { name: string }) => c.name)).toEqual([
      'init-mysql',
      'clone-mysql',
      'exporter-config',
    ]);
    expect(plain.serviceAccountName).toBeUndefined();
  });
});

describe('IAM policy', () => {
  test('the prefix only: list it, write and read it, abort uploads; the one KMS key through S3; never delete', () => {
    const policy = backupIamPolicy(validateConfig(production));
    expect(policy.Statement).toEqual([
      {
        Sid: 'ListOwnBackups',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: 'arn:aws:s3:::example-org-mysql-backups',
        Condition: { StringLike: { 's3:prefix': ['mysql-production/mysql/*'] } },
      },
      {
        Sid: 'WriteAndReadOwnBackups',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        Resource: 'arn:aws:s3:::example-org-mysql-backups/mysql-production/mysql/*',
      },
      {
        Sid: 'EncryptWithBackupKey',
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: production.backup!.kmsKeyArn,
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
      },
    ]);
    expect(JSON.stringify(policy)).not.toMatch(/Delete|\*:\*|"s3:\*"/);
  });
  test('a restore from another prefix may read that backup folder', () => {
    const policy = backupIamPolicy(
      validateConfig(withChanges(production, { namespace: 'mysql-restored', 'restore.from': FOLDER })),
    );
    expect(policy.Statement).toContainEqual({
      Sid: 'ReadRestoreSource',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::example-org-mysql-backups/mysql-production/mysql/base/20250101T021700Z/*',
    });
  });
});

describe('validation of backup and restore', () => {
  test.each([
    ['backup.bucket', 'My_Bucket', 'backup.bucket is "My_Bucket"; expected an S3 bucket name'],
    ['backup.region', 'Ireland', 'backup.region is "Ireland"; expected an AWS region such as "eu-west-1"'],
    ['backup.kmsKeyArn', 'alias/backups', 'backup.kmsKeyArn is "alias/backups"; expected a KMS key ARN'],
    ['backup.roleArn', 'mysql-backup', 'backup.roleArn is "mysql-backup"; expected an IAM role ARN'],
    ['backup.prefix', '/mysql/', 'backup.prefix is "/mysql/"; expected a key prefix'],
    ['backup.schedule.schedule', '@daily', 'backup.schedule.schedule is "@daily"; expected 5 cron fields'],
    [
      'backup.schedule.activeDeadlineSeconds',
      10,
      'backup.schedule.activeDeadlineSeconds is 10; expected a whole number from 60 to 604800',
    ],
    [
      'backup.restoreDrill.scratchSize',
      '50GB',
      'backup.restoreDrill.scratchSize is "50GB"; expected a positive Kubernetes quantity',
    ],
    ['backup.verify', 'sometimes', 'backup.verify is "sometimes"; expected one of "full", "size"'],
    [
      'restore.from',
      's3://example-org-mysql-backups/latest',
      'restore.from is "s3://example-org-mysql-backups/latest"; expected a backup folder',
    ],
  ])('fails if %s is %p', (field, value, message) => {
    const problems = problemsFor({ [field]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });
  test('fails on an unknown key, suggesting the known one', () => {
    const problems = problemsFor({ 'backup.kmsKey': 'x' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^backup\.kmsKey .*kmsKeyArn/);
  });
  test('fails if restore.from is in another bucket', () => {
    expect(problemsFor({ 'restore.from': 's3://other-bucket/p/base/20250101T021700Z' })).toEqual([
      'restore.from is "s3://other-bucket/p/base/20250101T021700Z"; must be in backup.bucket "example-org-mysql-backups": the IAM policy allows only that bucket',
    ]);
  });
  test('fails if restore is set without backup', () => {
    expect(problemsFor({ backup: undefined, 'restore.from': FOLDER })).toEqual([
      'backup is undefined; is required by restore: the restore reads S3 with the backup ServiceAccount; set backup.bucket, region, kmsKeyArn and roleArn',
    ]);
  });
  test('fails if backups are configured for the mysql57 flavor', () => {
    const problems = problemsFor({ backup: { ...production.backup, volumeSnapshots: undefined } }, workshop);
    expect(problems).toEqual([
      'flavor is "mysql57"; must be "mysql84" for backups: the jobs use MySQL 8.4\'s SHOW REPLICA STATUS and RESET REPLICA; remove backup or change the flavor',
    ]);
  });
});

describe('volume snapshot CronJob', () => {
  const cj = only(objects, 'CronJob', 'mysql-volume-snapshot');
  const pod = podOf(cj);
  test('named <name>-volume-snapshot, never retried, with its own ServiceAccount and an API token', () => {
    expect(cj.spec).toMatchObject({ schedule: '37 */6 * * *', concurrencyPolicy: 'Forbid' });
    expect(cj.spec.jobTemplate.spec.backoffLimit).toBe(0);
    expect(pod).toMatchObject({
      serviceAccountName: 'mysql-volume-snapshot',
      automountServiceAccountToken: true,
    });
    expect(envOf(container(pod, 'volume-snapshot'))).toMatchObject({
      SNAPSHOT_CLASS: 'mysql-ebs-snapshots',
      SNAPSHOT_APP: 'mysql-volume-snapshot',
      KEEP: '8',
      NAMESPACE: 'mysql-production',
      ROOT_PASSWORD_FILE: '/etc/mysql/credentials/root-password',
    });
  });
  test('the Role allows VolumeSnapshots in its namespace only, nothing else', () => {
    expect(only(objects, 'Role', 'mysql-volume-snapshot').rules).toEqual([
      {
        apiGroups: ['snapshot.storage.k8s.io'],
        resources: ['volumesnapshots'],
        verbs: ['get', 'list', 'create', 'delete'],
      },
    ]);
    expect(only(objects, 'RoleBinding', 'mysql-volume-snapshot')).toMatchObject({
      roleRef: { kind: 'Role', name: 'mysql-volume-snapshot' },
      subjects: [{ kind: 'ServiceAccount', name: 'mysql-volume-snapshot', namespace: 'mysql-production' }],
    });
  });
  test('schema-valid', () => {
    for (const o of objects.filter((x) => ['Role', 'RoleBinding'].includes(x.kind)))
      expect(schemaProblems(o)).toEqual([]);
  });
  test('fails if volumeSnapshots is set without storage.snapshotClass', () => {
    expect(problemsFor({ 'storage.snapshotClass': undefined })).toEqual([
      'storage.snapshotClass is undefined; is required by backup.volumeSnapshots: set storage.snapshotClass (a VolumeSnapshotClass for ebs.csi.aws.com) or remove volumeSnapshots',
    ]);
  });
});
