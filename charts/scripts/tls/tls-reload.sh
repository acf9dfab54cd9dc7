#!/usr/bin/env bash
# tls-reload: makes mysqld serve a renewed certificate without a restart.
#
# cert-manager renews the server certificate before it expires and updates its Secret; the kubelet then
# replaces the files of the mounted Secret volume in place (one atomic switch of the volume's ..data
# link; this is why the volume is mounted whole, never with subPath, which would pin the old files).
# mysqld reads ssl_ca, ssl_cert and ssl_key only at startup and on ALTER INSTANCE RELOAD TLS. This loop
# reads the three files every POLL_SECONDS and, whenever their content differs from what it last loaded
# (and once at start, in case a renewal happened while this container was not running), runs
# ALTER INSTANCE RELOAD TLS on the local mysqld. New connections then get the new certificate;
# established ones keep theirs. If the reload fails (mysqld not up yet, a key that does not match its
# certificate), mysqld keeps serving the previous certificate (the statement rolls back on error) and
# the reload is tried again at the next poll.
#
# Environment:
#   TLS_DIR         required, the mounted server certificate Secret (ca.crt, tls.crt, tls.key)
#   CLIENT_CNF_DIR  required, holds root.cnf (written by init-mysql)
#   MYSQL_PORT      mysqld's port (default 3306)
#   POLL_SECONDS    pause between checks (default 30)
#   START_RETRY_SECONDS  pause between checks until the first reload succeeded (default 2, at most
#                   POLL_SECONDS): mysqld is usually still starting at the first one, and the container is
#                   not Ready until a reload succeeded
#   MAX_POLLS       stop after this many checks (default 0: never; tests set it)
#   HEARTBEAT_FILE  required, where each check first writes "<epoch seconds> loaded|starting" (whether a
#                   reload has succeeded since the container started); the container's probes
#                   (tls-reload-probe.sh) read it: liveness restarts the container when the time grows
#                   stale (a reload that hangs on a mysqld that accepts the connection but never answers),
#                   readiness also waits for "loaded"
#   CONTAINER_IMAGE the container's image, named when a tool is missing (README "Images")
# Tools: bash, mysql (8.4 client), mv, sleep. Writes HEARTBEAT_FILE (and HEARTBEAT_FILE.tmp) only.
set -euo pipefail

for tool in mysql mv sleep; do
  command -v "$tool" >/dev/null || {
    echo "tls-reload: $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Images\")" >&2
    exit 127
  }
done

: "${TLS_DIR:?TLS_DIR must be the directory of the mounted certificate Secret}"
: "${CLIENT_CNF_DIR:?CLIENT_CNF_DIR must be the directory with root.cnf}"
: "${HEARTBEAT_FILE:?HEARTBEAT_FILE must be the file the liveness probe reads}"
MYSQL_PORT=${MYSQL_PORT:-3306}
POLL_SECONDS=${POLL_SECONDS:-30}
MAX_POLLS=${MAX_POLLS:-0}
START_RETRY_SECONDS=${START_RETRY_SECONDS:-2}

fail() {
  echo "tls-reload: $*" >&2
  exit 1
}
[[ $MYSQL_PORT =~ ^[0-9]+$ ]] || fail "MYSQL_PORT must be a port number, got '$MYSQL_PORT'"
[[ $POLL_SECONDS =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "POLL_SECONDS must be a number of seconds, got '$POLL_SECONDS'"
[[ $MAX_POLLS =~ ^[0-9]+$ ]] || fail "MAX_POLLS must be a number, got '$MAX_POLLS'"
[[ $START_RETRY_SECONDS =~ ^[0-9]+$ ]] || fail "START_RETRY_SECONDS must be a whole number of seconds, got '$START_RETRY_SECONDS'"

# As PID 1 of its container, bash would ignore SIGTERM; sleeping in the background lets the trap run at once.
trap 'echo "tls-reload: SIGTERM, exiting"; exit 0' TERM

# The three files as one string; empty while any is unreadable.
read_files() {
  local f out=""
  for f in ca.crt tls.crt tls.key; do
    [[ -r $TLS_DIR/$f ]] || return 0
    out+=$(<"$TLS_DIR/$f")$'\n'
  done
  printf '%s' "$out"
}

# The probes read one complete line: written beside, then renamed over the old one.
heartbeat() {
  local state=starting
  [[ -z $loaded ]] || state=loaded
  printf '%(%s)T %s\n' -1 "$state" >"$HEARTBEAT_FILE.tmp" &&
    mv -f "$HEARTBEAT_FILE.tmp" "$HEARTBEAT_FILE"
}

loaded=""
for ((poll = 1; ; poll++)); do
  heartbeat
  current=$(read_files)
  if [[ -z $current ]]; then
    echo "tls-reload: $TLS_DIR/ca.crt, tls.crt or tls.key is missing or unreadable; waiting" >&2
  elif [[ $current != "$loaded" ]]; then
    if [[ -z $loaded ]]; then
      echo "tls-reload: loading the certificate in $TLS_DIR into mysqld"
    else
      echo "tls-reload: the certificate in $TLS_DIR changed; reloading it into mysqld"
    fi
    if mysql --defaults-extra-file="$CLIENT_CNF_DIR/root.cnf" --connect-timeout=10 -h 127.0.0.1 -P "$MYSQL_PORT" \
      -e 'ALTER INSTANCE RELOAD TLS' </dev/null; then
      loaded=$current
      # Ready from now, not from the next round's heartbeat a poll interval later.
      heartbeat
      echo "tls-reload: ALTER INSTANCE RELOAD TLS succeeded"
    else
      echo "tls-reload: ALTER INSTANCE RELOAD TLS failed; mysqld keeps its previous certificate; retrying" >&2
    fi
  fi
  if ((MAX_POLLS > 0 && poll >= MAX_POLLS)); then
    heartbeat
    exit 0
  fi
  pause=$POLL_SECONDS
  if [[ -z $loaded && $START_RETRY_SECONDS -lt ${POLL_SECONDS%.*} ]]; then pause=$START_RETRY_SECONDS; fi
  sleep "$pause" &
  wait $!
done
