import { scriptPath } from '../charts/scripts';
import * as fs from 'fs';
import { readFileSync } from 'fs';
import { join } from 'path';
import { workshop } from '../charts/profiles';
import { container, K8sObject, only, synthStack } from './support/synth';

const { objects } = synthStack(workshop);
const sts = only(objects, 'StatefulSet', 'mysql');
const pod = sts.spec.template.spec;
const script = (name: string) => container(pod, name).command[2] as string;

describe('workshop profile: exactly the objects of the seed, plus monitoring', () => {
  test('kubectl apply creates StorageClass, Namespace, ConfigMap, 2 Services, StatefulSet, then the rules and dashboard ConfigMaps, and nothing else', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'StorageClass/mysql-gp2',
      'Namespace/mysql',
      'ConfigMap/mysql-config',
      'Service/mysql',
      'Service/mysql-read',
      'StatefulSet/mysql',
      // Monitoring (no PrometheusRule/PodMonitor: the workshop's cluster need not have their CRDs).
      'ConfigMap/mysql-prometheus-rules',
      'ConfigMap/mysql-dashboard',
    ]);
  });

  test('cluster-scoped objects carry no namespace, every other object is in "mysql"', () => {
    for (const o of objects) {
      if (o.kind === 'StorageClass' || o.kind === 'Namespace') expect(o.metadata.namespace).toBeUndefined();
      else expect(o.metadata.namespace).toBe('mysql');
    }
  });

  test('no hashed names and no cdk8s-added labels or selectors', () => {
    const text = JSON.stringify(objects);
    expect(text).not.toMatch(/cdk8s\.io\/metadata\.addr/);
    for (const o of objects)
      expect(o.metadata.name).toMatch(/^mysql(-gp2|-config|-read|-prometheus-rules|-dashboard)?$/);
  });
});

describe('workshop StorageClass (seed: mysql-storageclass.yaml)', () => {
  const sc = only(objects, 'StorageClass');
  test('EBS CSI, gp2, encrypted, WaitForFirstConsumer, Delete, mountOptions debug', () => {
    expect(sc).toEqual({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: 'mysql-gp2',
        annotations: {
          'argocd.argoproj.io/sync-wave': '-2',
          'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
        },
      },
      provisioner: 'ebs.csi.aws.com',
      parameters: { type: 'gp2', encrypted: 'true' },
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
      mountOptions: ['debug'],
    });
  });
});

describe('workshop ConfigMap (seed: mysql-configmap.yaml)', () => {
  const cm = only(objects, 'ConfigMap', 'mysql-config');
  test('mysql-config, label app=mysql, master.cnf with log-bin and slave.cnf with super-read-only', () => {
    expect(cm.metadata).toEqual({
      name: 'mysql-config',
      namespace: 'mysql',
      labels: { app: 'mysql' },
      annotations: { 'argocd.argoproj.io/sync-wave': '-1' },
    });
    expect(cm.data['master.cnf']).toBe('# Apply this config only on the leader.\n[mysqld]\nlog-bin\n');
    expect(cm.data['slave.cnf']).toBe('# Apply this config only on followers.\n[mysqld]\nsuper-read-only\n');
  });
});

describe('workshop Services (seed: mysql-services.yaml)', () => {
  test('headless "mysql" on 3306 selecting app=mysql, publishing pods that are not Ready (peer DNS)', () => {
    const svc = only(objects, 'Service', 'mysql');
    expect(svc.metadata.labels).toEqual({ app: 'mysql' });
    expect(svc.spec).toEqual({
      ports: [{ name: 'mysql', port: 3306 }],
      clusterIP: 'None',
      selector: { app: 'mysql' },
      publishNotReadyAddresses: true,
    });
  });
  test("exactly the page's two Services, no mysql-primary", () => {
    expect(objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name)).toEqual([
      'mysql',
      'mysql-read',
    ]);
  });
  test('"mysql-read" is a normal ClusterIP Service on 3306 selecting app=mysql', () => {
    const svc = only(objects, 'Service', 'mysql-read');
    expect(svc.spec).toEqual({ ports: [{ name: 'mysql', port: 3306 }], selector: { app: 'mysql' } });
  });
});

