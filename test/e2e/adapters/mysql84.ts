/**
 * The production profile's flavor: the `mysql:8.4` and `percona/percona-xtrabackup:8.4` images, emulated on the
 * host's Debian packages (MariaDB 10.11 server, client and mariabackup) behind a translation layer for MySQL 8.4's
 * SQL (images/mysql84-sql/translate-sql.pl). The image layers are in test/e2e/images/{mysql84,
 * percona-xtrabackup84}/rootfs; README.md ("production profile (MySQL 8.4)") lists every translation and its cost.
 */
import * as path from 'path';
import type { FlavorAdapter, ReplicaStatus, UserSecret } from './types';
import type { EnvVar } from '../lib/manifest';
import { AWKWARD } from '../lib/secrets';
import { IMAGES_DIR, MysqlImagesAdapter } from './images';

const TRANSLATOR = path.join(IMAGES_DIR, 'mysql84-sql', 'translate-sql.pl');

/** MySQL 8.4 + XtraBackup 8.4 on MariaDB. */
export class Mysql84Adapter extends MysqlImagesAdapter implements FlavorAdapter {
  readonly description =
    'mysql84: mysql:8.4 + percona-xtrabackup:8.4, emulated on Debian MariaDB 10.11 with a MySQL 8.4 SQL translation layer';
  readonly clientImage = 'mysql:8.4.10';
  readonly readOnlyError = /ERROR 1290 \(HY000\)/;
  /** The Secret the README tells the user to create before `kubectl apply -f dist/production/`. */
  readonly userSecrets: UserSecret[] = [
    {
      name: 'mysql-credentials',
      keys: ['root-password', 'replication-password', 'exporter-password'],
      // init-mysql refuses a root password with ' " \ (the mysql image's entrypoint pastes it into SQL and an
      // option file unescaped); the replication password has no such limit; exporter-config allows only
      // letters, digits and + / = . _ - in the exporter's (mysqld_exporter's option-file parser).
      forbidden: { 'root-password': `'"\\`, 'exporter-password': AWKWARD },
    },
  ];
  /** The client pod connects as root with the password from the Secret in its environment (not its command line). */
  readonly clientEnv: EnvVar[] = [
    { name: 'MYSQL_PWD', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'root-password' } } },
  ];
  constructor() {
    super({
      adapter: 'mysql84',
      mysql: { layer: 'mysql84', version: '8.4', mysqlFilesMode: '0750' },
      xtrabackup: { layer: 'percona-xtrabackup84', version: '8.4' },
      layers: {
        chmod: 'go-w,a+rX',
        extraDirs: ['usr/lib/e2e-mysql84'],
        files: { 'usr/lib/e2e-mysql84/translate-sql.pl': TRANSLATOR },
      },
    });
  }

  /**
   * `SHOW REPLICA STATUS` is MySQL 8.4 syntax that MariaDB 10.11 also has; the client shim renames its fields to
   * 8.4's (Master -> Source, Slave -> Replica), MariaDB-only fields (Using_Gtid, Gtid_IO_Pos) stay.
   */
  replicaStatusQuery(host: string): string[] {
    return [...this.client(host), '-e', 'SHOW REPLICA STATUS\\G'];
  }

  parseReplicaStatus(output: string): ReplicaStatus {
    const fields: Record<string, string> = {};
    for (const m of output.matchAll(/^\s*(\w+): ?(.*)$/gm)) fields[m[1]] = m[2].trim();
    if (!fields.Source_Host) return { configured: false, fields };
    const num = (name: string) => (fields[name] === undefined ? undefined : Number(fields[name]));
    return {
      configured: true,
      sourceHost: fields.Source_Host,
      ioRunning: fields.Replica_IO_Running,
      sqlRunning: fields.Replica_SQL_Running,
      sourceLogFile: fields.Relay_Source_Log_File,
      readSourceLogPos: num('Read_Source_Log_Pos'),
      execSourceLogPos: num('Exec_Source_Log_Pos'),
      lastError: [fields.Last_IO_Error, fields.Last_SQL_Error].filter(Boolean).join(' / ') || undefined,
      fields,
    };
  }

  client(host: string): string[] {
    return ['mysql', '-uroot', '-h', host];
  }
}
