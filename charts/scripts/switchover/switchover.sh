#!/usr/bin/env bash
# switchover: makes ordinal TARGET the primary of the StatefulSet, the way cybozu-go/moco documents its
# switchover and failover (docs/clustering.md), run once by the <name>-switchover Job (an Argo CD Sync hook
# in the wave before the StatefulSet, or `kubectl apply` by hand). It needs no Kubernetes API: it asks every
# pod's mysqld <name>-N.<service> (N < REPLICAS) as root what it is.
#
# Survey: a server without a replication channel (SHOW REPLICA STATUS empty) is a primary; the writable one
# is the current primary P (or, if none is writable, the one fenced server without a channel: a run that
# stopped half-way). Two writable servers without a channel, or replicas that follow different sources while
# no primary answers, are refused: a person must decide.
#   - P is TARGET: nothing to switch. Finish what an interrupted run left: a fenced TARGET is made writable,
#     and every reachable server that does not replicate from TARGET is repointed at it, if TARGET's executed
#     GTID set contains its own (otherwise it is left alone and named: errant transactions). Exit 0.
#   - Planned switchover (P answers): refuse, changing nothing, unless TARGET replicates from P with both
#     threads running, at most MAX_LAG_SECONDS behind, and has no transaction P lacks (GTID_SUBSET). Then
#       1. fence P: SET GLOBAL super_read_only = ON, and kill every client connection (not replication's);
#       2. wait until TARGET applied P's executed GTID set (WAIT_FOR_EXECUTED_GTID_SET, WAIT_SECONDS); on a
#          timeout unfence P (read_only OFF) and fail;
#       3. promote TARGET: STOP REPLICA, RESET REPLICA ALL, read_only OFF (which turns super_read_only off);
#       4. repoint P and every other replica at TARGET: CHANGE REPLICATION SOURCE with auto-position and TLS.
#     Writes are refused from 1 to 3: the script prints that pause.
#   - Failover (P does not answer): refused unless FAILOVER=true. Then, like MOCO: stop the receiver of every
#     reachable replica (so the old primary, if it is alive somewhere, gets no replica), wait until each
#     applied what it received, and promote TARGET only if its executed set contains every other reachable
#     replica's (the most advanced); else restart the receivers and fail naming the most advanced. What the
#     old primary committed and no replica received is lost (asynchronous replication). Then steps 3 and 4
#     without P; P rejoins when it comes back (its sidecar compares GTID sets, see xtrabackup-sidecar.sh).
# Rerunning after success does nothing. No server answers at all: nothing to do (a new stack; or the pods
# will follow config when they start), exit 0.
#
# Environment:
#   STATEFULSET, SERVICE_NAME  required: pods are <STATEFULSET>-N.<SERVICE_NAME>
#   REPLICAS                   required: how many pods
#   TARGET                     required: the ordinal to make the primary (config `primary`)
#   FAILOVER                   true or false (default): promote without the old primary when it is gone
#   MYSQL_PORT                 (default 3306)
#   MAX_LAG_SECONDS            a planned switchover refuses a target further behind (default 5)
#   WAIT_SECONDS               how long to wait for the target to catch up (default 30)
#   SEMISYNC                   true or false (default): semi-synchronous replication (config replication.semiSync).
#                              Then the promoted server gets the source side on and the replica side off before
#                              it becomes writable, and every repointed server the source side off and the
#                              replica side on before START REPLICA (which registers it as a semi-sync replica)
#   ROOT_PASSWORD_FILE         required: root's password (a mounted Secret key)
#   REPLICATION_USER           required: the replication user (its connections are never killed)
#   REPLICATION_PASSWORD_FILE  required: its password, for CHANGE REPLICATION SOURCE
#   CLIENT_CNF_DIR             required: a private writable directory (in-memory emptyDir) for root's
#                              option file: the password is never on a command line
#   TLS_CA_FILE                optional: verify each server's certificate and name (--ssl-mode=VERIFY_IDENTITY)
#   SOURCE_TLS_DIR             optional: the client certificate directory inside the MySQL pods; replicas then
#                              connect with it and verify the new primary's name (SOURCE_SSL_VERIFY_SERVER_CERT)
#   CONNECT_TIMEOUT            seconds per connection attempt (default 5)
#   POLL_SECONDS               pause between polls while a replica drains its relay log (default 1)
#   CONTAINER_IMAGE            named when a tool is missing (README "Images")
# Tools: mysql (the mysql image's client), sleep; the rest are bash builtins.
# SQL string escaping assumes sql_mode without NO_BACKSLASH_ESCAPES (the MySQL default).
set -euo pipefail

