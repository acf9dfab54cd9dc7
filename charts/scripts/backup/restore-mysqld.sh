#!/usr/bin/env bash
# restore-mysqld: starts mysqld offline on a data directory that restore-from-s3 prepared, does one job on
# it, and shuts it down cleanly. Offline: --skip-networking --skip-grant-tables (nobody but this script can
# connect, through a socket in WORK_DIR; no password is needed, none is read), --skip-replica-start,
# --skip-log-bin, --mysqlx=OFF.
#
# ACTION=finish (the `restore-mysqld` init container of mysql-0 after restore-from-s3): when
#   .restore-pending exists, drop the replication configuration the backup carried (a backup taken on a
#   replica holds that replica's channel: RESET REPLICA ALL); with a point in time (.restore-pitr.sql,
#   which restore-from-s3 decoded from the archived binary logs), apply it: transactions the backup holds
#   already are excluded by GTID, and with gtid_mode=ON (conf.d) the server skips any it has executed;
#   then rename .restore-pending to .restored-from, so a restart of the pod never restores again. A failed
#   replay leaves .restore-pending: the next start replays again. Without .restore-pending: nothing to do.
# ACTION=drill (the restore drill's check container): CHECK TABLE and SELECT COUNT(*) on every base table
#   outside information_schema, performance_schema and sys; print one line per table; exit 1 if mysqld
#   does not start, any table is not "OK", or fewer than MIN_TABLES tables exist.
#
# Environment:
#   ACTION           required, finish or drill
#   DATA_DIR         the restored data directory (default /var/lib/mysql)
#   WORK_DIR         where the socket and pid file go (default /tmp)
#   START_TRIES      seconds to wait for mysqld to start, e.g. for crash recovery (default 600)
#   MIN_TABLES       drill: fewer tables fail the drill (default 1)
#   CONTAINER_IMAGE  the container's image, named when a tool is missing
# Tools (mysql:8.4 image): mysqld, mysql, mysqladmin, mktemp, sleep, mv, cat, rm.
set -euo pipefail

log() { echo "restore-mysqld: $*"; }
fail() {
  echo "restore-mysqld: FAILED: $*" >&2
  exit 1
}
for tool in mysqld mysql mysqladmin mktemp sleep mv cat rm; do
  command -v "$tool" >/dev/null || {
    echo "restore-mysqld: $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Restore\")" >&2
    exit 127
  }
done

: "${ACTION:?ACTION must be finish or drill}"
DATA_DIR=${DATA_DIR:-/var/lib/mysql}
WORK_DIR=${WORK_DIR:-/tmp}
START_TRIES=${START_TRIES:-600}
MIN_TABLES=${MIN_TABLES:-1}
[[ $ACTION == finish || $ACTION == drill ]] || fail "ACTION must be 'finish' or 'drill', got '$ACTION'"
[[ $START_TRIES =~ ^[0-9]+$ ]] || fail "START_TRIES must be a number, got '$START_TRIES'"
[[ $MIN_TABLES =~ ^[0-9]+$ ]] || fail "MIN_TABLES must be a number, got '$MIN_TABLES'"

if [[ ! -f $DATA_DIR/.restore-pending ]]; then
  if [[ $ACTION == finish ]]; then
    log "no restore pending in $DATA_DIR; nothing to do"
    exit 0
  fi
  fail "$DATA_DIR holds no prepared backup (.restore-pending is missing): restore-from-s3 did not finish"
fi
source=$(<"$DATA_DIR/.restore-pending")

work=$(mktemp -d "$WORK_DIR/restore-mysqld.XXXXXX")
sock="$work/mysqld.sock"
mysqld_pid=""
stop_mysqld() {
  [[ -n $mysqld_pid ]] || return 0
  mysqladmin --socket="$sock" -u root shutdown >/dev/null 2>&1 || kill "$mysqld_pid" 2>/dev/null || true
  wait "$mysqld_pid" 2>/dev/null || true
  mysqld_pid=""
}
trap 'stop_mysqld; rm -rf "$work"' EXIT
sql() { mysql --socket="$sock" -u root -N -B "$@"; }

log "starting mysqld offline on $DATA_DIR (backup $source)"
mysqld --datadir="$DATA_DIR" --socket="$sock" --pid-file="$work/mysqld.pid" \
  --skip-networking --skip-grant-tables --skip-replica-start --skip-log-bin --mysqlx=OFF &
