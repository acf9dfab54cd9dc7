#!/usr/bin/env bash
# clone-mysql: gives a new replica its data by streaming a backup from the previous pod.
#
# Skips when the data directory already holds a database. On ordinal PRIMARY_ORDINAL (the primary, 0
# unless a switchover moved it) with an empty data directory it first asks its peers <name>-0.<service>,
# <name>-1.<service>, … (itself skipped, until two consecutive names above it do not resolve: the
# StatefulSet has no such pods) whether they hold data, because an empty primary would be followed by
# its replicas:
#   - no peer answers: a new cluster; the primary starts empty (mysqld initializes it);
#   - a peer exists but does not answer: it may hold data; fail, so the kubelet retries;
#   - EMPTY_PRIMARY=refuse (the workshop's file/position replication): refuse with a message naming the
#     peer, and exit 1 (the pod stays in Init; nothing else changes);
#   - EMPTY_PRIMARY=clone (GTID replication): clone the primary from the most advanced replica, the one
#     whose executed GTID set contains every other's (as the replication user, CLIENT_CNF_DIR's
#     replication.cnf); refuse when no replica contains all the others (they diverged).
# Otherwise it receives `xtrabackup --backup --stream=xbstream` from the previous pod
# <name>-<ordinal-1>.<service> (the seed's choice: it spreads the load) or from the primary
# <name>-<PRIMARY_ORDINAL>.<service> (CLONE_FROM=primary: MySQL 8.4 keeps replication settings in InnoDB tables, so a
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
#   PRIMARY_ORDINAL the primary's ordinal (the <name>-primary ConfigMap; default 0)
#   ATTEMPTS      how many times to try the stream (default 5), RETRY_SECONDS apart (default 10)
#   EMPTY_PRIMARY refuse (default) or clone: what an empty ordinal 0 does while a peer holds data
#   MYSQL_PORT    the peers' mysqld port (default 3306)
#   CLIENT_CNF_DIR  with EMPTY_PRIMARY=clone: holds replication.cnf (written by init-mysql)
#   TLS_CLIENT_DIR  optional: the cluster's client certificate (cert-manager Secret volume: ca.crt,
#                 tls.crt, tls.key). The stream then runs over mutual TLS: socat presents the certificate
#                 and verifies the serving pod's certificate against ca.crt and the name <peer> it
#                 connects to; the queries to the peers as the replication user present it and verify
#                 the peer's name. Unset: plain TCP (the workshop page's setup).
# A stream that ends without a single file (the peer refused: another backup running, replication
# refused there, or a failed TLS handshake) counts as a failed attempt.
#   CONTAINER_IMAGE  the container's image, named when a tool is missing (README "Images")
# Tools: socat (with OpenSSL for TLS_CLIENT_DIR), xbstream, xtrabackup, mysql (from the Percona XtraBackup
# image); find, rm, sleep, touch.
set -euo pipefail

for tool in socat xbstream xtrabackup mysql find rm sleep touch; do
  command -v "$tool" >/dev/null || {
    echo "clone-mysql: $tool not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Images\")" >&2
    exit 127
  }
done

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
EMPTY_PRIMARY=${EMPTY_PRIMARY:-refuse}
PRIMARY_ORDINAL=${PRIMARY_ORDINAL:-0}
MYSQL_PORT=${MYSQL_PORT:-3306}
fail() {
  echo "clone-mysql: $*" >&2
  exit 1
}
[[ $EMPTY_PRIMARY == refuse || $EMPTY_PRIMARY == clone ]] ||
  fail "EMPTY_PRIMARY must be 'refuse' or 'clone', got '$EMPTY_PRIMARY'"
