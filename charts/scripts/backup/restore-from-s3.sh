#!/usr/bin/env bash
# restore-from-s3: fetches one backup written by backup-to-s3 into an empty directory and prepares it.
#
# Used twice: as the `restore-from-s3` init container of a StatefulSet whose config sets `restore.from`
# (only ordinal 0 restores; the replicas then clone from it as usual), and as the first container of the
# restore drill (RESTORE_FROM=latest, into a scratch volume).
#
# 1. Resolve the backup: RESTORE_FROM is a backup folder s3://bucket/prefix/base/<id> or `latest`, the
#    newest folder under BACKUP_URI/base/ that has a manifest.json (a folder without one is incomplete).
# 2. Refuse to restore over data: TARGET_DIR must be empty. If an earlier run of this script restored the
#    same backup (TARGET_DIR/.restored-from, or .restore-pending before restore-mysqld finished), there is
#    nothing to do; another backup, or data that no restore wrote, is refused with exit 1, and nothing is
#    touched. An interrupted restore (.restore-incomplete) is cleared and started over.
# 3. Read manifest.json, stream the object through sha256 and a byte count into `xbstream -x`, and compare
#    both with the manifest: a mismatch fails (the directory is cleared). Then `xtrabackup --prepare`.
# 4. Drop auto.cnf (the restored server gets its own server_uuid), keep the manifest and the backup's
#    xtrabackup_binlog_info as .restore-manifest.json and .restore-binlog-info, and write .restore-pending
#    (the backup folder) for restore-mysqld, which finishes the restore on a running mysqld.
# 5. Point in time (RESTORE_TO_TIME set): refuse a time before the backup finished. Download the archived
#    binary logs (<prefix>/binlogs/<server_uuid>/, written by binlog-archiver) that may hold transactions the
#    backup lacks: every file uploaded after the backup started, less the source replica's lag and
#    PITR_SLACK_SECONDS (earlier files hold only what the backup has), each checked against its sha256
#    metadata. Refuse if a gap marker of the archiver lies in that range, or if the time is after the last
#    archived event (the archive does not reach it yet). Decode them with `mysqlbinlog --exclude-gtids=<the
#    backup's GTID set> --stop-datetime=<time>` into .restore-pitr.sql, which restore-mysqld applies.
#    Event times are those the binary log records (when each statement started on the primary), in UTC.
#
# Environment:
#   TARGET_DIR       required, the directory to restore into (the data directory)
#   RESTORE_FROM     required, s3://bucket/prefix/base/<id> or `latest`
#   BACKUP_URI       s3://bucket/prefix, required for RESTORE_FROM=latest
#   POD_NAME         when set, only ordinal 0 of <name>-<ordinal> restores; others exit 0
#   RESTORE_TO_TIME  optional, "YYYY-MM-DD HH:MM:SS" (UTC): replay the archived binlogs up to (not including)
#                    this second
#   BINLOG_URI       s3://bucket/prefix/binlogs, required with RESTORE_TO_TIME
#   PITR_SLACK_SECONDS  extra look-back when choosing binlog files (default 600)
#   S3_ENDPOINT_URL  another S3 endpoint; default: the CLI's
#   WORK_DIR         scratch space for the checksum pipes (default /tmp)
#   CONTAINER_IMAGE  the container's image, named when a tool is missing
# Tools (percona/percona-xtrabackup 8.4 image): aws, jq, xbstream, xtrabackup, sha256sum, mkfifo, mktemp,
# tee, wc, find, grep, tr, cut, sort, tail, mkdir, mv, rm, touch, date, sed, mysqlbinlog.
set -euo pipefail

log() { echo "restore-from-s3: $*"; }
fail() {
  echo "restore-from-s3: FAILED: $*" >&2
  exit 1
}
for tool in aws jq xbstream xtrabackup sha256sum mkfifo mktemp tee wc find grep tr cut sort tail mkdir mv rm touch date sed mysqlbinlog; do
  command -v "$tool" >/dev/null || {
    echo "restore-from-s3: $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Restore\")" >&2
    exit 127
  }
done

