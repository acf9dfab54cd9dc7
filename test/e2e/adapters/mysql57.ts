/**
 * The workshop profile's flavor: the `mysql:5.7` and `percona/percona-xtrabackup:2.4` images, emulated on the
 * host's Debian packages (MariaDB 10.11 server, client and mariabackup). The image layers are in
 * test/e2e/images/{mysql57,percona-xtrabackup24}/rootfs; README.md lists every adaptation.
 */
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import type { FlavorAdapter, ImageConfig, ReplicaStatus } from './types';

const IMAGES_DIR = path.join(__dirname, '..', 'images');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** MySQL 5.7 + XtraBackup 2.4 on MariaDB. */
export class Mysql57Adapter implements FlavorAdapter {
  readonly description = 'mysql57: mysql:5.7 + percona-xtrabackup:2.4, emulated on Debian MariaDB 10.11';
  readonly clientImage = 'mysql:5.7';
  readonly readOnlyError = /ERROR 1290 \(HY000\)/;
  private layers = new Map<string, string>();

  prepare(dir: string): void {
    for (const name of ['mysql57', 'percona-xtrabackup24']) {
      const target = path.join(dir, name);
      execFileSync('cp', ['-a', path.join(IMAGES_DIR, name, 'rootfs'), target]);
      for (const sub of [
        'usr/local/bin',
        'usr/local/sbin',
        'etc/mysql/conf.d',
        'usr/bin',
        'usr/sbin',
        'etc',
      ]) {
        fs.mkdirSync(path.join(target, sub), { recursive: true });
      }
      execFileSync('chown', ['-R', '0:0', target]);
      execFileSync('chmod', ['-R', 'go-w', target]);
      this.layers.set(name, target);
    }
  }

  image(ref: string): ImageConfig {
    if (/^(docker\.io\/)?(library\/)?mysql:5\.7(\b|$)/.test(ref)) {
      return {
        ref,
        layer: this.layer('mysql57'),
        opaqueDirs: ['/usr/local', '/etc/mysql'],
        entrypoint: ['docker-entrypoint.sh'],
        cmd: ['mysqld'],
        env: { PATH, MYSQL_MAJOR: '5.7' },
        workingDir: '/',
        user: { uid: 0, gid: 0 },
        dirs: [
          { path: '/var/lib/mysql', mode: '1777', uid: 999, gid: 999 },
          { path: '/var/run/mysqld', mode: '1777', uid: 999, gid: 999 },
          { path: '/var/lib/mysql-files', mode: '0700', uid: 999, gid: 999 },
        ],
      };
    }
    if (/^(docker\.io\/)?percona\/percona-xtrabackup:2\.4(\b|$)/.test(ref)) {
      return {
        ref,
        layer: this.layer('percona-xtrabackup24'),
        opaqueDirs: ['/usr/local', '/etc/mysql'],
        entrypoint: [],
        cmd: ['/usr/bin/xtrabackup'],
        env: { PATH },
        workingDir: '/',
        user: { uid: 1001, gid: 1001 },
        dirs: [],
      };
    }
    throw new Error(`the mysql57 adapter does not emulate image ${ref}`);
  }

  replicaStatusQuery(host: string): string[] {
    return ['mysql', '-h', host, '-e', 'SHOW SLAVE STATUS\\G'];
  }

  parseReplicaStatus(output: string): ReplicaStatus {
    const field = (name: string) => output.match(new RegExp(`^\\s*${name}: (.*)$`, 'm'))?.[1]?.trim();
    if (!field('Master_Host')) return { configured: false };
    const num = (name: string) => (field(name) === undefined ? undefined : Number(field(name)));
    return {
      configured: true,
      sourceHost: field('Master_Host'),
      ioRunning: field('Slave_IO_Running'),
      sqlRunning: field('Slave_SQL_Running'),
      sourceLogFile: field('Relay_Master_Log_File'),
      readSourceLogPos: num('Read_Master_Log_Pos'),
      execSourceLogPos: num('Exec_Master_Log_Pos'),
      lastError: [field('Last_IO_Error'), field('Last_SQL_Error')].filter(Boolean).join(' / ') || undefined,
    };
  }

  client(host: string): string[] {
    return ['mysql', '-h', host];
  }

  private layer(name: string): string {
    const layer = this.layers.get(name);
    if (!layer) throw new Error(`image layers not prepared (call prepare first)`);
    return layer;
  }
}
