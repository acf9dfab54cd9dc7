/**
 * The backup and restore part of the config schema (`config.ts` includes it): physical backups to S3
 * (`backup`), the restore drill, and seeding a new StatefulSet from a backup (`restore`). Field types
 * come from `config-kit.ts`, so every message reads "<field> is <value>; <allowed>"; the rules between
 * fields are in {@link backupRules}, called from `crossFieldRules`.
 */
import * as z from 'zod';
import { int, member, quantity, strict, text } from './config-kit';

// S3 bucket naming rules: 3-63 characters, lower-case letters, digits, "." and "-", starting and ending
// with a letter or digit, no "..".
const BUCKET = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const KMS_KEY = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const ROLE = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
// Five cron fields of numbers, ranges, lists, steps and *; no @-macros (CronJob accepts them; reviewers
// read fields more easily).
const CRON_FIELD = '(\\*|\\d+(-\\d+)?)(\\/\\d+)?(,(\\*|\\d+(-\\d+)?)(\\/\\d+)?)*';
const CRON = new RegExp(`^${CRON_FIELD}( ${CRON_FIELD}){4}$`);
const TIME_ZONE = /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/;
/** `s3://<bucket>/<prefix>/base/<YYYYMMDDTHHMMSSZ>`: a folder the backup job wrote. */
export const BACKUP_FOLDER = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)\/base\/\d{8}T\d{6}Z$/;

/** A CronJob's timing. */
const scheduleFields = {
  /** Cron schedule (5 fields), e.g. `17 2 * * *`. */
  schedule: text(
    CRON,
    'expected 5 cron fields (minute hour day-of-month month day-of-week) such as "17 2 * * *"',
  ),
  /** IANA time zone of the schedule (CronJob `timeZone`). @default 'Etc/UTC' */
  timeZone: text(TIME_ZONE, 'expected an IANA time zone such as "Etc/UTC" or "Europe/Berlin"').default(
    'Etc/UTC',
  ),
  /** Seconds after the scheduled time within which a missed run may still start. @default 3600 */
  startingDeadlineSeconds: int(10, 86400).default(3600),
  /** A run taking longer is killed and counts as failed. @default 21600 (6 h) */
  activeDeadlineSeconds: int(60, 604800).default(21600),
};

const scheduleSchema = strict(scheduleFields, 'a CronJob schedule');

const restoreDrillSchema = strict(
  {
    ...scheduleFields,
    /**
     * The scratch volume the drill restores into: a generic ephemeral claim of this size from the stack's
     * StorageClass, deleted with the drill's pod.
     * @default - `storage.size`
     */
    scratchSize: quantity('50Gi').optional(),
  },
  'the restore drill settings',
);

const volumeSnapshotsSchema = strict(
  {
    ...scheduleFields,
    /** How many ready snapshots of this job to keep; older ones (and only its own) are deleted. @default 7 */
    keep: int(1, 1000).default(7),
  },
  'the volume snapshot settings',
);

/**
 * Point-in-time recovery: the binlog archiver Deployment streams the primary's binary logs to
 * `s3://<bucket>/<prefix>/binlogs/<server_uuid>/`, and every server keeps its binary logs
 * `binlogRetentionSeconds`. RPO: a committed transaction is in S3 within `rotateSeconds` +
 * `uploadIntervalSeconds` + the upload time (README "Backups").
 */
const pitrSchema = strict(
  {
    /**
     * `binlog_expire_logs_seconds` of every server: how long the primary keeps binary logs the archiver
     * has not uploaded yet (an archiver down longer than this leaves a gap). At least the longest interval
     * between two backups, so the archive can always be completed from the primary. @default 604800 (7 days)
     */
    binlogRetentionSeconds: int(3600, 31536000).default(604800),
    /**
     * The archiver closes the primary's open binary log (FLUSH BINARY LOGS) once it has been open this
     * long with new events: the RPO bound. @default 300
     */
    rotateSeconds: int(10, 86400).default(300),
    /** How often the archiver uploads closed binary logs and checks the open one. @default 10 */
    uploadIntervalSeconds: int(1, 3600).default(10),
  },
  'the point-in-time recovery settings',
);

const jobResourcesSchema = strict(
  {
    cpuRequest: quantity('100m').optional(),
    memoryRequest: quantity('256Mi').optional(),
    cpuLimit: quantity('1').optional(),
    memoryLimit: quantity('1Gi').optional(),
  },
  'container resources',
);

