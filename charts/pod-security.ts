import * as k8s from '../imports/k8s';
import { ResolvedConfig, ResourcesConfig } from './config';

/**
 * uid and gid of the `mysql` user in the official mysql images (docker-library/mysql Dockerfiles create
 * it with uid and gid 999). The XtraBackup containers run as this user too, so the files they clone are
 * mysqld's own and the files mysqld writes are readable for backups; the pod's fsGroup makes a fresh
 * EBS volume writable for it before mysqld has ever run. Under `restricted`, every container runs as it.
 */
export const MYSQL_UID = 999;

/** Requests and limits from a config's resources; undefined when it sets none. */
export function resourceRequirements(r: ResourcesConfig | undefined): k8s.ResourceRequirements | undefined {
  if (!r) return undefined;
  const q = (v: string | undefined) => (v === undefined ? undefined : k8s.Quantity.fromString(v));
  const requests = dropUndefined({ cpu: q(r.cpuRequest), memory: q(r.memoryRequest) });
  const limits = dropUndefined({ cpu: q(r.cpuLimit), memory: q(r.memoryLimit) });
  return requests || limits ? { requests, limits } : undefined;
}

function dropUndefined<T>(o: Record<string, T | undefined>): Record<string, T> | undefined {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined) as [string, T][];
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

/** A container of a restricted (Pod Security Standards) pod, with a read-only root file system. */
export function restrictedContainerSecurityContext(): k8s.SecurityContext {
  return { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true };
}

/** What a run-once pod of {@link restrictedJobPodSpec} runs. */
export interface RestrictedJobPodProps {
  /** @default the namespace's `default` ServiceAccount (no Kubernetes API token is mounted either way) */
  readonly serviceAccountName?: string;
  readonly containers: k8s.Container[];
  readonly volumes: k8s.Volume[];
}

/** A restricted (Pod Security Standards) pod that runs once as uid/gid 999, without a Kubernetes API token. */
export function restrictedJobPodSpec(c: ResolvedConfig, props: RestrictedJobPodProps): k8s.PodSpec {
  return {
    serviceAccountName: props.serviceAccountName,
    automountServiceAccountToken: false,
    // The database's PriorityClass: a job that cannot be scheduled misses its point (a backup its RPO, a
    // switchover its maintenance window).
    priorityClassName: c.priorityClass?.name,
    restartPolicy: 'Never',
    securityContext: {
      runAsNonRoot: true,
      runAsUser: MYSQL_UID,
      runAsGroup: MYSQL_UID,
      fsGroup: MYSQL_UID,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: props.containers,
    volumes: props.volumes,
  };
}
