/**
 * Semi-synchronous replication's option files (config `replication.semiSync`, mysql84 flavor): the
 * ConfigMap keys init-mysql copies by role, the primary's and the replicas'. Both load both plugins,
 * because roles move at run time (the switchover Job and the sidecar turn the sides on and off with SET
 * GLOBAL, charts/scripts/switchover/switchover.sh and charts/scripts/mysql84/xtrabackup-sidecar.sh); they
 * differ only in which side is enabled: the source side on the primary only (a replica with it on and no
 * replica of its own would hold each transaction it applies for the timeout), the replica side on the
 * replicas only.
 *
 * Names from the MySQL 8.4 Reference Manual: plugins `rpl_semi_sync_source` (semisync_source.so) and
 * `rpl_semi_sync_replica` (semisync_replica.so), section 19.4.10.1 "Installing Semisynchronous
 * Replication"; the variables `rpl_semi_sync_source_enabled`, `rpl_semi_sync_source_timeout` (ms),
 * `rpl_semi_sync_source_wait_for_replica_count`, `rpl_semi_sync_source_wait_point` (AFTER_SYNC: the
 * lossless wait point), `rpl_semi_sync_source_wait_no_replica` and `rpl_semi_sync_replica_enabled`,
 * 19.4.10.2 "Configuring Semisynchronous Replication" and 19.1.6.2/19.1.6.3.
 */
import { ResolvedConfig } from './config';

/** The ConfigMap key init-mysql copies for the primary's ordinal. */
export const SEMISYNC_PRIMARY_CNF_KEY = 'semisync-primary.cnf';
/** The ConfigMap key init-mysql copies for every other ordinal. */
export const SEMISYNC_REPLICA_CNF_KEY = 'semisync-replica.cnf';

/** The semi-sync settings when enabled, else undefined. */
export function semiSyncOf(c: ResolvedConfig): ResolvedConfig['replication']['semiSync'] | undefined {
  const s = c.replication.semiSync;
  return s.enabled && c.flavor === 'mysql84' ? s : undefined;
}

/** The option file of one role. */
export function semiSyncCnf(c: ResolvedConfig, role: 'primary' | 'replica'): string {
  const s = semiSyncOf(c);
  if (!s) throw new Error(`profile "${c.profile}": replication.semiSync is not enabled`);
  const primary = role === 'primary';
  return [
    `# Semi-synchronous replication (replication.semiSync), the ${primary ? "primary's" : "replicas'"} side. Both plugins are`,
    '# loaded on every pod: the switchover Job and the sidecar move the roles at run time.',
    '[mysqld]',
    'plugin-load-add=rpl_semi_sync_source=semisync_source.so',
    'plugin-load-add=rpl_semi_sync_replica=semisync_replica.so',
    `rpl_semi_sync_source_enabled=${primary ? 'ON' : 'OFF'}`,
    `rpl_semi_sync_replica_enabled=${primary ? 'OFF' : 'ON'}`,
    `rpl_semi_sync_source_timeout=${Math.round(s.timeoutSeconds * 1000)}`,
    `rpl_semi_sync_source_wait_for_replica_count=${s.waitForReplicaCount}`,
    'rpl_semi_sync_source_wait_point=AFTER_SYNC',
    // Wait (up to the timeout) even while fewer replicas than the count are connected: OFF would answer at
    // once, unacknowledged, whenever the replicas are away.
    'rpl_semi_sync_source_wait_no_replica=ON',
    '',
  ].join('\n');
}
