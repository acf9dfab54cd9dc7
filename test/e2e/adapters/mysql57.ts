/**
 * The workshop profile's flavor: the `mysql:5.7` and `percona/percona-xtrabackup:2.4` images, emulated on the
 * host's Debian packages (MariaDB 10.11 server, client and mariabackup). The image layers are in
 * test/e2e/images/{mysql57,percona-xtrabackup24}/rootfs; README.md lists every adaptation.
 */
import type { FlavorAdapter, ReplicaStatus } from './types';
import { MysqlImagesAdapter } from './images';

/** MySQL 5.7 + XtraBackup 2.4 on MariaDB. */
export class Mysql57Adapter extends MysqlImagesAdapter implements FlavorAdapter {
  readonly description = 'mysql57: mysql:5.7 + percona-xtrabackup:2.4, emulated on Debian MariaDB 10.11';
  readonly clientImage = 'mysql:5.7';
  readonly readOnlyError = /ERROR 1290 \(HY000\)/;
  constructor() {
    super({
      adapter: 'mysql57',
      mysql: { layer: 'mysql57', version: '5.7', mysqlFilesMode: '0700' },
      xtrabackup: { layer: 'percona-xtrabackup24', version: '2.4' },
      layers: { chmod: 'go-w' },
    });
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
}