/** Physical backups (XtraBackup streams from a replica's sidecar) to S3, and the restore drill. */
export const backupSchema = strict(
  {
    /** S3 bucket name. */
    bucket: text(BUCKET, 'expected an S3 bucket name: 3-63 lower-case letters, digits, "." and "-"'),
    /** Key prefix; backups go to `s3://<bucket>/<prefix>/base/<UTC time>/`. @default '<namespace>/<name>' */
    prefix: text(
      PREFIX,
      'expected a key prefix such as "mysql-production/mysql": segments of letters, digits and !_.*\'()- separated by "/", no leading or trailing "/"',
    ).optional(),
    /** AWS region of the bucket (AWS_REGION of the jobs). */
    region: text(REGION, 'expected an AWS region such as "eu-west-1"'),
    /** The KMS key (ARN) for SSE-KMS on every object; the IAM policy allows exactly this key. */
    kmsKeyArn: text(
      KMS_KEY,
      'expected a KMS key ARN such as "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" (an alias cannot be granted in an IAM policy)',
    ),
    /**
     * IAM role for IRSA: the jobs' ServiceAccount is annotated `eks.amazonaws.com/role-arn`.
     * @default - no annotation: associate the ServiceAccount with a role through EKS Pod Identity
     */
    roleArn: text(
      ROLE,
      'expected an IAM role ARN such as "arn:aws:iam::111122223333:role/mysql-backup", or leave it unset to use EKS Pod Identity',
    ).optional(),
    /** When backups run. */
    schedule: scheduleSchema,
    /** A replica more than this many seconds behind the primary is not backed up from. @default 3600 */
    maxLagSeconds: int(0, 604800).default(3600),
    /**
     * `full`: read every uploaded backup back and compare its sha256; `size`: compare only its size.
     * @default 'full'
     */
    verify: member(['full', 'size']).default('full'),
    /** The restore drill: restores the latest backup into a scratch volume and checks every table. @default - none */
    restoreDrill: restoreDrillSchema.optional(),
    /**
     * EBS snapshots of a replica's volume (VolumeSnapshots of `storage.snapshotClass`), its SQL thread
     * stopped while the snapshot is cut. @default - none
     */
    volumeSnapshots: volumeSnapshotsSchema.optional(),
    /** Continuous binary log archiving for point-in-time recovery (`restore.toTime`). @default - none */
    pitr: pitrSchema.optional(),
    /** Resources of the jobs' containers. @default - 100m/256Mi requests, 1 CPU/1Gi limits */
    resources: jobResourcesSchema.default({
      cpuRequest: '100m',
      memoryRequest: '256Mi',
      cpuLimit: '1',
      memoryLimit: '1Gi',
    }),
  },
  'the backup settings',
);

/**
 * Seed mysql-0 of a new, empty StatefulSet from a backup; the replicas then clone from it. Restoring over
 * data is refused by the restore-from-s3 init container.
 */
export const restoreSchema = strict(
  {
    /** The backup folder `s3://<bucket>/<prefix>/base/<YYYYMMDDTHHMMSSZ>` (as the backup job logs it). */
    from: text(
      BACKUP_FOLDER,
      'expected a backup folder such as "s3://my-bucket/mysql-production/mysql/base/20250101T021700Z" (the backup job logs it)',
    ),
    /**
     * Replay the binary logs the source stack archived (`backup.pitr`) onto the backup, up to this time
     * (RFC 3339, whole seconds, e.g. `2025-01-01T12:00:00Z`): transactions whose binlog events are earlier
     * are restored, later ones are not. @default - the backup as it is
     */
    toTime: text(
      RFC3339,
      'expected an RFC 3339 time in whole seconds with a zone, such as "2025-01-01T12:00:00Z" or "2025-01-01T14:00:00+02:00"',
    ).optional(),
  },
  'the restore settings',
);

type Backup = z.output<typeof backupSchema>;
type Restore = z.output<typeof restoreSchema>;
type Check = (ok: boolean, path: readonly (string | number)[], value: unknown, allowed: string) => void;

