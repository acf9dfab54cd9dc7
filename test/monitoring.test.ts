/**
 * Monitoring: the generated alert rules through promtool (`check rules`, and `test rules` with
 * test/monitoring/alerts.test.yaml), their annotations and runbooks, the exporter sidecar, the PodMonitor,
 * the dashboard and the monitoring config's validation.
 *
 * promtool comes from Debian's `prometheus` package (`.ci/run` installs it); without it these tests fail.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as yaml from 'js-yaml';
import * as os from 'os';
import * as path from 'path';
import { production, workshop } from '../charts/profiles';
import { validateConfig } from '../charts/config';
import { dashboardPanels } from '../charts/monitoring-dashboard';
import { alertGroups } from '../charts/monitoring-rules';
import { distObjects, Obj } from './support/dist';
import { configProblems, container, only, synthStack, withChanges } from './support/synth';

/** promtool unit test files, next to which the generated rules are written as rules.yaml. */
const TEST_FILES = ['alerts.test.yaml', 'cronjobs.test.yaml'].map((f) =>
  path.join(__dirname, 'monitoring', f),
);
const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool could not run (${r.error.message}): apt-get install prometheus`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A temp dir holding `rules.yaml` (and the unit test file), removed after `fn`. */
function withRulesDir<T>(rules: string, fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  try {
    fs.writeFileSync(path.join(dir, 'rules.yaml'), rules);
    for (const f of TEST_FILES) fs.copyFileSync(f, path.join(dir, path.basename(f)));
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const prodObjects = distObjects('production');
const prometheusRule = only(prodObjects, 'PrometheusRule');
const prodRules = yaml.dump({ groups: prometheusRule.spec.groups }, { lineWidth: -1 });
const workshopRulesFile = only(distObjects('workshop'), 'ConfigMap', 'mysql-prometheus-rules').data[
  'mysql.rules.yaml'
] as string;
const alerts: Obj[] = prometheusRule.spec.groups.flatMap((g: Obj) => g.rules);

describe('the generated rules, through promtool', () => {
  test('promtool check rules accepts the production PrometheusRule and the workshop rules file', () => {
    for (const rules of [prodRules, workshopRulesFile]) {
      const r = withRulesDir(rules, (dir) => promtool(['check', 'rules', 'rules.yaml'], dir));
      expect(r.output).toContain(`SUCCESS: ${alerts.length} rules found`);
      expect(r.status).toBe(0);
    }
  });

  test('promtool test rules: every case in test/monitoring/*.test.yaml passes', () => {
    const r = withRulesDir(prodRules, (dir) =>
      promtool(['test', 'rules', ...TEST_FILES.map((f) => path.basename(f))], dir),
    );
    expect(r.output.match(/SUCCESS/g)).toHaveLength(TEST_FILES.length);
    expect(r.status).toBe(0);
  });

  test('the unit tests fail when the lag alert loses its absence guard (they can fail)', () => {
    const broken = prodRules.replace(/ or \(\(mysql_slave_status_slave_io_running.*\* 0 \+ Inf$/m, '');
    expect(broken).not.toBe(prodRules);
    const r = withRulesDir(broken, (dir) => promtool(['test', 'rules', 'alerts.test.yaml'], dir));
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('alertname: MySQLReplicationLagging');
  });

  test('every alert has a firing and a silent case in the unit tests', () => {
    const tests = TEST_FILES.flatMap((f) => (yaml.load(fs.readFileSync(f, 'utf8')) as Obj).tests as Obj[]);
    const cases = tests.flatMap((t) => t.alert_rule_test as Obj[]);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect([a.alert, mine.some((c) => c.exp_alerts.length > 0)]).toEqual([a.alert, true]);
      expect([a.alert, mine.some((c) => c.exp_alerts.length === 0)]).toEqual([a.alert, true]);
    }
  });

  test('both profiles ship the same alerts (the workshop as a rules file, without the Operator)', () => {
    const names = (yaml.load(workshopRulesFile) as Obj).groups.flatMap((g: Obj) =>
      g.rules.map((r: Obj) => r.alert),
    );
    expect(names).toEqual(alerts.map((a) => a.alert));
  });
});

describe('the alerts', () => {
  test('the alerts the issue lists, each with severity, summary, a description naming the pod or job, a runbook', () => {
    expect(alerts.map((a) => a.alert)).toEqual([
      'MySQLDown',
      'MySQLMetricsAbsent',
      'MySQLReplicationIOThreadNotRunning',
      'MySQLReplicationSQLThreadNotRunning',
      'MySQLReplicationLagging',
      'MySQLReplicaWithoutSource',
      'MySQLTooManyConnections',
      'MySQLRestarted',
      'MySQLVolumeNearlyFull',
      'MySQLSemiSyncFellBackToAsync',
      'MySQLBinlogGrowing',
      'MySQLBackupStale',
      'MySQLBackupFailed',
      'MySQLRestoreDrillStale',
      'MySQLRestoreDrillFailed',
      'MySQLBinlogArchiverDown',
    ]);
    for (const a of alerts) {
      expect(['critical', 'warning', 'info']).toContain(a.labels.severity);
      expect(a.annotations.summary).toMatch(/\w/);
      const names = /\$labels\.(pod|job_name|cronjob|deployment)\b|mysql-N/;
      expect([a.alert, names.test(a.annotations.description)]).toEqual([a.alert, true]);
      expect(a.annotations.runbook_url).toBe(
        `https://github.com/example-org/mysql-gitops/blob/main/README.md#${a.alert.toLowerCase()}`,
      );
    }
  });

  test("every runbook_url points at a heading of the README's Monitoring section", () => {
    const monitoring = README.slice(
      README.indexOf('## Monitoring\n'),
      README.indexOf('## GitOps with Argo CD\n'),
    );
    for (const a of alerts) expect(monitoring).toContain(`\n#### ${a.alert}\n`);
  });

  test('replication alerts match both spellings of the exporter series (MySQL 8.4 and 5.7)', () => {
    const expr = (name: string) => alerts.find((a) => a.alert === name)!.expr as string;
    expect(expr('MySQLReplicationIOThreadNotRunning')).toMatch(
      /slave_status_slave_io_running.* or .*slave_status_replica_io_running/,
    );
    expect(expr('MySQLReplicationSQLThreadNotRunning')).toMatch(
      /slave_status_slave_sql_running.* or .*slave_status_replica_sql_running/,
    );
    expect(expr('MySQLReplicationLagging')).toMatch(/seconds_behind_master.* or .*seconds_behind_source/);
  });

  test("the backup alerts watch the backup chart's CronJobs (dist/production)", () => {
    const cronJobs = ['mysql-backup', 'mysql-restore-drill'];
    expect(prodObjects.filter((o) => o.kind === 'CronJob').map((o) => o.metadata.name)).toEqual(
      expect.arrayContaining(cronJobs),
    );
    const backups = prometheusRule.spec.groups.find((g: Obj) => g.name.startsWith('mysql-backups.'));
    const watched = JSON.stringify(backups).match(/cronjob=\\"[^\\]+\\"/g);
    expect([...new Set(watched)].sort()).toEqual(cronJobs.map((n) => `cronjob=\\"${n}\\"`).sort());
  });

  test('the backup alerts watch the CronJobs named by config', () => {
    const c = withChanges(production, {
      'monitoring.alerts.backupCronJob': 'nightly-dump',
      'monitoring.alerts.restoreDrillCronJob': 'weekly-restore',
    });
    const text = JSON.stringify(alertGroups(validateConfig(c)));
    expect(text).toContain('cronjob=\\"nightly-dump\\"');
    expect(text).toContain('owner_name=\\"weekly-restore\\"');
    expect(text).not.toContain('cronjob=\\"mysql-backup\\"');
    expect(text).not.toContain('owner_name=\\"mysql-restore-drill\\"');
  });
});