for tool in mysql sleep; do
  command -v "$tool" >/dev/null || {
    echo "switchover: $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Images\")" >&2
    exit 127
  }
done

fail() {
  echo "switchover: $*" >&2
  exit 1
}
log() { echo "switchover: $*"; }

: "${STATEFULSET:?STATEFULSET must be the StatefulSet name}"
: "${SERVICE_NAME:?SERVICE_NAME must be the headless Service name}"
: "${ROOT_PASSWORD_FILE:?ROOT_PASSWORD_FILE must name the file with the root password}"
: "${REPLICATION_USER:?REPLICATION_USER must be set}"
: "${REPLICATION_PASSWORD_FILE:?REPLICATION_PASSWORD_FILE must name the file with the replication password}"
: "${CLIENT_CNF_DIR:?CLIENT_CNF_DIR must be a writable directory for the client option file}"
REPLICAS=${REPLICAS:-}
TARGET=${TARGET:-}
FAILOVER=${FAILOVER:-false}
SEMISYNC=${SEMISYNC:-false}
MYSQL_PORT=${MYSQL_PORT:-3306}
MAX_LAG_SECONDS=${MAX_LAG_SECONDS:-5}
WAIT_SECONDS=${WAIT_SECONDS:-30}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-5}
POLL_SECONDS=${POLL_SECONDS:-1}
if [[ ! $REPLICAS =~ ^[0-9]+$ ]] || ((REPLICAS < 1)); then fail "REPLICAS must be a number of pods, got '$REPLICAS'"; fi
if [[ ! $TARGET =~ ^[0-9]+$ ]] || ((TARGET >= REPLICAS)); then
  fail "TARGET must be the ordinal of a pod below REPLICAS=$REPLICAS, got '$TARGET'"
fi
[[ $FAILOVER == true || $FAILOVER == false ]] || fail "FAILOVER must be 'true' or 'false', got '$FAILOVER'"
[[ $SEMISYNC == true || $SEMISYNC == false ]] || fail "SEMISYNC must be 'true' or 'false', got '$SEMISYNC'"
# Semi-sync's sides as SQL (nothing without SEMISYNC): a primary's and a replica's.
as_source=() as_replica=()
if [[ $SEMISYNC == true ]]; then
  as_source=('SET GLOBAL rpl_semi_sync_replica_enabled = OFF;' 'SET GLOBAL rpl_semi_sync_source_enabled = ON;')
  as_replica=('SET GLOBAL rpl_semi_sync_source_enabled = OFF;' 'SET GLOBAL rpl_semi_sync_replica_enabled = ON;')
