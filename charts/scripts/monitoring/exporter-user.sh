# shellcheck shell=bash
# exporter-user: a function the chart puts in front of the xtrabackup sidecar's script when the
# mysqld_exporter sidecar is on; the sidecar calls `ensure_exporter_user` once before it serves
# backups. Only the primary (ordinal PRIMARY_ORDINAL, default 0) acts: it creates or updates the exporter's MySQL user, and the
# replicas get it through their clone and replication, like every other user.
#
# Least privilege (prometheus/mysqld_exporter README, "Required Grants", at v0.20.0): PROCESS (the
# default collectors' information_schema.INNODB_CMP/INNODB_CMPMEM need it) and REPLICATION CLIENT (SHOW
# REPLICA/SLAVE STATUS, SHOW BINARY LOGS) on *.*, with MAX_USER_CONNECTIONS 3. The README also grants
# SELECT ON *.*; the collectors this chart runs (global status and variables, replication status,
# binary logs, InnoDB compression, query response time) read no table, so SELECT is granted on
# performance_schema.* only: the exporter can read no application data. The account is
# 'user'@'127.0.0.1': the exporter connects over the pod's loopback,
# so the account cannot be used from any other host.
#
# Environment (besides the sidecar's POD_NAME and PRIMARY_ORDINAL):
#   EXPORTER_USER           required, the exporter's MySQL user
#   EXPORTER_PASSWORD_FILE  its password (a Secret key); unset: an empty password (workshop profile)
#   CLIENT_CNF_DIR          set: connect as root with $CLIENT_CNF_DIR/root.cnf; unset: as root without
#                           a password (the workshop profile)
#   MYSQL_PORT              default 3306
#   POLL_SECONDS, WAIT_TRIES  how often and how long to wait for mysqld (defaults 1 and 300)
# The password reaches mysql on standard input, never a command line.

ensure_exporter_user() {
  if [[ ! ${POD_NAME:-} =~ -([0-9]+)$ ]]; then
    echo "exporter-user: cannot read an ordinal from pod name '${POD_NAME:-}'" >&2
    return 1
  fi
  local ordinal=${BASH_REMATCH[1]}
  if [[ ! ${PRIMARY_ORDINAL:-0} =~ ^[0-9]+$ ]]; then
    echo "exporter-user: PRIMARY_ORDINAL must be a pod ordinal, got '$PRIMARY_ORDINAL'" >&2
    return 1
  fi
  ((10#$ordinal == 10#${PRIMARY_ORDINAL:-0})) || return 0
  : "${EXPORTER_USER:?EXPORTER_USER must be set}"
  local port=${MYSQL_PORT:-3306} poll=${POLL_SECONDS:-1} tries=${WAIT_TRIES:-300} password="" n
  local -a root=(mysql -u root)
  [[ -z ${CLIENT_CNF_DIR:-} ]] || root=(mysql "--defaults-extra-file=$CLIENT_CNF_DIR/root.cnf")
  root+=(-h 127.0.0.1 -P "$port")
  if [[ ! $EXPORTER_USER =~ ^[A-Za-z0-9_]{1,32}$ ]]; then
    echo "exporter-user: EXPORTER_USER must be 1 to 32 letters, digits or _, got '$EXPORTER_USER'" >&2
    return 1
  fi
  if [[ -n ${EXPORTER_PASSWORD_FILE:-} ]]; then
    password=$(<"$EXPORTER_PASSWORD_FILE")
    # The same alphabet exporter-config.sh enforces, so no quoting is needed in SQL either.
    if [[ ! $password =~ ^[A-Za-z0-9+/=._-]+$ ]]; then
      echo "exporter-user: the exporter password in '$EXPORTER_PASSWORD_FILE' is empty or has a character other than letters, digits and + / = . _ -" >&2
      return 1
    fi
  fi
  for ((n = 1; ; n++)); do
    "${root[@]}" -e 'SELECT 1' </dev/null >/dev/null && break
    if ((n >= tries)); then
      echo "exporter-user: mysqld did not accept connections in $tries tries" >&2
      return 1
    fi
    sleep "$poll"
  done
  local account="'$EXPORTER_USER'@'127.0.0.1'"
  echo "exporter-user: ensuring MySQL user $account for mysqld_exporter"
  printf '%s\n' \
    "CREATE USER IF NOT EXISTS $account IDENTIFIED BY '$password' WITH MAX_USER_CONNECTIONS 3;" \
    "ALTER USER $account IDENTIFIED BY '$password' WITH MAX_USER_CONNECTIONS 3;" \
    "GRANT PROCESS, REPLICATION CLIENT ON *.* TO $account;" \
    "GRANT SELECT ON performance_schema.* TO $account;" |
    "${root[@]}" || {
    echo "exporter-user: could not create or update $account" >&2
    return 1
  }
}
