/**
 * The monitoring steps, in both profiles: the pods' `exporter` sidecars (the pinned image emulated by Debian's
 * prometheus-mysqld-exporter, images/mysqld-exporter/) scraped by a real Prometheus (lib/prometheus.ts) that
 * loads the generated alert rules: the PrometheusRule's groups (production) or the rules-file ConfigMap
 * (workshop), expressions verbatim, every `for:` divided by 60 (see the e2e README: the timing of `for` is
 * proven by promtool's unit tests, the expressions here).
 *
 *   exporter-metrics         every pod is scraped (up 1) and reaches mysqld as the least-privilege exporter user
 *                            (mysql_up 1, no collector error); the replication series exist on the replicas only;
 *                            the user's grants; the exporter's process (uid, groups, capabilities)
 *   replication-alert-fires  STOP REPLICA SQL_THREAD on mysql-1: the SQL-thread alert and the lag alert's absence
 *                            guard turn firing in ALERTS; START REPLICA SQL_THREAD: both resolve
 */
import * as fs from 'fs';
import * as yaml from 'js-yaml';
import type { KObject } from '../lib/manifest';
import type { Pod } from '../lib/pod';
import { waitFor } from '../lib/proc';
import { PrometheusServer, Sample, Target } from '../lib/prometheus';
import type { Step, StepHelpers, WalkthroughContext } from './common';

/** The exporter container and its port name, as charts/exporter.ts names them. */
const EXPORTER = 'exporter';
const METRICS_PORT = 'metrics';

interface RuleGroup {
  name: string;
  rules: { alert?: string; expr: string; for?: string }[];
}

