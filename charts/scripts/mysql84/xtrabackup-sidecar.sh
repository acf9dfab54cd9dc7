#!/usr/bin/env bash
# xtrabackup sidecar (MySQL 8.4 LTS, Percona XtraBackup 8.4, GTID mode): keeps the replication and
# backup user in step with its Secret on the primary, finishes a clone by starting GTID
# auto-positioned replication on a replica, then serves backups to the next pod.
#
# 1. Ordinal 0 (the primary): if clone-mysql rebuilt it from the most advanced replica (its volume was
#    lost while replicas held data), first take over that backup's GTID state as in 2 and 3, but with
#    STOP REPLICA and RESET REPLICA ALL instead of a source: the data came with the replica's channel.
#    Then, once mysqld accepts connections, create or update the replication and
#    backup user (REPLICATION_USER) with its password from the Secret, and grant it the least it
#    needs. This runs on every start and is idempotent; it is written to the binary log on purpose,
#    so every replica (and every backup a replica serves) carries the same user and password.
# 2. Ordinal >= 1 after clone-mysql: XtraBackup leaves xtrabackup_binlog_info in the data directory,
#    "<binlog file> <position> <gtid set>". With gtid_mode=ON the third column onward is the GTID set
#    the backup contains (a long set spans lines: "uuid1:1-5,\nuuid2:1-3"). It is the same file
#    whether the backup came from the primary or from a replica, because GTIDs identify transactions
#    wherever they are. Turn it into change_source.sql.in (RESET BINARY LOGS AND GTIDS, SET GLOBAL
#    gtid_purged: no secrets) and remove the info files. XtraBackup's --slave-info and the
#    xtrabackup_slave_info file it writes (a binlog-coordinates statement for the source) are not
#    needed: SOURCE_AUTO_POSITION=1 lets the replica ask the primary for every transaction missing
#    from gtid_purged, so this flavor never passes --slave-info and needs no file/position.
# 3. If change_source.sql.in exists: unless this replica already applied transactions beyond the
#    backup (gtid_executed is not a subset of the backup's set: a previous attempt succeeded but the
#    container died before the rename), run in ONE mysql session: lift super_read_only, STOP REPLICA
#    and RESET REPLICA ALL (drop any replication settings the data came with), apply the file, CHANGE
#    REPLICATION SOURCE TO the primary (<name>-0.<service>) with auto-position and TLS, restore
#    super_read_only, then START REPLICA (replication threads are exempt from super_read_only). Only
#    after that succeeded is the file renamed to change_source.sql.orig, so a failure is retried on the
#    container's next start (after a best-effort SET GLOBAL super_read_only = ON) and a success is
#    never repeated.
# 4. Serve `xtrabackup --backup --stream=xbstream` on BACKUP_PORT with socat (in the background), one
#    process per connection, connecting to the local mysqld as the replication user, but only while
#    this replica has not refused its source (see 6): a clone never copies a diverged replica.
# 5. Watch replication every MONITOR_SECONDS and write the verdict to STATE_FILE as one line,
#    "<epoch seconds> ready|not-ready <reason>"; the container's readiness probe (replica-ready.sh)
#    passes only on a fresh "ready" line and prints the reason, and every change of verdict is logged
#    here. The primary is always ready once it serves backups. A replica is ready while
#    Replica_IO_Running and Replica_SQL_Running are Yes and Seconds_Behind_Source is at most
#    MAX_LAG_SECONDS (SHOW REPLICA STATUS); otherwise the reason names the thread, its Last_*_Errno
#    and Last_*_Error, or the lag. REPLICA_READINESS=serving is the off switch: always ready, reason
#    still logged.
# 6. Divergence: on a replica, every round also reads its own @@GLOBAL.gtid_executed, then the
#    source's (as the replication user), and checks that the source's contains its own (GTID_SUBSET). If it does not
#    (an empty or rebuilt primary, or an errant transaction written on this replica), the sidecar runs
#    STOP REPLICA, stays not-ready with the reason, stops serving backups, and records REFUSED_FILE
#    in the data directory; it starts replication again only once the source contains this replica's
#    transactions again (then removes the file). MySQL itself would accept such a source (it refuses
#    an auto-positioned replica only for GTIDs with the source's own UUID).
# 7. A superseded primary fences itself: with PRIMARY_ORDINAL_FILE, a primary that the config named and that
#    is still writable without a source when the config names another pod, which answers writable too, is
#    the old primary of a failover it did not see (partitioned away, then back without a restart): it sets
#    super_read_only, kills the client connections, and rejoins only as rejoin (8) allows.
# 8. SIGTERM (pod deletion) stops the backup server and exits at once; bash waits for every child in
#    the background, so the trap runs without waiting for a sleep or a query to end.
#
# Secrets: passwords are read from files and fed to mysql on standard input (printf is a shell
# builtin, and a pipe leaves no temp file), never on a command line where `ps` shows them, and never
# written to the data directory. mysql and xtrabackup take credentials from the client option files
# that init-mysql wrote (mode 0600, in-memory emptyDir).
#
# Environment:
#   POD_NAME                   required, the pod's metadata.name, e.g. "mysql-2"
#   SERVICE_NAME               required, the headless Service name; the primary is <name>-0.<service>
#   PRIMARY_ORDINAL            the configured primary's ordinal when the container starts (default 0)
#   PRIMARY_ORDINAL_FILE       optional: the same value as a file of the `<name>-primary` ConfigMap volume (no
#                              subPath, so the kubelet updates it in place), re-read every round (see 7)
#   CLIENT_CNF_DIR             required, holds root.cnf and replication.cnf (written by init-mysql)
#   REPLICATION_USER           required, the replication and backup user's name
#   REPLICATION_PASSWORD_FILE  required, file holding its password (a mounted Secret key; trailing
#                              newlines are stripped)
#   DATA_DIR                   the MySQL data directory (default /var/lib/mysql)
#   MYSQL_PORT                 mysqld's port, here and on the primary (default 3306)
#   BACKUP_PORT                port to serve backups on (default 3307)
#   POLL_SECONDS               pause between "is mysqld up" polls (default 1; tests shorten it)
#   WAIT_TRIES                 polls before giving up on mysqld and restarting (default 300)
#   STATE_FILE                 the readiness verdict (default /tmp/replication-state), written from
#                              the moment backups are served; removed at start
#   MONITOR_SECONDS            pause between replication checks (default 2)
#   MAX_LAG_SECONDS            largest Seconds_Behind_Source a Ready replica may have (default 60)
#   REPLICA_READINESS          replicating (default): Ready only while replicating; serving: Ready
#                              whenever backups are served (the off switch)
#   MONITOR_ROUNDS             stop after this many checks and exit 0 (default 0: never; for tests)
#   RETRY_SECONDS              least pause between retries of a receiver stopped on error 1236 (default 10)
#   CREDENTIALS_DIR            the Secret volume (root-password, replication-password and, during a rotation,
#                              their -previous keys): keeps the option files, the accounts and a replica's
#                              SOURCE_PASSWORD in step with it ("credentials" below); unset: off
#   TLS_CLIENT_DIR             optional: the cluster's client certificate (a cert-manager Secret volume with
#                              ca.crt, tls.crt, tls.key). Then the replication user must present it
#                              (REQUIRE SUBJECT REPLICATION_SUBJECT), replicas connect with it and verify the
#                              primary's certificate against ca.crt and the name <name>-0.<service>
#                              (SOURCE_SSL_VERIFY_SERVER_CERT=1), and the local xtrabackup presents it too.
#   REPLICATION_SUBJECT        with TLS_CLIENT_DIR: the client certificate's subject, e.g. /CN=mysql-replication
#   TLS_SERVER_DIR             optional: the server certificate (cert-manager Secret volume). Then backups are
#                              served over mutual TLS only: socat OPENSSL-LISTEN with this certificate,
#                              verify=1 against its ca.crt and commonname=BACKUP_CLIENT_NAME; a renewed
#                              certificate restarts the listener (between backups)
#   BACKUP_CLIENT_NAME         with TLS_SERVER_DIR: the common name the client certificate must carry
#   BACKUP_TMP                 where each backup gets its own temporary directory and the one-at-a-time
#                              lock lives (default /tmp)
#   PROC_IF_INET6              exists when the kernel has IPv6 (default /proc/net/if_inet6)
#   SEMISYNC                   true or false (default): semi-synchronous replication (config replication.semiSync).
#                              A former primary that rejoins turns semi-sync's source side off and its replica
#                              side on before START REPLICA, which registers it as a semi-sync replica (a pod
#                              that restarts gets them from init-mysql's option files instead)
# Writable paths: DATA_DIR (change_source.sql.in/.orig, replication-refused), /tmp (STATE_FILE,
# xtrabackup's --target-dir, where a streaming backup keeps its temporary files) and, with CREDENTIALS_DIR,
# CLIENT_CNF_DIR (the option files it refreshes).
# Tools: bash (socat's EXEC runs the handler in bash), mysql (8.4 client), socat (with OpenSSL for
# TLS_SERVER_DIR), xtrabackup, sleep, mkdir, mv, rm, rmdir. Each is checked at start; a missing one names CONTAINER_IMAGE (the container's image; README
# "Images").
# SQL string escaping assumes sql_mode without NO_BACKSLASH_ESCAPES (the MySQL default).
set -euo pipefail