[[ $MYSQL_PORT =~ ^[0-9]+$ ]] || fail "MYSQL_PORT must be a port number, got '$MYSQL_PORT'"
[[ $PRIMARY_ORDINAL =~ ^[0-9]+$ ]] || fail "PRIMARY_ORDINAL must be a pod ordinal, got '$PRIMARY_ORDINAL'"
primary_ordinal=$((10#$PRIMARY_ORDINAL))
# The replication user's queries to a peer: with TLS_CLIENT_DIR it must present the client certificate.
mysql_tls=()
if [[ -n ${TLS_CLIENT_DIR:-} ]]; then
  mysql_tls=(--ssl-mode=VERIFY_IDENTITY "--ssl-ca=$TLS_CLIENT_DIR/ca.crt" "--ssl-cert=$TLS_CLIENT_DIR/tls.crt" "--ssl-key=$TLS_CLIENT_DIR/tls.key")
fi

# ask_peer HOST: asks the peer's mysqld what it holds. Sets `answer` (its executed GTID set with
# EMPTY_PRIMARY=clone, else "1"); returns 0 if it answered, 2 if the name does not resolve (no such
# pod: MySQL client error 2005), 1 if it exists but did not answer.
# Standard error goes to a file (in /tmp, an emptyDir where the root filesystem is read-only): the answer
# is standard output alone, whatever the client warns about.
ask_peer() {
  local out code=0 err=/tmp/clone-mysql-peer.err
  if [[ $EMPTY_PRIMARY == clone ]]; then
    out=$(mysql --defaults-extra-file="${CLIENT_CNF_DIR:?CLIENT_CNF_DIR must hold replication.cnf}/replication.cnf" "${mysql_tls[@]}" \
      -h "$1" -P "$MYSQL_PORT" --connect-timeout=5 -N -B -e 'SELECT @@GLOBAL.gtid_executed' </dev/null 2>"$err") || code=$?
  else
    out=$(mysql -h "$1" -P "$MYSQL_PORT" -u root --connect-timeout=5 -N -B -e 'SELECT 1' </dev/null 2>"$err") || code=$?
  fi
  answer=${out//[[:space:]]/}
  ((code == 0)) && return 0
  out=$(<"$err")
  [[ $out == *"ERROR 2005"* ]] && return 2
  answer=${out//$'\n'/ }
  return 1
}

# gtid_contains HOST A B: whether GTID set B contains A, computed by the mysqld on HOST.
gtid_contains() {
  local r
  r=$(mysql --defaults-extra-file="$CLIENT_CNF_DIR/replication.cnf" "${mysql_tls[@]}" -h "$1" -P "$MYSQL_PORT" --connect-timeout=5 \
    -N -B -e "SELECT GTID_SUBSET('$2', '$3')" </dev/null 2>/tmp/clone-mysql-peer.err) ||
    fail "cannot compare GTID sets on $1: $(</tmp/clone-mysql-peer.err)"
  [[ $r == 1 ]]
}

peer=''
if ((ordinal == primary_ordinal)); then
  holders=() sets=() missing=0
  for ((k = 0; missing < 2 && k <= 101; k++)); do
    ((k == ordinal)) && continue
    host="$prefix-$k.$SERVICE_NAME"
    if ask_peer "$host"; then
      missing=0
      [[ $answer =~ ^[A-Za-z0-9_:,-]*$ ]] || fail "$host answered with something that is not a GTID set: $answer"
      holders+=("$host") sets+=("$answer")
    elif (($? == 2)); then
      # Names below the primary's ordinal are pods that must exist; only a gap above it ends the search.
      ((k < ordinal)) || missing=$((missing + 1))
    else
      fail "$host exists but does not answer ($answer); it may hold data, so the primary does not initialize an empty database; retrying"
    fi
  done
  if ((${#holders[@]} == 0)); then
    echo "clone-mysql: ordinal $ordinal is the primary and no peer holds data; it starts from an empty data directory"
    exit 0
  fi
  if [[ $EMPTY_PRIMARY == refuse ]]; then
    fail "refusing to initialize an empty primary: $POD_NAME's data directory is empty but ${holders[*]} hold(s) a database, and the replicas would follow an empty primary. Restore this pod's volume, or see README 'Primary volume lost'"
  fi
  # The most advanced replica: its set contains every other's.
  best=''
  for i in "${!holders[@]}"; do
    all=1
    for j in "${!holders[@]}"; do
      ((i == j)) && continue
      gtid_contains "${holders[i]}" "${sets[j]}" "${sets[i]}" || {
        all=0
        break
      }
    done
    if ((all)); then
      best=$i
      break
    fi
  done
  [[ -n $best ]] || fail "refusing to choose a new primary: no replica's executed GTID set contains all the others' (they diverged): $(for i in "${!holders[@]}"; do printf '%s=%s ' "${holders[i]}" "${sets[i]}"; done)"
  peer=${holders[best]}
  echo "clone-mysql: $POD_NAME has an empty data directory while replicas hold data; cloning the primary from the most advanced replica $peer (executed GTID set ${sets[best]})"
else
  case $CLONE_FROM in
    previous) peer="$prefix-$((ordinal - 1)).$SERVICE_NAME" ;;
    primary) peer="$prefix-$primary_ordinal.$SERVICE_NAME" ;;
    *) fail "CLONE_FROM must be 'previous' or 'primary', got '$CLONE_FROM'" ;;
  esac
fi

if [[ -e $marker ]]; then
  echo "clone-mysql: an earlier clone did not finish; clearing $DATA_DIR and starting over"
  find "$DATA_DIR" -mindepth 1 -delete
fi
touch "$marker"

source_address="TCP:$peer:$BACKUP_PORT,connect-timeout=30"
if [[ -n ${TLS_CLIENT_DIR:-} ]]; then
  if [[ ! $TLS_CLIENT_DIR =~ ^[A-Za-z0-9/._-]+$ ]]; then
    echo "clone-mysql: TLS_CLIENT_DIR must be a plain path, got '$TLS_CLIENT_DIR'" >&2
    exit 1
  fi
  for f in ca.crt tls.crt tls.key; do
    if [[ ! -r $TLS_CLIENT_DIR/$f ]]; then
      echo "clone-mysql: cannot read $TLS_CLIENT_DIR/$f (the Secret volume of the client certificate)" >&2
      exit 1
    fi
  done
  # socat checks the peer certificate's names against $peer (since socat 1.7.3.0).
  source_address="OPENSSL:$peer:$BACKUP_PORT,connect-timeout=30,cert=$TLS_CLIENT_DIR/tls.crt,key=$TLS_CLIENT_DIR/tls.key,cafile=$TLS_CLIENT_DIR/ca.crt,verify=1"
fi

for ((attempt = 1; ; attempt++)); do
  echo "clone-mysql: streaming a backup from $peer:$BACKUP_PORT (attempt $attempt of $ATTEMPTS)${TLS_CLIENT_DIR:+ over mutual TLS}"
  if socat -u "$source_address" STDOUT | xbstream -x -C "$DATA_DIR"; then
    if [[ -n $(find "$DATA_DIR" -mindepth 1 ! -name .clone-incomplete -print -quit) ]]; then
      break
    fi
    echo "clone-mysql: $peer sent no backup (it refused the connection)" >&2
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