fi
[[ $MYSQL_PORT =~ ^[0-9]+$ ]] || fail "MYSQL_PORT must be a port number, got '$MYSQL_PORT'"
[[ $MAX_LAG_SECONDS =~ ^[0-9]+$ ]] || fail "MAX_LAG_SECONDS must be a whole number of seconds, got '$MAX_LAG_SECONDS'"
if [[ ! $WAIT_SECONDS =~ ^[0-9]+$ ]] || ((WAIT_SECONDS < 1)); then fail "WAIT_SECONDS must be at least 1, got '$WAIT_SECONDS'"; fi
[[ $CONNECT_TIMEOUT =~ ^[0-9]+$ ]] || fail "CONNECT_TIMEOUT must be a whole number of seconds, got '$CONNECT_TIMEOUT'"
[[ $POLL_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "POLL_SECONDS must be a number of seconds, got '$POLL_SECONDS'"
[[ -r $ROOT_PASSWORD_FILE ]] || fail "cannot read ROOT_PASSWORD_FILE '$ROOT_PASSWORD_FILE'"
[[ -r $REPLICATION_PASSWORD_FILE ]] || fail "cannot read REPLICATION_PASSWORD_FILE '$REPLICATION_PASSWORD_FILE'"

# sql_string VALUE: VALUE as the body of a single-quoted SQL string literal (\ and ' escaped).
sql_string() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\'/\\\'}"
}

# root's option file (0600, values double-quoted with \ and " escaped, as init-mysql writes them).
root_password=$(<"$ROOT_PASSWORD_FILE")
root_password=${root_password//\\/\\\\}
root_password=${root_password//\"/\\\"}
(
  umask 077
  printf '[client]\nuser="root"\npassword="%s"\n' "$root_password" >"$CLIENT_CNF_DIR/switchover.cnf"
)
unset root_password
replication_password=$(<"$REPLICATION_PASSWORD_FILE")
[[ -n $replication_password ]] || fail "the replication password in '$REPLICATION_PASSWORD_FILE' is empty"

client_tls=()
if [[ -n ${TLS_CA_FILE:-} ]]; then
  [[ -r $TLS_CA_FILE ]] || fail "cannot read TLS_CA_FILE '$TLS_CA_FILE'"
  client_tls=(--ssl-mode=VERIFY_IDENTITY "--ssl-ca=$TLS_CA_FILE")
fi
source_tls=''
if [[ -n ${SOURCE_TLS_DIR:-} ]]; then
  [[ $SOURCE_TLS_DIR =~ ^[A-Za-z0-9/._-]+$ ]] || fail "SOURCE_TLS_DIR must be a plain path, got '$SOURCE_TLS_DIR'"
  source_tls=", SOURCE_SSL_CA='$SOURCE_TLS_DIR/ca.crt', SOURCE_SSL_CERT='$SOURCE_TLS_DIR/tls.crt', SOURCE_SSL_KEY='$SOURCE_TLS_DIR/tls.key', SOURCE_SSL_VERIFY_SERVER_CERT=1"
fi

host() { printf '%s-%s.%s' "$STATEFULSET" "$1" "$SERVICE_NAME"; }
err_file="$CLIENT_CNF_DIR/switchover.err"
# on N ARGS...: the mysql client as root on pod N; standard error is kept in $err_file (last_error prints it
# on one line).
on() {
  local n=$1
  shift
  mysql --defaults-extra-file="$CLIENT_CNF_DIR/switchover.cnf" "${client_tls[@]}" -h "$(host "$n")" \
    -P "$MYSQL_PORT" --connect-timeout="$CONNECT_TIMEOUT" "$@" 2>"$err_file"
}
last_error() {
  local e
  e=$(<"$err_file")
  printf '%s' "${e//$'\n'/ }"
}
# query N SQL: one statement's answer, batch mode without column names (stdin closed).
query() { on "$1" -N -B -e "$2" </dev/null; }
# gtid_of N: N's executed GTID set, as one line (MySQL prints a long set with "\n" after each comma).
gtid_of() {
  local s
  s=$(query "$1" 'SELECT @@GLOBAL.gtid_executed') || return 1
  s=${s//\\n/}
  s=${s//[[:space:]]/}
  [[ $s =~ ^[A-Za-z0-9_:,-]*$ ]] || fail "$(host "$1") answered with something that is not a GTID set: $s"
  printf '%s' "$s"
}
# contains N SUB SUPER: whether GTID set SUPER contains SUB, computed by the mysqld of pod N.
contains() {
  local r
  r=$(query "$1" "SELECT GTID_SUBSET('$2', '$3')") || fail "cannot compare GTID sets on $(host "$1"): $(last_error)"
  [[ $r == 1 ]]
}

# ---- survey ---------------------------------------------------------------------------------------------
declare -a up=() fenced=() source=() io=() sqlt=() lag=() sql_state=() why=()
# survey N: fills the arrays for pod N from @@super_read_only/@@read_only and SHOW REPLICA STATUS.
survey() {
  local n=$1 out line key value
  up[n]=0 fenced[n]='' source[n]='' io[n]='' sqlt[n]='' lag[n]='' sql_state[n]='' why[n]=''
  if ! out=$(query "$n" 'SELECT @@GLOBAL.super_read_only, @@GLOBAL.read_only'); then
    why[n]=$(last_error)
    return 0
  fi
  up[n]=1
  [[ $out =~ ^(0|1)[[:space:]]+(0|1)$ ]] || fail "$(host "$n"): unexpected answer to the read-only query: $out"
  fenced[n]=0
  [[ ${BASH_REMATCH[1]} == 1 || ${BASH_REMATCH[2]} == 1 ]] && fenced[n]=1
  out=$(on "$n" -E -e 'SHOW REPLICA STATUS' </dev/null) || fail "SHOW REPLICA STATUS on $(host "$n") failed: $(last_error)"
  while IFS= read -r line; do
    [[ $line =~ ^\ *([A-Za-z_]+):\ ?(.*)$ ]] || continue
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    case $key in
      Source_Host) source[n]=$value ;;
      Replica_IO_Running) io[n]=$value ;;
      Replica_SQL_Running) sqlt[n]=$value ;;
      Seconds_Behind_Source) lag[n]=$value ;;
      Replica_SQL_Running_State) sql_state[n]=$value ;;
    esac
  done <<<"$out"
}