describe('workshop StatefulSet (seed: mysql-statefulset.yaml)', () => {
  test('2 replicas behind the headless service, selecting app=mysql', () => {
    expect(sts.spec.replicas).toBe(2);
    expect(sts.spec.serviceName).toBe('mysql');
    expect(sts.spec.selector).toEqual({ matchLabels: { app: 'mysql' } });
    expect(sts.spec.template.metadata.labels).toEqual({ app: 'mysql' });
  });

  test('init containers init-mysql then clone-mysql; containers mysql and xtrabackup (plus the exporter)', () => {
    expect(pod.initContainers.map((c: K8sObject) => c.name)).toEqual([
      'init-mysql',
      'clone-mysql',
      'exporter-config',
    ]);
    expect(pod.containers.map((c: K8sObject) => c.name)).toEqual(['mysql', 'xtrabackup', 'exporter']);
  });

  test('mysql: port 3306, empty root password allowed (the walkthrough connects without one)', () => {
    const mysql = container(pod, 'mysql');
    expect(mysql.image).toBe('mysql:5.7.44');
    expect(mysql.ports).toEqual([{ name: 'mysql', containerPort: 3306 }]);
    expect(mysql.env).toEqual([{ name: 'MYSQL_ALLOW_EMPTY_PASSWORD', value: '1' }]);
    expect(mysql.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' } });
  });

  test('readiness runs the mysql client over TCP, liveness uses mysqladmin ping (so moving /usr/bin/mysql makes the pod 1/2 with 0 restarts)', () => {
    const mysql = container(pod, 'mysql');
    expect(mysql.readinessProbe.exec.command).toEqual(['mysql', '-h', '127.0.0.1', '-e', 'SELECT 1']);
    expect(mysql.livenessProbe.exec.command).toEqual(['mysqladmin', 'ping']);
    expect(mysql.livenessProbe).toMatchObject({
      initialDelaySeconds: 30,
      periodSeconds: 10,
      timeoutSeconds: 5,
    });
    expect(mysql.readinessProbe).toMatchObject({
      initialDelaySeconds: 5,
      periodSeconds: 2,
      timeoutSeconds: 1,
    });
  });

  test('clone-mysql clones from the previous pod, as in the seed', () => {
    expect(container(pod, 'clone-mysql').env).toContainEqual({ name: 'CLONE_FROM', value: 'previous' });
  });

  test('an empty mysql-0 refuses to initialize while a replica holds data (file/position replication)', () => {
    expect(container(pod, 'clone-mysql').env).toContainEqual({ name: 'EMPTY_PRIMARY', value: 'refuse' });
  });
  test('the sidecar is Ready only on a fresh "ready" verdict of its replication watch (replica-ready.sh)', () => {
    const x = container(pod, 'xtrabackup');
    const cmd = x.readinessProbe.exec.command;
    expect(cmd.slice(0, 2)).toEqual(['bash', '-c']);
    expect(cmd[2]).toBe(fs.readFileSync(scriptPath('replica-ready', 'mysql84'), 'utf8'));
    expect(cmd.slice(3)).toEqual(['replica-ready', '/tmp/replication-state', '30']);
    expect(x.env).toEqual(
      expect.arrayContaining([
        { name: 'STATE_FILE', value: '/tmp/replication-state' },
        { name: 'REPLICA_READINESS', value: 'replicating' },
        { name: 'MAX_LAG_SECONDS', value: '60' },
      ]),
    );
  });

  test('xtrabackup sidecar serves backups on 3307', () => {
    const x = container(pod, 'xtrabackup');
    expect(x.ports).toEqual([{ name: 'xtrabackup', containerPort: 3307 }]);
    expect(x.resources).toEqual({ requests: { cpu: '100m', memory: '100Mi' } });
    expect(script('xtrabackup')).toMatch(/TCP6-LISTEN:\$BACKUP_PORT,ipv6only=0,/);
    expect(x.env).toContainEqual({ name: 'BACKUP_PORT', value: '3307' });
  });

  test('data volume: subPath mysql at /var/lib/mysql in clone-mysql, mysql and xtrabackup', () => {
    for (const name of ['clone-mysql', 'mysql', 'xtrabackup']) {
      expect(container(pod, name).volumeMounts).toContainEqual({
        name: 'data',
        mountPath: '/var/lib/mysql',
        subPath: 'mysql',
      });
    }
  });

  test('config map mounted read-only for init-mysql; conf.d shared through an emptyDir', () => {
    expect(container(pod, 'init-mysql').volumeMounts).toEqual([
      { name: 'conf', mountPath: '/mnt/conf.d' },
      { name: 'config-map', mountPath: '/mnt/config-map', readOnly: true },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'conf', emptyDir: {} },
      { name: 'config-map', configMap: { name: 'mysql-config' } },
      // The exporter's option file (charts/exporter.ts), in memory.
      { name: 'exporter-cnf', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    ]);
    expect(container(pod, 'mysql').volumeMounts).toContainEqual({
      name: 'conf',
      mountPath: '/etc/mysql/conf.d',
    });
  });

  test('one 10Gi ReadWriteOnce mysql-gp2 claim per pod, labelled app=mysql so `kubectl get pvc -l app=mysql` lists them', () => {
    expect(sts.spec.volumeClaimTemplates).toEqual([
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', labels: { app: 'mysql' } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'mysql-gp2',
          resources: { requests: { storage: '10Gi' } },
        },
      },
    ]);
  });

  test('scaling down keeps the claims: no claim retention policy that deletes them', () => {
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toBeUndefined();
  });

  test('server ids are 100 + ordinal (100, 101, 102)', () => {
    const init = container(pod, 'init-mysql');
    expect(init.env).toContainEqual({ name: 'SERVER_ID_OFFSET', value: '100' });
    expect(init.env).toContainEqual({ name: 'PRIMARY_CNF', value: 'master.cnf' });
    expect(init.env).toContainEqual({ name: 'REPLICA_CNF', value: 'slave.cnf' });
  });
});

