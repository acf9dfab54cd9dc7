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
# 2. Serve `xtrabackup --backup --stream=xbstream` on BACKUP_PORT (socat in the background), one
#    connection per backup, only while the verdict (3) is "ready": the next pod clones from this one
#    (the previous pod), and a replica whose replication broke must not hand out its stale data. A
#    refused connection ends the stream at once; clone-mysql retries.
# 3. Watch replication every MONITOR_SECONDS and write the verdict to STATE_FILE as one line,
#    "<epoch seconds> ready|not-ready <reason>"; the container's readiness probe (replica-ready.sh)
#    passes only on a fresh "ready" line and prints the reason, and every change of verdict is logged
#    here. So the next pod is created only once this one serves backups and replicates. The primary
#    is always ready once it serves backups. A replica is ready while Slave_IO_Running and
#    Slave_SQL_Running are Yes and Seconds_Behind_Master is at most MAX_LAG_SECONDS (SHOW SLAVE
#    STATUS); otherwise the reason names the thread, its Last_*_Errno and Last_*_Error, or the lag.
#    REPLICA_READINESS=serving is the off switch: always ready, reason still logged.
# 4. SIGTERM (pod deletion) stops the backup server and exits at once; bash waits for every child in
#    the background, so the trap runs without waiting for a sleep or a query to end.
#
# Environment:
#   POD_NAME          required, the pod's metadata.name, e.g. "mysql-2"
#   SERVICE_NAME      required, the headless Service name
#   DATA_DIR          the MySQL data directory (default /var/lib/mysql)
#   BACKUP_PORT       port to serve backups on (default 3307)
#   WAIT_TRIES        seconds to wait for mysqld before giving up and restarting (default 300)
#   STATE_FILE        the readiness verdict (default /tmp/replication-state), written from the
#                     moment backups are served; removed at start
#   MONITOR_SECONDS   pause between replication checks (default 2)
#   MAX_LAG_SECONDS   largest Seconds_Behind_Master a Ready replica may have (default 60)
#   REPLICA_READINESS replicating (default): Ready only while replicating; serving: Ready whenever
#                     backups are served (the off switch)
#   MONITOR_ROUNDS    stop after this many checks and exit 0 (default 0: never; for tests)
#   PROC_IF_INET6     exists when the kernel has IPv6 (default /proc/net/if_inet6; tests point it elsewhere)
# The replica connects to the primary, and the backups connect to the local mysqld, as root with an
# empty password, as in the seed (the workshop profile sets MYSQL_ALLOW_EMPTY_PASSWORD).
# Tools: bash, mysql (client), socat, xtrabackup, sleep, tr, mv, rm; sh (socat's SYSTEM: runs /bin/sh
# -c). Each is checked at start; a missing one names CONTAINER_IMAGE (the container's image; README
# "Images").
set -euo pipefail

for tool in mysql socat xtrabackup sh mv rm sleep tr; do
  command -v "$tool" >/dev/null || {
    echo "sidecar (container xtrabackup): $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Images\")" >&2
    exit 127
  }
done

: "${POD_NAME:?POD_NAME must be the pod name (downward API field metadata.name)}"
: "${SERVICE_NAME:?SERVICE_NAME must be the headless Service name}"
DATA_DIR=${DATA_DIR:-/var/lib/mysql}
BACKUP_PORT=${BACKUP_PORT:-3307}
WAIT_TRIES=${WAIT_TRIES:-300}
STATE_FILE=${STATE_FILE:-/tmp/replication-state}
MONITOR_SECONDS=${MONITOR_SECONDS:-2}
MAX_LAG_SECONDS=${MAX_LAG_SECONDS:-60}
REPLICA_READINESS=${REPLICA_READINESS:-replicating}
MONITOR_ROUNDS=${MONITOR_ROUNDS:-0}
rm -f "$STATE_FILE"
primary_host="${POD_NAME%-*}-0.$SERVICE_NAME"