describe('the exporter sidecar', () => {
  const pod = only(prodObjects, 'StatefulSet').spec.template.spec;
  const exporter = container(pod, 'exporter');

  test('pinned image, credentials only through --config.my-cnf, the metrics port', () => {
    expect(exporter.image).toBe('prom/mysqld-exporter:v0.20.0');
    expect(exporter.args).toEqual([
      '--config.my-cnf=/run/mysqld-exporter/exporter.cnf',
      '--web.listen-address=:9104',
      '--collect.global_status',
      '--collect.global_variables',
      '--collect.slave_status',
      '--collect.binlog_size',
    ]);
    expect(exporter.env).toBeUndefined();
    expect(exporter.ports).toEqual([{ name: 'metrics', containerPort: 9104 }]);
  });

  test('sees only its own option file, in memory; never the credentials Secret', () => {
    expect(exporter.volumeMounts).toEqual([
      { name: 'exporter-cnf', mountPath: '/run/mysqld-exporter', readOnly: true },
      // With tls: the server certificate's CA, to verify mysqld (no key is read from it).
      { name: 'tls-server', mountPath: '/etc/mysql/tls/server', readOnly: true },
    ]);
    expect(pod.volumes).toContainEqual({
      name: 'exporter-cnf',
      emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
    });
    const writer = container(pod, 'exporter-config');
    expect(writer.env).toContainEqual({
      name: 'EXPORTER_PASSWORD_FILE',
      value: '/etc/mysql/credentials/exporter-password',
    });
  });

  test('restricted on its own (in the baseline workshop too), with probes and resources', () => {
    const ws = container(only(distObjects('workshop'), 'StatefulSet').spec.template.spec, 'exporter');
    for (const c of [exporter, ws]) {
      expect(c.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 65534,
        runAsGroup: 65534,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        readOnlyRootFilesystem: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/', port: 'metrics' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/', port: 'metrics' });
      expect(c.resources.limits).toEqual({ cpu: '250m', memory: '128Mi' });
    }
  });

  test("the primary's sidecar creates the exporter user", () => {
    const sidecar = container(pod, 'xtrabackup');
    expect(sidecar.command[2]).toMatch(/^# shellcheck shell=bash\n# exporter-user:/);
    expect(sidecar.command[2]).toContain('if [[ -n ${EXPORTER_USER:-} ]]; then ensure_exporter_user; fi');
    expect(sidecar.env).toContainEqual({ name: 'EXPORTER_USER', value: 'exporter' });
  });

  test('monitoring.exporter: false removes the sidecar, its user, init container, volume, key and objects', () => {
    const c = validateConfig(withChanges(production, { 'monitoring.exporter': false }));
    const { objects } = synthStack(withChanges(production, { 'monitoring.exporter': false }));
    expect(c.monitoring.exporter).toBe(false);
    const p = only(objects, 'StatefulSet').spec.template.spec;
    const names = [...p.initContainers, ...p.containers].map((x: Obj) => x.name);
    expect(names).toEqual(['init-mysql', 'clone-mysql', 'mysql', 'xtrabackup', 'tls-reload']);
    expect(p.volumes.map((v: Obj) => v.name)).not.toContain('exporter-cnf');
    expect(JSON.stringify(p.volumes)).not.toContain('exporter-password');
    const sidecar = container(p, 'xtrabackup');
    expect(sidecar.command[2]).not.toContain('ensure_exporter_user() {');
    expect(sidecar.env.map((e: Obj) => e.name)).not.toContain('EXPORTER_USER');
    expect(objects.map((o: Obj) => o.kind)).not.toContain('PodMonitor');
    expect(objects.map((o: Obj) => o.kind)).not.toContain('PrometheusRule');
  });
});

