/**
 * A real Prometheus server (Debian's `prometheus` package, 2.42) on the pod network, standing in for the
 * cluster's Prometheus: its own network namespace (a pause process attached to the bridge like a pod), a
 * config with one scrape job whose targets are the pods' `metrics` ports (file_sd, rewritten when pods change
 * IP), the generated alert rules loaded, and short intervals so a step sees alerts turn firing in seconds.
 * Queried with `promtool query instant` inside its namespace; the server listens on 127.0.0.1 only there.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Cluster } from './cluster';
import { startPause } from './network';
import { run, spawnTracked, waitFor } from './proc';

/** One scrape target: a pod's metrics address and the labels the PodMonitor would give it. */
export interface Target {
  address: string;
  labels: Record<string, string>;
}

/** One sample of an instant vector. */
export interface Sample {
  metric: Record<string, string>;
  value: string;
}

export class PrometheusServer {
  private constructor(
    private readonly cluster: Cluster,
    private readonly dir: string,
    private readonly sandboxPid: number,
    readonly ip: string,
    private readonly pid: number,
  ) {}

  /**
   * Starts Prometheus with `rules` (a rules file) and scrape and evaluation every `intervalSeconds`, scraping
   * `targets`; resolves once its API answers.
   */
  static async start(
    cluster: Cluster,
    rules: string,
    targets: Target[],
    intervalSeconds = 1,
  ): Promise<PrometheusServer> {
    const dir = path.join(cluster.runDir, 'prometheus');
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'rules.yaml'), rules);
    fs.writeFileSync(path.join(dir, 'targets.json'), targetsJson(targets));
    const interval = `${intervalSeconds}s`;
    fs.writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        "# e2e harness: Prometheus standing in for the cluster's (short intervals, see test/e2e/README.md).",
        'global:',
        `  scrape_interval: ${interval}`,
        `  scrape_timeout: ${interval}`,
        `  evaluation_interval: ${interval}`,
        'rule_files:',
        `  - ${path.join(dir, 'rules.yaml')}`,
        'scrape_configs:',
        '  - job_name: mysql',
        '    file_sd_configs:',
        `      - files: [${path.join(dir, 'targets.json')}]`,
        '        refresh_interval: 1s',
        '',
      ].join('\n'),
    );
    const sandboxPid = await startPause(
      cluster.tracker,
      'prometheus sandbox',
      ['--net', '--uts', '--ipc'],
      'prometheus',
    );
    cluster.tracker.trackNamespaces(sandboxPid, ['net', 'uts', 'ipc'], 'prometheus sandbox');
    const ip = await cluster.network.attach(sandboxPid);
    const log = fs.openSync(path.join(dir, 'prometheus.log'), 'a');
    const child = spawnTracked(
      cluster.tracker,
      'prometheus',
      'setpriv',
      [
        '--pdeathsig',
        'SIGKILL',
        '--',
        'nsenter',
        `--net=/proc/${sandboxPid}/ns/net`,
        '--',
        'prometheus',
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        '--web.listen-address=127.0.0.1:9090',
        '--log.level=warn',
      ],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    if (child.pid === undefined) throw new Error('could not start prometheus');
    const server = new PrometheusServer(cluster, dir, sandboxPid, ip, child.pid);
    await waitFor(
      'prometheus API',
      20_000,
      async () => (await server.tryQuery('vector(1)')) !== undefined,
      200,
    );
    return server;
  }

  /** Replaces the scrape targets (file_sd picks the file up within a second). */
  setTargets(targets: Target[]): void {
    const file = path.join(this.dir, 'targets.json');
    fs.writeFileSync(`${file}.tmp`, targetsJson(targets));
    fs.renameSync(`${file}.tmp`, file);
  }

  private async tryQuery(expr: string): Promise<Sample[] | undefined> {
    const r = await run(
      this.cluster.tracker,
      'nsenter',
      [
        `--net=/proc/${this.sandboxPid}/ns/net`,
        '--',
        'promtool',
        'query',
        'instant',
        '-o',
        'json',
        'http://127.0.0.1:9090',
        expr,
      ],
      { timeoutMs: 10_000, label: 'promtool query' },
    );
    if (r.code !== 0) return undefined;
    const parsed = JSON.parse(r.stdout) as { metric: Record<string, string>; value: [number, string] }[];
    return parsed.map((s) => ({ metric: s.metric, value: s.value[1] }));
  }

  /** An instant query; throws when Prometheus does not answer or rejects the expression. */
  async query(expr: string): Promise<Sample[]> {
    const result = await this.tryQuery(expr);
    if (result === undefined) throw new Error(`prometheus query failed: ${expr}`);
    return result;
  }

  /** The rule groups Prometheus loaded, with each rule's health (`/api/v1/rules` via promtool is not there). */
  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'prometheus.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops the server and its sandbox. */
  async stop(): Promise<void> {
    for (const pid of [this.pid, this.sandboxPid]) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await waitFor('prometheus to stop', 10_000, () => !alive(this.pid) && !alive(this.sandboxPid), 100);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function targetsJson(targets: Target[]): string {
  return JSON.stringify(
    targets.map((t) => ({ targets: [t.address], labels: t.labels })),
    null,
    2,
  );
}
