#!/usr/bin/env bash
# xtrabackup sidecar (MySQL 5.7, XtraBackup 2.4): finishes a clone by starting replication, then serves
# backups to the next pod.
#
# 1. If clone-mysql left XtraBackup's binlog coordinates in the data directory, turn them into
#    CHANGE MASTER TO, point it at the primary (<name>-0.<service>) and START SLAVE, once. The
#    coordinates file is renamed only after the statement succeeded, so a failed attempt is retried
#    on the container's next start, and a completed one is never repeated.
#      - cloned from a replica: xtrabackup_slave_info holds "CHANGE MASTER TO MASTER_LOG_FILE='…',
#        MASTER_LOG_POS=…;" (the primary's coordinates; trailing semicolon stripped). An empty file
#        means the source was not a replica, and is ignored.
#      - cloned from the primary: xtrabackup_binlog_info holds "<file> <position> [<gtid set>]".
# 2. Serve `xtrabackup --backup --stream=xbstream` on BACKUP_PORT, one connection per backup.
#    READY_FILE exists only while serving: the container's readiness probe tests it, so the next pod
#    is created only once this one can give it a backup.
#
# Environment:
#   POD_NAME          required, the pod's metadata.name, e.g. "mysql-2"
#   SERVICE_NAME      required, the headless Service name
#   DATA_DIR          the MySQL data directory (default /var/lib/mysql)
#   BACKUP_PORT       port to serve backups on (default 3307)
#   WAIT_TRIES        seconds to wait for mysqld before giving up and restarting (default 300)
#   READY_FILE        created just before serving backups (default /tmp/xtrabackup-serving)
# The replica connects to the primary, and the backups connect to the local mysqld, as root with an
# empty password, as in the seed (the workshop profile sets MYSQL_ALLOW_EMPTY_PASSWORD).
# Tools: mysql (client), socat, xtrabackup.
set -euo pipefail

: "${POD_NAME:?POD_NAME must be the pod name (downward API field metadata.name)}"
: "${SERVICE_NAME:?SERVICE_NAME must be the headless Service name}"
DATA_DIR=${DATA_DIR:-/var/lib/mysql}
BACKUP_PORT=${BACKUP_PORT:-3307}
WAIT_TRIES=${WAIT_TRIES:-300}
READY_FILE=${READY_FILE:-/tmp/xtrabackup-serving}
rm -f "$READY_FILE"
primary_host="${POD_NAME%-*}-0.$SERVICE_NAME"

cd "$DATA_DIR"

if [[ -f xtrabackup_slave_info && -n $(tr -d '[:space:]' <xtrabackup_slave_info) ]]; then
  # Only the final semicolon goes: the MASTER_HOST options are appended to the last statement.
  info=$(<xtrabackup_slave_info)
  info=${info%"${info##*[![:space:]]}"}
  printf '%s\n' "${info%;}" >change_master_to.sql.in
  rm -f xtrabackup_slave_info xtrabackup_binlog_info
elif [[ -f xtrabackup_binlog_info ]]; then
  read -r binlog_file binlog_pos _ <xtrabackup_binlog_info || true
  if [[ ! ${binlog_file:-} =~ ^[A-Za-z0-9._-]+$ || ! ${binlog_pos:-} =~ ^[0-9]+$ ]]; then
    echo "sidecar: cannot parse xtrabackup_binlog_info: $(<xtrabackup_binlog_info)" >&2
    exit 1
  fi
  echo "CHANGE MASTER TO MASTER_LOG_FILE='$binlog_file', MASTER_LOG_POS=$binlog_pos" >change_master_to.sql.in
  rm -f xtrabackup_binlog_info xtrabackup_slave_info
fi

if [[ -f change_master_to.sql.in ]]; then
  # Always -u root: this container runs as uid 999, and without -u the client would log in as that
  # uid's login name, which has no MySQL account.
  echo "sidecar: waiting for mysqld to accept connections"
  for ((tries = 1; ; tries++)); do
    mysql -h 127.0.0.1 -u root -e "SELECT 1" >/dev/null && break
    if ((tries >= WAIT_TRIES)); then
      echo "sidecar: mysqld did not accept connections in $WAIT_TRIES tries; restarting to try again" >&2
      exit 1
    fi
    sleep 1
  done
  echo "sidecar: starting replication from $primary_host at $(<change_master_to.sql.in)"
  mysql -h 127.0.0.1 -u root <<SQL
$(<change_master_to.sql.in),
  MASTER_HOST='$primary_host',
  MASTER_USER='root',
  MASTER_PASSWORD='',
  MASTER_CONNECT_RETRY=10;
START SLAVE;
SQL
  mv change_master_to.sql.in change_master_to.sql.orig
fi

echo "sidecar: serving backups on port $BACKUP_PORT"
touch "$READY_FILE"
exec socat -U "TCP-LISTEN:$BACKUP_PORT,reuseaddr,fork" \
  "SYSTEM:xtrabackup --backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root --datadir=$DATA_DIR"
