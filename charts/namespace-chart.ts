import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import {
  ExternalSecret,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
  ExternalSecretSpecTargetDeletionPolicy,
} from '../imports/external-secrets.io';
import * as k8s from '../imports/k8s';
import { ResolvedConfig } from './config';
import { EXPORTER_PASSWORD_KEY } from './exporter';
import { objectLabels } from './labels';
import { TLS_CNF_KEY, tlsCnf } from './tls-chart';
import { BINLOG_CNF_KEY, binlogCnf } from './backup-chart';
import {
  SEMISYNC_PRIMARY_CNF_KEY,
  SEMISYNC_REPLICA_CNF_KEY,
  semiSyncCnf,
  semiSyncOf,
} from './semisync-config';

export interface NamespaceChartProps extends ChartProps {
  /** The validated stack config: `namespace`, `name` and `mysqlFiles`. */
  readonly config: ResolvedConfig;
}

/**
 * The namespace every other object lives in, labelled to enforce the pods' Pod Security Standards level;
 * the ConfigMap with the primary and replica option files; and, when configured, the ExternalSecret
 * that fills the credentials Secret from a secret store.
 */
export class NamespaceChart extends Chart {
  public readonly namespaceObject: k8s.KubeNamespace;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly externalSecret?: ExternalSecret;

  constructor(scope: Construct, id: string, props: NamespaceChartProps) {
    super(scope, id, props);
    const c = props.config;
    const level = c.security.podSecurity;
    this.namespaceObject = new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: c.namespace,
        labels: {
          ...c.labels,
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': level,
          'pod-security.kubernetes.io/warn': level,
        },
      },
    });
    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: { name: configMapName(c), namespace: c.namespace, labels: objectLabels(c) },
      data: configMapData(c),
    });

    const es = c.credentials?.externalSecret;
    if (c.credentials !== undefined && es !== undefined) {
      const secretName = c.credentials.secretName;
      this.externalSecret = new ExternalSecret(this, 'credentials', {
        metadata: { name: secretName, namespace: c.namespace, labels: objectLabels(c) },
        spec: {
          refreshInterval: es.refreshInterval,
          secretStoreRef: {
            name: es.secretStoreName,
            kind:
              es.secretStoreKind === 'SecretStore'
                ? ExternalSecretSpecSecretStoreRefKind.SECRET_STORE
                : ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE,
          },
          target: {
            name: secretName,
            creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER,
            // Deleting the ExternalSecret must not delete the passwords a running database needs.
            deletionPolicy: ExternalSecretSpecTargetDeletionPolicy.RETAIN,
          },
          // The keys the pods need, each required ...
          data: secretKeys(c).map((key) => ({
            secretKey: key,
            remoteRef: { key: es.remoteKey, property: key },
          })),
          // ... and every JSON property of the store's secret, so that a rotation's root-password-previous and
          // replication-password-previous come and go with it (README "Credentials").
          dataFrom: [{ extract: { key: es.remoteKey } }],
        },
      });
    }
  }
}

/**
 * The keys of the credentials Secret (and the JSON properties of the store's secret); during a rotation also
 * `<key>-previous`.
 */
export const SECRET_KEYS = ['root-password', 'replication-password'] as const;

/** The credentials Secret's keys a profile uses: SECRET_KEYS, and the exporter's password when it runs. */
export function secretKeys(c: ResolvedConfig): string[] {
  return [...SECRET_KEYS, ...(c.monitoring.exporter ? [EXPORTER_PASSWORD_KEY] : [])];
}

/**
 * The ConfigMap's data: the primary's and the replicas' option files under their keys, and with `tls`
 * the TLS option file every pod uses, and with `replication.semiSync` each role's semi-sync option file.
 */
export function configMapData(c: ResolvedConfig): Record<string, string> {
  return {
    [c.mysqlFiles.primaryKey]: c.mysqlFiles.primary,
    [c.mysqlFiles.replicaKey]: c.mysqlFiles.replica,
    ...(c.tls ? { [TLS_CNF_KEY]: tlsCnf() } : {}),
    ...(c.backup?.pitr ? { [BINLOG_CNF_KEY]: binlogCnf(c.backup.pitr.binlogRetentionSeconds) } : {}),
    ...(semiSyncOf(c)
      ? {
          [SEMISYNC_PRIMARY_CNF_KEY]: semiSyncCnf(c, 'primary'),
          [SEMISYNC_REPLICA_CNF_KEY]: semiSyncCnf(c, 'replica'),
        }
      : {}),
  };
}

/** Name of the ConfigMap holding the MySQL option files. */
export function configMapName(c: ResolvedConfig): string {
  return `${c.name}-config`;
}
