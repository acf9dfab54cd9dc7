#!/usr/bin/env bash
# init-mysql: writes this pod's MySQL server-id and picks the primary or the replica option file: the
# primary's for ordinal PRIMARY_ORDINAL (0 unless a switchover moved it), the replica's for every other.
#
# The pod ordinal comes from the pod name (StatefulSet pods are "<name>-<ordinal>"), passed in through
# the downward API: the mysql:5.7 image has no `hostname` binary, and $HOSTNAME is the runtime's to set.
#
# Environment:
#   POD_NAME          required, the pod's metadata.name, e.g. "mysql-2"
#   PRIMARY_ORDINAL   the primary's ordinal (the <name>-primary ConfigMap; default 0)
#   SERVER_ID_OFFSET  added to the ordinal; MySQL reserves server-id 0   (default 100)
#   CONFIG_MAP_DIR    where the ConfigMap's option files are mounted     (default /mnt/config-map)
#   CONF_DIR          the conf.d directory mysqld reads                  (default /mnt/conf.d)
#   PRIMARY_CNF       ConfigMap key for ordinal PRIMARY_ORDINAL          (default primary.cnf)
#   REPLICA_CNF       ConfigMap key for every other ordinal              (default replica.cnf)
#   EXTRA_CNF         further ConfigMap keys, space-separated, copied for every ordinal (e.g. tls.cnf)
#   PRIMARY_EXTRA_CNF further keys copied for ordinal PRIMARY_ORDINAL only (e.g. semisync-primary.cnf)
#   REPLICA_EXTRA_CNF further keys copied for every other ordinal only (e.g. semisync-replica.cnf)
# With credentials (the mysql84 flavor), also writes MySQL client option files, mode 0600, into
# CLIENT_CNF_DIR (an in-memory emptyDir), so that probes and the sidecar never pass a password on a
# command line:
#   CLIENT_CNF_DIR             where to write root.cnf and replication.cnf (unset: write none)
#   ROOT_PASSWORD_FILE         file holding root's password (a mounted Secret key)
#   REPLICATION_USER           the replication and backup user's name
#   REPLICATION_PASSWORD_FILE  file holding its password (a mounted Secret key)
# CONTAINER_IMAGE (the container's image) is named when a tool is missing (README "Images").
# Tools: cp; the rest are bash builtins.
set -euo pipefail

command -v cp >/dev/null || {
  echo "init-mysql: cp not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Images\")" >&2
  exit 127
}

: "${POD_NAME:?POD_NAME must be the pod name (downward API field metadata.name)}"
SERVER_ID_OFFSET=${SERVER_ID_OFFSET:-100}
PRIMARY_ORDINAL=${PRIMARY_ORDINAL:-0}
CONFIG_MAP_DIR=${CONFIG_MAP_DIR:-/mnt/config-map}
CONF_DIR=${CONF_DIR:-/mnt/conf.d}
PRIMARY_CNF=${PRIMARY_CNF:-primary.cnf}
REPLICA_CNF=${REPLICA_CNF:-replica.cnf}

if [[ ! $POD_NAME =~ -([0-9]+)$ ]]; then
  echo "init-mysql: cannot read an ordinal from pod name '$POD_NAME' (expected <name>-<number>)" >&2
  exit 1
fi
ordinal=$((10#${BASH_REMATCH[1]}))
if [[ ! $PRIMARY_ORDINAL =~ ^[0-9]+$ ]]; then
  echo "init-mysql: PRIMARY_ORDINAL must be a pod ordinal, got '$PRIMARY_ORDINAL'" >&2
  exit 1
fi
server_id=$((SERVER_ID_OFFSET + ordinal))

printf '[mysqld]\nserver-id=%d\n' "$server_id" >"$CONF_DIR/server-id.cnf"
if ((ordinal == 10#$PRIMARY_ORDINAL)); then
  cnf=$PRIMARY_CNF role_extra_var=PRIMARY_EXTRA_CNF
else
  cnf=$REPLICA_CNF role_extra_var=REPLICA_EXTRA_CNF
fi
cp "$CONFIG_MAP_DIR/$cnf" "$CONF_DIR/$cnf"
echo "init-mysql: $POD_NAME is ordinal $ordinal, server-id $server_id, using $cnf"
# copy_extra VAR: copies the ConfigMap keys listed (space-separated) in variable VAR.
# Split with builtins only: no here-string (a temp file in older bash, and /tmp may be read-only) and no
# empty array (unbound under set -u in bash 4.2, the mysql:5.7 image's).
copy_extra() {
  local var=$1 rest extra
  rest=${!var:-}
  while [[ $rest =~ ^[[:space:]]*([^[:space:]]+)(.*)$ ]]; do
    extra=${BASH_REMATCH[1]}
    rest=${BASH_REMATCH[2]}
    if [[ ! $extra =~ ^[-._a-zA-Z0-9]+\.cnf$ ]]; then
      echo "init-mysql: $var entry '$extra' is not a ConfigMap key ending in .cnf" >&2
      exit 1
    fi
    cp "$CONFIG_MAP_DIR/$extra" "$CONF_DIR/$extra"
    echo "init-mysql: also using $extra"
  done
}
copy_extra EXTRA_CNF
copy_extra "$role_extra_var"

# write_client_cnf FILE USER PASSWORD_FILE: an option file for the mysql client, mysqladmin and
# xtrabackup (which reads [client] and [xtrabackup]). Values are double-quoted, with \ and " escaped.
write_client_cnf() {
  local file=$1 user=$2 password
  password=$(<"$3")
  password=${password//\\/\\\\}
  password=${password//\"/\\\"}
  (
    umask 077
    printf '[client]\nuser="%s"\npassword="%s"\n[xtrabackup]\nuser="%s"\npassword="%s"\n' \
      "$user" "$password" "$user" "$password" >"$file"
  )
}
if [[ -n ${CLIENT_CNF_DIR:-} ]]; then
  : "${ROOT_PASSWORD_FILE:?ROOT_PASSWORD_FILE must name the file with the root password}"
  : "${REPLICATION_USER:?REPLICATION_USER must be set}"
  : "${REPLICATION_PASSWORD_FILE:?REPLICATION_PASSWORD_FILE must name the file with the replication password}"
  # The mysql image's entrypoint pastes the root password into SQL and an option file unquoted, so a
  # quote, backslash or newline in it would break the first initialization or set another password.
  root_password=$(<"$ROOT_PASSWORD_FILE")
  if [[ -z $root_password || $root_password == *[\'\"\\]* || $root_password == *$'\n'* ]]; then
    echo "init-mysql: the root password in $ROOT_PASSWORD_FILE is empty or contains ' \" \\ or a newline, which the mysql image's entrypoint cannot handle; choose another" >&2
    exit 1
  fi
  write_client_cnf "$CLIENT_CNF_DIR/root.cnf" root "$ROOT_PASSWORD_FILE"
  write_client_cnf "$CLIENT_CNF_DIR/replication.cnf" "$REPLICATION_USER" "$REPLICATION_PASSWORD_FILE"
  echo "init-mysql: wrote client option files for root and $REPLICATION_USER to $CLIENT_CNF_DIR"
fi
