#!/usr/bin/env bash
# backup-to-s3: one physical backup of the MySQL StatefulSet into S3, run by the <name>-backup CronJob.
#
# 1. Choose the source: the replica (ordinal >= 1) whose replication is running (Replica_IO_Running and
#    Replica_SQL_Running "Yes") with the least Seconds_Behind_Source, at most MAX_LAG_SECONDS; the lowest
#    ordinal wins a tie. Only when no replica qualifies (none configured, none reachable, all broken or
#    lagging) is the primary (ordinal 0) backed up, and the manifest says so.
# 2. Read the source's sidecar backup stream (`xtrabackup --backup --stream=xbstream` on BACKUP_PORT: plain
#    TCP, or TLS with a client certificate when BACKUP_TLS_* are set) and upload it as it arrives with
#    `aws s3 cp - s3://…` (the AWS CLI v2 refreshes IRSA and Pod Identity credentials by itself), with SSE-KMS
#    and --expected-size (so a stream of up to EXPECTED_SIZE bytes fits S3's 10,000 parts). On the way, the
#    stream's sha256 and byte count are computed and its last TAIL_BYTES are kept: XtraBackup writes its
#    metadata files last, so the tail must hold xtrabackup_checkpoints (the stream is complete) and holds
#    xtrabackup_binlog_info (the backup's binlog position and GTID set).
# 3. Verify: the object's ContentLength equals the bytes sent; with VERIFY=full (the default) the object is
#    read back and its sha256 compared. Only then is manifest.json written beside it (time, source, server
#    version, binlog position and GTID set, size, sha256, encryption), read back and compared. A backup
#    folder without manifest.json is incomplete: restores and the drill ignore it. Nothing is ever deleted.
#
# Layout: <BACKUP_URI>/base/<UTC time YYYYMMDDTHHMMSSZ>/{backup.xbstream,manifest.json}.
#
# Environment:
#   STATEFULSET               required, the StatefulSet's name (pods <name>-N)
#   SERVICE_NAME              required, the headless Service (pods reachable as <pod>.<service>)
#   REPLICAS                  required, the StatefulSet's replica count
#   BACKUP_URI                required, s3://bucket/prefix (no trailing slash)
#   REPLICATION_USER          required, user with REPLICATION CLIENT (for SHOW REPLICA STATUS)
#   REPLICATION_PASSWORD_FILE required, file holding its password (a mounted Secret key)
#   KMS_KEY_ID                required, the KMS key (ARN) for SSE-KMS
#   EXPECTED_SIZE             required, upper bound of the stream in bytes (aws s3 cp --expected-size)
#   MYSQL_PORT                default 3306;  BACKUP_PORT  default 3307
#   MAX_LAG_SECONDS           a replica further behind is not a candidate (default 3600)
#   VERIFY                    full (read the object back, default) or size (ContentLength only)
#   TAIL_BYTES                bytes of the stream's end kept for its metadata (default 67108864)
#   WORK_DIR                  scratch space for the client option file and the tail (default /tmp)
#   S3_ENDPOINT_URL           another S3 endpoint (e.g. a VPC interface endpoint); default: the CLI's
#   BACKUP_TLS_CA, BACKUP_TLS_CERT, BACKUP_TLS_KEY, BACKUP_TLS_SERVER_NAME
#                             all four set: connect to the backup port with TLS, this client certificate,
#                             verifying the server against the CA and name; none set: plain TCP. With TLS
#                             the replication user's queries to the pods present the same certificate and
#                             verify each pod's name (the user must present it: REQUIRE SUBJECT)
#   CONTAINER_IMAGE           the container's image, named when a tool is missing
# Tools (percona/percona-xtrabackup 8.4 image): aws, mysql, socat, jq, sha256sum, mkfifo, mktemp, tee, tail,
# wc, grep, sed, cut, od, dd, head, date, tr.
set -euo pipefail

log() { echo "backup: $*"; }
fail() {
  echo "backup: FAILED: $*" >&2
  exit 1
}
for tool in aws mysql socat jq sha256sum mkfifo mktemp tee tail wc grep sed cut od dd head date tr; do
  command -v "$tool" >/dev/null || {
    echo "backup: $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Backups\")" >&2
    exit 127
  }
done