/** The generated rules, as the cluster's Prometheus would load them. */
function generatedRules(
  objects: KObject[],
  namespace: string,
  name: string,
): { groups: RuleGroup[]; from: string } {
  const rule = objects.find((o) => o.kind === 'PrometheusRule' && o.metadata.namespace === namespace);
  if (rule)
    return {
      groups: (rule as KObject & { spec: { groups: RuleGroup[] } }).spec.groups,
      from: `PrometheusRule/${rule.metadata.name}`,
    };
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${name}-prometheus-rules`) as
    (KObject & { data: Record<string, string> }) | undefined;
  if (!cm) throw new Error(`no PrometheusRule and no ConfigMap ${name}-prometheus-rules in the manifests`);
  return {
    groups: (yaml.load(cm.data['mysql.rules.yaml']) as { groups: RuleGroup[] }).groups,
    from: `ConfigMap/${cm.metadata.name}`,
  };
}

/** `for:` in seconds instead of minutes (1m -> 1s, 10m -> 10s); everything else verbatim. */
function compressFor(groups: RuleGroup[]): RuleGroup[] {
  const scale = (d: string) => {
    const m = /^(\d+)([smh])$/.exec(d);
    if (!m) throw new Error(`unexpected for: ${d}`);
    const seconds = Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
    return `${Math.max(1, Math.round(seconds / 60))}s`;
  };
  return groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.for ? { ...r, for: scale(r.for) } : r)) }));
}

/** How to stop and restart a replica's SQL thread in the profile's SQL dialect. */
export interface SqlThreadStatements {
  stop: string;
  start: string;
}

export function monitoringSteps(
  w: WalkthroughContext,
  h: StepHelpers,
  sqlThread: SqlThreadStatements,
): Step[] {
  const { cluster, sts } = w;
  const ns = cluster.namespace;
  let prometheus: PrometheusServer | undefined;
  const targets = (): Target[] =>
    [...sts.pods.values()].map((p) => {
      const port = p.opts.spec.containers
        .find((c) => c.name === EXPORTER)
        ?.ports?.find((x) => x.name === METRICS_PORT);
      if (!port) throw new Error(`${p.name} has no ${EXPORTER} container with a ${METRICS_PORT} port`);
      // The labels the PodMonitor (or the README's plain scrape config) gives each target.
      return {
        address: `${p.ip}:${port.containerPort}`,
        labels: { namespace: ns, pod: p.name, container: EXPORTER },
      };
    });
  const byPod = (samples: Sample[]) =>
    Object.fromEntries(samples.map((s) => [s.metric.pod, s.value])) as Record<string, string>;
  const fmt = (o: Record<string, string>) =>
    Object.entries(o)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  const exporterLogErrors = (pod: Pod) =>
    pod
      .logs(EXPORTER)
      .split('\n')
      .filter((l) => /level=error|Error (pinging|scraping|parsing)/.test(l));
  const alerts = async (alertname: string) =>
    (await prometheus!.query(`ALERTS{alertname="${alertname}", namespace="${ns}"}`)).map(
      (s) => `${s.metric.pod}:${s.metric.alertstate}`,
    );

  return [
    {
      id: 'exporter-metrics',
      title:
        'Prometheus scrapes every exporter sidecar; the exporter reaches mysqld as its least-privilege user; replication series on the replicas',
      run: async () => {
        const rules = generatedRules(cluster.manifests.objects, ns, sts.name);
        const names = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
        prometheus = await PrometheusServer.start(
          cluster,
          yaml.dump({ groups: compressFor(rules.groups) }),
          targets(),
        );
        const want = [...sts.pods.keys()].sort((a, b) => a - b).map((i) => `${sts.name}-${i}`);
        if (want.length < 2) throw new Error(`need a primary and a replica, have ${want.join(', ')}`);
        // Every target up, every exporter connected (mysql_up 1), the replicas' status scraped.
        const io = `mysql_slave_status_slave_io_running{namespace="${ns}"} or mysql_slave_status_replica_io_running{namespace="${ns}"}`;
        await waitFor(
          "every pod scraped with mysql_up 1 and the replicas' IO thread series",
          30_000,
          async () => {
            const up = byPod(await prometheus!.query(`up{job="mysql", namespace="${ns}"} == 1`));
            const mysqlUp = byPod(await prometheus!.query(`mysql_up{namespace="${ns}"} == 1`));
            const ioRunning = byPod(await prometheus!.query(io));
            return want.every((p) => up[p] && mysqlUp[p]) && want.slice(1).every((p) => ioRunning[p] === '1');
          },
          500,
        );
        const series = async (expr: string) => fmt(byPod(await prometheus!.query(expr)));
        const ioSeries = await series(io);
        const sqlSeries = await series(
          `mysql_slave_status_slave_sql_running{namespace="${ns}"} or mysql_slave_status_replica_sql_running{namespace="${ns}"}`,
        );
        const lag = await series(
          `mysql_slave_status_seconds_behind_master{namespace="${ns}"} or mysql_slave_status_seconds_behind_source{namespace="${ns}"}`,
        );
        if (ioSeries.includes(`${sts.name}-0=`))
          throw new Error(`the primary reports a replication status: ${ioSeries}`);
        const connections = await series(`mysql_global_status_threads_connected{namespace="${ns}"}`);
        const maxConn = await series(`mysql_global_variables_max_connections{namespace="${ns}"}`);
        const uptime = await series(`mysql_global_status_uptime{namespace="${ns}"}`);
        const binlog = await series(`mysql_binlog_size_bytes{namespace="${ns}"}`);
        const failed = await series(
          `mysql_exporter_collector_success{namespace="${ns}"} == 0 or mysql_exporter_last_scrape_error{namespace="${ns}"} == 1`,
        );
        if (failed) throw new Error(`a collector failed: ${failed}`);
        // The rules loaded and evaluate without error.
        const loaded = await prometheus.query(`count(ALERTS) or vector(0)`);
        const ruleErrors = prometheus
          .log()
          .split('\n')
          .filter((l) => /rule|evaluat/i.test(l) && /level=(warn|error)/.test(l));
        if (ruleErrors.length)
          throw new Error(`Prometheus rule errors: ${ruleErrors.slice(0, 3).join(' | ')}`);
        // The exporter's MySQL user, as the primary's sidecar created it, and the exporter's own process.
        const grants = await h.sql(h.host(0), `SHOW GRANTS FOR '${'exporter'}'@'127.0.0.1'`);
        if (!/PROCESS/.test(grants) || /SELECT ON \*\.\*|ALL PRIVILEGES|SUPER/.test(grants))
          throw new Error(`unexpected grants of the exporter user: ${grants}`);
        const limits = await h.sql(
          h.host(0),
          `SELECT max_user_connections FROM mysql.user WHERE user = 'exporter' AND host = '127.0.0.1'`,
        );
        if (limits.trim() !== '3') throw new Error(`max_user_connections of the exporter user is ${limits}`);
        const pod0 = sts.pod(0);
        const status = fs.readFileSync(`/proc/${pod0.container(EXPORTER).initPid}/status`, 'utf8');
        const field = (f: string) => new RegExp(`^${f}:\\s*(.*)$`, 'm').exec(status)?.[1].trim() ?? '';
        const uid = field('Uid').split(/\s+/)[0];
        const groups = field('Groups');
        if (
          uid !== '65534' ||
          !groups.split(/\s+/).includes('999') ||
          !/^0+$/.test(field('CapEff')) ||
          field('NoNewPrivs') !== '1'
        )
          throw new Error(
            `exporter process: Uid ${field('Uid')} Groups ${groups} CapEff ${field('CapEff')} NoNewPrivs ${field('NoNewPrivs')}`,
          );
        const errors = [...sts.pods.values()].flatMap((p) =>
          exporterLogErrors(p).map((l) => `${p.name}: ${l}`),
        );
        if (errors.length) throw new Error(`exporter errors: ${errors.slice(0, 3).join(' | ')}`);
        const cnfMode = await pod0
          .container(EXPORTER)
          .exec(['stat', '-c', '%a %u:%g', '/run/mysqld-exporter/exporter.cnf'], 5_000);
        return (
          `Prometheus ${prometheus.ip} scraping ${want.length} exporters every 1s, ${names.length} alert rules loaded from ${rules.from} (count(ALERTS)=${loaded[0]?.value}); ` +
          `up and mysql_up 1 on ${want.join(', ')}; IO running ${ioSeries}; SQL running ${sqlSeries}; seconds_behind_master ${lag}; ` +
          `threads_connected ${connections} of max_connections ${maxConn}; uptime ${uptime}; binlog_size_bytes ${binlog}; no collector failed; ` +
          `exporter user grants: ${grants.replace(/\n/g, ' | ')} (max_user_connections ${limits.trim()}); ` +
          `exporter process uid ${uid} groups ${groups} CapEff ${field('CapEff')} NoNewPrivs 1; exporter.cnf ${cnfMode.stdout.trim()}`
        );
      },
    },
    {
      id: 'replication-alert-fires',
      title: `${sqlThread.stop} on mysql-1: MySQLReplicationSQLThreadNotRunning and the lag guard (+Inf) fire in ALERTS; ${sqlThread.start}: they resolve`,
      run: async () => {
        if (!prometheus) throw new Error('exporter-metrics did not start Prometheus');
        const target = sts.pod(1).name;
        try {
          const before = [
            ...(await alerts('MySQLReplicationSQLThreadNotRunning')),
            ...(await alerts('MySQLReplicationLagging')),
          ];
          if (before.length) throw new Error(`alerts before breaking replication: ${before.join(', ')}`);
          const t0 = Date.now();
          await h.sql(h.host(1), sqlThread.stop);
          const firing = async (name: string) => (await alerts(name)).includes(`${target}:firing`);
          await waitFor(
            'the SQL-thread alert and the lag guard to fire',
            40_000,
            async () =>
              (await firing('MySQLReplicationSQLThreadNotRunning')) &&
              (await firing('MySQLReplicationLagging')),
            500,
          ).catch(async (err: Error) => {
            const now = [
              ...(await alerts('MySQLReplicationSQLThreadNotRunning')).map((a) => `SQLThread ${a}`),
              ...(await alerts('MySQLReplicationLagging')).map((a) => `Lagging ${a}`),
            ];
            const series = await prometheus!.query(
              `{__name__=~"mysql_slave_status_.*sql_running", pod="${target}"}`,
            );
            throw new Error(
              `${err.message}; ALERTS: ${now.join(', ') || 'none'}; SQL-thread series of ${target}: ${series.map((x) => `${x.metric.__name__}=${x.value}`).join(', ') || 'none'}`,
            );
          });
          const fired = ((Date.now() - t0) / 1000).toFixed(1);
          const lagValue = (
            await prometheus.query(`ALERTS{alertname="MySQLReplicationLagging", pod="${target}"}`)
          ).length;
          const guard = await prometheus.query(
            `(mysql_slave_status_slave_io_running{pod="${target}"} or mysql_slave_status_replica_io_running{pod="${target}"}) unless on(namespace, pod) (mysql_slave_status_seconds_behind_master{pod="${target}"} or mysql_slave_status_seconds_behind_source{pod="${target}"})`,
          );
          const others = (
            await prometheus.query(`ALERTS{alertstate="firing", namespace="${ns}", pod!="${target}"}`)
          ).map((s) => `${s.metric.alertname}/${s.metric.pod}`);
          const t1 = Date.now();
          await h.sql(h.host(1), sqlThread.start);
          await waitFor(
            'both alerts to resolve',
            40_000,
            async () =>
              (await alerts('MySQLReplicationSQLThreadNotRunning')).length === 0 &&
              (await alerts('MySQLReplicationLagging')).length === 0,
            500,
          );
          const resolved = ((Date.now() - t1) / 1000).toFixed(1);
          const s = await h.replicaStatus(1);
          return (
            `${sqlThread.stop} on ${target}: MySQLReplicationSQLThreadNotRunning and MySQLReplicationLagging firing for ${target} after ${fired}s ` +
            `(lag series absent, guard matched ${guard.length} series, ${lagValue} lag alert); firing elsewhere: ${others.join(', ') || 'none'}; ` +
            `${sqlThread.start}: both resolved after ${resolved}s; ${target} IO=${s.ioRunning} SQL=${s.sqlRunning}`
          );
        } finally {
          await prometheus.stop().catch(() => undefined);
          prometheus = undefined;
        }
      },
    },
  ];
}
