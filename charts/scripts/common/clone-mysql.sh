#!/usr/bin/env bash
# clone-mysql: gives a new replica its data by streaming a backup from the previous pod.
#
# Skips when the data directory already holds a database, and on ordinal 0 (the primary starts empty).
# Otherwise it receives `xtrabackup --backup --stream=xbstream` from the previous pod
# <name>-<ordinal-1>.<service> (the seed's choice: it spreads the load) or from the primary
# <name>-0.<service> (CLONE_FROM=primary: MySQL 8.4 keeps replication settings in InnoDB tables, so a
# backup of a replica would carry that replica's channel along), on the backup port served by that
# pod's xtrabackup sidecar, unpacks it and prepares it. A stream that fails is retried a few times.
# A marker file makes an interrupted clone start over instead of leaving half a database that a later
# start would take for real data.
#
# Environment:
#   POD_NAME      required, the pod's metadata.name, e.g. "mysql-2"
#   SERVICE_NAME  required, the headless Service that gives pods DNS names <pod>.<service>
#   DATA_DIR      the MySQL data directory (default /var/lib/mysql)
#   BACKUP_PORT   where the previous pod's sidecar serves backups (default 3307)
#   CLONE_FROM    previous (default) or primary
#   ATTEMPTS      how many times to try the stream (default 5), RETRY_SECONDS apart (default 10)
# Tools: socat, xbstream, xtrabackup (from the Percona XtraBackup image).
set -euo pipefail

: "${POD_NAME:?POD_NAME must be the pod name (downward API field metadata.name)}"
: "${SERVICE_NAME:?SERVICE_NAME must be the headless Service name}"
DATA_DIR=${DATA_DIR:-/var/lib/mysql}
BACKUP_PORT=${BACKUP_PORT:-3307}
CLONE_FROM=${CLONE_FROM:-previous}
ATTEMPTS=${ATTEMPTS:-5}
RETRY_SECONDS=${RETRY_SECONDS:-10}
marker="$DATA_DIR/.clone-incomplete"

if [[ -d $DATA_DIR/mysql && ! -e $marker ]]; then
  echo "clone-mysql: $DATA_DIR already holds a database; nothing to clone"
  exit 0
fi
if [[ ! $POD_NAME =~ ^(.+)-([0-9]+)$ ]]; then
  echo "clone-mysql: cannot read an ordinal from pod name '$POD_NAME' (expected <name>-<number>)" >&2
  exit 1
fi
prefix=${BASH_REMATCH[1]}
ordinal=$((10#${BASH_REMATCH[2]}))
if ((ordinal == 0)); then
  echo "clone-mysql: ordinal 0 is the primary; it starts from an empty data directory"
  exit 0
fi

case $CLONE_FROM in
  previous) peer="$prefix-$((ordinal - 1)).$SERVICE_NAME" ;;
  primary) peer="$prefix-0.$SERVICE_NAME" ;;
  *)
    echo "clone-mysql: CLONE_FROM must be 'previous' or 'primary', got '$CLONE_FROM'" >&2
    exit 1
    ;;
esac

if [[ -e $marker ]]; then
  echo "clone-mysql: an earlier clone did not finish; clearing $DATA_DIR and starting over"
  find "$DATA_DIR" -mindepth 1 -delete
fi
touch "$marker"

for ((attempt = 1; ; attempt++)); do
  echo "clone-mysql: streaming a backup from $peer:$BACKUP_PORT (attempt $attempt of $ATTEMPTS)"
  if socat -u "TCP:$peer:$BACKUP_PORT,connect-timeout=30" STDOUT | xbstream -x -C "$DATA_DIR"; then
    break
  fi
  if ((attempt >= ATTEMPTS)); then
    echo "clone-mysql: no complete backup from $peer after $ATTEMPTS attempts" >&2
    exit 1
  fi
  find "$DATA_DIR" -mindepth 1 ! -name .clone-incomplete -delete
  sleep "$RETRY_SECONDS"
done

echo "clone-mysql: preparing the backup"
xtrabackup --prepare --target-dir="$DATA_DIR"
# A copied auto.cnf would give this replica its source's server_uuid, which replication refuses;
# without one, mysqld generates a fresh uuid on first start.
rm -f "$DATA_DIR/auto.cnf" "$marker"
echo "clone-mysql: done"