describe('Prometheus Operator objects and the dashboard', () => {
  test('the PodMonitor scrapes the metrics port of the app=mysql pods, labelled for the Prometheus selectors', () => {
    const pm = only(prodObjects, 'PodMonitor');
    expect(pm.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(pm.spec).toEqual({
      selector: { matchLabels: { app: 'mysql' } },
      namespaceSelector: { matchNames: ['mysql-production'] },
      podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
    });
    expect(prometheusRule.metadata.labels.release).toBe('kube-prometheus-stack');
  });

  test('the dashboard ConfigMap carries grafana_dashboard: "1" and valid JSON with both spellings', () => {
    const cm = only(prodObjects, 'ConfigMap', 'mysql-dashboard');
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    const model = JSON.parse(cm.data['mysql-production-mysql.json']);
    const exprs: string[] = model.panels.flatMap((p: Obj) => p.targets.map((t: Obj) => t.expr));
    expect(exprs.join('\n')).toMatch(/replica_io_running/);
    expect(exprs.join('\n')).toMatch(/slave_io_running/);
    expect(exprs.join('\n')).toMatch(/seconds_behind_source/);
    expect(exprs.join('\n')).toMatch(/seconds_behind_master/);
  });

  test('every dashboard query is valid PromQL (promtool check rules on them as recording rules)', () => {
    const panels = dashboardPanels(validateConfig(production));
    const rules = panels.flatMap((p, i) =>
      p.targets.map(([expr], j) => ({
        record: `dashboard:panel${i}_${j}`,
        expr: expr.replace(/\$pod/g, '.*'),
      })),
    );
    const r = withRulesDir(yaml.dump({ groups: [{ name: 'dashboard', rules }] }), (dir) =>
      promtool(['check', 'rules', 'rules.yaml'], dir),
    );
    expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('the workshop writes no custom resources (its cluster need not have the CRDs)', () => {
    const kinds = distObjects('workshop').map((o) => o.kind);
    expect(kinds).not.toContain('PodMonitor');
    expect(kinds).not.toContain('PrometheusRule');
  });
});

describe('monitoring config validation', () => {
  const problemFor = (changes: Record<string, unknown>, base = workshop) => configProblems(base, changes);
  test('fails if the metrics port is the MySQL port', () => {
    expect(problemFor({ 'monitoring.port': 3306 })).toEqual([
      'monitoring.port is 3306; must differ from mysqlPort (3306) and backupPort (3307)',
    ]);
  });
  test('fails if the exporter user is root', () => {
    expect(problemFor({ 'monitoring.user': 'root' })).toEqual([
      'monitoring.user is "root"; expected a MySQL user name of 1 to 32 letters, digits and "_", other than "root"',
    ]);
  });
  test('without a GitHub repository and no runbookUrl, the runbooks are the relative README.md', () => {
    const c = validateConfig(
      withChanges(workshop, { 'gitops.argocd.repoURL': 'git@gitlab.com:org/gitops.git' }),
    );
    expect(c.monitoring.runbookUrl).toBe('README.md');
    expect(problemFor({ 'monitoring.runbookUrl': 'https://x.example/README.md#top' })).toEqual([
      'monitoring.runbookUrl is "https://x.example/README.md#top"; expected the http(s) URL of this project\'s README.md, without "#"',
    ]);
  });
  test('fails if a threshold is out of range', () => {
    expect(problemFor({ 'monitoring.alerts.connectionsPercent': 150 })).toEqual([
      'monitoring.alerts.connectionsPercent is 150; expected a whole number from 1 to 100',
    ]);
  });
  test('fails if a CronJob name is not one', () => {
    expect(problemFor({ 'monitoring.alerts.backupCronJob': 'Nightly' })).toEqual([
      'monitoring.alerts.backupCronJob is "Nightly"; expected a CronJob name: lower-case letters, digits and "-", at most 52 characters',
    ]);
  });
  test('fails if the binlog bound is not a quantity', () => {
    expect(problemFor({ 'monitoring.alerts.binlogGrowthPerHour': '1GB' })).toEqual([
      'monitoring.alerts.binlogGrowthPerHour is "1GB"; expected a positive Kubernetes quantity such as "1Gi"',
    ]);
  });
  test('fails if the scrape interval is not a duration', () => {
    expect(problemFor({ 'monitoring.scrapeInterval': '30' })).toEqual([
      'monitoring.scrapeInterval is "30"; expected a duration such as "30s" or "1m"',
    ]);
  });
});
