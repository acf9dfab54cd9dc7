/**
 * The alerting rules of one profile, as plain data: the PrometheusRule's `spec.groups`, and for a
 * Prometheus without the Operator the same groups as a rules file (README, "Monitoring").
 *
 * Metric names are mysqld_exporter's (prometheus/mysqld_exporter @ v0.20.0, collector/*.go):
 * `mysql_up` (exporter.go), `mysql_global_status_<variable>` and `mysql_global_variables_<variable>`
 * lower-cased (global_status.go, global_variables.go), `mysql_slave_status_<column>` for every column of
 * the replication status lower-cased (slave_status.go: it tries SHOW ALL SLAVES STATUS, SHOW SLAVE
 * STATUS, then SHOW REPLICA STATUS, so MySQL 8.4 yields `…_replica_io_running`,
 * `…_seconds_behind_source` and 5.7 or MariaDB `…_slave_io_running`, `…_seconds_behind_master`;
 * "Connecting" counts as 0; a NULL lag is no series at all), `mysql_binlog_size_bytes` (binlog.go).
 * parseStatus (collector.go) turns ON/OFF into 1/0, so semi-sync's `Rpl_semi_sync_source_status` (MySQL 8.4
 * Reference Manual 19.4.10.3, "Semisynchronous Replication Monitoring") is
 * `mysql_global_status_rpl_semi_sync_source_status` and `rpl_semi_sync_source_enabled`
 * `mysql_global_variables_rpl_semi_sync_source_enabled`; both exist only while the plugin is loaded.
 * Kubernetes series: kubelet `kubelet_volume_stats_{available,capacity}_bytes`; kube-state-metrics
 * `kube_cronjob_status_last_successful_time`, `kube_cronjob_created`, `kube_job_status_failed`,
 * `kube_job_status_start_time`, `kube_job_owner`.
 */
import { Yaml } from 'cdk8s';
import { ResolvedConfig } from './config';
import { parseQuantity } from './config';

/** One alerting rule, as Prometheus' rule files and the PrometheusRule CRD spell it. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { readonly severity: 'critical' | 'warning' | 'info' };
  readonly annotations: {
    readonly summary: string;
    readonly description: string;
    readonly runbook_url: string;
  };
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: AlertRule[];
}

/** The README heading of an alert's runbook is the alert's name; GitHub's anchor is it lower-cased. */
export const runbookAnchor = (alert: string) => alert.toLowerCase();

/** Both spellings of a replication-status series (MySQL 8.4: replica/source; 5.7 and MariaDB: slave/master). */
function eitherSpelling(legacy: string, current: string, sel: string): string {
  return `(mysql_slave_status_${legacy}{${sel}} or mysql_slave_status_${current}{${sel}})`;
}

/** The label matchers of a profile's MySQL pods: the namespace and pods `<name>-N`. */
export function podSelector(c: ResolvedConfig): string {
  return `namespace="${c.namespace}", pod=~"${c.name}-[0-9]+"`;
}

