/**
 * The production profile's flavor: the `mysql:8.4` and `percona/percona-xtrabackup:8.4` images, emulated on the
 * host's Debian packages (MariaDB 10.11 server, client and mariabackup) behind a translation layer for MySQL 8.4's
 * SQL (images/mysql84-sql/translate-sql.pl). The image layers are in test/e2e/images/{mysql84,
 * percona-xtrabackup84}/rootfs; README.md ("production profile (MySQL 8.4)") lists every translation and its cost.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import type { FlavorAdapter, ImageConfig, ReplicaStatus, UserSecret } from './types';
import type { EnvVar } from '../lib/manifest';

const IMAGES_DIR = path.join(__dirname, '..', 'images');
const TRANSLATOR = path.join(IMAGES_DIR, 'mysql84-sql', 'translate-sql.pl');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** MySQL 8.4 + XtraBackup 8.4 on MariaDB. */
export class Mysql84Adapter implements FlavorAdapter {
  readonly description =
    'mysql84: mysql:8.4 + percona-xtrabackup:8.4, emulated on Debian MariaDB 10.11 with a MySQL 8.4 SQL translation layer';
  readonly clientImage = 'mysql:8.4';
  readonly readOnlyError = /ERROR 1290 \(HY000\)/;
  /** The Secret the README tells the user to create before `kubectl apply -f dist/production/`. */
  readonly userSecrets: UserSecret[] = [
    {
      name: 'mysql-credentials',
      keys: ['root-password', 'replication-password'],
      // init-mysql refuses a root password with ' " \ (the mysql image's entrypoint pastes it into SQL and an
      // option file unescaped); the replication password has no such limit.
      forbidden: { 'root-password': `'"\\` },
    },
  ];
  /** The client pod connects as root with the password from the Secret in its environment (not its command line). */
  readonly clientEnv: EnvVar[] = [
    { name: 'MYSQL_PWD', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'root-password' } } },
  ];
  private layers = new Map<string, string>();

  prepare(dir: string): void {
    for (const name of ['mysql84', 'percona-xtrabackup84']) {
      const target = path.join(dir, name);
      execFileSync('cp', ['-a', path.join(IMAGES_DIR, name, 'rootfs'), target]);
      for (const sub of [
        'usr/local/bin',
        'usr/local/sbin',
        'etc/mysql/conf.d',
        'usr/bin',
        'usr/sbin',
        'usr/lib/e2e-mysql84',
        'etc',
      ]) {
        fs.mkdirSync(path.join(target, sub), { recursive: true });
      }
      fs.copyFileSync(TRANSLATOR, path.join(target, 'usr/lib/e2e-mysql84/translate-sql.pl'));
      execFileSync('chown', ['-R', '0:0', target]);
      execFileSync('chmod', ['-R', 'go-w,a+rX', target]);
      this.layers.set(name, target);
    }
  }

  image(ref: string): ImageConfig {
    if (/^(docker\.io\/)?(library\/)?mysql:8\.4(\b|$)/.test(ref)) {
      return {
        ref,
        layer: this.layer('mysql84'),
        opaqueDirs: ['/usr/local', '/etc/mysql'],
        entrypoint: ['docker-entrypoint.sh'],
        cmd: ['mysqld'],
        env: { PATH, MYSQL_MAJOR: '8.4' },
        workingDir: '/',
        user: { uid: 0, gid: 0 },
        dirs: [
          { path: '/var/lib/mysql', mode: '1777', uid: 999, gid: 999 },
          { path: '/var/run/mysqld', mode: '1777', uid: 999, gid: 999 },
          { path: '/var/lib/mysql-files', mode: '0750', uid: 999, gid: 999 },
        ],
      };
    }
    if (/^(docker\.io\/)?percona\/percona-xtrabackup:8\.4(\b|$)/.test(ref)) {
      return {
        ref,
        layer: this.layer('percona-xtrabackup84'),
        opaqueDirs: ['/usr/local', '/etc/mysql'],
        entrypoint: [],
        cmd: ['/usr/bin/xtrabackup'],
        env: { PATH },
        workingDir: '/',
        user: { uid: 1001, gid: 1001 },
        dirs: [],
      };
    }
    throw new Error(`the mysql84 adapter does not emulate image ${ref}`);
  }

  /** `SHOW REPLICA STATUS` is MySQL 8.4 syntax that MariaDB 10.11 also has; its fields keep MariaDB's names. */
  replicaStatusQuery(host: string): string[] {
    return [...this.client(host), '-e', 'SHOW REPLICA STATUS\\G'];
  }

  parseReplicaStatus(output: string): ReplicaStatus {
    const fields: Record<string, string> = {};
    for (const m of output.matchAll(/^\s*(\w+): ?(.*)$/gm)) fields[m[1]] = m[2].trim();
    if (!fields.Master_Host) return { configured: false, fields };
    const num = (name: string) => (fields[name] === undefined ? undefined : Number(fields[name]));
    return {
      configured: true,
      sourceHost: fields.Master_Host,
      ioRunning: fields.Slave_IO_Running,
      sqlRunning: fields.Slave_SQL_Running,
      sourceLogFile: fields.Relay_Master_Log_File,
      readSourceLogPos: num('Read_Master_Log_Pos'),
      execSourceLogPos: num('Exec_Master_Log_Pos'),
      lastError: [fields.Last_IO_Error, fields.Last_SQL_Error].filter(Boolean).join(' / ') || undefined,
      fields,
    };
  }

  client(host: string): string[] {
    return ['mysql', '-uroot', '-h', host];
  }

  private layer(name: string): string {
    const layer = this.layers.get(name);
    if (!layer) throw new Error(`image layers not prepared (call prepare first)`);
    return layer;
  }
}