/** The rules between `backup`, `restore` and the rest of the config. */
export function backupRules(
  c: {
    flavor: string;
    backup?: Backup;
    restore?: Restore;
    storage: { snapshotClass?: unknown };
    mysqlFiles: { primary: string; replica: string };
  },
  check: Check,
): void {
  const pitr = c.backup?.pitr;
  if (c.backup && pitr) {
    const lag = pitr.rotateSeconds + pitr.uploadIntervalSeconds;
    check(
      pitr.binlogRetentionSeconds > lag,
      ['backup', 'pitr', 'binlogRetentionSeconds'],
      pitr.binlogRetentionSeconds,
      `must be longer than the archive lag, rotateSeconds + uploadIntervalSeconds = ${lag} s`,
    );
    const gap = cronMaxGapSeconds(c.backup.schedule.schedule);
    if (gap !== undefined)
      check(
        pitr.binlogRetentionSeconds >= gap,
        ['backup', 'pitr', 'binlogRetentionSeconds'],
        pitr.binlogRetentionSeconds,
        `must be at least the longest interval between two backups of backup.schedule.schedule "${c.backup.schedule.schedule}" (${gap} s), so the primary still holds every binary log since the last backup when the archiver must catch up; raise it or back up more often`,
      );
    for (const key of ['primary', 'replica'] as const)
      check(
        !/^\s*binlog[-_]expire[-_]logs[-_](seconds|auto[-_]purge)\b/im.test(c.mysqlFiles[key]),
        ['mysqlFiles', key],
        'binlog_expire_logs_*',
        'must not set binlog_expire_logs_seconds or binlog_expire_logs_auto_purge with backup.pitr: the chart sets the retention (backup.pitr.binlogRetentionSeconds); remove the line',
      );
  }
  const toTime = c.restore?.toTime;
  if (toTime !== undefined)
    check(
      !Number.isNaN(Date.parse(toTime)) && validCalendar(toTime),
      ['restore', 'toTime'],
      toTime,
      'is not a real date and time (month 01-12, day within the month, hour 00-23, minute and second 00-59)',
    );
  if (c.backup?.volumeSnapshots !== undefined)
    check(
      c.storage.snapshotClass !== undefined,
      ['storage', 'snapshotClass'],
      c.storage.snapshotClass,
      'is required by backup.volumeSnapshots: set storage.snapshotClass (a VolumeSnapshotClass for ebs.csi.aws.com) or remove volumeSnapshots',
    );
  if (c.backup !== undefined)
    check(
      c.flavor === 'mysql84',
      ['flavor'],
      c.flavor,
      'must be "mysql84" for backups: the jobs use MySQL 8.4\'s SHOW REPLICA STATUS and RESET REPLICA; remove backup or change the flavor',
    );
  if (c.restore !== undefined) {
    check(
      c.backup !== undefined,
      ['backup'],
      c.backup,
      'is required by restore: the restore reads S3 with the backup ServiceAccount; set backup.bucket, region, kmsKeyArn and roleArn',
    );
    const bucket = BACKUP_FOLDER.exec(c.restore.from)?.[1];
    if (c.backup !== undefined)
      check(
        bucket === c.backup.bucket,
        ['restore', 'from'],
        c.restore.from,
        `must be in backup.bucket "${c.backup.bucket}": the IAM policy allows only that bucket`,
      );
  }
}

/** `backup` with the defaults that depend on other fields: the prefix and the drill's scratch size. */
export function resolveBackup(c: {
  namespace: string;
  name: string;
  storage: { size: string };
  backup?: Backup;
}) {
  const b = c.backup;
  if (b === undefined) return undefined;
  return {
    ...b,
    prefix: b.prefix ?? `${c.namespace}/${c.name}`,
    restoreDrill: b.restoreDrill && {
      ...b.restoreDrill,
      scratchSize: b.restoreDrill.scratchSize ?? c.storage.size,
    },
  };
}
export type ResolvedBackupConfig = NonNullable<ReturnType<typeof resolveBackup>>;

/** An RFC 3339 time whose date and clock fields exist (Date.parse accepts 2025-02-30). */
function validCalendar(t: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(t);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 59;
}

/** `restore.toTime` in UTC as restore-from-s3 takes it: "YYYY-MM-DD HH:MM:SS". */
export function toTimeUtc(t: string): string {
  return new Date(Date.parse(t))
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '');
}

/**
 * The longest interval between two consecutive runs of a 5-field cron schedule, in seconds, found over
 * 400 days from 2025-01-01 (UTC; a time zone's DST shift adds at most an hour); undefined when it runs
 * fewer than twice in that window.
 */
export function cronMaxGapSeconds(schedule: string): number | undefined {
  const ranges: [number, number][] = [
    [0, 59],
    [0, 23],
    [1, 31],
    [1, 12],
    [0, 7],
  ];
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) return undefined;
  const sets = fields.map((f, i) => {
    const [lo, hi] = ranges[i];
    const out = new Set<number>();
    for (const part of f.split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return undefined;
      const step = m[4] ? Number(m[4]) : 1;
      const a = m[1] === '*' ? lo : Number(m[2]);
      const b = m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] ? hi : a;
      for (let v = a; v <= b; v += step) out.add(i === 4 && v === 7 ? 0 : v);
    }
    return out;
  });
  if (sets.some((x) => x === undefined)) return undefined;
  const [minutes, hours, doms, months, dows] = sets as Set<number>[];
  const domAny = fields[2] === '*';
  const dowAny = fields[4] === '*';
  const times = [...hours].flatMap((h) => [...minutes].map((m) => h * 60 + m)).sort((a, b) => a - b);
  const runs: number[] = [];
  const start = Date.UTC(2025, 0, 1);
  for (let day = 0; day < 400; day++) {
    const d = new Date(start + day * 86_400_000);
    if (!months.has(d.getUTCMonth() + 1)) continue;
    const dom = doms.has(d.getUTCDate());
    const dow = dows.has(d.getUTCDay());
    const match = domAny && dowAny ? true : domAny ? dow : dowAny ? dom : dom || dow;
    if (!match) continue;
    for (const t of times) runs.push(day * 1440 + t);
  }
  if (runs.length < 2) return undefined;
  let gap = 0;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i] - runs[i - 1]);
  return gap * 60;
}