for tool in mysql socat xtrabackup mkdir mv rm rmdir sleep; do
  command -v "$tool" >/dev/null || {
    echo "sidecar (container xtrabackup): $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Images\")" >&2
    exit 127
  }
done

: "${POD_NAME:?POD_NAME must be the pod name (downward API field metadata.name)}"
: "${SERVICE_NAME:?SERVICE_NAME must be the headless Service name}"
: "${CLIENT_CNF_DIR:?CLIENT_CNF_DIR must be the directory with root.cnf and replication.cnf}"
: "${REPLICATION_USER:?REPLICATION_USER must be set}"
: "${REPLICATION_PASSWORD_FILE:?REPLICATION_PASSWORD_FILE must name the file with the replication password}"
DATA_DIR=${DATA_DIR:-/var/lib/mysql}
MYSQL_PORT=${MYSQL_PORT:-3306}
BACKUP_PORT=${BACKUP_PORT:-3307}
POLL_SECONDS=${POLL_SECONDS:-1}
WAIT_TRIES=${WAIT_TRIES:-300}
STATE_FILE=${STATE_FILE:-/tmp/replication-state}
MONITOR_SECONDS=${MONITOR_SECONDS:-2}
MAX_LAG_SECONDS=${MAX_LAG_SECONDS:-60}
REPLICA_READINESS=${REPLICA_READINESS:-replicating}
MONITOR_ROUNDS=${MONITOR_ROUNDS:-0}
RETRY_SECONDS=${RETRY_SECONDS:-10}
SEMISYNC=${SEMISYNC:-false}
[[ $SEMISYNC == true || $SEMISYNC == false ]] || {
  echo "sidecar: SEMISYNC must be 'true' or 'false', got '$SEMISYNC'" >&2
  exit 1
}
REFUSED_FILE=replication-refused
rm -f "$STATE_FILE"

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

fail() {
  echo "sidecar: $*" >&2
  exit 1
}

