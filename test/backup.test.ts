import { backupIamPolicy } from '../charts/backup-iam';
import { production, workshop } from '../charts/profiles';
import { validateConfig } from '../charts/config';
import { cronMaxGapSeconds } from '../charts/backup-config';
import { schemaProblems } from './support/k8s-schema';
import { configProblems, container, only, synthStack, withChanges } from './support/synth';

const FOLDER = 's3://example-org-mysql-backups/mysql-production/mysql/base/20250101T021700Z';
const objects = synthStack(production).objects;
const backupJob = only(objects, 'CronJob', 'mysql-backup');
const drillJob = only(objects, 'CronJob', 'mysql-restore-drill');
const podOf = (cj: Record<string, any>) => cj.spec.jobTemplate.spec.template.spec;
const envOf = (c: Record<string, any>) =>
  Object.fromEntries((c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));

const problemsFor = (changes: Record<string, unknown>, base = production) => configProblems(base, changes);

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

describe('point-in-time recovery (backup.pitr, restore.toTime)', () => {
  const archiver = only(objects, 'Deployment', 'mysql-binlog-archiver');
  const pod = archiver.spec.template.spec;
  const c = container(pod, 'binlog-archiver');
  test('one archiver (Recreate), in the XtraBackup image, as the backup ServiceAccount, restricted', () => {
    expect(archiver.spec.replicas).toBe(1);
    expect(archiver.spec.strategy).toEqual({ type: 'Recreate' });
    expect(c.image).toBe(production.images.xtrabackup);
    expect(c.command.slice(0, 2)).toEqual(['bash', '-c']);
    expect(c.command[2]).toContain('--read-from-remote-source=BINLOG-DUMP-GTIDS');
    expect(pod.serviceAccountName).toBe('mysql-backup');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999 });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
    });
    expect(schemaProblems(archiver)).toEqual([]);
  });
  test('streams from mysql-0 as the replication user over verified TLS with the client certificate, into <prefix>/binlogs', () => {
    expect(envOf(c)).toMatchObject({
      PRIMARY_HOST: 'mysql-0.mysql',
      BINLOG_URI: 's3://example-org-mysql-backups/mysql-production/mysql/binlogs',
      KMS_KEY_ID: production.backup!.kmsKeyArn,
      REPLICATION_USER: 'repl',
      REPLICATION_PASSWORD_FILE: '/etc/mysql/credentials/replication-password',
      ROTATE_SECONDS: '300',
      UPLOAD_INTERVAL_SECONDS: '10',
      ARCHIVER_TLS_CA: '/etc/mysql/tls/client/ca.crt',
      ARCHIVER_TLS_CERT: '/etc/mysql/tls/client/tls.crt',
      ARCHIVER_TLS_KEY: '/etc/mysql/tls/client/tls.key',
    });
    expect(pod.volumes.map((v: { name: string }) => v.name)).toEqual([
      'credentials',
      'spool',
      'tmp',
      'tls-client',
    ]);
  });
  test('liveness and readiness probes read the heartbeat the loop writes', () => {
    expect(c.livenessProbe.exec.command[2]).toBe(
      'beat=$(</var/lib/binlog-archiver/heartbeat) && (( $(date +%s) - beat < 90 ))',
    );
    expect(c.readinessProbe.exec.command[2]).toContain('< 50 ))');
  });
  test('every server keeps its binary logs binlogRetentionSeconds (binlog.cnf in conf.d)', () => {
    const cm = only(objects, 'ConfigMap', 'mysql-config');
    expect(cm.data['binlog.cnf']).toContain('[mysqld]\nbinlog_expire_logs_seconds=604800\n');
    const init = container(
      { containers: only(objects, 'StatefulSet').spec.template.spec.initContainers },
      'init-mysql',
    );
    expect(envOf(init).EXTRA_CNF).toBe('tls.cnf binlog.cnf');
  });
  test('the mysql pods admit the archiver on 3306; its own NetworkPolicy allows MySQL, DNS and AWS egress only', () => {
    expect(only(objects, 'NetworkPolicy', 'mysql').spec.ingress).toContainEqual({
      from: [{ podSelector: { matchLabels: { app: 'mysql-binlog-archiver' } } }],
      ports: [{ protocol: 'TCP', port: 3306 }],
    });
    const own = only(objects, 'NetworkPolicy', 'mysql-binlog-archiver').spec;
    expect(own.ingress).toBeUndefined();
    expect(own.egress[0]).toEqual({
      to: [{ podSelector: { matchLabels: { app: 'mysql' } } }],
      ports: [{ protocol: 'TCP', port: 3306 }],
    });
  });
  test('without backup.pitr: no archiver, no binlog.cnf', () => {
    const plain = synthStack(withChanges(production, { 'backup.pitr': undefined })).objects;
    expect(plain.filter((o) => o.kind === 'Deployment')).toEqual([]);
    expect(only(plain, 'ConfigMap', 'mysql-config').data['binlog.cnf']).toBeUndefined();
  });
  test('restore.toTime reaches restore-from-s3 in UTC, with the source archive beside the backup folder', () => {
    const restored = synthStack(
      withChanges(production, {
        namespace: 'mysql-restored',
        'restore.from': FOLDER,
        'restore.toTime': '2025-01-01T14:30:00+02:00',
      }),
    ).objects;
    const init = only(restored, 'StatefulSet').spec.template.spec.initContainers;
    expect(envOf(container({ containers: init }, 'restore-from-s3'))).toMatchObject({
      RESTORE_TO_TIME: '2025-01-01 12:30:00',
      BINLOG_URI: 's3://example-org-mysql-backups/mysql-production/mysql/binlogs',
    });
  });
  test('the IAM policy of a restore with toTime lists and reads the source archive', () => {
    const policy = backupIamPolicy(
      validateConfig(
        withChanges(production, {
          namespace: 'mysql-restored',
          'restore.from': FOLDER,
          'restore.toTime': '2025-01-01T12:30:00Z',
        }),
      ),
    );
    expect(policy.Statement).toContainEqual({
      Sid: 'ReadRestoreBinlogs',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::example-org-mysql-backups/mysql-production/mysql/binlogs/*',
    });
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Sid: 'ListRestoreBinlogs',
        Condition: { StringLike: { 's3:prefix': ['mysql-production/mysql/binlogs/*'] } },
      }),
    );
  });
  test.each([
    [
      '2025-01-01 12:00:00',
      'restore.toTime is "2025-01-01 12:00:00"; expected an RFC 3339 time in whole seconds with a zone',
    ],
    ['2025-01-01T12:00:00.5Z', 'expected an RFC 3339 time in whole seconds'],
    ['2025-02-30T12:00:00Z', 'restore.toTime is "2025-02-30T12:00:00Z"; is not a real date and time'],
    ['2025-01-01T24:00:00Z', 'is not a real date and time'],
  ])('fails if restore.toTime is %p', (value, message) => {
    const problems = problemsFor({ 'restore.from': FOLDER, 'restore.toTime': value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });
  test('fails if binlogRetentionSeconds is shorter than the longest interval between backups', () => {
    expect(
      problemsFor({ 'backup.pitr.binlogRetentionSeconds': 43200, 'backup.schedule.schedule': '0 3 * * 1' }),
    ).toEqual([
      'backup.pitr.binlogRetentionSeconds is 43200; must be at least the longest interval between two backups of backup.schedule.schedule "0 3 * * 1" (604800 s), so the primary still holds every binary log since the last backup when the archiver must catch up; raise it or back up more often',
    ]);
    // Backups every 6 hours: 12 hours of retention is enough.
    expect(() =>
      validateConfig(
        withChanges(production, {
          'backup.pitr.binlogRetentionSeconds': 43200,
          'backup.schedule.schedule': '17 */6 * * *',
        }),
      ),
    ).not.toThrow();
  });
  test('fails if binlogRetentionSeconds is not longer than the archive lag', () => {
    const problems = problemsFor({
      'backup.pitr.binlogRetentionSeconds': 3600,
      'backup.pitr.rotateSeconds': 3600,
      'backup.schedule.schedule': '*/10 * * * *',
    });
    expect(problems).toEqual([
      'backup.pitr.binlogRetentionSeconds is 3600; must be longer than the archive lag, rotateSeconds + uploadIntervalSeconds = 3610 s',
    ]);
  });
  test('fails if the option files set binlog_expire_logs_seconds themselves', () => {
    const problems = problemsFor({
      'mysqlFiles.primary': '[mysqld]\nbinlog_expire_logs_seconds=3600\n',
    });
    expect(problems).toEqual([
      'mysqlFiles.primary is "binlog_expire_logs_*"; must not set binlog_expire_logs_seconds or binlog_expire_logs_auto_purge with backup.pitr: the chart sets the retention (backup.pitr.binlogRetentionSeconds); remove the line',
    ]);
  });
});

describe('cronMaxGapSeconds', () => {
  test.each([
    ['17 2 * * *', 86400],
    ['37 */6 * * *', 21600],
    ['0 3 * * 1', 604800],
    ['0 3 * * 1,4', 345600],
    ['*/10 * * * *', 600],
    ['0 0 1 * *', 31 * 86400],
    ['0 0 1 1 *', 365 * 86400],
    ['0 0 30 2 *', undefined],
  ])('%s: %p s', (schedule, gap) => {
    expect(cronMaxGapSeconds(schedule)).toBe(gap);
  });
});
