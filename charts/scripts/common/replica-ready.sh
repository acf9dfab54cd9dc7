#!/usr/bin/env bash
# replica-ready: the xtrabackup sidecar's readiness probe. Passes only on a fresh "ready" verdict in
# the state file the sidecar rewrites every few seconds ("<epoch seconds> ready|not-ready <reason>"),
# and prints the verdict and its reason, which the kubelet keeps in the probe's event
# (`kubectl describe pod`: "Readiness probe failed: not-ready: replication SQL thread is No …").
# A verdict older than STALE_SECONDS fails too: a sidecar stuck in a query must not keep a pod Ready.
#
# Arguments: STATE_FILE (default /tmp/replication-state), STALE_SECONDS (default 30).
# Tools: bash only (builtins), so that it runs in any image.
set -uo pipefail
STATE_FILE=${1:-/tmp/replication-state}
STALE_SECONDS=${2:-30}

if [[ ! -r $STATE_FILE ]] || ! read -r written verdict reason <"$STATE_FILE"; then
  echo "not-ready: no verdict yet ($STATE_FILE missing: the sidecar is starting, waiting for mysqld or configuring replication)"
  exit 1
fi
printf -v now '%(%s)T' -1
if [[ ! $written =~ ^[0-9]+$ ]]; then
  echo "not-ready: $STATE_FILE is not a verdict: $written $verdict $reason"
  exit 1
fi
if ((now - written > STALE_SECONDS)); then
  echo "not-ready: the last replication check ran $((now - written)) s ago (more than $STALE_SECONDS s; is the sidecar stuck?); it said: $verdict: $reason"
  exit 1
fi
echo "$verdict: $reason"
[[ $verdict == ready ]]
