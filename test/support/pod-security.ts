/**
 * The Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards/), baseline
 * and restricted, as checks over a pod spec. Container rules apply to containers, initContainers and
 * ephemeralContainers alike. Returns one line per violated control.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

export type Level = 'baseline' | 'restricted';

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

function containersOf(pod: Obj): Obj[] {
  return [...(pod.initContainers ?? []), ...(pod.containers ?? []), ...(pod.ephemeralContainers ?? [])];
}

function baseline(pod: Obj): string[] {
  const v: string[] = [];
  const psc = pod.securityContext ?? {};
  if (psc.windowsOptions?.hostProcess)
    v.push('HostProcess: pod windowsOptions.hostProcess must be unset or false');
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC'])
    if (pod[f]) v.push(`Host Namespaces: ${f} must be unset or false`);
  for (const vol of pod.volumes ?? [])
    if (vol.hostPath) v.push(`HostPath Volumes: volume ${vol.name} uses hostPath`);
  const checkSeLinux = (where: string, se: Obj | undefined) => {
    if (!se) return;
    if (!SELINUX_TYPES.has(se.type ?? ''))
      v.push(`SELinux: ${where} seLinuxOptions.type ${se.type} is not allowed`);
    if (se.user || se.role) v.push(`SELinux: ${where} seLinuxOptions.user/role must be empty`);
  };
  checkSeLinux('pod', psc.seLinuxOptions);
  if (psc.seccompProfile?.type === 'Unconfined') v.push('Seccomp: pod seccompProfile must not be Unconfined');
  if (psc.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(psc.appArmorProfile.type))
    v.push('AppArmor: pod appArmorProfile must be RuntimeDefault or Localhost');
  for (const s of psc.sysctls ?? [])
    if (!SAFE_SYSCTLS.has(s.name)) v.push(`Sysctls: ${s.name} is not a safe sysctl`);

  for (const c of containersOf(pod)) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.windowsOptions?.hostProcess)
      v.push(`HostProcess: ${where} windowsOptions.hostProcess must be unset or false`);
    if (sc.privileged) v.push(`Privileged Containers: ${where} is privileged`);
    for (const cap of sc.capabilities?.add ?? [])
      if (!BASELINE_CAPABILITIES.has(cap)) v.push(`Capabilities: ${where} adds ${cap}`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`Host Ports: ${where} uses hostPort ${p.hostPort}`);
    for (const probe of [
      c.livenessProbe,
      c.readinessProbe,
      c.startupProbe,
      c.lifecycle?.postStart,
      c.lifecycle?.preStop,
    ]) {
      if (probe?.httpGet?.host || probe?.tcpSocket?.host)
        v.push(`Probe host: ${where} sets a probe or hook host`);
    }
    checkSeLinux(where, sc.seLinuxOptions);
    if (sc.procMount && sc.procMount !== 'Default')
      v.push(`/proc Mount Type: ${where} procMount must be Default`);
    if (sc.seccompProfile?.type === 'Unconfined')
      v.push(`Seccomp: ${where} seccompProfile must not be Unconfined`);
    if (sc.appArmorProfile && !['RuntimeDefault', 'Localhost'].includes(sc.appArmorProfile.type))
      v.push(`AppArmor: ${where} appArmorProfile must be RuntimeDefault or Localhost`);
  }
  return v;
}

function restricted(pod: Obj): string[] {
  const v = baseline(pod);
  const psc = pod.securityContext ?? {};
  for (const vol of pod.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUMES.has(type)) v.push(`Volume Types: volume ${vol.name} is of type ${type}`);
  }
  if (psc.runAsUser === 0) v.push('Running as Non-root user: pod runAsUser must not be 0');
  for (const c of containersOf(pod)) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.allowPrivilegeEscalation !== false)
      v.push(`Privilege Escalation: ${where} must set allowPrivilegeEscalation: false`);
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot !== true)
      v.push(`Running as Non-root: ${where} must run with runAsNonRoot: true (pod or container)`);
    if (sc.runAsUser === 0) v.push(`Running as Non-root user: ${where} runAsUser must not be 0`);
    const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      v.push(`Seccomp: ${where} needs seccompProfile RuntimeDefault or Localhost (pod or container)`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) v.push(`Capabilities: ${where} must drop ALL`);
    for (const cap of sc.capabilities?.add ?? [])
      if (cap !== 'NET_BIND_SERVICE')
        v.push(`Capabilities: ${where} may add only NET_BIND_SERVICE, not ${cap}`);
  }
  return v;
}

/** Violations of a Pod Security Standards level by a pod spec; empty when it complies. */
export function podSecurityViolations(podSpec: Obj, level: Level): string[] {
  return level === 'restricted' ? restricted(podSpec) : baseline(podSpec);
}

/** The pod spec of a workload object (StatefulSet, Deployment, CronJob, Pod…), or undefined. */
export function podSpecOf(obj: Obj): Obj | undefined {
  if (obj.kind === 'Pod') return obj.spec;
  if (obj.kind === 'CronJob') return obj.spec?.jobTemplate?.spec?.template?.spec;
  return obj.spec?.template?.spec;
}