fail() {
  echo "sidecar: $*" >&2
  exit 1
}
[[ $MONITOR_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "MONITOR_SECONDS must be a number of seconds, got '$MONITOR_SECONDS'"
[[ $MAX_LAG_SECONDS =~ ^[0-9]+$ ]] || fail "MAX_LAG_SECONDS must be a whole number of seconds, got '$MAX_LAG_SECONDS'"
[[ $MONITOR_ROUNDS =~ ^[0-9]+$ ]] || fail "MONITOR_ROUNDS must be a number, got '$MONITOR_ROUNDS'"
[[ $REPLICA_READINESS == replicating || $REPLICA_READINESS == serving ]] ||
  fail "REPLICA_READINESS must be 'replicating' or 'serving', got '$REPLICA_READINESS'"
if [[ ! $POD_NAME =~ -([0-9]+)$ ]]; then
  fail "cannot read an ordinal from pod name '$POD_NAME' (expected <name>-<number>)"
fi
ordinal=$((10#${BASH_REMATCH[1]}))

# SIGTERM: stop the backup server and leave at once. Every child runs in the background and is
# waited for with `wait`, which a trapped signal interrupts.
children=() sleeper=''
stop_children() {
  ((${#children[@]} == 0)) || kill -TERM "${children[@]}" 2>/dev/null || true
  [[ -z $sleeper ]] || kill -TERM "$sleeper" 2>/dev/null || true
  wait || true
}
on_term() {
  echo "sidecar: $1: stopping"
  stop_children
  exit 0
}
trap 'on_term SIGTERM' TERM
trap 'on_term SIGINT' INT
# pause SECONDS: sleep, interruptible by SIGTERM.
pause() {
  sleep "$1" &
  sleeper=$!
  wait "$sleeper" || true
  sleeper=''
}

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
    pause 1
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

# ---- serving and watching ------------------------------------------------------------------------

declare -A status=()
verdict='' reason=''
# read_replica_status: SHOW SLAVE STATUS into the array `status` (field -> value); an empty array
# means replication is not configured.
read_replica_status() {
  local out line
  status=()
  out=$(mysql -h 127.0.0.1 -u root --connect-timeout=5 -E -e 'SHOW SLAVE STATUS' </dev/null 2>&1) || {
    verdict=not-ready reason="cannot query mysqld: ${out//$'\n'/ }"
    return 1
  }
  while IFS= read -r line; do
    [[ $line =~ ^\ *([A-Za-z_]+):\ ?(.*)$ ]] && status[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  done <<<"$out"
  return 0
}

# thread_reason IO|SQL: why that replication thread is not running, from its Last_*_Errno/Error.
thread_reason() {
  local running=${status[Slave_$1_Running]:-} errno=${status[Last_$1_Errno]:-0} error=${status[Last_$1_Error]:-}
  if [[ $errno != 0 ]]; then
    printf 'replication %s thread is %s (Last_%s_Errno %s: %s)' "$1" "${running:-unknown}" "$1" "$errno" "$error"
  else
    printf 'replication %s thread is %s' "$1" "${running:-unknown}"
  fi
}

# evaluate: sets verdict (ready|not-ready) and reason for this round.
evaluate() {
  verdict=ready reason='primary: serving backups'
  ((ordinal == 0)) && return 0
  read_replica_status || return 0
  if ((${#status[@]} == 0)); then
    verdict=not-ready reason='replication is not configured (SHOW SLAVE STATUS is empty)'
  elif [[ ${status[Slave_IO_Running]:-} != Yes ]]; then
    verdict=not-ready reason=$(thread_reason IO)
  elif [[ ${status[Slave_SQL_Running]:-} != Yes ]]; then
    verdict=not-ready reason=$(thread_reason SQL)
  elif [[ ! ${status[Seconds_Behind_Master]:-} =~ ^[0-9]+$ ]]; then
    verdict=not-ready reason="Seconds_Behind_Master is ${status[Seconds_Behind_Master]:-missing}"
  elif ((status[Seconds_Behind_Master] > MAX_LAG_SECONDS)); then
    verdict=not-ready reason="replication lags ${status[Seconds_Behind_Master]} s behind the source (more than MAX_LAG_SECONDS=$MAX_LAG_SECONDS)"
  else
    reason="replicating from ${status[Master_Host]:-?}, ${status[Seconds_Behind_Master]} s behind"
  fi
  if [[ $verdict == not-ready && $REPLICA_READINESS == serving ]]; then
    verdict=ready reason="$reason (ignored: REPLICA_READINESS=serving)"
  fi
  return 0
}

# Monitoring: with the exporter on, the chart prepends charts/scripts/monitoring/exporter-user.sh.
if [[ -n ${EXPORTER_USER:-} ]]; then ensure_exporter_user; fi

echo "sidecar: serving backups on port $BACKUP_PORT"
# One dual-stack socket (IPv6, with IPv4 clients as mapped addresses) serves IPv4-only, IPv6-only and
# dual-stack pods alike; socat's TCP-LISTEN would take IPv4 only. IPv4 alone where the kernel has no IPv6.
if [[ -e ${PROC_IF_INET6:-/proc/net/if_inet6} ]]; then
  listen="TCP6-LISTEN:$BACKUP_PORT,ipv6only=0,reuseaddr,fork"
else
  listen="TCP4-LISTEN:$BACKUP_PORT,reuseaddr,fork"
fi
socat -U "$listen" \
  "SYSTEM:read -r t v r <$STATE_FILE && test x\$v = xready && exec xtrabackup --backup --slave-info --stream=xbstream --host=127.0.0.1 --user=root --datadir=$DATA_DIR" &
children+=($!)
backup_server=$!

last=''
for ((round = 1; MONITOR_ROUNDS == 0 || round <= MONITOR_ROUNDS; round++)); do
  kill -0 "$backup_server" 2>/dev/null || {
    wait "$backup_server" || true
    fail "the backup server (socat) exited; restarting"
  }
  evaluate
  printf -v now '%(%s)T' -1
  printf '%s %s %s\n' "$now" "$verdict" "$reason" >"$STATE_FILE.tmp"
  mv -f "$STATE_FILE.tmp" "$STATE_FILE"
  # Logged when the verdict changes, and whenever the reason for not being ready does.
  key=$verdict
  [[ $verdict == ready ]] || key="$verdict $reason"
  if [[ $key != "$last" ]]; then
    echo "sidecar: $verdict: $reason"
    last=$key
  fi
  ((MONITOR_ROUNDS != 0 && round == MONITOR_ROUNDS)) || pause "$MONITOR_SECONDS"
done
stop_children
