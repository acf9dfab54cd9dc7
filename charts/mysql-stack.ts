import { App } from 'cdk8s';
import { annotateForArgoCd } from './argocd';
import { BackupChart } from './backup-chart';
import { MysqlStackConfig, ResolvedConfig, validateConfig } from './config';
import { MonitoringChart } from './monitoring-chart';
import { NamespaceChart } from './namespace-chart';
import { PolicyChart } from './policy-chart';
import { PriorityClassChart } from './priority-class-chart';
import { ServicesChart } from './services-chart';
import { StatefulSetChart } from './statefulset-chart';
import { StorageClassChart } from './storage-class-chart';
import { SwitchoverChart } from './switchover-chart';
import { TlsChart } from './tls-chart';

/** The charts of one profile, in the order `kubectl apply -f` must create them. */
export interface MysqlStack {
  readonly config: ResolvedConfig;
  readonly storageClass: StorageClassChart;
  /** Present when the profile creates its PriorityClass (`priorityClass.value`). */
  readonly priorityClass?: PriorityClassChart;
  readonly namespace: NamespaceChart;
  readonly services: ServicesChart;
  /** Present when `tls` is configured: the cert-manager Issuers and Certificates. */
  readonly tls?: TlsChart;
  /** Present when a PodDisruptionBudget or NetworkPolicy is configured. */
  readonly policy?: PolicyChart;
  /** mysql84 only: the `<name>-primary` ConfigMap and the switchover Job. */
  readonly switchover?: SwitchoverChart;
  readonly statefulSet: StatefulSetChart;
  /** Present when `backup` is configured. */
  readonly backup?: BackupChart;
  /** Present when the exporter runs and a PodMonitor/PrometheusRule or a dashboard is configured. */
  readonly monitoring?: MonitoringChart;
}

/**
 * Adds one profile's charts to an app (which must hold nothing else). The config is validated first,
 * so nothing is built from a bad value. Chart dependencies make cdk8s number the files (`0000-…`) so
 * that `kubectl apply -f` on the folder creates the StorageClass and Namespace before anything that
 * needs them; Argo CD sync waves give Argo CD the same order.
 */
export function addMysqlStack(app: App, config: MysqlStackConfig): MysqlStack {
  return addResolvedMysqlStack(app, validateConfig(config));
}

/** `addMysqlStack` for a config `validateConfig` has already checked and resolved. */
export function addResolvedMysqlStack(app: App, resolved: ResolvedConfig): MysqlStack {
  const storageClass = new StorageClassChart(app, 'storage-class', { config: resolved });
  const priorityClass =
    resolved.priorityClass?.value !== undefined
      ? new PriorityClassChart(app, 'priority-class', { config: resolved })
      : undefined;
  const namespace = new NamespaceChart(app, 'namespace', { config: resolved });
  const services = new ServicesChart(app, 'services', { config: resolved });
  const tls = resolved.tls ? new TlsChart(app, 'tls', { config: resolved }) : undefined;
  // An empty chart would be an empty file, which `kubectl apply -f` rejects.
  const policy =
    resolved.availability.maxUnavailable !== undefined || resolved.networkPolicy !== undefined
      ? new PolicyChart(app, 'policy', { config: resolved })
      : undefined;
  const switchover =
    resolved.flavor === 'mysql84' ? new SwitchoverChart(app, 'switchover', { config: resolved }) : undefined;
  const statefulSet = new StatefulSetChart(app, 'statefulset', { config: resolved });
  priorityClass?.addDependency(storageClass);
  namespace.addDependency(storageClass, ...(priorityClass ? [priorityClass] : []));
  services.addDependency(namespace);
  tls?.addDependency(services);
  policy?.addDependency(services, ...(tls ? [tls] : []));
  switchover?.addDependency(namespace, services, ...(tls ? [tls] : []), ...(policy ? [policy] : []));
  statefulSet.addDependency(
    storageClass,
    ...(priorityClass ? [priorityClass] : []),
    namespace,
    services,
    ...(tls ? [tls] : []),
    ...(policy ? [policy] : []),
    ...(switchover ? [switchover] : []),
  );
  const backup = resolved.backup ? new BackupChart(app, 'backup', { config: resolved }) : undefined;
  backup?.addDependency(statefulSet);
  const m = resolved.monitoring;
  const monitoring =
    m.exporter && (m.prometheusOperator || m.dashboard)
      ? new MonitoringChart(app, 'monitoring', { config: resolved })
      : undefined;
  monitoring?.addDependency(statefulSet, ...(backup ? [backup] : []));
  annotateForArgoCd(app, resolved);
  return {
    config: resolved,
    storageClass,
    priorityClass,
    namespace,
    services,
    tls,
    policy,
    switchover,
    statefulSet,
    backup,
    monitoring,
  };
}