[[ $MYSQL_PORT =~ ^[0-9]+$ ]] || fail "MYSQL_PORT must be a port number, got '$MYSQL_PORT'"
[[ $BACKUP_PORT =~ ^[0-9]+$ ]] || fail "BACKUP_PORT must be a port number, got '$BACKUP_PORT'"
[[ $POLL_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "POLL_SECONDS must be a number of seconds, got '$POLL_SECONDS'"
[[ $WAIT_TRIES =~ ^[0-9]+$ ]] || fail "WAIT_TRIES must be a number, got '$WAIT_TRIES'"
[[ $MONITOR_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "MONITOR_SECONDS must be a number of seconds, got '$MONITOR_SECONDS'"
[[ $MAX_LAG_SECONDS =~ ^[0-9]+$ ]] || fail "MAX_LAG_SECONDS must be a whole number of seconds, got '$MAX_LAG_SECONDS'"
[[ $MONITOR_ROUNDS =~ ^[0-9]+$ ]] || fail "MONITOR_ROUNDS must be a number, got '$MONITOR_ROUNDS'"
[[ $RETRY_SECONDS =~ ^[0-9]+$ ]] || fail "RETRY_SECONDS must be a whole number of seconds, got '$RETRY_SECONDS'"
[[ $REPLICA_READINESS == replicating || $REPLICA_READINESS == serving ]] ||
  fail "REPLICA_READINESS must be 'replicating' or 'serving', got '$REPLICA_READINESS'"
if [[ ! $POD_NAME =~ ^(.+)-([0-9]+)$ ]]; then
  fail "cannot read an ordinal from pod name '$POD_NAME' (expected <name>-<number>)"
fi
ordinal=$((10#${BASH_REMATCH[2]}))
pod_prefix=${BASH_REMATCH[1]}
PRIMARY_ORDINAL=${PRIMARY_ORDINAL:-0}
[[ $PRIMARY_ORDINAL =~ ^[0-9]+$ ]] || fail "PRIMARY_ORDINAL must be a pod ordinal, got '$PRIMARY_ORDINAL'"
primary_ordinal=$((10#$PRIMARY_ORDINAL))
primary_host="$pod_prefix-$primary_ordinal.$SERVICE_NAME"
# What this server is, decided from config at start and from the server itself every round (see 8): a
# replica promoted by the switchover Job is a primary before this container restarts with the new config,
# and the old primary a replica once the Job repointed it.
role=replica
((ordinal == primary_ordinal)) && role=primary
# Whether the config named this pod the primary while this server was one (at start, or in a later round):
# only such a primary fences itself when the config moves on (see 7). A replica the Job promoted ahead of the
# config's change is not one until the config names it, so it never fences itself against the old primary.
configured_primary=0
[[ $role == primary ]] && configured_primary=1
PRIMARY_ORDINAL_FILE=${PRIMARY_ORDINAL_FILE:-}
# The source a replica actually replicates from (SHOW REPLICA STATUS), which the divergence check asks.
source_host=$primary_host
awaiting_promotion=0
[[ -r $REPLICATION_PASSWORD_FILE ]] || fail "cannot read REPLICATION_PASSWORD_FILE '$REPLICATION_PASSWORD_FILE'"
replication_password=$(<"$REPLICATION_PASSWORD_FILE")
[[ -n $replication_password ]] || fail "the replication password in '$REPLICATION_PASSWORD_FILE' is empty"

# sql_string VALUE: VALUE as the body of a single-quoted SQL string literal (\ and ' escaped).
sql_string() {
  local s=${1//\\/\\\\}
  printf '%s' "${s//\'/\\\'}"
}
# TLS options, empty without TLS_CLIENT_DIR (then replication is encrypted with SOURCE_SSL=1 but unverified).
tls_source=""
tls_require=""
xtrabackup_tls=""
source_tls=()
if [[ -n ${TLS_CLIENT_DIR:-} ]]; then
  [[ $TLS_CLIENT_DIR =~ ^[A-Za-z0-9/._-]+$ ]] || fail "TLS_CLIENT_DIR must be a plain path, got '$TLS_CLIENT_DIR'"
  : "${REPLICATION_SUBJECT:?REPLICATION_SUBJECT must be the subject of the client certificate, e.g. /CN=mysql-replication}"
  for f in ca.crt tls.crt tls.key; do
    [[ -r $TLS_CLIENT_DIR/$f ]] || fail "cannot read $TLS_CLIENT_DIR/$f (the Secret volume of the client certificate)"
  done
  tls_source=", SOURCE_SSL_CA='$(sql_string "$TLS_CLIENT_DIR/ca.crt")', SOURCE_SSL_CERT='$(sql_string "$TLS_CLIENT_DIR/tls.crt")', SOURCE_SSL_KEY='$(sql_string "$TLS_CLIENT_DIR/tls.key")', SOURCE_SSL_VERIFY_SERVER_CERT=1"
  tls_require=" REQUIRE SUBJECT '$(sql_string "$REPLICATION_SUBJECT")'"
  xtrabackup_tls=" --ssl-ca=$TLS_CLIENT_DIR/ca.crt --ssl-cert=$TLS_CLIENT_DIR/tls.crt --ssl-key=$TLS_CLIENT_DIR/tls.key"
  # The sidecar's own queries to the primary as that user: certificate presented, name verified.
  source_tls=(--ssl-mode=VERIFY_IDENTITY "--ssl-ca=$TLS_CLIENT_DIR/ca.crt" "--ssl-cert=$TLS_CLIENT_DIR/tls.crt" "--ssl-key=$TLS_CLIENT_DIR/tls.key")
fi
user_literal="'$(sql_string "$REPLICATION_USER")'"
user_sql="$user_literal@'%'"
password_literal="'$(sql_string "$replication_password")'"
host_literal="'$(sql_string "$primary_host")'"

# mysql_root ARGS...: the mysql client as root on the local mysqld (--defaults-extra-file goes first).
mysql_root() {
  mysql --defaults-extra-file="$CLIENT_CNF_DIR/root.cnf" -h 127.0.0.1 -P "$MYSQL_PORT" "$@"
}

# ---- credentials: rotation with dual passwords (README "Credentials") ---------------------------------
# With CREDENTIALS_DIR (the Secret volume, mounted without subPath, so the kubelet updates its files in place;
# environment variables would not change) the sidecar keeps the client option files and the database in step
# with the Secret while it runs. Keys: root-password and replication-password (current), root-password-previous
# and replication-password-previous (present only during a rotation).
#   - Every pod: root.cnf and replication.cnf (read by the probes, the backup server and this script) hold the
#     password of each account that the server accepts: the current one if it does, else the previous one.
#   - The primary: an account whose current password is refused while its previous one works gets
#     ALTER USER … IDENTIFIED BY '<current>' RETAIN CURRENT PASSWORD (both now work, on every server: the
#     statement replicates). With no previous key in the Secret (at start, and once it is removed) it runs
#     ALTER USER … DISCARD OLD PASSWORD: the previous password stops working everywhere.
#   - A replica: when replication-password differs from the SOURCE_PASSWORD this sidecar knows to be in use
#     (the one it configured, or unknown after a start during a rotation or an IO error 1045), and the primary
#     accepts it: STOP REPLICA IO_THREAD; CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD=…; START REPLICA IO_THREAD.
#   - A server that accepts neither password of an account is logged (never a password) and named in the
#     readiness reason.
# Logins are tried with a throwaway option file in CLIENT_CNF_DIR, so no password is ever on a command line.
CREDENTIALS_DIR=${CREDENTIALS_DIR:-}
declare -A cred_logged=() status=()
# shellcheck disable=SC2034 # the *_cnf_password pair is read by name (${!var}) in sync_account
root_cnf_password='' replication_cnf_password='' source_password_in_use='' credentials_problem=''
discard_due=1 previous_seen=0

# secret_value KEY: the Secret key's value (trailing newlines stripped); empty when the key is absent.
secret_value() {
  [[ -r $CREDENTIALS_DIR/$1 ]] || return 0
  printf '%s' "$(<"$CREDENTIALS_DIR/$1")"
}

# write_cnf FILE USER PASSWORD: a client option file as init-mysql writes it (0600, values double-quoted with
# \ and " escaped), replaced by rename so a probe never reads half of it.
write_cnf() {
  local user=${2//\\/\\\\} password=${3//\\/\\\\}
  user=${user//\"/\\\"} password=${password//\"/\\\"}
  (
    umask 077
    printf '[client]\nuser="%s"\npassword="%s"\n[xtrabackup]\nuser="%s"\npassword="%s"\n' \
      "$user" "$password" "$user" "$password" >"$1.tmp"
  ) && mv -f "$1.tmp" "$1"
}

# try_login USER PASSWORD HOST: 0 if HOST's mysqld accepts them, 1 on "Access denied" (1045), 2 otherwise
# (unreachable: nothing can be decided). With TLS_CLIENT_DIR the replication user is REQUIRE SUBJECT, so its
# logins present the client certificate (else every password would look refused): to the primary with its
# name verified, to this pod's own mysqld over the loopback (not a name in the certificate) with TLS required.
try_login() {
  local probe="$CLIENT_CNF_DIR/.login-probe.cnf" out rc=0 tls=()
  if [[ $1 == "$REPLICATION_USER" && -n ${TLS_CLIENT_DIR:-} ]]; then
    if [[ $3 == 127.0.0.1 ]]; then
      tls=(--ssl-mode=REQUIRED "--ssl-cert=$TLS_CLIENT_DIR/tls.crt" "--ssl-key=$TLS_CLIENT_DIR/tls.key")
    else
      tls=("${source_tls[@]}")
    fi
  fi
  write_cnf "$probe" "$1" "$2" || return 2
  out=$(mysql --defaults-extra-file="$probe" "${tls[@]}" -h "$3" -P "$MYSQL_PORT" --connect-timeout=5 -N -B -e 'SELECT 1' </dev/null 2>&1) || rc=$?
  rm -f "$probe"
  ((rc == 0)) && return 0
  [[ $out == *"ERROR 1045"* ]] && return 1
  return 2
}

# cred_log TOPIC MESSAGE: logs MESSAGE when it is not what was last logged for TOPIC.
cred_log() {
  [[ ${cred_logged[$1]:-} == "$2" ]] && return 0
  cred_logged[$1]=$2
  echo "sidecar: credentials: $2"
}

# sync_account KIND USER: KIND root or replication. Sets the option file to the password this server accepts;
# on the primary rotates (RETAIN CURRENT PASSWORD) or discards as above. Returns 0 when the current password is
# in use, 1 when the server accepts neither, 2 when it is to be tried again (unreachable, or the previous one
# is still in use on a replica).
sync_account() {
  local kind=$1 user=$2 current previous cnf accounts=() a sql=() rc=0 literal
  current=$(secret_value "$kind-password") previous=$(secret_value "$kind-password-previous")
  cnf="$CLIENT_CNF_DIR/$kind.cnf"
  if [[ $kind == root ]]; then accounts=("'root'@'%'" "'root'@'localhost'"); else accounts=("$user_sql"); fi
  literal="'$(sql_string "$current")'"
  try_login "$user" "$current" 127.0.0.1 || rc=$?
  if ((rc == 1)) && [[ -n $previous ]] && try_login "$user" "$previous" 127.0.0.1; then
    write_cnf "$cnf" "$user" "$previous"
    if [[ $role != primary ]]; then
      cred_log "$kind" "$kind: this server does not accept $kind-password yet (the primary's ALTER USER has not replicated here); using $kind-password-previous"
      printf -v "${kind}_cnf_password" '%s' "$previous"
      return 2
    fi
    for a in "${accounts[@]}"; do sql+=("ALTER USER IF EXISTS $a IDENTIFIED BY $literal RETAIN CURRENT PASSWORD;"); done
    if ! printf '%s\n' "${sql[@]}" | mysql_root; then
      cred_log "$kind" "$kind: ALTER USER … RETAIN CURRENT PASSWORD failed; using $kind-password-previous and retrying"
      return 2
    fi
    if ! try_login "$user" "$current" 127.0.0.1; then
      cred_log "$kind" "$kind: ALTER USER … RETAIN CURRENT PASSWORD ran, but $kind-password is still refused; using $kind-password-previous and retrying"
      return 2
    fi
    echo "sidecar: credentials: $kind: $kind-password set with RETAIN CURRENT PASSWORD; $kind-password-previous stays valid until it is removed from the Secret"
    rc=0
  elif ((rc == 1)) && [[ $role == primary && $kind == replication && -z $previous ]]; then
    # The Secret is the truth for the replication user (as at every start): a change without a previous key.
    printf '%s\n' "ALTER USER $user_sql IDENTIFIED BY $literal;" | mysql_root || return 2
    echo "sidecar: credentials: replication: replication-password changed without replication-password-previous: set as the only password; replicas reconnect with it as they see it"
    rc=0
  fi
  if ((rc == 1)); then
    local alternative="$kind-password-previous"
    [[ -n $previous ]] || alternative="a $kind-password-previous (none in the Secret)"
    credentials_problem="mysqld accepts neither $kind-password nor $alternative for '$user' (see README 'Credentials')"
    cred_log "$kind" "$kind: $credentials_problem"
    return 1
  fi
  ((rc == 0)) || return 2
  local var="${kind}_cnf_password"
  if [[ ${!var} != "$current" ]]; then
    write_cnf "$cnf" "$user" "$current"
    printf -v "$var" '%s' "$current"
  fi
  cred_log "$kind" "$kind: using $kind-password${previous:+ (the previous one still valid)}"
  if ((discard_due)) && [[ $role == primary && -z $previous ]]; then
    sql=()
    for a in "${accounts[@]}"; do sql+=("ALTER USER IF EXISTS $a DISCARD OLD PASSWORD;"); done
    printf '%s\n' "${sql[@]}" | mysql_root && echo "sidecar: credentials: $kind: DISCARD OLD PASSWORD: only $kind-password is valid now"
  fi
}

# sync_source_password: a replica's SOURCE_PASSWORD follows replication-password once the primary accepts it.
sync_source_password() {
  local current io=${status[Replica_IO_Running]:-} errno=${status[Last_IO_Errno]:-0} sql=()
  current=$(secret_value replication-password)
  [[ $errno == 1045 ]] && source_password_in_use=''
  [[ $current != "$source_password_in_use" ]] || return 0
  ((${#status[@]} > 0)) || return 0
  [[ ! -e $REFUSED_FILE ]] || return 0
  local rc=0
  try_login "$REPLICATION_USER" "$current" "$source_host" || rc=$?
  if ((rc == 1)); then
    cred_log source "replication: the primary does not accept replication-password yet; keeping the SOURCE_PASSWORD in use"
    return 0
  fi
  ((rc == 0)) || return 0
  [[ $io == No && $errno != 1045 ]] || sql+=('STOP REPLICA IO_THREAD;')
  sql+=("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD='$(sql_string "$current")';")
  [[ $io == No && $errno != 1045 ]] || sql+=('START REPLICA IO_THREAD;')
  if printf '%s\n' "${sql[@]}" | mysql_root; then
    source_password_in_use=$current
    cred_log source "replication: SOURCE_PASSWORD set to replication-password (the primary accepts it)"
  fi
}

# sync_credentials: one round of the above; cheap while the Secret is unchanged and everything matched.
cred_snapshot=''
sync_credentials() {
  [[ -n $CREDENTIALS_DIR ]] || return 0
  local snapshot previous_now=0 ok=1 rc
  [[ -n $(secret_value root-password-previous)$(secret_value replication-password-previous) ]] && previous_now=1
  ((previous_seen && !previous_now)) && discard_due=1
  previous_seen=$previous_now
  snapshot="$(secret_value root-password)|$(secret_value root-password-previous)|$(secret_value replication-password)|$(secret_value replication-password-previous)"
  if [[ $snapshot != "$cred_snapshot" || -n $credentials_problem || $discard_due == 1 || $root_cnf_password == '' ]]; then
    credentials_problem=''
    for rc in root replication; do
      sync_account "$rc" "$([[ $rc == root ]] && echo root || echo "$REPLICATION_USER")" || ok=0
    done
    if ((ok)); then
      cred_snapshot=$snapshot
      ((previous_now)) || discard_due=0
    fi
  fi
  [[ $role == primary ]] || sync_source_password
}

wait_for_mysqld() {
  echo "sidecar: waiting for mysqld to accept connections on 127.0.0.1:$MYSQL_PORT"
  local tries
  for ((tries = 1; ; tries++)); do
    mysql_root -e 'SELECT 1' </dev/null >/dev/null && return 0
    # Started during a rotation: root.cnf (init-mysql's) may hold a password this server does not know yet.
    [[ -z $CREDENTIALS_DIR ]] || sync_account root root || true
    ((tries < WAIT_TRIES)) || fail "mysqld did not accept connections in $WAIT_TRIES tries; restarting to try again"
    pause "$POLL_SECONDS"
  done
}

cd "$DATA_DIR"

# A clone (a replica's, or the primary's rebuilt from the most advanced replica, see clone-mysql)
# leaves XtraBackup's coordinates; with GTIDs they are the same on either role.
if [[ -f xtrabackup_binlog_info ]]; then
  # "<file>\t<position>\t<gtid set>", the set possibly continued on further lines.
  # In bash: no source confirms awk in the XtraBackup image (README "Images").
  gtid_set='' line=''
  {
    read -r _ _ gtid_set || true
    while IFS= read -r line || [[ -n $line ]]; do gtid_set+=$line; done
  } <xtrabackup_binlog_info
  gtid_set=${gtid_set//[[:space:]]/}
  if [[ -z $gtid_set ]]; then
    fail "xtrabackup_binlog_info has no GTID set (third column): this flavor requires gtid_mode=ON on every server; got: $(<xtrabackup_binlog_info)"
  fi
  if [[ ! $gtid_set =~ ^[A-Za-z0-9_:,-]+$ ]]; then
    fail "xtrabackup_binlog_info: not a GTID set: '$gtid_set'"
  fi
  printf '%s\n' 'RESET BINARY LOGS AND GTIDS;' "SET GLOBAL gtid_purged='$gtid_set';" >change_source.sql.in.tmp
  mv change_source.sql.in.tmp change_source.sql.in
  rm -f xtrabackup_binlog_info xtrabackup_slave_info
fi

if [[ -f change_source.sql.in ]]; then
  wait_for_mysqld
  [[ $(<change_source.sql.in) =~ gtid_purged=\'([^\']*)\' ]] || fail "change_source.sql.in has no gtid_purged"
  applied_beyond=$(mysql_root -N -B -e "SELECT GTID_SUBSET(@@GLOBAL.gtid_executed, '${BASH_REMATCH[1]}') = 0" </dev/null)
  if [[ $applied_beyond == 1 ]]; then
    echo "sidecar: this server already applied transactions beyond the backup; the backup's GTID state was applied before"
    mv change_source.sql.in change_source.sql.orig
  fi
fi

# The configured primary that still replicates: the switchover Job has not promoted it (config changed and
# this pod restarted before the Job ran, or the Job failed). It stays read-only and creates nothing (a
# write here would be an errant transaction); evaluate keeps it NotReady until the Job promotes it.
mysqld_up=0
if ((ordinal == primary_ordinal)) && [[ ! -f change_source.sql.in ]]; then
  wait_for_mysqld
  mysqld_up=1
  replicating_from=$(mysql_root --connect-timeout=5 -E -e 'SHOW REPLICA STATUS' </dev/null | while IFS= read -r l; do
    [[ $l =~ ^\ *Source_Host:\ ?(.*)$ ]] && printf '%s' "${BASH_REMATCH[1]}"
  done) || true
  if [[ -n $replicating_from ]]; then
    role=replica awaiting_promotion=1
    mysql_root -e 'SET GLOBAL super_read_only = ON' </dev/null || true
    echo "sidecar: this pod is the configured primary (PRIMARY_ORDINAL=$primary_ordinal) but still replicates from $replicating_from: the switchover Job has not promoted it; staying read-only (README 'Planned switchover')"
  fi
fi

if [[ $role == primary ]]; then
  ((mysqld_up)) || wait_for_mysqld
  if [[ -f change_source.sql.in ]]; then
    # Rebuilt from a replica's backup: drop the replica channel the data came with, take over its
    # executed GTID set, and stay a primary (no CHANGE REPLICATION SOURCE, writable).
    echo "sidecar: restoring the primary from a replica's backup: RESET REPLICA ALL, GTID state from the backup"
    printf '%s\n' 'STOP REPLICA;' 'RESET REPLICA ALL;' "$(<change_source.sql.in)" | mysql_root ||
      fail "restoring the GTID state failed; keeping change_source.sql.in to retry on the next start"
    mv change_source.sql.in change_source.sql.orig
  fi
  echo "sidecar: ensuring replication and backup user '$REPLICATION_USER'"
  # Privileges: REPLICATION SLAVE (MySQL 8.4 still names it so) for the replicas' connection; the
  # rest is the minimum Percona lists for full backups in "Connection and privileges needed"
  # (https://docs.percona.com/percona-xtrabackup/8.4/privileges.html): BACKUP_ADMIN, PROCESS,
  # RELOAD, LOCK TABLES, REPLICATION CLIENT on *.*, and SELECT on performance_schema.log_status,
  # .keyring_component_status and .replication_group_members (xtrabackup queries the last to find out
  # whether the server is in a Group Replication cluster).
  # With CREDENTIALS_DIR the password of an existing user is sync_credentials' to set (a plain ALTER USER
  # during a rotation would end the previous password the replicas still use).
  # Its TLS requirement is this script's to keep in either case.
  set_password="ALTER USER $user_sql IDENTIFIED BY $password_literal$tls_require;"
  [[ -z $CREDENTIALS_DIR ]] || set_password="${tls_require:+ALTER USER $user_sql$tls_require;}"
  printf '%s\n' \
    "CREATE USER IF NOT EXISTS $user_sql IDENTIFIED BY $password_literal$tls_require;" \
    ${set_password:+"$set_password"} \
    "GRANT REPLICATION SLAVE, BACKUP_ADMIN, PROCESS, RELOAD, LOCK TABLES, REPLICATION CLIENT ON *.* TO $user_sql;" \
    "GRANT SELECT ON performance_schema.log_status TO $user_sql;" \
    "GRANT SELECT ON performance_schema.keyring_component_status TO $user_sql;" \
    "GRANT SELECT ON performance_schema.replication_group_members TO $user_sql;" |
    mysql_root || fail "could not create or update user '$REPLICATION_USER' on the primary"
else
  if [[ -f change_source.sql.in ]]; then
    echo "sidecar: starting replication from $primary_host:$MYSQL_PORT with GTID auto-position"
    if ! printf '%s\n' \
      'SET GLOBAL super_read_only = OFF;' \
      'STOP REPLICA;' \
      'RESET REPLICA ALL;' \
      "$(<change_source.sql.in)" \
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST=$host_literal, SOURCE_PORT=$MYSQL_PORT, SOURCE_USER=$user_literal, SOURCE_PASSWORD=$password_literal, SOURCE_AUTO_POSITION=1, SOURCE_SSL=1$tls_source, SOURCE_CONNECT_RETRY=10;" \
      'SET GLOBAL super_read_only = ON;' \
      'START REPLICA;' |
      mysql_root; then
      mysql_root -e 'SET GLOBAL super_read_only = ON' </dev/null || true
      fail "configuring replication failed; keeping change_source.sql.in to retry on the next start"
    fi
    mv change_source.sql.in change_source.sql.orig
    source_password_in_use=$replication_password
  fi
fi

# Credentials at start: the primary rotates or discards now. A replica knows its SOURCE_PASSWORD if it just
# configured replication, or when no rotation is in progress (then it is replication-password); during a
# rotation it re-applies replication-password once the primary accepts it.
if [[ -n $CREDENTIALS_DIR ]]; then
  if [[ $role != primary && -z $source_password_in_use && -z $(secret_value replication-password-previous) ]]; then
    source_password_in_use=$replication_password
  fi
  sync_credentials
fi

# ---- serving and watching ------------------------------------------------------------------------

# mysql_source ARGS...: the mysql client as the replication user on the primary.
mysql_source() {
  mysql --defaults-extra-file="$CLIENT_CNF_DIR/replication.cnf" "${source_tls[@]}" -h "$source_host" -P "$MYSQL_PORT" \
    --connect-timeout=5 "$@"
}

declare -A status=()
# read_replica_status: SHOW REPLICA STATUS into the array `status` (field -> value); an empty array
# means replication is not configured. Values continued on further lines (GTID sets) are joined.
read_replica_status() {
  local out line key=''
  status=()
  out=$(mysql_root --connect-timeout=5 -E -e 'SHOW REPLICA STATUS' </dev/null 2>&1) || {
    verdict=not-ready reason="cannot query mysqld: ${out//$'\n'/ }"
    [[ $out != *"ERROR 1045"* ]] ||
      reason+=" (the root password in the Secret is not the database's: it was changed in one place only; see README 'Credentials')"
    return 1
  }
  while IFS= read -r line; do
    if [[ $line =~ ^\ *([A-Za-z_]+):\ ?(.*)$ ]]; then
      key=${BASH_REMATCH[1]}
      status[$key]=${BASH_REMATCH[2]}
    elif [[ -n $key && $line != \*\** ]]; then
      status[$key]+=${line##* }
    fi
  done <<<"$out"
}

# thread_reason IO|SQL: why that replication thread is not running, from its Last_*_Errno/Error.
thread_reason() {
  local running=${status[Replica_$1_Running]:-} errno=${status[Last_$1_Errno]:-0} error=${status[Last_$1_Error]:-}
  if [[ $errno == 1045 ]]; then
    printf 'replication %s thread is %s (Last_%s_Errno %s: %s) (the replication password in the Secret is not the primary'"'"'s; see README '"'"'Credentials'"'"')' "$1" "${running:-unknown}" "$1" "$errno" "$error"
  elif [[ $errno != 0 ]]; then
    printf 'replication %s thread is %s (Last_%s_Errno %s: %s)' "$1" "${running:-unknown}" "$1" "$errno" "$error"
  else
    printf 'replication %s thread is %s' "$1" "${running:-unknown}"
  fi
}

# check_divergence: sets diverged=1 (and reason) when the source's executed GTID set does not contain
# this replica's; diverged=0 when it does; leaves diverged empty when either cannot be asked. This
# replica's set is read first: the source's only grows, so a transaction applied meanwhile cannot
# make a good source look diverged.
check_divergence() {
  local own source_set contained
  diverged=''
  own=$(mysql_root -N -B -e 'SELECT @@GLOBAL.gtid_executed' </dev/null 2>/dev/null) || return 0
  source_set=$(mysql_source -N -B -e 'SELECT @@GLOBAL.gtid_executed' </dev/null 2>/dev/null) || return 0
  own=${own//[[:space:]]/} source_set=${source_set//[[:space:]]/}
  [[ $own =~ ^[A-Za-z0-9_:,-]*$ && $source_set =~ ^[A-Za-z0-9_:,-]*$ ]] || return 0
  contained=$(mysql_root -N -B -e "SELECT GTID_SUBSET('$own', '$source_set')" </dev/null 2>/dev/null) || return 0
  if [[ $contained == 0 ]]; then
    diverged=1
    reason="refusing source $source_host: its executed GTID set does not contain this replica's transactions (an empty or rebuilt primary, or a transaction written on this replica); replication stopped, see README 'Replication refused'"
  elif [[ $contained == 1 ]]; then
    diverged=0
  fi
}

# retry_lost_position: the receiver stopped on "could not find the GTIDs requested" (1236; 8.4 wraps
# it as 13114) while the source contains this replica's transactions: typically a primary rebuilt from
# a replica, reached before it took over the backup's GTID state. MySQL does not retry that error;
# START REPLICA IO_THREAD again, at most every RETRY_SECONDS. A position that is really gone keeps
# failing, and the replica stays not ready with the reason.
last_retry=0
retry_lost_position() {
  local errno=${status[Last_IO_Errno]:-0} now
  [[ $diverged == 0 && ($errno == 1236 || $errno == 13114) ]] || return 0
  printf -v now '%(%s)T' -1
  ((now - last_retry >= RETRY_SECONDS)) || return 0
  last_retry=$now
  echo "sidecar: the source no longer had the position this replica asked for (Last_IO_Errno $errno) although it contains this replica's transactions; START REPLICA IO_THREAD again"
  mysql_root -e 'START REPLICA IO_THREAD' </dev/null || true
}

verdict='' reason=''
# Semi-sync's replica side for a rejoining former primary (SEMISYNC), as SQL.
semisync_sides=()
if [[ $SEMISYNC == true ]]; then
  semisync_sides=('SET GLOBAL rpl_semi_sync_source_enabled = OFF;' 'SET GLOBAL rpl_semi_sync_replica_enabled = ON;')
fi
# rejoin: this server is read-only without a replication source while another pod is the configured
# primary: a former primary (after a failover, or a switchover the Job could not finish here). It
# replicates from the primary only if the primary's executed GTID set contains its own; otherwise it has
# errant transactions (written here and never replicated: typically the last ones before a failover), is
# refused (REFUSED_FILE, not ready, no backups served) and waits for a person.
rejoin() {
  local own primary_set contained
  verdict=not-ready
  own=$(mysql_root -N -B -e 'SELECT @@GLOBAL.gtid_executed' </dev/null 2>/dev/null) || {
    reason='replication is not configured, and this server cannot be asked for its GTID set'
    return 0
  }
  primary_set=$(mysql --defaults-extra-file="$CLIENT_CNF_DIR/replication.cnf" "${source_tls[@]}" -h "$primary_host" \
    -P "$MYSQL_PORT" --connect-timeout=5 -N -B -e 'SELECT @@GLOBAL.gtid_executed' </dev/null 2>/dev/null) || {
    reason="replication is not configured, and the primary $primary_host does not answer"
    return 0
  }
  own=${own//\\n/} primary_set=${primary_set//\\n/}
  own=${own//[[:space:]]/} primary_set=${primary_set//[[:space:]]/}
  [[ $own =~ ^[A-Za-z0-9_:,-]*$ && $primary_set =~ ^[A-Za-z0-9_:,-]*$ ]] || {
    reason='replication is not configured, and a GTID set read for rejoining is not one'
    return 0
  }
  contained=$(mysql_root -N -B -e "SELECT GTID_SUBSET('$own', '$primary_set')" </dev/null 2>/dev/null) || contained=''
  if [[ $contained == 1 ]]; then
    echo "sidecar: no replication source and read-only while $primary_host is the primary; its GTID set contains this server's: rejoining as its replica (auto-position${semisync_sides[0]:+, semi-sync replica side on})"
    if printf '%s\n' \
      ${semisync_sides[@]+"${semisync_sides[@]}"} \
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST=$host_literal, SOURCE_PORT=$MYSQL_PORT, SOURCE_USER=$user_literal, SOURCE_PASSWORD=$password_literal, SOURCE_AUTO_POSITION=1, SOURCE_SSL=1$tls_source, SOURCE_CONNECT_RETRY=10;" \
      'START REPLICA;' | mysql_root; then
      rm -f "$REFUSED_FILE"
      source_password_in_use=$replication_password
      reason="rejoined: replicating from $primary_host"
    else
      reason="rejoining $primary_host failed (CHANGE REPLICATION SOURCE); retrying"
    fi
  elif [[ $contained == 0 ]]; then
    reason="errant transactions: this server's executed GTID set ($own) has transactions the primary $primary_host ($primary_set) lacks (written here and never replicated, e.g. the last ones before a failover); it does not rejoin, see README 'Errant transactions'"
    [[ -e $REFUSED_FILE && $(<"$REFUSED_FILE") == "$reason" ]] || printf '%s\n' "$reason" >"$REFUSED_FILE"
  else
    reason='replication is not configured, and the GTID sets could not be compared'
  fi
}

# follow_config: takes the configured primary from PRIMARY_ORDINAL_FILE when it changed (logged once per
# change; a file that holds no ordinal is logged once and ignored).
config_unreadable=''
follow_config() {
  [[ -n $PRIMARY_ORDINAL_FILE ]] || return 0
  local v=''
  [[ -r $PRIMARY_ORDINAL_FILE ]] && v=$(<"$PRIMARY_ORDINAL_FILE")
  v=${v//[[:space:]]/}
  if [[ ! $v =~ ^[0-9]+$ ]]; then
    [[ $config_unreadable == "x$v" ]] ||
      echo "sidecar: $PRIMARY_ORDINAL_FILE holds '$v', not an ordinal; $primary_host stays the configured primary" >&2
    config_unreadable="x$v"
    return 0
  fi
  config_unreadable=''
  ((10#$v != primary_ordinal)) || return 0
  echo "sidecar: the config now names $pod_prefix-$((10#$v)) the primary (was $pod_prefix-$primary_ordinal)"
  primary_ordinal=$((10#$v))
  primary_host="$pod_prefix-$primary_ordinal.$SERVICE_NAME"
  host_literal="'$(sql_string "$primary_host")'"
}

# fence_if_superseded: this server is a configured primary, writable without a source, and the config now
# names another pod. If that one answers writable too, two servers take writes: this one fences itself the
# way the switchover Job fences (super_read_only ON, then every client connection killed, replication's
# kept) and becomes a replica, so rejoin (by GTID sets) decides whether it follows the new primary. While the
# other does not answer, or is read-only (the Job has not run, or refused), nothing changes.
fence_if_superseded() {
  local other ids id killed=0
  other=$(mysql --defaults-extra-file="$CLIENT_CNF_DIR/replication.cnf" "${source_tls[@]}" -h "$primary_host" \
    -P "$MYSQL_PORT" --connect-timeout=5 -N -B -e 'SELECT @@GLOBAL.read_only' </dev/null 2>/dev/null) || other=''
  if [[ $other == 1 ]]; then
    reason="$primary_reason; the config names $primary_host the primary, which is read-only (the switchover Job has not promoted it): this server stays the primary"
    return 0
  elif [[ $other != 0 ]]; then
    reason="$primary_reason; the config names $primary_host the primary, which does not answer: this server stays the primary"
    return 0
  fi
  if ! mysql_root -e 'SET GLOBAL super_read_only = ON' </dev/null; then
    reason="$primary_reason; the config names $primary_host the primary, which is writable too, and fencing this server failed (SET GLOBAL super_read_only); retrying"
    return 0
  fi
  ids=$(mysql_root -N -B -e "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler', $user_literal) AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon')" </dev/null) || ids=''
  for id in $ids; do
    [[ $id =~ ^[0-9]+$ ]] || continue
    mysql_root -e "KILL CONNECTION $id" </dev/null 2>/dev/null && killed=$((killed + 1))
  done
  echo "sidecar: FENCED: the config names $primary_host the primary and it is writable, while this server was too (a failover it did not see: README 'Failover'); super_read_only ON, $killed client connection(s) killed; it rejoins only if $primary_host has all of its transactions"
  role=replica configured_primary=0
}

# evaluate: sets verdict (ready|not-ready) and reason for this round.
primary_reason='primary: serving backups'
evaluate() {
  verdict=ready reason=$primary_reason
  follow_config
  if ! read_replica_status; then
    # The primary's readiness is its mysql container's; the sidecar's is its serving backups.
    [[ $role != primary ]] || verdict=ready reason=$primary_reason
    return 0
  fi
  if ((${#status[@]} == 0)); then
    if [[ $role == primary ]]; then
      if ((ordinal == primary_ordinal)); then
        configured_primary=1
      elif ((configured_primary)); then
        fence_if_superseded
      fi
    fi
    [[ $role == primary ]] && return 0
    # No source: promoted by the switchover Job (writable), or a former primary (read-only).
    local ro
    ro=$(mysql_root -N -B -e 'SELECT @@GLOBAL.read_only' </dev/null 2>/dev/null) || ro=''
    if [[ $ro == 0 ]]; then
      role=primary awaiting_promotion=0
      echo "sidecar: no replication source and writable: promoted by the switchover Job; serving as the primary"
      primary_reason='primary: promoted by the switchover Job (writable, no replication source)'
      reason=$primary_reason
      return 0
    fi
    if [[ $ro == 1 ]] && ((ordinal != primary_ordinal)); then
      rejoin
      return 0
    fi
    verdict=not-ready reason='replication is not configured (SHOW REPLICA STATUS is empty)'
    return 0
  fi
  if [[ $role == primary ]]; then
    role=replica configured_primary=0
    echo "sidecar: this server now replicates from ${status[Source_Host]:-?} (repointed by the switchover Job): a replica"
  fi
  source_host=${status[Source_Host]:-$primary_host}
  check_divergence
  if [[ $diverged == 1 ]]; then
    if [[ ! -e $REFUSED_FILE ]]; then
      printf '%s\n' "$reason" >"$REFUSED_FILE"
      mysql_root -e 'STOP REPLICA' </dev/null || echo "sidecar: STOP REPLICA failed" >&2
    fi
    verdict=not-ready
    return 0
  fi
  if [[ $diverged == 0 && -e $REFUSED_FILE ]]; then
    echo "sidecar: the source contains this replica's transactions again; starting replication"
    mysql_root -e 'START REPLICA' </dev/null && rm -f "$REFUSED_FILE"
  fi
  if [[ -e $REFUSED_FILE ]]; then
    verdict=not-ready reason="$(<"$REFUSED_FILE") (source unreachable, still refused)"
    return 0
  fi
  # The verdict from a status read after the divergence check's queries, not the one before them: a thread
  # that stopped or restarted meanwhile is reported as it is now.
  read_replica_status || return 0
  if ((${#status[@]} == 0)); then
    verdict=not-ready reason='replication is not configured (SHOW REPLICA STATUS is empty)'
  elif [[ ${status[Replica_IO_Running]:-} != Yes ]]; then
    verdict=not-ready reason=$(thread_reason IO)
    retry_lost_position
  elif [[ ${status[Replica_SQL_Running]:-} != Yes ]]; then
    verdict=not-ready reason=$(thread_reason SQL)
  elif [[ ! ${status[Seconds_Behind_Source]:-} =~ ^[0-9]+$ ]]; then
    verdict=not-ready reason="Seconds_Behind_Source is ${status[Seconds_Behind_Source]:-missing}"
  elif ((status[Seconds_Behind_Source] > MAX_LAG_SECONDS)); then
    verdict=not-ready reason="replication lags ${status[Seconds_Behind_Source]} s behind the source (more than MAX_LAG_SECONDS=$MAX_LAG_SECONDS)"
  else
    reason="replicating from ${status[Source_Host]:-?}, ${status[Seconds_Behind_Source]} s behind"
  fi
  if ((awaiting_promotion)); then
    verdict=not-ready
    reason="this pod is the configured primary (PRIMARY_ORDINAL=$primary_ordinal) but still replicates: the switchover Job has not promoted it (README 'Planned switchover'); $reason"
  fi
  if [[ $verdict == not-ready && $REPLICA_READINESS == serving ]]; then
    verdict=ready reason="$reason (ignored: REPLICA_READINESS=serving)"
  fi
}

# Monitoring: with the exporter on, the chart prepends charts/scripts/monitoring/exporter-user.sh.
if [[ -n ${EXPORTER_USER:-} ]]; then ensure_exporter_user; fi

# ---- the backup server ---------------------------------------------------------------------------
# socat accepts each connection in a child that runs serve_one_backup (exported to the `bash` it
# execs); with TLS_SERVER_DIR only after the TLS handshake verified the client's certificate, so a
# connection without the cluster's client certificate gets no byte and starts no xtrabackup.
BACKUP_TMP=${BACKUP_TMP:-/tmp}
BACKUP_LOCK=$BACKUP_TMP/xtrabackup-stream.lock
# No backup runs before this container serves: whatever is there is left over from a previous one.
rm -rf "$BACKUP_LOCK" "$BACKUP_TMP"/xtrabackup-stream.*
# serve_one_backup: one connection's backup, on standard output: refused (nothing sent) while
# replication is refused or another backup is running; xtrabackup keeps its temporary files in a
# directory of this connection only, removed when it ends.
serve_one_backup() {
  if [[ -e $DATA_DIR/$REFUSED_FILE ]]; then
    echo "sidecar: replication is refused here ($REFUSED_FILE); not serving a backup" >&2
    exit 1
  fi
  if ! mkdir "$BACKUP_LOCK" 2>/dev/null; then
    echo "sidecar: a backup is already being served; refusing this connection (one at a time)" >&2
    exit 1
  fi
  local rc=0
  backup_dir=$BACKUP_TMP/xtrabackup-stream.$BASHPID
  trap release_backup EXIT
  mkdir -m 700 "$backup_dir"
  echo "sidecar: serving a backup${SOCAT_PEERADDR:+ to $SOCAT_PEERADDR}${SOCAT_OPENSSL_X509_COMMONNAME:+ (client certificate $SOCAT_OPENSSL_X509_COMMONNAME)}" >&2
  # shellcheck disable=SC2086 # xtrabackup_tls is a list of options without spaces in their values
  xtrabackup --defaults-extra-file="$CLIENT_CNF_DIR/replication.cnf" $xtrabackup_tls --backup --stream=xbstream \
    --host=127.0.0.1 --port="$MYSQL_PORT" --datadir="$DATA_DIR" --target-dir="$backup_dir" || rc=$?
  exit "$rc"
}
# release_backup: when the connection's handler exits, its directory goes and the next backup may start.
release_backup() {
  rm -rf "$backup_dir"
  rmdir "$BACKUP_LOCK"
}
export -f serve_one_backup release_backup
export DATA_DIR REFUSED_FILE BACKUP_LOCK BACKUP_TMP CLIENT_CNF_DIR MYSQL_PORT xtrabackup_tls

# One dual-stack socket (IPv6, with IPv4 clients as mapped addresses) serves IPv4-only, IPv6-only and
# dual-stack pods alike; socat's TCP-LISTEN would take IPv4 only. IPv4 alone where the kernel has no IPv6.
# OPENSSL-LISTEN takes the same family through pf=.
if [[ -e ${PROC_IF_INET6:-/proc/net/if_inet6} ]]; then
  backup_listen="TCP6-LISTEN:$BACKUP_PORT,ipv6only=0,reuseaddr,fork"
  listen_family="pf=ip6,ipv6only=0"
else
  backup_listen="TCP4-LISTEN:$BACKUP_PORT,reuseaddr,fork"
  listen_family="pf=ip4"
fi
served_tls=''
# server_tls: the server certificate's three files as one string (what the listener loaded).
server_tls() {
  local f out=''
  for f in ca.crt tls.crt tls.key; do out+=$(<"$TLS_SERVER_DIR/$f")$'\n'; done
  printf '%s' "$out"
}
if [[ -n ${TLS_SERVER_DIR:-} ]]; then
  [[ $TLS_SERVER_DIR =~ ^[A-Za-z0-9/._-]+$ ]] || fail "TLS_SERVER_DIR must be a plain path, got '$TLS_SERVER_DIR'"
  [[ ${BACKUP_CLIENT_NAME:-} =~ ^[A-Za-z0-9._-]+$ ]] ||
    fail "BACKUP_CLIENT_NAME must be the common name of the client certificate, got '${BACKUP_CLIENT_NAME:-}'"
  for f in ca.crt tls.crt tls.key; do
    [[ -r $TLS_SERVER_DIR/$f ]] || fail "cannot read $TLS_SERVER_DIR/$f (the Secret volume of the server certificate)"
  done
  # Mutual TLS: the server certificate; the client must present a certificate signed by ca.crt whose
  # name is BACKUP_CLIENT_NAME (verify=1 is socat's default, written out).
  backup_listen="OPENSSL-LISTEN:$BACKUP_PORT,$listen_family,reuseaddr,fork,cert=$TLS_SERVER_DIR/tls.crt,key=$TLS_SERVER_DIR/tls.key,cafile=$TLS_SERVER_DIR/ca.crt,verify=1,commonname=$BACKUP_CLIENT_NAME"
fi
# socat reads the certificate once, when it starts: the loop below restarts it after a renewal.
start_backup_server() {
  [[ -z ${TLS_SERVER_DIR:-} ]] || served_tls=$(server_tls)
  socat -U "$backup_listen" "EXEC:bash -c serve_one_backup" &
  children+=($!)
  backup_server=$!
}

echo "sidecar: serving backups on port $BACKUP_PORT${TLS_SERVER_DIR:+ (mutual TLS, client $BACKUP_CLIENT_NAME)}"
start_backup_server

last=''
for ((round = 1; MONITOR_ROUNDS == 0 || round <= MONITOR_ROUNDS; round++)); do
  kill -0 "$backup_server" 2>/dev/null || {
    wait "$backup_server" || true
    fail "the backup server (socat) exited; restarting"
  }
  if [[ -n ${TLS_SERVER_DIR:-} && ! -e $BACKUP_LOCK && $(server_tls) != "$served_tls" ]]; then
    echo "sidecar: the server certificate was renewed; restarting the backup server to serve it"
    kill -TERM "$backup_server" 2>/dev/null || true
    wait "$backup_server" || true
    start_backup_server
  fi
  evaluate
  sync_credentials
  [[ -z $credentials_problem ]] || reason+=" (credentials: $credentials_problem)"
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
