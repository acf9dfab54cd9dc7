#!/usr/bin/env bash
# binlog-archiver: copies the primary's binary logs to S3 continuously, for point-in-time recovery. The one
# container of the <name>-binlog-archiver Deployment (1 replica, strategy Recreate: never two at once).
#
# 1. Ask the primary (PRIMARY_HOST, as the replication user, TLS with the client certificate when
#    ARCHIVER_TLS_* are set) for its server_uuid: the files go to <BINLOG_URI>/<server_uuid>/<file name>, so a
#    rebuilt primary (a new server_uuid, binlog numbering from 1 again) never collides with the old one.
# 2. Resume: the last file already in S3 there is complete (only closed files are uploaded); streaming starts
#    at the file after it. With nothing in S3, it starts at the oldest binlog the primary still has. If the
#    primary no longer has the file after the last archived one (purged before it was archived: the archiver
#    was down longer than binlog_expire_logs_seconds), the gap is recorded as <BINLOG_URI>/<server_uuid>/
#    gap-after-<file>.json, logged as an ERROR, and archiving continues from the oldest file the primary has;
#    restores refuse a time after such a gap.
# 3. `mysqlbinlog --read-from-remote-source=BINLOG-DUMP-GTIDS --raw --stop-never` writes the files into
#    SPOOL_DIR as the primary sends them. Every UPLOAD_INTERVAL_SECONDS, each file but the newest (the one
#    mysqlbinlog still writes) is closed: it is uploaded with SSE-KMS and its sha256 as object metadata, read
#    back (size and sha256 metadata compared), and deleted locally. An object that exists already with the
#    same size is not uploaded again; with another size the archiver stops (exit 1: never overwritten).
# 4. RPO bound: MySQL 8.4 rotates a binlog only at max_binlog_size or a restart. When the open file has
#    received events and has been open ROTATE_SECONDS, the archiver runs FLUSH BINARY LOGS on the primary
#    (not written to the binary log, so no GTID), which closes it. So a committed transaction reaches S3
#    within ROTATE_SECONDS + UPLOAD_INTERVAL_SECONDS + the upload time, while the primary and S3 are reachable.
#    An idle primary is not rotated.
# 5. Each healthy pass and each upload writes the time to SPOOL_DIR/heartbeat (the probes' evidence). If mysqlbinlog
#    exits (primary restarted, connection lost), the files it closed are uploaded, its unfinished newest file
#    is dropped, and streaming resumes from S3's state after RETRY_SECONDS.
#
# Environment:
#   PRIMARY_HOST               required, the primary's address (<name>-0.<service>)
#   BINLOG_URI                 required, s3://bucket/prefix/binlogs (no trailing slash)
#   KMS_KEY_ID                 required, the KMS key (ARN) for SSE-KMS
#   REPLICATION_USER           required, a user with REPLICATION SLAVE (dump) and RELOAD (FLUSH BINARY LOGS)
#   REPLICATION_PASSWORD_FILE  required, file holding its password (a mounted Secret key)
#   SPOOL_DIR                  required, where mysqlbinlog writes (an emptyDir)
#   MYSQL_PORT                 default 3306
#   CONNECTION_SERVER_ID       the server id mysqlbinlog presents (default 4294967000; unused by the servers)
#   ROTATE_SECONDS             default 300;  UPLOAD_INTERVAL_SECONDS default 10;  RETRY_SECONDS default 10
#   ARCHIVER_TLS_CA, ARCHIVER_TLS_CERT, ARCHIVER_TLS_KEY
#                              all set: TLS with this client certificate, verifying the server's certificate
#                              against the CA and PRIMARY_HOST (--ssl-mode=VERIFY_IDENTITY); none: no TLS
#   S3_ENDPOINT_URL            another S3 endpoint; default: the CLI's
#   CONTAINER_IMAGE            the container's image, named when a tool is missing
# Tools (percona/percona-xtrabackup 8.4 image): aws, mysql, mysqlbinlog, jq, sha256sum, cut, sort, tail,
# date, sleep, stat, rm, mkdir, tr, sed, grep.
set -euo pipefail

