#!/usr/bin/env bash
# e2e emulation: the host's tools come after the image's own (test/e2e/lib/inventory.ts); chart scripts never see them.
PATH=$PATH:/usr/libexec/e2e-host/bin:/usr/libexec/e2e-host/sbin
# e2e emulation of the mysql:8.4 image's ENTRYPOINT (docker-library/mysql, 8.4/docker-entrypoint.sh), written from
# scratch for the MariaDB-backed image of test/e2e and reduced to what this project's StatefulSet relies on:
#
#   1. `docker-entrypoint.sh -x …` means `docker-entrypoint.sh mysqld -x …`.
#   2. For `mysqld`: the *_FILE variables (MYSQL_ROOT_PASSWORD_FILE, …) are read into their variables (trailing
#      newlines stripped, as `$(< file)` does); setting both forms is an error.
#   3. Started as root it gives the data directory to `mysql` (999) and re-executes itself as that user; started
#      as any other user (the production pods run as 999) it runs as is.
#   4. On an empty data directory: requires MYSQL_ROOT_PASSWORD (or MYSQL_ALLOW_EMPTY_PASSWORD), initializes it
#      (`mysqld --initialize-insecure --default-time-zone=SYSTEM`), starts a temporary server without networking,
#      then, with the binary log off: sets root@localhost's password, creates root@MYSQL_ROOT_HOST (default '%')
#      with ALL and PROXY, and the optional MYSQL_DATABASE / MYSQL_USER; then stops the server. The SQL goes
#      through the `mysql` client on standard input (passwords never on a command line). Like the image (and as
#      the chart's init-mysql assumes), the root password is pasted into the SQL unescaped: a ' or \ in it
#      breaks the initialization.
#      The accounts mariadb-install-db creates beyond MySQL's --initialize-insecure (root@127.0.0.1, root@::1,
#      root@<hostname>, mysql@localhost, all password-less) are dropped first: root@127.0.0.1 would otherwise
#      shadow root@'%' for TCP connections from inside the pod.
#   5. Finally it execs the command, so mysqld is the container's PID 1.
# Not emulated: time zone tables, /docker-entrypoint-initdb.d, MYSQL_RANDOM_ROOT_PASSWORD, MYSQL_ONETIME_PASSWORD,
# the `mysqld --verbose --help` config check; the temporary server is stopped with SIGTERM (the image runs
# `mysqladmin shutdown` with a password file).
set -eo pipefail

log() { echo "$(date -u +%FT%TZ) [Entrypoint]: $*"; }
die() {
  log "ERROR: $*" >&2
  exit 1
}

# file_env VAR: VAR from VAR_FILE's content when that is set.
file_env() {
  local var=$1 file_var="${1}_FILE"
  if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
    die "both $var and $file_var are set (but are exclusive)"
  fi
  if [[ -n ${!file_var:-} ]]; then
    [[ -r ${!file_var} ]] || die "$file_var: cannot read '${!file_var}'"
    printf -v "$var" '%s' "$(<"${!file_var}")"
  fi
  unset "$file_var"
}

if [[ ${1:0:1} == - ]]; then
  set -- mysqld "$@"
fi

if [[ $1 == mysqld ]]; then
  for var in MYSQL_ROOT_PASSWORD MYSQL_ROOT_HOST MYSQL_DATABASE MYSQL_USER MYSQL_PASSWORD; do
    file_env "$var"
  done
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
    You need to specify one of the following as an environment variable:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    log "Initializing database files"
    "$@" --initialize-insecure --default-time-zone=SYSTEM
    log "Database files initialized"

    log "Starting temporary server"
    "$@" --skip-networking --default-time-zone=SYSTEM --socket="$socket" &
    pid=$!
    for _ in $(seq 1 120); do
      if mysql --protocol=socket --socket="$socket" -uroot -e 'SELECT 1' </dev/null >/dev/null 2>&1; then break; fi
      kill -0 "$pid" 2>/dev/null || die "the temporary server exited"
      sleep 0.25
    done
    log "Temporary server started."

    root_password=${MYSQL_ROOT_PASSWORD:-}
    root_host=${MYSQL_ROOT_HOST:-%}
    sql="SET autocommit = 1;
SET @@SESSION.SQL_LOG_BIN=0;
DROP USER IF EXISTS 'mysql'@'localhost', 'root'@'127.0.0.1', 'root'@'::1', 'root'@'$(uname -n)';
ALTER USER 'root'@'localhost' IDENTIFIED BY '$root_password';"
    if [[ ${MYSQL_ROOT_HOST:-%} != localhost ]]; then
      sql+="
CREATE USER 'root'@'$root_host' IDENTIFIED BY '$root_password';
GRANT ALL ON *.* TO 'root'@'$root_host' WITH GRANT OPTION;
GRANT PROXY ON ''@'' TO 'root'@'$root_host' WITH GRANT OPTION;"
    fi
    if [[ -n ${MYSQL_DATABASE:-} ]]; then
      sql+=$'\n'"CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE//\`/\`\`}\`;"
    fi
    if [[ -n ${MYSQL_USER:-} && -n ${MYSQL_PASSWORD:-} ]]; then
      sql+=$'\n'"CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '$MYSQL_PASSWORD';"
    fi
    printf '%s\n' "$sql" | mysql --protocol=socket --socket="$socket" -uroot

    log "Stopping temporary server"
    kill -s TERM "$pid"
    wait "$pid" || die "the temporary server did not stop cleanly"
    log "Temporary server stopped"
    log "MySQL init process done. Ready for start up."
  fi
fi

exec "$@"