describe() {
  local n=$1
  if ((!up[n])); then
    printf '%s: does not answer (%s)' "$(host "$n")" "${why[n]}"
  elif [[ -z ${source[n]} ]]; then
    printf '%s: no replication source, %s' "$(host "$n")" "$( ((fenced[n])) && echo read-only || echo writable)"
  else
    printf '%s: replica of %s (IO %s, SQL %s, %s s behind)' "$(host "$n")" "${source[n]}" "${io[n]}" "${sqlt[n]}" "${lag[n]:-?}"
  fi
}

reachable=0
for ((n = 0; n < REPLICAS; n++)); do
  survey "$n"
  ((up[n])) && reachable=$((reachable + 1))
  log "$(describe "$n")"
done
target_host=$(host "$TARGET")
if ((reachable == 0)); then
  log "no server answers: nothing to switch (a new stack, or every pod is down: each follows config when it starts)"
  exit 0
fi

writable=() fenced_primaries=()
for ((n = 0; n < REPLICAS; n++)); do
  if ((!up[n])) || [[ -n ${source[n]} ]]; then continue; fi
  if ((fenced[n])); then fenced_primaries+=("$n"); else writable+=("$n"); fi
done
((${#writable[@]} <= 1)) ||
  fail "refusing: $(for n in "${writable[@]}"; do printf '%s ' "$(host "$n")"; done)are all writable without a replication source (two primaries); a person must decide which one keeps its writes (README 'Errant transactions')"
primary=''
if ((${#writable[@]} == 1)); then
  primary=${writable[0]}
elif ((${#fenced_primaries[@]} == 1)); then
  primary=${fenced_primaries[0]}
  log "$(host "$primary") has no replication source but is read-only: a switchover stopped half-way"
elif ((${#fenced_primaries[@]} > 1)); then
  fail "refusing: several servers have no replication source and none is writable ($(for n in "${fenced_primaries[@]}"; do printf '%s ' "$(host "$n")"; done)); a person must decide"
fi

# repoint N: N replicates from the target with auto-position and TLS (its super_read_only stays ON).
repoint() {
  local n=$1
  if ! printf '%s\n' \
    'SET GLOBAL super_read_only = ON;' \
    'STOP REPLICA;' \
    ${as_replica[@]+"${as_replica[@]}"} \
    "CHANGE REPLICATION SOURCE TO SOURCE_HOST='$(sql_string "$target_host")', SOURCE_PORT=$MYSQL_PORT, SOURCE_USER='$(sql_string "$REPLICATION_USER")', SOURCE_PASSWORD='$(sql_string "$replication_password")', SOURCE_AUTO_POSITION=1, SOURCE_SSL=1$source_tls, SOURCE_CONNECT_RETRY=10;" \
    'START REPLICA;' | on "$n"; then
    echo "switchover: repointing $(host "$n") at $target_host failed: $(last_error)" >&2
    return 1
  fi
  log "$(host "$n") now replicates from $target_host (auto-position${as_replica[0]:+; semi-sync replica side on})"
}

# repoint_others: every reachable server but the target that does not replicate from it, when the target
# contains its transactions (counted in `repointed`). Returns 1 if any was left out.
repointed=0
repoint_others() {
  local n set target_set left=0
  for ((n = 0; n < REPLICAS; n++)); do
    ((n != TARGET && up[n])) || continue
    [[ ${source[n]} == "$target_host" ]] && continue
    set=$(gtid_of "$n") || {
      echo "switchover: cannot read the executed GTID set of $(host "$n"): $(last_error); not repointed" >&2
      left=1
      continue
    }
    # The target's set after this server's: the primary takes writes, and a replica of it may receive them.
    target_set=$(gtid_of "$TARGET") || fail "cannot read the executed GTID set of $target_host: $(last_error)"
    if ! contains "$TARGET" "$set" "$target_set"; then
      echo "switchover: NOT repointing $(host "$n"): it has transactions $target_host lacks (errant transactions: its set $set, the primary's $target_set); see README 'Errant transactions'" >&2
      left=1
      continue
    fi
    if repoint "$n"; then repointed=$((repointed + 1)); else left=1; fi
  done
  return "$left"
}

# promote: the target stops replicating, forgets its source, takes semi-sync's source side (SEMISYNC) and
# becomes writable.
promote() {
  printf '%s\n' 'STOP REPLICA;' 'RESET REPLICA ALL;' ${as_source[@]+"${as_source[@]}"} 'SET GLOBAL read_only = OFF;' |
    on "$TARGET" || return 1
  log "promoted $target_host: RESET REPLICA ALL,${as_source[0]:+ semi-sync source side on,} read_only OFF"
}

# ---- nothing to switch: the target is the primary ---------------------------------------------------------
if [[ -n $primary && $primary == "$TARGET" ]]; then
  if ((fenced[TARGET])); then
    printf '%s\n' ${as_source[@]+"${as_source[@]}"} 'SET GLOBAL read_only = OFF;' | on "$TARGET" ||
      fail "cannot make $target_host writable: $(last_error)"
    log "$target_host was fenced by an interrupted run; made it writable again"
  fi
  if repoint_others; then
    if ((repointed > 0 || fenced[TARGET])); then
      log "$target_host is the primary; finished an interrupted switchover: $repointed server(s) repointed at it"
    else
      log "$target_host is the primary; every reachable server replicates from it: nothing to do"
    fi
    exit 0
  fi
  fail "$target_host is the primary, but not every server could be repointed at it (above)"
fi

# ---- the target must be a replica of the current primary ---------------------------------------------------
((up[TARGET])) || fail "refusing: the target $target_host does not answer (${why[TARGET]}); nothing was changed"
[[ -n ${source[TARGET]} ]] ||
  fail "refusing: the target $target_host has no replication source but is not the primary; nothing was changed"
if [[ -n $primary ]]; then
  primary_host=$(host "$primary")
  [[ ${source[TARGET]} == "$primary_host" ]] ||
    fail "refusing: the target $target_host replicates from ${source[TARGET]}, not from the primary $primary_host; nothing was changed"
else
  # No primary answers: the replicas must agree on which one they followed.
  primary_host=${source[TARGET]}
  for ((n = 0; n < REPLICAS; n++)); do
    ((up[n])) || continue
    [[ ${source[n]} == "$primary_host" ]] ||
      fail "refusing: no primary answers and the replicas follow different sources (${source[n]} on $(host "$n"), $primary_host on $target_host); a person must decide"
  done
fi

# ---- failover: the primary is gone ----------------------------------------------------------------------------
if [[ -z $primary ]]; then
  [[ $FAILOVER == true ]] ||
    fail "refusing: the primary $primary_host does not answer; a planned switchover needs it (to fence it and wait for $target_host). If it is lost, set failover: true (README 'Failover'); nothing was changed"
  log "FAILOVER: $primary_host does not answer; stopping every reachable replica's receiver"
  replicas=()
  for ((n = 0; n < REPLICAS; n++)); do
    ((up[n])) || continue
    replicas+=("$n")
    query "$n" 'STOP REPLICA IO_THREAD' >/dev/null || fail "STOP REPLICA IO_THREAD on $(host "$n") failed: $(last_error)"
  done
  restart_receivers() {
    local r
    for r in "${replicas[@]}"; do query "$r" 'START REPLICA IO_THREAD' >/dev/null || true; done
  }
  # Each replica applies what it received (its relay log) before the sets are compared.
  for n in "${replicas[@]}"; do
    printf -v deadline '%(%s)T' -1
    deadline=$((deadline + WAIT_SECONDS))
    while :; do
      survey "$n"
      ((up[n])) || {
        restart_receivers
        fail "$(host "$n") stopped answering during the failover: ${why[n]}"
      }
      [[ ${sqlt[n]} == Yes ]] || {
        restart_receivers
        fail "refusing: the applier of $(host "$n") is not running (${sqlt[n]}); it cannot catch up. Nothing was promoted"
      }
      [[ ${sql_state[n],,} == *"has read all relay log"* ]] && break
      printf -v now '%(%s)T' -1
      if ((now >= deadline)); then
        restart_receivers
        fail "refusing: $(host "$n") did not apply its relay log within WAIT_SECONDS=$WAIT_SECONDS (${sql_state[n]}); nothing was promoted"
      fi
      sleep "$POLL_SECONDS"
    done
  done
  declare -A sets=()
  for n in "${replicas[@]}"; do
    sets[$n]=$(gtid_of "$n") || {
      restart_receivers
      fail "cannot read the executed GTID set of $(host "$n"): $(last_error)"
    }
  done
  behind=()
  for n in "${replicas[@]}"; do
    ((n == TARGET)) && continue
    contains "$TARGET" "${sets[$n]}" "${sets[$TARGET]}" || behind+=("$n")
  done
  if ((${#behind[@]} > 0)); then
    best=''
    for n in "${replicas[@]}"; do
      all=1
      for m in "${replicas[@]}"; do
        ((m == n)) && continue
        contains "$n" "${sets[$m]}" "${sets[$n]}" || {
          all=0
          break
        }
      done
      ((all)) && best=$n && break
    done
    restart_receivers
    if [[ -n $best ]]; then
      fail "refusing: $target_host is not the most advanced replica ($(host "${behind[0]}") has transactions it lacks); $(host "$best") is: set primary: $best. Receivers restarted, nothing was promoted"
    fi
    fail "refusing: no replica contains every other's transactions (they diverged): $(for n in "${replicas[@]}"; do printf '%s=%s ' "$(host "$n")" "${sets[$n]}"; done); a person must decide. Receivers restarted"
  fi
  log "$target_host is the most advanced reachable replica (executed GTID set ${sets[$TARGET]})"
  promote || {
    restart_receivers
    fail "promoting $target_host failed: $(last_error)"
  }
  source[TARGET]=''
  if [[ $SEMISYNC == true ]]; then
    log "failover done: $target_host is the primary; semi-synchronous replication: every commit $primary_host acknowledged reached a replica's relay log and is here, unless it had fallen back to asynchronous replication (alert MySQLSemiSyncFellBackToAsync; README 'Failover'); it rejoins as a replica only if it has no transaction this primary lacks"
  else
    log "failover done: $target_host is the primary; transactions $primary_host committed that no replica received are lost (asynchronous replication, README 'Failover'); it rejoins as a replica only if it has none"
  fi
  repoint_others || fail "$target_host is the primary, but not every server could be repointed at it (above)"
  exit 0
fi

# ---- planned switchover ------------------------------------------------------------------------------------
problems=()
[[ ${io[TARGET]} == Yes ]] || problems+=("its receiver (IO thread) is ${io[TARGET]:-not running}")
[[ ${sqlt[TARGET]} == Yes ]] || problems+=("its applier (SQL thread) is ${sqlt[TARGET]:-not running}")
if [[ ! ${lag[TARGET]} =~ ^[0-9]+$ ]]; then
  problems+=("Seconds_Behind_Source is ${lag[TARGET]:-NULL}")
elif ((lag[TARGET] > MAX_LAG_SECONDS)); then
  problems+=("it lags ${lag[TARGET]} s behind, more than MAX_LAG_SECONDS=$MAX_LAG_SECONDS")
fi
if ((${#problems[@]} == 0)); then
  # The target's set first: the primary's only grows meanwhile, so a write in between cannot look errant.
  target_set=$(gtid_of "$TARGET") || fail "cannot read the executed GTID set of $target_host: $(last_error)"
  primary_set=$(gtid_of "$primary") || fail "cannot read the executed GTID set of $primary_host: $(last_error)"
  contains "$primary" "$target_set" "$primary_set" ||
    problems+=("it has transactions the primary lacks (errant transactions: $target_set, the primary's $primary_set)")
fi
if ((${#problems[@]} > 0)); then
  why_not=''
  for p in "${problems[@]}"; do why_not+="${why_not:+; }$p"; done
  fail "refusing to switch over to $target_host: $why_not; nothing was changed (README 'Planned switchover')"
fi

log "switching over from $primary_host to $target_host"
# 1. Fence the primary, then end every client session (a fenced server refuses their writes, and a session
# kept open would hold its old privileges); the replication user's connections (the replicas' receivers)
# stay.
fence_start=$EPOCHREALTIME
query "$primary" 'SET GLOBAL super_read_only = ON' >/dev/null || fail "fencing $primary_host failed: $(last_error); nothing was changed"
log "fenced $primary_host: super_read_only ON"
unfence() {
  if query "$primary" 'SET GLOBAL read_only = OFF' >/dev/null; then
    log "unfenced $primary_host: read_only OFF; it stays the primary"
  else
    echo "switchover: UNFENCING $primary_host FAILED: $(last_error); writes stay refused until 'SET GLOBAL read_only = OFF' on it" >&2
  fi
}
ids=$(query "$primary" "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler', '$(sql_string "$REPLICATION_USER")') AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')") || {
  unfence
  fail "listing the client connections of $primary_host failed: $(last_error)"
}
killed=0
for id in $ids; do
  [[ $id =~ ^[0-9]+$ ]] || continue
  # A connection that ended meanwhile is no error.
  query "$primary" "KILL CONNECTION $id" >/dev/null 2>&1 && killed=$((killed + 1))
done
log "killed $killed client connection(s) on $primary_host"

# 2. Wait for the target.
primary_set=$(gtid_of "$primary") || {
  unfence
  fail "cannot read the executed GTID set of $primary_host: $(last_error)"
}
log "waiting up to $WAIT_SECONDS s for $target_host to apply $primary_set"
waited=$(query "$TARGET" "SELECT WAIT_FOR_EXECUTED_GTID_SET('$primary_set', $WAIT_SECONDS)") || waited="error: $(last_error)"
if [[ $waited != 0 ]]; then
  unfence
  fail "$target_host did not apply $primary_host's transactions within WAIT_SECONDS=$WAIT_SECONDS ($([[ $waited == 1 ]] && echo timeout || echo "$waited")); nothing else was changed"
fi

# 3. Promote the target.
if ! promote; then
  error=$(last_error)
  query "$TARGET" 'START REPLICA' >/dev/null || true
  unfence
  fail "promoting $target_host failed: $error"
fi
promoted=$EPOCHREALTIME
pause_us=$((10#${promoted/./} - 10#${fence_start/./}))
printf -v pause '%d.%03d' $((pause_us / 1000000)) $((pause_us % 1000000 / 1000))
log "writes were refused for ${pause} s (fence to promotion)"
source[TARGET]=''

# 4. Repoint the old primary and the other replicas.
repoint_others || fail "$target_host is the primary, but not every server could be repointed at it (above); rerun the Job"
log "done: $target_host is the primary, $primary_host replicates from it"