log() { echo "binlog-archiver: $*"; }
fail() {
  echo "binlog-archiver: FAILED: $*" >&2
  exit 1
}
for tool in aws mysql mysqlbinlog jq sha256sum cut sort tail date sleep stat rm mkdir tr sed grep; do
  command -v "$tool" >/dev/null || {
    echo "binlog-archiver: $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Backups\")" >&2
    exit 127
  }
done

: "${PRIMARY_HOST:?PRIMARY_HOST must be the address of the primary}"
: "${BINLOG_URI:?BINLOG_URI must be s3://bucket/prefix/binlogs}"
: "${KMS_KEY_ID:?KMS_KEY_ID must be the KMS key for SSE-KMS}"
: "${REPLICATION_USER:?REPLICATION_USER must be set}"
: "${REPLICATION_PASSWORD_FILE:?REPLICATION_PASSWORD_FILE must name the file with the replication password}"
: "${SPOOL_DIR:?SPOOL_DIR must be a writable directory}"
MYSQL_PORT=${MYSQL_PORT:-3306}
CONNECTION_SERVER_ID=${CONNECTION_SERVER_ID:-4294967000}
ROTATE_SECONDS=${ROTATE_SECONDS:-300}
UPLOAD_INTERVAL_SECONDS=${UPLOAD_INTERVAL_SECONDS:-10}
RETRY_SECONDS=${RETRY_SECONDS:-10}
for v in MYSQL_PORT CONNECTION_SERVER_ID ROTATE_SECONDS UPLOAD_INTERVAL_SECONDS RETRY_SECONDS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || fail "$v must be a number, got '${!v}'"
done
((UPLOAD_INTERVAL_SECONDS > 0)) || fail "UPLOAD_INTERVAL_SECONDS must be at least 1"
[[ $BINLOG_URI =~ ^s3://([a-z0-9][a-z0-9.-]*[a-z0-9])/(.+[^/])$ ]] ||
  fail "BINLOG_URI must be s3://bucket/prefix without a trailing slash, got '$BINLOG_URI'"
bucket=${BASH_REMATCH[1]}
prefix=${BASH_REMATCH[2]}
[[ -r $REPLICATION_PASSWORD_FILE ]] || fail "cannot read REPLICATION_PASSWORD_FILE '$REPLICATION_PASSWORD_FILE'"
mkdir -p "$SPOOL_DIR/binlogs"

tls=0
if [[ -n ${ARCHIVER_TLS_CA:-}${ARCHIVER_TLS_CERT:-}${ARCHIVER_TLS_KEY:-} ]]; then
  [[ -n ${ARCHIVER_TLS_CA:-} && -n ${ARCHIVER_TLS_CERT:-} && -n ${ARCHIVER_TLS_KEY:-} ]] ||
    fail "set all of ARCHIVER_TLS_CA, ARCHIVER_TLS_CERT, ARCHIVER_TLS_KEY, or none"
  tls=1
fi

# The client option file, in the spool emptyDir (lib-client-cnf.sh).
cnf="$SPOOL_DIR/archiver-client.cnf"
if ((tls)); then
  client_cnf "$cnf" "$REPLICATION_USER" "$REPLICATION_PASSWORD_FILE" "$ARCHIVER_TLS_CA" "$ARCHIVER_TLS_CERT" "$ARCHIVER_TLS_KEY"
else
  client_cnf "$cnf" "$REPLICATION_USER" "$REPLICATION_PASSWORD_FILE"
fi
ssl=()
((tls == 0)) || ssl=(--ssl-mode=VERIFY_IDENTITY)
primary_sql() {
  mysql --defaults-extra-file="$cnf" "${ssl[@]}" -h "$PRIMARY_HOST" -P "$MYSQL_PORT" --connect-timeout=10 -N -B -e "$1" </dev/null
}
sse=(--sse aws:kms --sse-kms-key-id "$KMS_KEY_ID")

dumper_pid=""
stop_dumper() {
  [[ -n $dumper_pid ]] || return 0
  kill "$dumper_pid" 2>/dev/null || true
  wait "$dumper_pid" 2>/dev/null || true
  dumper_pid=""
}
trap 'stop_dumper; rm -f "$cnf"' EXIT
# SIGTERM: finish the current pass (upload what is closed), then exit 0.
stopping=0
trap 'stopping=1' TERM
stop_if_asked() {
  ((stopping)) || return 0
  log "SIGTERM: uploading closed files, then stopping"
  upload_closed
  exit 0
}

# upload FILE: one closed binlog to <folder>/<name>, unless it is there already with the same size.
upload() {
  local file=$1 name key size sha remote
  name=${file##*/}
  key="$folder/$name"
  size=$(stat -c %s "$file")
  if remote=$(aws_s3 s3api head-object --bucket "$bucket" --key "$key" --query ContentLength --output text 2>/dev/null); then
    [[ $remote == "$size" ]] ||
      fail "s3://$bucket/$key exists with $remote bytes, the primary's $name has $size: refusing to overwrite an archived binlog"
    log "$name is archived already ($size bytes); not uploaded again"
    rm -f "$file"
    return 0
  fi
  sha=$(sha256sum "$file" | cut -d' ' -f1)
  aws_s3 s3 cp "$file" "s3://$bucket/$key" "${sse[@]}" --metadata "sha256=$sha" --only-show-errors ||
    fail "uploading $name to s3://$bucket/$key failed"
  remote=$(aws_s3 s3api head-object --bucket "$bucket" --key "$key" --output json) ||
    fail "cannot read s3://$bucket/$key back"
  [[ $(jq -r '.ContentLength' <<<"$remote") == "$size" && $(jq -r '.Metadata.sha256 // ""' <<<"$remote") == "$sha" ]] ||
    fail "s3://$bucket/$key reads back with another size or sha256 than $name ($size bytes, sha256 $sha)"
  log "archived $name: s3://$bucket/$key, $size bytes, sha256 $sha"
  rm -f "$file"
  # Progress: a long catch-up (days of binary logs) is not mistaken for a hung archiver.
  date +%s >"$SPOOL_DIR/heartbeat"
}

# The spool's binlog files, oldest first; the last one is still being written.
spool_files() {
  local f
  for f in "$SPOOL_DIR"/binlogs/*; do
    if [[ -f $f && ${f##*/} =~ ^[^.].*\.[0-9]+$ ]]; then echo "${f##*/}"; fi
  done | sort
}

