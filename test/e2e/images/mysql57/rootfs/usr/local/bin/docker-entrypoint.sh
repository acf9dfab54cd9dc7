#!/usr/bin/env bash
# e2e emulation: the host's tools come after the image's own (test/e2e/lib/inventory.ts); chart scripts never see them.
PATH=$PATH:/usr/libexec/e2e-host/bin:/usr/libexec/e2e-host/sbin
# e2e emulation of the mysql:5.7 image's ENTRYPOINT (docker-library/mysql, 5.7/docker-entrypoint.sh), reduced to
# what this project's StatefulSet relies on, and written for the MariaDB-backed image of test/e2e.
#
#   1. `docker-entrypoint.sh -x …` means `docker-entrypoint.sh mysqld -x …`.
#   2. For `mysqld`: started as root, it gives the data directory to the mysql user (999) and re-executes
#      itself as that user (the image uses gosu, this uses setpriv).
#   3. On an empty data directory it requires one of MYSQL_ROOT_PASSWORD / MYSQL_ALLOW_EMPTY_PASSWORD /
#      MYSQL_RANDOM_ROOT_PASSWORD, initializes it (`mysqld --initialize-insecure`), starts a temporary server
#      without networking, creates root@'%' (password MYSQL_ROOT_PASSWORD, empty when allowed), and the optional
#      MYSQL_DATABASE / MYSQL_USER / MYSQL_PASSWORD, with the binary log off; then stops it. Where the 5.7
#      script deletes every account but root@localhost and MySQL's system accounts, this drops the one extra
#      account mariadb-install-db creates (mysql@localhost, unix_socket).
#   4. Finally it execs the command, so mysqld is the container's PID 1.
# Not emulated: time zone tables, /docker-entrypoint-initdb.d, MYSQL_RANDOM_ROOT_PASSWORD, MYSQL_ONETIME_PASSWORD,
# the config check with `mysqld --verbose --help`, and file_env's *_FILE variables (all unused by this project).
set -eo pipefail

log() { echo "$(date -u +%FT%TZ) [Entrypoint]: $*"; }
die() {
  log "ERROR: $*" >&2
  exit 1
}

if [[ ${1:0:1} == - ]]; then
  set -- mysqld "$@"
fi

if [[ $1 == mysqld ]]; then
  datadir=$(my_print_defaults --mysqld | sed -n 's/^--datadir=//p' | tail -n 1)
  datadir=${datadir:-/var/lib/mysql}
  socket=/var/run/mysqld/mysqld.sock

  if [[ $(id -u) == 0 ]]; then
    log "Switching to dedicated user 'mysql'"
    mkdir -p "$datadir"
    find "$datadir" \! -user mysql -exec chown mysql:mysql '{}' +
    exec setpriv --reuid=mysql --regid=mysql --init-groups -- "${BASH_SOURCE[0]}" "$@"
  fi

  if [[ ! -d $datadir/mysql ]]; then
    if [[ -z ${MYSQL_ROOT_PASSWORD:-} && -z ${MYSQL_ALLOW_EMPTY_PASSWORD:-} ]]; then
      die "Database is uninitialized and password option is not specified
    You need to specify one of MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    log "Initializing database files"
    "$@" --initialize-insecure
    log "Database files initialized"

    log "Starting temporary server"
    "$@" --skip-networking --socket="$socket" &
    pid=$!
    for _ in $(seq 1 60); do
      if mysql --protocol=socket --socket="$socket" -uroot -e 'SELECT 1' >/dev/null 2>&1; then break; fi
      kill -0 "$pid" 2>/dev/null || die "the temporary server exited"
      sleep 0.5
    done
    log "Temporary server started."

    root_password=${MYSQL_ROOT_PASSWORD:-}
    sql="SET @@SESSION.SQL_LOG_BIN=0;
DROP USER IF EXISTS 'mysql'@'localhost';
ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_password}';
CREATE USER 'root'@'%' IDENTIFIED BY '${root_password}';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
DROP DATABASE IF EXISTS test;
FLUSH PRIVILEGES;"
    if [[ -n ${MYSQL_DATABASE:-} ]]; then
      sql+=$'\n'"CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE}\`;"
    fi
    if [[ -n ${MYSQL_USER:-} && -n ${MYSQL_PASSWORD:-} ]]; then
      sql+=$'\n'"CREATE USER '${MYSQL_USER}'@'%' IDENTIFIED BY '${MYSQL_PASSWORD}';"
      if [[ -n ${MYSQL_DATABASE:-} ]]; then
        sql+=$'\n'"GRANT ALL ON \`${MYSQL_DATABASE}\`.* TO '${MYSQL_USER}'@'%';"
      fi
    fi
    mysql --protocol=socket --socket="$socket" -uroot <<<"$sql"

    log "Stopping temporary server"
    kill -s TERM "$pid"
    wait "$pid" || die "the temporary server did not stop cleanly"
    log "Temporary server stopped"
    log "MySQL init process done. Ready for start up."
  fi
fi

exec "$@"
