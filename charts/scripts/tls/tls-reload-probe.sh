#!/usr/bin/env bash
# tls-reload-probe: the tls-reload container's probes, `liveness` or `readiness` (the first argument).
#
# Each round of tls-reload.sh first writes "<epoch seconds> loaded|starting" to HEARTBEAT_FILE, then
# reads the certificate and, when it changed, runs ALTER INSTANCE RELOAD TLS (at most --connect-timeout
# to connect, but a statement that never returns has no bound of its own), then sleeps.
#   liveness   fails when the heartbeat is older than MAX_AGE_SECONDS: a round hangs, and a renewed
#              certificate would never reach mysqld; the kubelet restarts the container. A failed reload
#              does not fail it: the loop retries by itself (and a restart would not mend a key that does
#              not match its certificate).
#   readiness  also fails until a reload has succeeded since the container started ("starting"): until
#              then mysqld may serve a certificate older than the Secret's. A later failed reload keeps
#              the container Ready, since mysqld goes on serving its last good certificate, and taking the
#              pod out of its Services for it would be an outage of its own.
#
# Environment (the container's own; exec probes inherit it):
#   HEARTBEAT_FILE             required, written by tls-reload.sh
#   HEARTBEAT_MAX_AGE_SECONDS  required, how old the heartbeat may be (the chart: twice the poll
#                              interval plus 30 s)
#   NOW                        the current time in epoch seconds (tests set it; default the clock)
# Tools: bash builtins only.
set -euo pipefail

fail() {
  echo "tls-reload-probe: $*" >&2
  exit 1
}
probe=${1:-}
[[ $probe == liveness || $probe == readiness ]] || fail "the first argument must be 'liveness' or 'readiness', got '$probe'"
: "${HEARTBEAT_FILE:?HEARTBEAT_FILE must be the file tls-reload.sh writes}"
max=${HEARTBEAT_MAX_AGE_SECONDS:-}
[[ $max =~ ^[0-9]+$ ]] || fail "HEARTBEAT_MAX_AGE_SECONDS must be a number of seconds, got '$max'"
now=${NOW:-}
[[ -n $now ]] || printf -v now '%(%s)T' -1

# The loop writes the heartbeat before anything else it does (and exits when it cannot), so it is
# missing only in the moments after the container's first start: live, not yet ready.
if [[ ! -e $HEARTBEAT_FILE ]]; then
  [[ $probe == liveness ]] || fail "no heartbeat at $HEARTBEAT_FILE yet: the reload loop is starting"
  echo "tls-reload-probe: no heartbeat at $HEARTBEAT_FILE yet: the reload loop is starting"
  exit 0
fi
line=$(<"$HEARTBEAT_FILE")
[[ $line =~ ^([0-9]+)\ (loaded|starting)$ ]] || fail "the heartbeat in $HEARTBEAT_FILE is not '<time> loaded|starting': '$line'"
beat=${BASH_REMATCH[1]} state=${BASH_REMATCH[2]}
age=$((now - beat))
if ((age > 10#$max)); then
  fail "the reload loop last went round ${age}s ago (more than ${max}s): it hangs; a renewed certificate would not reach mysqld"
fi
if [[ $probe == readiness && $state != loaded ]]; then
  fail "no ALTER INSTANCE RELOAD TLS has succeeded yet since the container started (mysqld starting?)"
fi
echo "tls-reload-probe: the reload loop went round ${age}s ago; certificate $state"