upload_closed() {
  local files=() f
  mapfile -t files < <(spool_files)
  ((${#files[@]} > 1)) || return 0
  for f in "${files[@]:0:${#files[@]}-1}"; do
    upload "$SPOOL_DIR/binlogs/$f"
  done
}

# next_name FILE: binlog.000123 -> binlog.000124 (same width).
next_name() {
  local base=${1%.*} n=${1##*.}
  printf '%s.%0*d' "$base" "${#n}" $((10#$n + 1))
}

uuid=$(primary_sql 'SELECT @@GLOBAL.server_uuid') || fail "cannot query $PRIMARY_HOST:$MYSQL_PORT"
[[ $uuid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "unexpected server_uuid '$uuid' from $PRIMARY_HOST"
folder="$prefix/$uuid"
log "archiving the binary logs of $PRIMARY_HOST (server_uuid $uuid, $( ((tls)) && echo "TLS, verified" || echo "no TLS")) to s3://$bucket/$folder/"

while true; do
  # 2. Where to start.
  upload_closed
  rm -f "$SPOOL_DIR"/binlogs/*
  binary_logs=$(primary_sql 'SHOW BINARY LOGS') || fail "SHOW BINARY LOGS on $PRIMARY_HOST failed"
  mapfile -t server_logs < <(cut -f1 <<<"$binary_logs" | { grep -v '^$' || true; })
  ((${#server_logs[@]} > 0)) || fail "$PRIMARY_HOST has no binary logs (is binary logging off?)"
  archived=$(aws_s3 s3api list-objects-v2 --bucket "$bucket" --prefix "$folder/" --query 'Contents[].Key' --output text) ||
    fail "cannot list s3://$bucket/$folder/"
  last=$(tr '\t' '\n' <<<"$archived" | sed 's|.*/||' | { grep -E '^[^.].*\.[0-9]+$' || true; } | sort | tail -n 1)
  if [[ -z $last ]]; then
    start=${server_logs[0]}
    log "nothing archived yet for $uuid: starting at the primary's oldest binary log, $start"
  else
    start=$(next_name "$last")
    found=0
    for l in "${server_logs[@]}"; do [[ $l == "$start" ]] && found=1; done
    if ((found)); then
      log "last archived: $last; resuming at $start"
    else
      gap_key="$folder/gap-after-$last.json"
      log "ERROR: the primary no longer has $start (its oldest is ${server_logs[0]}): the binary logs after $last were purged before they were archived; point-in-time recovery cannot cross this gap (take a new backup). Recording s3://$bucket/$gap_key and continuing at ${server_logs[0]}"
      jq -n --arg after "$last" --arg resumed "${server_logs[0]}" --arg at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        '{after: $after, resumedAt: $resumed, detectedAt: $at}' |
        aws_s3 s3 cp - "s3://$bucket/$gap_key" "${sse[@]}" --content-type application/json --only-show-errors ||
        fail "writing s3://$bucket/$gap_key failed"
      start=${server_logs[0]}
    fi
  fi

  # 3. Stream.
  mysqlbinlog --defaults-extra-file="$cnf" "${ssl[@]}" --host="$PRIMARY_HOST" --port="$MYSQL_PORT" \
    --read-from-remote-source=BINLOG-DUMP-GTIDS --connection-server-id="$CONNECTION_SERVER_ID" \
    --raw --stop-never --result-file="$SPOOL_DIR/binlogs/" "$start" &
  dumper_pid=$!
  open_name="" open_since=0 open_size=0 dirty=1
  while kill -0 "$dumper_pid" 2>/dev/null; do
    sleep "$UPLOAD_INTERVAL_SECONDS" &
    wait $! || true
    upload_closed
    newest=$(spool_files | tail -n 1)
    now=$(date +%s)
    if [[ -n $newest ]]; then
      size=$(stat -c %s "$SPOOL_DIR/binlogs/$newest" 2>/dev/null || echo 0)
      if [[ $newest != "$open_name" ]]; then
        # A file opened by a rotation starts with its headers only; the first file may hold events already.
        [[ -z $open_name ]] || dirty=0
        open_name=$newest open_since=$now open_size=$size
      fi
      ((size == open_size)) || dirty=1
      # 4. Bound the RPO.
      if ((dirty && now - open_since >= ROTATE_SECONDS)); then
        if primary_sql 'FLUSH BINARY LOGS' >/dev/null; then
          log "rotated $newest on $PRIMARY_HOST (open ${ROTATE_SECONDS}s or longer with new events)"
          open_since=$now
        else
          log "WARNING: FLUSH BINARY LOGS on $PRIMARY_HOST failed; retrying in ${UPLOAD_INTERVAL_SECONDS}s"
        fi
      fi
    fi
    # 5. Alive: the stream runs and every closed file is uploaded.
    echo "$now" >"$SPOOL_DIR/heartbeat"
    stop_if_asked
  done
  stop_if_asked
  wait "$dumper_pid" && code=0 || code=$?
  dumper_pid=""
  log "mysqlbinlog exited ($code); uploading what it closed, dropping its unfinished file, resuming in ${RETRY_SECONDS}s"
  upload_closed
  stop_if_asked
  sleep "$RETRY_SECONDS" &
  wait $! || true
  stop_if_asked
done