/** The alert groups of a profile. */
export function alertGroups(c: ResolvedConfig): RuleGroup[] {
  const a = c.monitoring.alerts;
  const ns = c.namespace;
  const sel = podSelector(c);
  const where = '{{ $labels.namespace }}/{{ $labels.pod }}';
  const rule = (r: Omit<AlertRule, 'annotations'> & { summary: string; description: string }): AlertRule => ({
    alert: r.alert,
    expr: r.expr,
    ...(r.for === undefined ? {} : { for: r.for }),
    labels: r.labels,
    annotations: {
      summary: r.summary,
      description: r.description,
      runbook_url: `${c.monitoring.runbookUrl}#${runbookAnchor(r.alert)}`,
    },
  });
  const io = eitherSpelling('slave_io_running', 'replica_io_running', sel);
  const sqlThread = eitherSpelling('slave_sql_running', 'replica_sql_running', sel);
  const lag = eitherSpelling('seconds_behind_master', 'seconds_behind_source', sel);
  const binlogBytes = Math.round(parseQuantity(a.binlogGrowthPerHour)!);

  const mysql: AlertRule[] = [
    rule({
      alert: 'MySQLDown',
      expr: `mysql_up{${sel}} == 0 or up{${sel}} == 0`,
      for: '1m',
      labels: { severity: 'critical' },
      summary: 'MySQL is down',
      description: `${where}: mysqld does not answer the exporter (mysql_up is 0) or the exporter is not scraped (up is 0).`,
    }),
    rule({
      alert: 'MySQLMetricsAbsent',
      expr: `absent(mysql_up{${sel}})`,
      for: '10m',
      labels: { severity: 'warning' },
      summary: 'No MySQL metrics at all',
      description: `No pod ${c.name}-N in ${ns} reports mysql_up: every pod is gone, or Prometheus does not scrape them (PodMonitor not selected, NetworkPolicy).`,
    }),
    rule({
      alert: 'MySQLReplicationIOThreadNotRunning',
      expr: `${io} == 0`,
      for: '2m',
      labels: { severity: 'critical' },
      summary: 'A replica does not receive changes from its source',
      description: `${where}: the replication IO thread is not running (Replica_IO_Running/Slave_IO_Running is No or Connecting) on the channel from {{ $labels.master_host }}.`,
    }),
    rule({
      alert: 'MySQLReplicationSQLThreadNotRunning',
      expr: `${sqlThread} == 0`,
      for: '2m',
      labels: { severity: 'critical' },
      summary: 'A replica does not apply changes',
      description: `${where}: the replication SQL thread is not running (Replica_SQL_Running/Slave_SQL_Running is No); see Last_SQL_Error in SHOW REPLICA STATUS.`,
    }),
    rule({
      alert: 'MySQLReplicationLagging',
      // The lag series is absent while the SQL thread (or, with an empty relay log, the IO thread) is
      // stopped: a replica with a status but no lag reports +Inf instead of passing as "no lag".
      expr: `${lag} > ${a.replicationLagSeconds} or (${io} unless on(namespace, pod) ${lag}) * 0 + Inf`,
      for: '5m',
      labels: { severity: 'warning' },
      summary: 'A replica lags behind its source',
      description: `${where} is {{ $value }} s behind its source (more than ${a.replicationLagSeconds} s; +Inf: unknown, Seconds_Behind_Source is NULL because a replication thread is stopped).`,
    }),
    rule({
      alert: 'MySQLReplicaWithoutSource',
      expr: `mysql_up{${sel}, pod!="${c.name}-0"} == 1 unless on(namespace, pod) ${io}`,
      for: '5m',
      labels: { severity: 'critical' },
      summary: 'A replica has no replication source',
      description: `${where} is a replica (ordinal above 0) but SHOW REPLICA STATUS is empty: it serves reads that never change.`,
    }),
    rule({
      alert: 'MySQLTooManyConnections',
      expr: `max_over_time(mysql_global_status_threads_connected{${sel}}[1m]) / mysql_global_variables_max_connections{${sel}} * 100 > ${a.connectionsPercent}`,
      for: '5m',
      labels: { severity: 'warning' },
      summary: 'MySQL connections near max_connections',
      description: `${where} uses {{ $value | printf "%.0f" }} % of max_connections (more than ${a.connectionsPercent} %); new clients will soon be refused.`,
    }),
    rule({
      alert: 'MySQLRestarted',
      expr: `mysql_global_status_uptime{${sel}} < ${a.restartedWithinSeconds}`,
      labels: { severity: 'info' },
      summary: 'MySQL restarted recently',
      description: `${where}: mysqld has been up only {{ $value | humanizeDuration }} (less than ${a.restartedWithinSeconds} s).`,
    }),
    rule({
      alert: 'MySQLVolumeNearlyFull',
      expr:
        `label_replace(kubelet_volume_stats_available_bytes{namespace="${ns}", persistentvolumeclaim=~"data-${c.name}-[0-9]+"}` +
        ` / kubelet_volume_stats_capacity_bytes{namespace="${ns}", persistentvolumeclaim=~"data-${c.name}-[0-9]+"} * 100,` +
        ` "pod", "$1", "persistentvolumeclaim", "data-(.+)") < ${a.volumeFreePercent}`,
      for: '5m',
      labels: { severity: 'critical' },
      summary: 'A MySQL data volume is nearly full',
      description: `${where}: only {{ $value | printf "%.1f" }} % of volume {{ $labels.persistentvolumeclaim }} is free (less than ${a.volumeFreePercent} %); mysqld stops writing when it is full.`,
    }),
    rule({
      // Shipped with every profile: without replication.semiSync the plugin is not loaded and neither series exists.
      alert: 'MySQLSemiSyncFellBackToAsync',
      expr:
        `mysql_global_status_rpl_semi_sync_source_status{${sel}} == 0` +
        ` and on(namespace, pod) mysql_global_variables_rpl_semi_sync_source_enabled{${sel}} == 1`,
      for: '1m',
      labels: { severity: 'critical' },
      summary: 'The primary fell back from semi-synchronous to asynchronous replication',
      description: `${where} has semi-sync's source side enabled, but Rpl_semi_sync_source_status is OFF: no replica acknowledged a commit within rpl_semi_sync_source_timeout, so commits are acknowledged without any replica having them and a failover now can lose them. It returns to semi-sync once a semi-sync replica catches up.`,
    }),
    rule({
      alert: 'MySQLBinlogGrowing',
      expr: `delta(mysql_binlog_size_bytes{${sel}}[1h]) > ${binlogBytes}`,
      for: '30m',
      labels: { severity: 'warning' },
      summary: 'MySQL binary logs grow fast',
      description: `${where}: the binary logs grew by {{ $value | humanize1024 }}B in the last hour (more than ${a.binlogGrowthPerHour}); they share the data volume.`,
    }),
  ];

  const cronJobRules = (
    kind: 'Backup' | 'RestoreDrill',
    cronJob: string,
    maxAgeHours: number,
  ): AlertRule[] => {
    const cj = `namespace="${ns}", cronjob="${cronJob}"`;
    const lastSuccess = `kube_cronjob_status_last_successful_time{${cj}}`;
    const maxAge = maxAgeHours * 3600;
    const what = kind === 'Backup' ? 'backup' : 'restore drill';
    const severity = kind === 'Backup' ? 'critical' : 'warning';
    return [
      rule({
        alert: `MySQL${kind}Stale`,
        // A CronJob that never succeeded has no last-success series: its age counts from its creation.
        expr:
          `time() - ${lastSuccess} > ${maxAge}` +
          ` or (time() - kube_cronjob_created{${cj}} > ${maxAge} unless on(namespace, cronjob) ${lastSuccess})`,
        labels: { severity },
        summary: `The last successful MySQL ${what} is too old`,
        description: `CronJob {{ $labels.namespace }}/{{ $labels.cronjob }} last succeeded {{ $value | humanizeDuration }} ago, or never (more than ${maxAgeHours} h).`,
      }),
      rule({
        alert: `MySQL${kind}Failed`,
        // A failed Job of the CronJob, unless it started before the CronJob's last success.
        expr:
          `(kube_job_status_failed{namespace="${ns}"} > 0` +
          ` and on(namespace, job_name) kube_job_owner{namespace="${ns}", owner_kind="CronJob", owner_name="${cronJob}"})` +
          ` unless on(namespace, job_name) (kube_job_status_start_time{namespace="${ns}"}` +
          ` < on(namespace) group_left() max by (namespace) (${lastSuccess}))`,
        labels: { severity },
        summary: `A MySQL ${what} failed`,
        description: `Job {{ $labels.namespace }}/{{ $labels.job_name }} of CronJob ${cronJob} failed, and no later run succeeded; kubectl -n ${ns} logs job/{{ $labels.job_name }}.`,
      }),
    ];
  };

  // The binlog archiver (backup.pitr): not Available means its loop has not reported for 50 s or more (its
  // readiness probe), whether the pod is gone, crash-looping, or cannot reach the primary or S3.
  const archiver = `${c.name}-binlog-archiver`;
  // Shipped with every profile, as the CronJob alerts are: without an archiver there is no series.
  const archiverRules: AlertRule[] = [
    rule({
      alert: 'MySQLBinlogArchiverDown',
      expr: `kube_deployment_status_replicas_available{namespace="${ns}", deployment="${archiver}"} < 1`,
      for: '10m',
      labels: { severity: 'critical' },
      summary: 'The MySQL binlog archiver is not archiving',
      description: `Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has had no available pod for 10 minutes: binary logs are not reaching S3 and point-in-time recovery falls behind (the primary keeps them only binlog_expire_logs_seconds); kubectl -n ${ns} logs deploy/${archiver}.`,
    }),
  ];

  return [
    { name: `mysql.${ns}.${c.name}`, rules: mysql },
    {
      name: `mysql-backups.${ns}.${c.name}`,
      rules: [
        ...cronJobRules('Backup', a.backupCronJob, a.backupMaxAgeHours),
        ...cronJobRules('RestoreDrill', a.restoreDrillCronJob, a.restoreDrillMaxAgeHours),
        ...archiverRules,
      ],
    },
  ];
}

/** The alert groups as a Prometheus rules file (`rule_files:`), the format `promtool check rules` reads. */
export function rulesFile(c: ResolvedConfig): string {
  return Yaml.stringify({ groups: alertGroups(c) });
}
