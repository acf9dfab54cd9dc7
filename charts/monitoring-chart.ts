import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import * as k8s from '../imports/k8s';
import { PodMonitor } from '../imports/podmonitor-monitoring.coreos.com';
import {
  PrometheusRule,
  PrometheusRuleSpecGroupsRulesExpr,
} from '../imports/prometheusrule-monitoring.coreos.com';
import { ResolvedConfig } from './config';
import { EXPORTER } from './exporter';
import { objectLabels, selectorLabels } from './labels';
import { dashboardJson } from './monitoring-dashboard';
import { alertGroups, rulesFile } from './monitoring-rules';

/** The key of the rules file in the `<name>-prometheus-rules` ConfigMap. */
export const RULES_FILE_KEY = 'mysql.rules.yaml';

export interface MonitoringChartProps extends ChartProps {
  /** The validated stack config; `monitoring.exporter` must be on. */
  readonly config: ResolvedConfig;
}

/** The label Grafana's dashboard sidecar (kube-prometheus-stack, the grafana chart) looks for. */
export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: '1' } as const;

/**
 * What Prometheus and Grafana need to watch the stack: a PodMonitor for the exporter sidecars' `metrics`
 * port and a PrometheusRule with the alerts (`monitoring.prometheusOperator`; without it, the alerts as a
 * Prometheus rules file in a ConfigMap), and the Grafana dashboard
 * ConfigMap (`monitoring.dashboard`). The exporter itself is part of the pod (`exporter.ts`).
 */
export class MonitoringChart extends Chart {
  public readonly podMonitor?: PodMonitor;
  public readonly prometheusRule?: PrometheusRule;
  public readonly rulesConfigMap?: k8s.KubeConfigMap;
  public readonly dashboard?: k8s.KubeConfigMap;

  constructor(scope: Construct, id: string, props: MonitoringChartProps) {
    super(scope, id, props);
    const c = props.config;
    const m = c.monitoring;
    const metadata = (name: string, extra: Record<string, string>) => ({
      name,
      namespace: c.namespace,
      labels: { ...objectLabels(c), ...extra },
    });
    if (m.prometheusOperator) {
      this.podMonitor = new PodMonitor(this, 'pod-monitor', {
        metadata: metadata(c.name, m.selectorLabels),
        spec: {
          selector: { matchLabels: selectorLabels(c) },
          namespaceSelector: { matchNames: [c.namespace] },
          podMetricsEndpoints: [{ port: EXPORTER.portName, path: '/metrics', interval: m.scrapeInterval }],
        },
      });
      this.prometheusRule = new PrometheusRule(this, 'rules', {
        metadata: metadata(c.name, m.selectorLabels),
        spec: {
          groups: alertGroups(c).map((g) => ({
            name: g.name,
            rules: g.rules.map((r) => ({ ...r, expr: PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr) })),
          })),
        },
      });
    }
    if (!m.prometheusOperator) {
      // Without the Operator: the same rules as a rules file, for a Prometheus that mounts the ConfigMap
      // and lists it under rule_files (README, "Monitoring").
      this.rulesConfigMap = new k8s.KubeConfigMap(this, 'rules-file', {
        metadata: metadata(`${c.name}-prometheus-rules`, {}),
        data: { [RULES_FILE_KEY]: rulesFile(c) },
      });
    }
    if (m.dashboard) {
      this.dashboard = new k8s.KubeConfigMap(this, 'dashboard', {
        metadata: metadata(`${c.name}-dashboard`, GRAFANA_DASHBOARD_LABEL),
        data: { [`${c.namespace}-${c.name}.json`]: dashboardJson(c) },
      });
    }
  }
}
