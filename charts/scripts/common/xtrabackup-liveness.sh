#!/usr/bin/env bash
# xtrabackup-liveness: the xtrabackup sidecar's liveness probe. It fails, so that the kubelet restarts
# the sidecar, when the sidecar serves backups but its backup server no longer accepts connections.
# It never connects to the backup port: every connection there streams a full backup.
#
# The sidecar starts socat on BACKUP_PORT and from then on writes its readiness verdict to STATE_FILE
# (it removes the file when it starts). While STATE_FILE is absent the sidecar is still setting up
# (waiting for mysqld, configuring replication), which it bounds itself (WAIT_TRIES; it exits on
# failure and is restarted): the probe passes.
# Once STATE_FILE exists, the kernel's socket tables of the pod's network namespace (/proc/net/tcp and
# /proc/net/tcp6) must show a socket in state LISTEN (0A) on BACKUP_PORT, and its accept queue must be
# empty: for a LISTEN socket the rx_queue column counts the connections the kernel has completed and the
# server has not yet accept()ed. socat accepts at once and forks one process per backup, so a waiting
# connection means the server hangs; the probe's failureThreshold × periodSeconds turns "now" into "for
# that long", so a connection caught in the microseconds before accept() never restarts anything. A long
# backup does not fail the probe: it runs in its own process while the listener keeps accepting. (A
# socat that exits is the sidecar's own business: it notices and exits. A watch loop that hangs shows
# as a stale verdict, which the readiness probe reports; restarting for it could abort a backup.)
#
# Environment:
#   BACKUP_PORT  the port the sidecar serves backups on (default 3307)
#   STATE_FILE   the sidecar's readiness verdict, present once it serves (default /tmp/replication-state)
#   PROC_NET     where the socket tables are (default /proc/net; tests point it at fixtures)
# Tools: bash builtins only, so it runs in any image the sidecar runs in.
set -euo pipefail

BACKUP_PORT=${BACKUP_PORT:-3307}
STATE_FILE=${STATE_FILE:-/tmp/replication-state}
PROC_NET=${PROC_NET:-/proc/net}

fail() {
  echo "xtrabackup-liveness: $*" >&2
  exit 1
}

if [[ ! $BACKUP_PORT =~ ^[0-9]+$ ]] || ((10#$BACKUP_PORT < 1 || 10#$BACKUP_PORT > 65535)); then
  fail "BACKUP_PORT must be a port number, got '$BACKUP_PORT'"
fi
if [[ ! -e $STATE_FILE ]]; then
  echo "xtrabackup-liveness: not serving backups yet (no $STATE_FILE)"
  exit 0
fi

port_suffix=$(printf ':%04X' "$((10#$BACKUP_PORT))")
tables=0
listeners=0
waiting=0
for table in "$PROC_NET/tcp" "$PROC_NET/tcp6"; do
  [[ -r $table ]] || continue
  tables=$((tables + 1))
  # sl local_address rem_address st tx_queue:rx_queue ...; the header line's st column is "st".
  while read -r _ local_address _ state queues _; do
    [[ $state == 0A && $local_address == *"$port_suffix" ]] || continue
    [[ $queues =~ ^[0-9A-Fa-f]+:([0-9A-Fa-f]+)$ ]] || fail "cannot read the queues '$queues' in $table"
    listeners=$((listeners + 1))
    waiting=$((waiting + 16#${BASH_REMATCH[1]}))
  done <"$table"
done

((tables > 0)) || fail "cannot read $PROC_NET/tcp or $PROC_NET/tcp6"
((listeners > 0)) || fail "serving backups ($STATE_FILE exists) but nothing listens on port $BACKUP_PORT"
((waiting == 0)) || fail "$waiting connection(s) to port $BACKUP_PORT not accepted: the backup server hangs"
echo "xtrabackup-liveness: port $BACKUP_PORT listening, no connection waiting"