: "${STATEFULSET:?STATEFULSET must be the StatefulSet name}"
: "${SERVICE_NAME:?SERVICE_NAME must be the headless Service name}"
: "${REPLICAS:?REPLICAS must be the replica count}"
: "${BACKUP_URI:?BACKUP_URI must be s3://bucket/prefix}"
: "${REPLICATION_USER:?REPLICATION_USER must be set}"
: "${REPLICATION_PASSWORD_FILE:?REPLICATION_PASSWORD_FILE must name the file with the replication password}"
: "${KMS_KEY_ID:?KMS_KEY_ID must be the KMS key for SSE-KMS}"
: "${EXPECTED_SIZE:?EXPECTED_SIZE must be the largest stream size in bytes}"
MYSQL_PORT=${MYSQL_PORT:-3306}
BACKUP_PORT=${BACKUP_PORT:-3307}
MAX_LAG_SECONDS=${MAX_LAG_SECONDS:-3600}
VERIFY=${VERIFY:-full}
TAIL_BYTES=${TAIL_BYTES:-67108864}
WORK_DIR=${WORK_DIR:-/tmp}

[[ $REPLICAS =~ ^[0-9]+$ ]] || fail "REPLICAS must be a number, got '$REPLICAS'"
[[ $EXPECTED_SIZE =~ ^[0-9]+$ ]] || fail "EXPECTED_SIZE must be a number of bytes, got '$EXPECTED_SIZE'"
[[ $MAX_LAG_SECONDS =~ ^[0-9]+$ ]] || fail "MAX_LAG_SECONDS must be a number, got '$MAX_LAG_SECONDS'"
[[ $TAIL_BYTES =~ ^[0-9]+$ ]] || fail "TAIL_BYTES must be a number, got '$TAIL_BYTES'"
[[ $VERIFY == full || $VERIFY == size ]] || fail "VERIFY must be 'full' or 'size', got '$VERIFY'"
[[ $BACKUP_URI =~ ^s3://([a-z0-9][a-z0-9.-]*[a-z0-9])/(.+[^/])$ ]] ||
  fail "BACKUP_URI must be s3://bucket/prefix without a trailing slash, got '$BACKUP_URI'"
bucket=${BASH_REMATCH[1]}
prefix=${BASH_REMATCH[2]}
[[ -r $REPLICATION_PASSWORD_FILE ]] || fail "cannot read REPLICATION_PASSWORD_FILE '$REPLICATION_PASSWORD_FILE'"

tls=0
if [[ -n ${BACKUP_TLS_CA:-}${BACKUP_TLS_CERT:-}${BACKUP_TLS_KEY:-}${BACKUP_TLS_SERVER_NAME:-} ]]; then
  [[ -n ${BACKUP_TLS_CA:-} && -n ${BACKUP_TLS_CERT:-} && -n ${BACKUP_TLS_KEY:-} && -n ${BACKUP_TLS_SERVER_NAME:-} ]] ||
    fail "set all of BACKUP_TLS_CA, BACKUP_TLS_CERT, BACKUP_TLS_KEY, BACKUP_TLS_SERVER_NAME, or none"
  tls=1
fi

# The replication user's client option file, in WORK_DIR, an emptyDir (lib-client-cnf.sh).
cnf="$WORK_DIR/backup-client.cnf"
if ((tls)); then
  client_cnf "$cnf" "$REPLICATION_USER" "$REPLICATION_PASSWORD_FILE" "$BACKUP_TLS_CA" "$BACKUP_TLS_CERT" "$BACKUP_TLS_KEY"
else
  client_cnf "$cnf" "$REPLICATION_USER" "$REPLICATION_PASSWORD_FILE"
fi
mysql_tls=()
((tls == 0)) || mysql_tls=(--ssl-mode=VERIFY_IDENTITY)
mysql_at() {
  local host=$1
  shift
  mysql --defaults-extra-file="$cnf" "${mysql_tls[@]}" -h "$host" -P "$MYSQL_PORT" --connect-timeout=10 "$@" </dev/null
}

# 1. The source.
source_pod=""
source_role=""
source_lag=""
for ((i = 1; i < REPLICAS; i++)); do
  pod="$STATEFULSET-$i"
  if ! status=$(mysql_at "$pod.$SERVICE_NAME" -e 'SHOW REPLICA STATUS\G' 2>&1); then
    log "$pod: cannot read its replication status (${status##*$'\n'}); not a candidate"
    continue
  fi
  io=$(sed -n 's/^ *Replica_IO_Running: *//p' <<<"$status")
  sql=$(sed -n 's/^ *Replica_SQL_Running: *//p' <<<"$status")
  lag=$(sed -n 's/^ *Seconds_Behind_Source: *//p' <<<"$status")
  if [[ $io != Yes || $sql != Yes || ! $lag =~ ^[0-9]+$ ]]; then
    log "$pod: replication not running (Replica_IO_Running=${io:-?} Replica_SQL_Running=${sql:-?} Seconds_Behind_Source=${lag:-?}); not a candidate"
    continue
  fi
  if ((lag > MAX_LAG_SECONDS)); then
    log "$pod: $lag s behind the primary (more than MAX_LAG_SECONDS=$MAX_LAG_SECONDS); not a candidate"
    continue
  fi
  log "$pod: replicating, $lag s behind the primary"
  if [[ -z $source_pod ]] || ((lag < source_lag)); then
    source_pod=$pod source_role=replica source_lag=$lag
  fi
done
if [[ -z $source_pod ]]; then
  source_pod="$STATEFULSET-0" source_role=primary source_lag=0
  if ((REPLICAS > 1)); then
    log "WARNING: no healthy replica; backing up the primary $source_pod"
  else
    log "no replicas; backing up the primary $source_pod"
  fi
fi
source_host="$source_pod.$SERVICE_NAME"
server_version=$(mysql_at "$source_host" -N -B -e 'SELECT @@GLOBAL.version') ||
  fail "cannot query $source_host:$MYSQL_PORT"
log "source: $source_pod ($source_role, ${source_lag}s behind), MySQL $server_version"

if ((tls)); then
  stream_address="OPENSSL:$source_host:$BACKUP_PORT,connect-timeout=30,cafile=$BACKUP_TLS_CA,cert=$BACKUP_TLS_CERT,key=$BACKUP_TLS_KEY,commonname=$BACKUP_TLS_SERVER_NAME,verify=1"
else
  stream_address="TCP:$source_host:$BACKUP_PORT,connect-timeout=30"
fi

# 2. Stream and upload.
id=$(date -u +%Y%m%dT%H%M%SZ)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
key="$prefix/base/$id/backup.xbstream"
manifest_key="$prefix/base/$id/manifest.json"
sse=(--sse aws:kms --sse-kms-key-id "$KMS_KEY_ID")
work=$(mktemp -d "$WORK_DIR/backup.XXXXXX")
trap 'rm -rf "$work" "$cnf"' EXIT
mkfifo "$work/to-sha" "$work/to-count" "$work/to-tail"
sha256sum <"$work/to-sha" >"$work/sha256" &
sha_pid=$!
wc -c <"$work/to-count" >"$work/size" &
count_pid=$!
tail -c "$TAIL_BYTES" <"$work/to-tail" >"$work/tail" &
tail_pid=$!
log "streaming $source_host:$BACKUP_PORT ($([[ $tls == 1 ]] && echo "TLS, server name $BACKUP_TLS_SERVER_NAME" || echo "plain TCP")) to s3://$bucket/$key"
set +e
socat -u "$stream_address" STDOUT |
  tee "$work/to-sha" "$work/to-count" "$work/to-tail" |
  aws_s3 s3 cp - "s3://$bucket/$key" --expected-size "$EXPECTED_SIZE" "${sse[@]}" --only-show-errors
codes=("${PIPESTATUS[@]}")
set -e
wait "$sha_pid" "$count_pid" "$tail_pid" || fail "hashing the stream failed"
((codes[0] == 0)) || fail "reading the backup stream from $source_host:$BACKUP_PORT failed (socat exit ${codes[0]})"
((codes[1] == 0)) || fail "tee failed (exit ${codes[1]})"
((codes[2] == 0)) || fail "uploading to s3://$bucket/$key failed (aws exit ${codes[2]})"
size=$(tr -d '[:space:]' <"$work/size")
sha256=$(cut -d' ' -f1 <"$work/sha256")
((size > 0)) || fail "the backup stream from $source_host was empty"

# xbstream_payload FILE NAME: the content of file NAME as the xbstream in FILE carries it (its last chunk).
# A chunk is "XBSTCK01", flags (1 byte), type (1, "P" for payload), path length (4, little-endian), path,
# payload length (8), offset (8), checksum (4), payload.
xbstream_payload() {
  local file=$1 name=$2 match offset header length found="" found_length=""
  while IFS=: read -r match _; do
    offset=$match
    header=$((offset - 14))
    ((header >= 0)) || continue
    [[ $(dd if="$file" bs=1 skip="$header" count=8 2>/dev/null) == XBSTCK01 ]] || continue
    [[ $(dd if="$file" bs=1 skip=$((header + 9)) count=1 2>/dev/null) == P ]] || continue
    [[ $(od -An --endian=little -t u4 -j $((header + 10)) -N 4 "$file" | tr -d '[:space:]') == "${#name}" ]] || continue
    length=$(od -An --endian=little -t u8 -j $((offset + ${#name})) -N 8 "$file" | tr -d '[:space:]')
    found=$((offset + ${#name} + 20)) found_length=$length
  done < <(grep -obaF -- "$name" "$file" || true)
  [[ -n $found ]] || return 1
  tail -c +$((found + 1)) "$file" | head -c "$found_length"
}
xbstream_payload "$work/tail" xtrabackup_checkpoints >"$work/checkpoints" ||
  fail "the stream does not end with xtrabackup_checkpoints: XtraBackup did not finish (see the sidecar log of $source_pod); s3://$bucket/$key is incomplete and has no manifest"
binlog_file="" binlog_position="" gtid_set=""
if xbstream_payload "$work/tail" xtrabackup_binlog_info >"$work/binlog_info"; then
  read -r binlog_file binlog_position _ <"$work/binlog_info" || true
  # "<file>\t<position>\t<GTID set>", a long set continued on further lines (which have no tab).
  gtid_set=$(cut -f3- "$work/binlog_info" | tr -d '[:space:]')
else
  log "WARNING: no xtrabackup_binlog_info in the stream (binary logging off?): no binlog position in the manifest"
fi
finished_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
log "uploaded $size bytes, sha256 $sha256; binlog ${binlog_file:-?}:${binlog_position:-?}"

# 3. Verify, then the manifest.
remote_size=$(aws_s3 s3api head-object --bucket "$bucket" --key "$key" --query ContentLength --output text) ||
  fail "cannot read s3://$bucket/$key back"
[[ $remote_size == "$size" ]] || fail "s3://$bucket/$key holds $remote_size bytes, $size were sent"
if [[ $VERIFY == full ]]; then
  remote_sha256=$(aws_s3 s3 cp "s3://$bucket/$key" - --only-show-errors | sha256sum | cut -d' ' -f1)
  [[ $remote_sha256 == "$sha256" ]] || fail "s3://$bucket/$key reads back with sha256 $remote_sha256, $sha256 was sent"
  log "verified: s3://$bucket/$key reads back with $remote_size bytes and the same sha256"
else
  log "verified: s3://$bucket/$key holds $remote_size bytes (VERIFY=size: sha256 not re-read)"
fi
manifest=$(jq -n \
  --arg id "$id" --arg startedAt "$started_at" --arg finishedAt "$finished_at" \
  --arg object "s3://$bucket/$key" --argjson size "$size" --arg sha256 "$sha256" \
  --arg kms "$KMS_KEY_ID" --arg pod "$source_pod" --arg role "$source_role" --argjson lag "$source_lag" \
  --arg version "$server_version" --arg file "$binlog_file" --arg position "$binlog_position" \
  --arg gtid "$gtid_set" --arg verify "$VERIFY" \
  '{format: "mysql-physical-backup/v1", id: $id, startedAt: $startedAt, finishedAt: $finishedAt,
    object: $object, size: $size, sha256: $sha256, verified: $verify,
    encryption: {sse: "aws:kms", kmsKeyId: $kms},
    source: {pod: $pod, role: $role, secondsBehindSource: $lag, serverVersion: $version},
    binlog: {file: $file, position: ($position | if . == "" then null else tonumber end), gtidSet: $gtid},
    tool: "xtrabackup --backup --stream=xbstream"}')
printf '%s\n' "$manifest" |
  aws_s3 s3 cp - "s3://$bucket/$manifest_key" "${sse[@]}" --content-type application/json --only-show-errors ||
  fail "writing s3://$bucket/$manifest_key failed"
readback=$(aws_s3 s3 cp "s3://$bucket/$manifest_key" - --only-show-errors) ||
  fail "cannot read s3://$bucket/$manifest_key back"
[[ $readback == "$manifest" ]] || fail "s3://$bucket/$manifest_key reads back differently"
log "OK: backup $id of $source_pod ($source_role): s3://$bucket/$key, $size bytes, sha256 $sha256, manifest s3://$bucket/$manifest_key"