mysqld_pid=$!
for ((tries = 1; ; tries++)); do
  mysqladmin --socket="$sock" -u root ping >/dev/null 2>&1 && break
  kill -0 "$mysqld_pid" 2>/dev/null || {
    mysqld_pid=""
    fail "mysqld exited while starting on the restored data (its log is above)"
  }
  ((tries < START_TRIES)) || fail "mysqld did not start in $START_TRIES s"
  sleep 1
done
log "mysqld $(sql -e 'SELECT @@GLOBAL.version' </dev/null) is up"

if [[ $ACTION == finish ]]; then
  sql -e 'RESET REPLICA ALL' </dev/null || fail "RESET REPLICA ALL failed"
  if [[ -f $DATA_DIR/.restore-pitr.sql ]]; then
    to_time=$(cat "$DATA_DIR/.restore-to-time" 2>/dev/null || echo '?')
    before=$(sql -e 'SELECT @@GLOBAL.gtid_executed' </dev/null) || fail "cannot read gtid_executed"
    log "replaying the archived binary logs up to $to_time UTC onto the backup (gtid_executed $before)"
    sql <"$DATA_DIR/.restore-pitr.sql" || fail "replaying the archived binary logs failed (mysql's error is above); the pod retries the replay when it restarts"
    after=$(sql -e 'SELECT @@GLOBAL.gtid_executed' </dev/null) || fail "cannot read gtid_executed"
    rm -f "$DATA_DIR/.restore-pitr.sql"
    log "replayed: gtid_executed $after"
  fi
  stop_mysqld
  mv "$DATA_DIR/.restore-pending" "$DATA_DIR/.restored-from"
  log "done: replication settings from the backup dropped; $DATA_DIR is restored from $source$([[ -f $DATA_DIR/.restore-to-time ]] && echo " to $(cat "$DATA_DIR/.restore-to-time") UTC")"
  exit 0
fi

# sql_string VALUE: VALUE as the body of a single-quoted SQL string literal (\ and ' escaped).
sql_string() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\'/\\\'}"
}
mapfile -t tables < <(sql -e "SELECT CONCAT('\`', REPLACE(TABLE_SCHEMA, '\`', '\`\`'), '\`.\`', REPLACE(TABLE_NAME, '\`', '\`\`'), '\`') FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema', 'sys') ORDER BY TABLE_SCHEMA, TABLE_NAME" </dev/null)
((${#tables[@]} >= MIN_TABLES)) || fail "the restored backup has ${#tables[@]} tables, fewer than MIN_TABLES=$MIN_TABLES"
statements=()
for t in "${tables[@]}"; do
  statements+=("SELECT 'table', '$(sql_string "$t")';" "CHECK TABLE $t;" "SELECT 'rows', COUNT(*) FROM $t;")
done
output=$(printf '%s\n' "${statements[@]}" | sql) || fail "CHECK TABLE / SELECT COUNT(*) failed"

failed=0 checked=0 rows_total=0 current="" verdict="" details=""
report() {
  [[ -n $current ]] || return 0
  if [[ $verdict == OK ]]; then
    log "$current: OK, $rows rows"
  else
    log "$current: NOT OK: ${details:-no CHECK TABLE status}"
    failed=$((failed + 1))
  fi
}
while IFS=$'\t' read -r a b c d; do
  if [[ $a == table ]]; then
    report
    current=$b verdict="" details="" rows="?"
    checked=$((checked + 1))
  elif [[ $a == rows ]]; then
    rows=$b
    rows_total=$((rows_total + b))
  elif [[ $b == check ]]; then
    # Table, Op, Msg_type, Msg_text: the last "status" row is the verdict; "error" rows are failures.
    if [[ $c == error ]]; then
      verdict=error details+="$d; "
    elif [[ $c == status && $verdict != error ]]; then
      verdict=$d
      [[ $d == OK ]] || details+="$d; "
    elif [[ $c == note && $d == *"doesn't support check"* && $verdict != error ]]; then
      verdict=OK
    else
      details+="$c: $d; "
    fi
  fi
done <<<"$output"
report
stop_mysqld
if ((failed > 0)); then
  fail "$failed of $checked tables failed CHECK TABLE in backup $source"
fi
log "PASSED: backup $source restores: mysqld started, $checked tables CHECK TABLE OK, $rows_total rows"
