#!/usr/bin/env bash
# volume-snapshot: an EBS snapshot of one replica's data volume, run by the <name>-volume-snapshot CronJob.
#
# 1. Choose the replica as backup-to-s3 does (replication running, least Seconds_Behind_Source, at most
#    MAX_LAG_SECONDS). Never the primary: with no healthy replica the job fails.
# 2. STOP REPLICA SQL_THREAD on it (as root: the replication user may not), so the volume is quiescent and
#    its GTID position fixed while the snapshot is cut; a trap runs START REPLICA SQL_THREAD however the
#    script ends.
# 3. Create a VolumeSnapshot of its claim data-<name>-<ordinal> (class SNAPSHOT_CLASS, label
#    app=SNAPSHOT_APP) through the Kubernetes API with the pod's ServiceAccount token, and wait until the
#    snapshot has a creationTime (the point in time it captures: EBS copies the blocks afterwards, while
#    the replica runs again); a snapshot error fails the job.
# 4. Start the SQL thread again, then delete this job's own snapshots (label app=SNAPSHOT_APP) beyond the
#    newest KEEP that are readyToUse, never another snapshot.
#
# Environment:
#   STATEFULSET, SERVICE_NAME, REPLICAS, NAMESPACE   required: the StatefulSet, its headless Service, its
#                             replica count and namespace
#   SNAPSHOT_CLASS            required, the VolumeSnapshotClass
#   SNAPSHOT_APP              required, the label value that marks this job's snapshots
#   ROOT_PASSWORD_FILE        required, root's password (a mounted Secret key)
#   MYSQL_PORT                default 3306;   MAX_LAG_SECONDS  default 3600;  KEEP  default 7
#   WAIT_SECONDS              how long to wait for the snapshot's creationTime (default 600)
#   POLL_SECONDS              default 2
#   API_SERVER                default https://kubernetes.default.svc
#   SA_DIR                    default /var/run/secrets/kubernetes.io/serviceaccount (token, ca.crt)
#   WORK_DIR                  scratch space for the client option file (default /tmp)
#   CONTAINER_IMAGE           the container's image, named when a tool is missing
# Tools (percona/percona-xtrabackup 8.4 image): mysql, curl, jq, sed, tr, date, sleep.
set -euo pipefail

log() { echo "volume-snapshot: $*"; }
fail() {
  echo "volume-snapshot: FAILED: $*" >&2
  exit 1
}
for tool in mysql curl jq sed tr date sleep; do
  command -v "$tool" >/dev/null || {
    echo "volume-snapshot: $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Backups\")" >&2
    exit 127
  }
done

