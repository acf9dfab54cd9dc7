/**
 * The Grafana dashboard of one profile (JSON model, schemaVersion 39), from the same metric names as the
 * alerts (`monitoring-rules.ts`): every replication panel queries both spellings, so it shows MySQL 8.4
 * (`replica_*`, `seconds_behind_source`) and 5.7 (`slave_*`, `seconds_behind_master`) alike.
 */
import { ResolvedConfig } from './config';
import { podSelector } from './monitoring-rules';

interface Panel {
  readonly title: string;
  readonly type: 'timeseries' | 'stat';
  readonly unit: string;
  /** PromQL and legend, per query. */
  readonly targets: readonly (readonly [expr: string, legend: string])[];
  readonly description: string;
}

/** The panels' queries (also checked with promtool by the tests). */
export function dashboardPanels(c: ResolvedConfig): Panel[] {
  const sel = `${podSelector(c)}, pod=~"$pod"`;
  const pvc = `namespace="${c.namespace}", persistentvolumeclaim=~"data-${c.name}-[0-9]+"`;
  const both = (legacy: string, current: string) =>
    `mysql_slave_status_${legacy}{${sel}} or mysql_slave_status_${current}{${sel}}`;
  return [
    {
      title: 'MySQL up',
      type: 'stat',
      unit: 'none',
      targets: [[`mysql_up{${sel}}`, '{{pod}}']],
      description: 'mysql_up: 1 when the exporter could query mysqld.',
    },
    {
      title: 'Uptime',
      type: 'stat',
      unit: 's',
      targets: [[`mysql_global_status_uptime{${sel}}`, '{{pod}}']],
      description: 'Seconds since mysqld started.',
    },
    {
      title: 'Replication threads running',
      type: 'timeseries',
      unit: 'none',
      targets: [
        [both('slave_io_running', 'replica_io_running'), '{{pod}} IO'],
        [both('slave_sql_running', 'replica_sql_running'), '{{pod}} SQL'],
      ],
      description:
        'Replica_IO_Running / Replica_SQL_Running (MySQL 8.4) or Slave_* (5.7): 1 running, 0 stopped or connecting.',
    },
    {
      title: 'Replication lag',
      type: 'timeseries',
      unit: 's',
      targets: [[both('seconds_behind_master', 'seconds_behind_source'), '{{pod}}']],
      description:
        'Seconds_Behind_Source (8.4) or Seconds_Behind_Master (5.7); a gap means NULL: a replication thread is stopped.',
    },
    {
      title: 'Connections',
      type: 'timeseries',
      unit: 'none',
      targets: [
        [`mysql_global_status_threads_connected{${sel}}`, '{{pod}} connected'],
        [`mysql_global_variables_max_connections{${sel}}`, '{{pod}} max_connections'],
      ],
      description: 'Threads_connected against max_connections.',
    },
    {
      title: 'Queries per second',
      type: 'timeseries',
      unit: 'qps',
      targets: [[`rate(mysql_global_status_queries{${sel}}[5m])`, '{{pod}}']],
      description: 'Statements executed per second (Queries).',
    },
    {
      title: 'Binary log size',
      type: 'timeseries',
      unit: 'bytes',
      targets: [[`mysql_binlog_size_bytes{${sel}}`, '{{pod}}']],
      description: 'Combined size of the binary logs (SHOW BINARY LOGS).',
    },
    {
      title: 'Data volume free',
      type: 'timeseries',
      unit: 'percent',
      targets: [
        [
          `kubelet_volume_stats_available_bytes{${pvc}} / kubelet_volume_stats_capacity_bytes{${pvc}} * 100`,
          '{{persistentvolumeclaim}}',
        ],
      ],
      description: 'Free space of each data volume (kubelet).',
    },
    {
      title: 'Age of the last successful backup and restore drill',
      type: 'stat',
      unit: 's',
      targets: [
        [
          `time() - kube_cronjob_status_last_successful_time{namespace="${c.namespace}", cronjob=~"${c.monitoring.alerts.backupCronJob}|${c.monitoring.alerts.restoreDrillCronJob}"}`,
          '{{cronjob}}',
        ],
      ],
      description: 'kube-state-metrics: time since each CronJob last succeeded.',
    },
  ];
}

/** The dashboard's JSON model, as Grafana's dashboard sidecar loads it from the ConfigMap. */
export function dashboardJson(c: ResolvedConfig): string {
  const datasource = { type: 'prometheus', uid: '${datasource}' };
  const panels = dashboardPanels(c).map((p, i) => ({
    id: i + 1,
    title: p.title,
    description: p.description,
    type: p.type,
    datasource,
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
    options: {},
    targets: p.targets.map(([expr, legendFormat], j) => ({
      refId: String.fromCharCode(65 + j),
      datasource,
      expr,
      legendFormat,
    })),
  }));
  const model = {
    uid: `mysql-${c.namespace}`.slice(0, 40),
    title: `MySQL ${c.namespace}/${c.name}`,
    tags: ['mysql'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus' },
        {
          name: 'pod',
          label: 'Pod',
          type: 'query',
          datasource,
          query: `label_values(mysql_up{${podSelector(c)}}, pod)`,
          refresh: 2,
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: { text: 'All', value: '$__all' },
        },
      ],
    },
    panels,
  };
  return JSON.stringify(model, null, 2) + '\n';
}