describe("fixes to the seed for today's EKS", () => {
  test('no `hostname` binary needed: the ordinal comes from the pod name via the downward API', () => {
    for (const name of ['init-mysql', 'clone-mysql', 'xtrabackup']) {
      expect(container(pod, name).env).toContainEqual({
        name: 'POD_NAME',
        valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
      });
      // never run as a command (the comments may mention it)
      expect(script(name).replace(/^\s*#.*$/gm, '')).not.toMatch(/(^|[;&|`(]|\$\()\s*hostname\b/m);
    }
  });

  test('the scripts are the .sh files, byte for byte, run with bash -c', () => {
    const dir = join(__dirname, '..', 'charts', 'scripts');
    expect(container(pod, 'init-mysql').command.slice(0, 2)).toEqual(['bash', '-c']);
    expect(script('init-mysql')).toBe(readFileSync(join(dir, 'common', 'init-mysql.sh'), 'utf8'));
    expect(script('clone-mysql')).toBe(readFileSync(join(dir, 'common', 'clone-mysql.sh'), 'utf8'));
    // The exporter's user function goes first (charts/exporter.ts), then the sidecar unchanged.
    expect(script('xtrabackup')).toBe(
      readFileSync(join(dir, 'monitoring', 'exporter-user.sh'), 'utf8') +
        '\n' +
        readFileSync(join(dir, 'mysql57', 'xtrabackup-sidecar.sh'), 'utf8'),
    );
    expect(script('exporter-config')).toBe(
      readFileSync(join(dir, 'monitoring', 'exporter-config.sh'), 'utf8'),
    );
  });

  test('the sidecar ignores an empty slave info, strips its semicolon, stops on CHANGE MASTER failure and renames after success (kubernetes/website#13054)', () => {
    const s = script('xtrabackup');
    expect(s).toMatch(/-n \$\(tr -d '\[:space:\]' <xtrabackup_slave_info\)/);
    expect(s).toMatch(/\$\{info%;\}/);
    expect(s).toMatch(/set -euo pipefail/);
    const changeMaster = s.indexOf('START SLAVE;');
    const rename = s.indexOf('mv change_master_to.sql.in change_master_to.sql.orig');
    expect(changeMaster).toBeGreaterThan(0);
    expect(rename).toBeGreaterThan(changeMaster);
  });

  test('maintained XtraBackup image instead of the gone gcr.io/google-samples/xtrabackup:1.0, socat instead of ncat', () => {
    expect(container(pod, 'clone-mysql').image).toBe('percona/percona-xtrabackup:2.4.29');
    expect(container(pod, 'xtrabackup').image).toBe('percona/percona-xtrabackup:2.4.29');
    expect(JSON.stringify(objects)).not.toMatch(/gcr\.io|ncat/);
    expect(script('clone-mysql')).toMatch(/source_address="TCP:\$peer:\$BACKUP_PORT,connect-timeout=30"/);
    expect(script('clone-mysql')).toMatch(/socat -u "\$source_address" STDOUT/);
  });

  test("XtraBackup containers run as mysql:5.7's mysql user (999) and the pod fsGroup makes fresh volumes writable for it", () => {
    for (const name of ['clone-mysql', 'xtrabackup']) {
      expect(container(pod, name).securityContext).toEqual({ runAsUser: 999, runAsGroup: 999 });
    }
    expect(pod.securityContext).toEqual({ fsGroup: 999, fsGroupChangePolicy: 'OnRootMismatch' });
  });

  test('amd64-only images never land on Graviton (arm64) nodes', () => {
    expect(
      pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
    ).toEqual([{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }] }]);
  });

  test('volumeClaimTemplates carry apiVersion and kind (argoproj/argo-cd#16707)', () => {
    for (const t of sts.spec.volumeClaimTemplates) {
      expect(t.apiVersion).toBe('v1');
      expect(t.kind).toBe('PersistentVolumeClaim');
    }
  });
});