: "${STATEFULSET:?STATEFULSET must be the StatefulSet name}"
: "${SERVICE_NAME:?SERVICE_NAME must be the headless Service name}"
: "${REPLICAS:?REPLICAS must be the replica count}"
: "${NAMESPACE:?NAMESPACE must be the namespace of the StatefulSet}"
: "${SNAPSHOT_CLASS:?SNAPSHOT_CLASS must be the VolumeSnapshotClass}"
: "${SNAPSHOT_APP:?SNAPSHOT_APP must be the label value that marks the snapshots of this job}"
: "${ROOT_PASSWORD_FILE:?ROOT_PASSWORD_FILE must name the file with the root password}"
MYSQL_PORT=${MYSQL_PORT:-3306}
MAX_LAG_SECONDS=${MAX_LAG_SECONDS:-3600}
KEEP=${KEEP:-7}
WAIT_SECONDS=${WAIT_SECONDS:-600}
POLL_SECONDS=${POLL_SECONDS:-2}
API_SERVER=${API_SERVER:-https://kubernetes.default.svc}
SA_DIR=${SA_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
WORK_DIR=${WORK_DIR:-/tmp}
for n in REPLICAS MAX_LAG_SECONDS KEEP WAIT_SECONDS; do
  [[ ${!n} =~ ^[0-9]+$ ]] || fail "$n must be a number, got '${!n}'"
done
[[ $POLL_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "POLL_SECONDS must be a number of seconds, got '$POLL_SECONDS'"
((KEEP >= 1)) || fail "KEEP must be at least 1, got '$KEEP'"
[[ -r $ROOT_PASSWORD_FILE ]] || fail "cannot read ROOT_PASSWORD_FILE '$ROOT_PASSWORD_FILE'"
[[ -r $SA_DIR/token && -r $SA_DIR/ca.crt ]] || fail "no ServiceAccount token in $SA_DIR (automountServiceAccountToken must be true)"

# root's client option file, in WORK_DIR (lib-client-cnf.sh).
cnf="$WORK_DIR/snapshot-client.cnf"
client_cnf "$cnf" root "$ROOT_PASSWORD_FILE"
mysql_at() {
  local host=$1
  shift
  mysql --defaults-extra-file="$cnf" -h "$host" -P "$MYSQL_PORT" --connect-timeout=10 "$@" </dev/null
}
api() {
  local method=$1 path=$2
  shift 2
  curl -sS --fail-with-body --cacert "$SA_DIR/ca.crt" -H "Authorization: Bearer $(<"$SA_DIR/token")" \
    -H 'Content-Type: application/json' -X "$method" "$API_SERVER$path" "$@"
}
snapshots="/apis/snapshot.storage.k8s.io/v1/namespaces/$NAMESPACE/volumesnapshots"

# 1. The replica.
pod="" best_lag=""
for ((i = 1; i < REPLICAS; i++)); do
  candidate="$STATEFULSET-$i"
  if ! status=$(mysql_at "$candidate.$SERVICE_NAME" -e 'SHOW REPLICA STATUS\G' 2>&1); then
    log "$candidate: cannot read its replication status (${status##*$'\n'}); not a candidate"
    continue
  fi
  io=$(sed -n 's/^ *Replica_IO_Running: *//p' <<<"$status")
  sql=$(sed -n 's/^ *Replica_SQL_Running: *//p' <<<"$status")
  lag=$(sed -n 's/^ *Seconds_Behind_Source: *//p' <<<"$status")
  if [[ $io != Yes || $sql != Yes || ! $lag =~ ^[0-9]+$ ]] || ((lag > MAX_LAG_SECONDS)); then
    log "$candidate: not healthy (Replica_IO_Running=${io:-?} Replica_SQL_Running=${sql:-?} Seconds_Behind_Source=${lag:-?}); not a candidate"
    continue
  fi
  if [[ -z $pod ]] || ((lag < best_lag)); then
    pod=$candidate best_lag=$lag
  fi
done
[[ -n $pod ]] || fail "no healthy replica to snapshot (the primary is never stopped for a snapshot)"
claim="data-$pod"
host="$pod.$SERVICE_NAME"
log "snapshotting $claim of $pod (${best_lag}s behind the primary)"

# 2. Quiesce.
mysql_at "$host" -e 'STOP REPLICA SQL_THREAD' || fail "STOP REPLICA SQL_THREAD on $pod failed"
restart_sql_thread() {
  if mysql_at "$host" -e 'START REPLICA SQL_THREAD'; then
    log "$pod: SQL thread started again"
  else
    echo "volume-snapshot: WARNING: START REPLICA SQL_THREAD on $pod failed; start it by hand" >&2
  fi
}
trap 'restart_sql_thread; rm -f "$cnf"' EXIT
gtid=$(mysql_at "$host" -N -B -e 'SELECT @@GLOBAL.gtid_executed' | tr -d '[:space:]') || gtid=""

# 3. The snapshot.
name="$claim-$(date -u +%Y%m%d%H%M%S)"
body=$(jq -n --arg name "$name" --arg ns "$NAMESPACE" --arg app "$SNAPSHOT_APP" --arg class "$SNAPSHOT_CLASS" \
  --arg claim "$claim" --arg gtid "$gtid" --arg pod "$pod" \
  '{apiVersion: "snapshot.storage.k8s.io/v1", kind: "VolumeSnapshot",
    metadata: {name: $name, namespace: $ns, labels: {app: $app},
      annotations: {"mysql.backup/source-pod": $pod, "mysql.backup/gtid-executed": $gtid}},
    spec: {volumeSnapshotClassName: $class, source: {persistentVolumeClaimName: $claim}}}')
api POST "$snapshots" -d "$body" >/dev/null || fail "creating VolumeSnapshot $name failed"
log "created VolumeSnapshot $name; waiting for its creationTime"
deadline=$((SECONDS + WAIT_SECONDS))
for (( ; ; )); do
  state=$(api GET "$snapshots/$name") || fail "reading VolumeSnapshot $name failed"
  error=$(jq -r '.status.error.message // empty' <<<"$state")
  [[ -z $error ]] || fail "VolumeSnapshot $name: $error"
  created=$(jq -r '.status.creationTime // empty' <<<"$state")
  [[ -z $created ]] || break
  ((SECONDS < deadline)) || fail "VolumeSnapshot $name has no creationTime after $WAIT_SECONDS s"
  sleep "$POLL_SECONDS"
done
log "VolumeSnapshot $name cut at $created"

# 4. Replication on again, then retention of this job's own snapshots.
trap 'rm -f "$cnf"' EXIT
restart_sql_thread
list=$(api GET "$snapshots?labelSelector=app%3D$SNAPSHOT_APP") || fail "listing VolumeSnapshots failed"
mapfile -t old < <(jq -r --argjson keep "$KEEP" \
  '[.items[] | select(.status.readyToUse == true)] | sort_by(.metadata.creationTimestamp) | reverse | .[$keep:] | .[].metadata.name' <<<"$list")
for snapshot in "${old[@]}"; do
  api DELETE "$snapshots/$snapshot" >/dev/null || fail "deleting VolumeSnapshot $snapshot failed"
  log "deleted VolumeSnapshot $snapshot (keeping the newest $KEEP ready ones)"
done
log "OK: VolumeSnapshot $name of $claim"