: "${TARGET_DIR:?TARGET_DIR must be the directory to restore into}"
: "${RESTORE_FROM:?RESTORE_FROM must be s3://bucket/prefix/base/<id> or latest}"
WORK_DIR=${WORK_DIR:-/tmp}
PITR_SLACK_SECONDS=${PITR_SLACK_SECONDS:-600}
# mysqlbinlog prints and reads event times in the local time zone: UTC, as RESTORE_TO_TIME is.
export TZ=UTC
to_epoch=""
if [[ -n ${RESTORE_TO_TIME:-} ]]; then
  if ! [[ $RESTORE_TO_TIME =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}$ ]] ||
    ! to_epoch=$(date -u -d "$RESTORE_TO_TIME" +%s 2>/dev/null); then
    fail "RESTORE_TO_TIME must be a UTC time \"YYYY-MM-DD HH:MM:SS\", got '$RESTORE_TO_TIME'"
  fi
  : "${BINLOG_URI:?BINLOG_URI must be s3://bucket/prefix/binlogs with RESTORE_TO_TIME}"
  [[ $BINLOG_URI =~ ^s3://([a-z0-9][a-z0-9.-]*[a-z0-9])/(.+[^/])$ ]] ||
    fail "BINLOG_URI must be s3://bucket/prefix without a trailing slash, got '$BINLOG_URI'"
  binlog_bucket=${BASH_REMATCH[1]}
  binlog_prefix=${BASH_REMATCH[2]}
  [[ $PITR_SLACK_SECONDS =~ ^[0-9]+$ ]] || fail "PITR_SLACK_SECONDS must be a number, got '$PITR_SLACK_SECONDS'"
fi

if [[ -n ${POD_NAME:-} ]]; then
  [[ $POD_NAME =~ -([0-9]+)$ ]] || fail "cannot read an ordinal from pod name '$POD_NAME' (expected <name>-<number>)"
  if ((10#${BASH_REMATCH[1]} != 0)); then
    log "$POD_NAME is a replica: it clones from the restored primary; nothing to restore here"
    exit 0
  fi
fi

# 1. Which backup.
if [[ $RESTORE_FROM == latest ]]; then
  : "${BACKUP_URI:?BACKUP_URI must be s3://bucket/prefix for RESTORE_FROM=latest}"
  [[ $BACKUP_URI =~ ^s3://([a-z0-9][a-z0-9.-]*[a-z0-9])/(.+[^/])$ ]] ||
    fail "BACKUP_URI must be s3://bucket/prefix without a trailing slash, got '$BACKUP_URI'"
  bucket=${BASH_REMATCH[1]}
  prefix=${BASH_REMATCH[2]}
  newest=$(aws_s3 s3api list-objects-v2 --bucket "$bucket" --prefix "$prefix/base/" \
    --query "Contents[?ends_with(Key, '/manifest.json')].Key" --output text) ||
    fail "cannot list s3://$bucket/$prefix/base/"
  newest=$(tr '\t' '\n' <<<"$newest" | { grep -v '^None$' || true; } | sort | tail -n 1)
  [[ -n $newest ]] || fail "no complete backup (a folder with manifest.json) under s3://$bucket/$prefix/base/"
  source="s3://$bucket/${newest%/manifest.json}"
  log "latest complete backup: $source"
else
  [[ $RESTORE_FROM =~ ^s3://[a-z0-9][a-z0-9.-]*[a-z0-9]/.+/base/[0-9]{8}T[0-9]{6}Z$ ]] ||
    fail "RESTORE_FROM must be a backup folder s3://bucket/prefix/base/<YYYYMMDDTHHMMSSZ> or latest, got '$RESTORE_FROM'"
  source=$RESTORE_FROM
fi

# 2. Refuse to restore over data.
mkdir -p "$TARGET_DIR"
cd "$TARGET_DIR"
for marker in .restored-from .restore-pending; do
  if [[ -f $marker ]]; then
    previous=$(<"$marker")
    if [[ $previous == "$source" ]]; then
      log "$TARGET_DIR was already restored from $source ($marker); nothing to do"
      exit 0
    fi
    fail "$TARGET_DIR was restored from $previous, not $source; refusing to restore over it (restore into a new StatefulSet or namespace, see README \"Restore\")"
  fi
done
if [[ -e .restore-incomplete ]]; then
  log "an earlier restore did not finish; clearing $TARGET_DIR and starting over"
  find . -mindepth 1 -delete
fi
existing=$(find . -mindepth 1 -maxdepth 1 ! -name lost+found -printf '%P ' | cut -c1-200)
if [[ -n $existing ]]; then
  fail "$TARGET_DIR is not empty ($existing): refusing to restore over existing data; restore into a new StatefulSet or namespace (README \"Restore\")"
fi
touch .restore-incomplete

# 3. Fetch, verify, prepare.
manifest=$(aws_s3 s3 cp "$source/manifest.json" - --only-show-errors) || fail "cannot read $source/manifest.json"
format=$(jq -r '.format' <<<"$manifest")
[[ $format == mysql-physical-backup/v1 ]] || fail "$source/manifest.json: unknown format '$format'"
object=$(jq -r '.object' <<<"$manifest")
expected_size=$(jq -r '.size' <<<"$manifest")
expected_sha256=$(jq -r '.sha256' <<<"$manifest")
[[ $object == "$source/backup.xbstream" ]] || fail "$source/manifest.json names another object: $object"
if [[ -n $to_epoch ]]; then
  finished_at=$(jq -r '.finishedAt' <<<"$manifest")
  gtid_set=$(jq -r '.binlog.gtidSet // ""' <<<"$manifest")
  finished_epoch=$(date -u -d "$finished_at" +%s) || fail "$source/manifest.json: unreadable finishedAt '$finished_at'"
  if ((to_epoch < finished_epoch)); then
    rm -f .restore-incomplete
    fail "restore.toTime $RESTORE_TO_TIME UTC is before backup $source finished ($finished_at): choose an older backup (restore.from) or a later time"
  fi
  if [[ -z $gtid_set ]]; then
    rm -f .restore-incomplete
    fail "backup $source has no GTID set in its manifest: binary logs cannot be replayed onto it"
  fi
fi
log "fetching $object ($expected_size bytes, sha256 $expected_sha256; backup of $(jq -r '.source.pod + " (" + .source.role + ")"' <<<"$manifest") finished $(jq -r '.finishedAt' <<<"$manifest"))"

work=$(mktemp -d "$WORK_DIR/restore.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkfifo "$work/to-sha" "$work/to-count"
sha256sum <"$work/to-sha" >"$work/sha256" &
sha_pid=$!
wc -c <"$work/to-count" >"$work/size" &
count_pid=$!
# tee -p: when xbstream stops on a damaged chunk, the whole object is still read and hashed, so the
# verdict is "corrupted" (the checksum) rather than a broken pipe.
set +e
aws_s3 s3 cp "$object" - --only-show-errors | tee -p "$work/to-sha" "$work/to-count" | xbstream -x -C "$TARGET_DIR"
codes=("${PIPESTATUS[@]}")
set -e
wait "$sha_pid" "$count_pid" || fail "hashing the stream failed"
size=$(tr -d '[:space:]' <"$work/size")
sha256=$(cut -d' ' -f1 <"$work/sha256")
clear_target() { find "$TARGET_DIR" -mindepth 1 ! -name .restore-incomplete -delete; }
if ((codes[0] != 0)); then
  clear_target
  fail "downloading $object failed (aws exit ${codes[0]})"
fi
if [[ $size != "$expected_size" || $sha256 != "$expected_sha256" ]]; then
  clear_target
  fail "$object is corrupted: read $size bytes with sha256 $sha256, the manifest says $expected_size bytes with sha256 $expected_sha256"
fi
if ((codes[2] != 0)); then
  clear_target
  fail "xbstream could not unpack $object (exit ${codes[2]})"
fi
log "verified: $size bytes, sha256 matches the manifest; preparing"
xtrabackup --prepare --target-dir="$TARGET_DIR" || {
  clear_target
  fail "xtrabackup --prepare failed on $object"
}

# 5. Point in time: the archived binary logs after the backup, decoded up to RESTORE_TO_TIME.
if [[ -n $to_epoch ]]; then
  started_epoch=$(date -u -d "$(jq -r '.startedAt' <<<"$manifest")" +%s)
  lag=$(jq -r '.source.secondsBehindSource // 0' <<<"$manifest")
  from_epoch=$((started_epoch - lag - PITR_SLACK_SECONDS))
  listing=$(aws_s3 s3api list-objects-v2 --bucket "$binlog_bucket" --prefix "$binlog_prefix/" \
    --query 'Contents[].[Key, LastModified]' --output text) || {
    clear_target
    fail "cannot list s3://$binlog_bucket/$binlog_prefix/"
  }
  # "<epoch of the server's first selected file> <epoch> <key>", one per selected file; gap markers apart.
  selected=()
  while IFS=$'\t' read -r key modified; do
    [[ -n $key && $key != None ]] || continue
    m=$(date -u -d "$modified" +%s) || continue
    ((m >= from_epoch)) || continue
    name=${key##*/}
    if [[ $name =~ ^gap-after-(.+)\.json$ ]]; then
      clear_target
      fail "the binlog archive has a gap after ${BASH_REMATCH[1]} (s3://$binlog_bucket/$key, recorded $modified): it cannot replay past backup $source; restore without restore.toTime, or from a backup taken after the gap"
    fi
    [[ $name =~ ^[^.].*\.[0-9]+$ ]] && selected+=("$m ${key%/*} $key")
  done <<<"$listing"
  if ((${#selected[@]} == 0)); then
    clear_target
    fail "no archived binary logs under s3://$binlog_bucket/$binlog_prefix/ after backup $source: is the binlog archiver running (README \"Backups\")?"
  fi
  # Servers (folders) in the order they were first archived, each one's files in name order.
  declare -A first=()
  for e in "${selected[@]}"; do
    read -r m folder _ <<<"$e"
    [[ -n ${first[$folder]:-} ]] && ((first[$folder] <= m)) || first[$folder]=$m
  done
  mapfile -t ordered < <(for e in "${selected[@]}"; do
    read -r _ folder key <<<"$e"
    printf '%s %s %s\n' "${first[$folder]}" "$folder" "$key"
  done | sort -k1,1n -k2,2 -k3,3 | cut -d' ' -f3)
  mkdir -p .restore-binlogs
  files=()
  n=0
  for key in "${ordered[@]}"; do
    n=$((n + 1))
    local_file=".restore-binlogs/$(printf '%04d' "$n")-${key##*/}"
    if ! expected=$(aws_s3 s3api head-object --bucket "$binlog_bucket" --key "$key" --query 'Metadata.sha256' --output text) ||
      ! aws_s3 s3 cp "s3://$binlog_bucket/$key" "$local_file" --only-show-errors; then
      clear_target
      fail "downloading s3://$binlog_bucket/$key failed"
    fi
    got=$(sha256sum "$local_file" | cut -d' ' -f1)
    if [[ $got != "$expected" ]]; then
      clear_target
      fail "s3://$binlog_bucket/$key is corrupted: sha256 $got, its metadata says $expected"
    fi
    files+=("$local_file")
  done
  log "downloaded ${#files[@]} archived binary log(s) uploaded since $(date -u -d "@$from_epoch" +%Y-%m-%dT%H:%M:%SZ): ${ordered[*]##*/}"
  # The archive reaches the latest event time in it (a closed file ends with its Rotate event).
  last_event=$(mysqlbinlog "${files[@]}" | sed -n 's/^#\([0-9]\{6\}\) \{1,2\}\([0-9]\{1,2\}:[0-9]\{2\}:[0-9]\{2\}\) server id .*/\1 \2/p' | sort | tail -n 1) || true
  [[ $last_event =~ ^([0-9]{2})([0-9]{2})([0-9]{2})\ (.*)$ ]] || {
    clear_target
    fail "cannot read event times from the archived binary logs (mysqlbinlog failed?)"
  }
  last_event="20${BASH_REMATCH[1]}-${BASH_REMATCH[2]}-${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
  if ((to_epoch > $(date -u -d "$last_event" +%s))); then
    clear_target
    fail "restore.toTime $RESTORE_TO_TIME UTC is after the last archived event ($last_event UTC): the archive does not reach it (yet: the archiver uploads within its RPO); choose an earlier time or wait"
  fi
  mysqlbinlog --exclude-gtids="$gtid_set" --stop-datetime="$RESTORE_TO_TIME" "${files[@]}" >.restore-pitr.sql || {
    clear_target
    fail "mysqlbinlog could not decode the archived binary logs"
  }
  rm -rf .restore-binlogs
  printf '%s\n' "$RESTORE_TO_TIME" >.restore-to-time
  log "point in time $RESTORE_TO_TIME UTC: transactions after the backup's GTID set and before that time decoded into .restore-pitr.sql ($(wc -c <.restore-pitr.sql) bytes; the archive reaches $last_event UTC)"
fi

# 4. Hand over to restore-mysqld.
rm -f auto.cnf
printf '%s\n' "$manifest" >.restore-manifest.json
if [[ -f xtrabackup_binlog_info ]]; then
  mv xtrabackup_binlog_info .restore-binlog-info
fi
rm -f xtrabackup_slave_info
printf '%s\n' "$source" >.restore-pending
rm -f .restore-incomplete
log "done: $TARGET_DIR holds the prepared backup $source"
