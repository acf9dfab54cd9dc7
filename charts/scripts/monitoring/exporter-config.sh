#!/usr/bin/env bash
# exporter-config: writes the option file mysqld_exporter reads its MySQL credentials from
# (`--config.my-cnf`), into an in-memory emptyDir that only this init container and the exporter mount.
#
# The file has one [client] section: user, password, host 127.0.0.1 and the MySQL port. mysqld_exporter
# parses it with go-ini, not with MySQL's option-file parser: v0.20.0 (config/config.go) expands
# environment variables in values (os.ExpandEnv, so `$` is special) and unescapes double quotes; v0.14.0
# (mysqld_exporter.go, parseMycnf) treats `#` and `;` as comment starts and pastes the password into a
# DSN. So the password must be plain: letters, digits and + / = . _ - (what `openssl rand -base64`
# prints); anything else is refused here, before the exporter could misread it.
#
# Environment:
#   EXPORTER_CNF            required, the file to write, e.g. /run/mysqld-exporter/exporter.cnf
#   EXPORTER_USER           required, the exporter's MySQL user
#   EXPORTER_PASSWORD_FILE  file holding its password (a mounted Secret key; trailing newlines are
#                           stripped). Unset: no password (the workshop profile, whose root has none
#                           either; the user can only log in from inside the pod, see exporter-user.sh)
#   MYSQL_PORT              mysqld's port (default 3306)
#   EXPORTER_SSL_CA         optional: the CA mysqld's certificate is verified against (TLS)
#   CONTAINER_IMAGE         the container's image, named when a tool is missing (README "Images")
# Tools: bash, mv (checked at start).
# The file is mode 0640: the exporter runs as another uid (the image's `nobody`) and reads it through
# the pod's fsGroup, which owns the emptyDir (setgid) and is every container's supplementary group.
set -euo pipefail

command -v mv >/dev/null || {
  echo "exporter-config: mv not found in image ${CONTAINER_IMAGE:-unknown} (see README \"Images\")" >&2
  exit 127
}

: "${EXPORTER_CNF:?EXPORTER_CNF must name the option file to write}"
: "${EXPORTER_USER:?EXPORTER_USER must be set}"
MYSQL_PORT=${MYSQL_PORT:-3306}

fail() {
  echo "exporter-config: $*" >&2
  exit 1
}

[[ $EXPORTER_USER =~ ^[A-Za-z0-9_]{1,32}$ ]] || fail "EXPORTER_USER must be 1 to 32 letters, digits or _, got '$EXPORTER_USER'"
[[ $MYSQL_PORT =~ ^[0-9]+$ ]] || fail "MYSQL_PORT must be a port number, got '$MYSQL_PORT'"
password=
if [[ -n ${EXPORTER_PASSWORD_FILE:-} ]]; then
  [[ -r $EXPORTER_PASSWORD_FILE ]] || fail "cannot read EXPORTER_PASSWORD_FILE '$EXPORTER_PASSWORD_FILE'"
  password=$(<"$EXPORTER_PASSWORD_FILE")
  # Never print the password, not even in an error.
  [[ -n $password ]] || fail "the exporter password in '$EXPORTER_PASSWORD_FILE' is empty"
  [[ $password =~ ^[A-Za-z0-9+/=._-]+$ ]] ||
    fail "the exporter password in '$EXPORTER_PASSWORD_FILE' has a character other than letters, digits and + / = . _ - (mysqld_exporter's option-file parser would misread it); generate it with: openssl rand -base64 24"
fi

(
  umask 027
  printf '[client]\nuser=%s\npassword=%s\nhost=127.0.0.1\nport=%s\n' \
    "$EXPORTER_USER" "$password" "$MYSQL_PORT" >"$EXPORTER_CNF.tmp"
  # With TLS (mysqld requires it): verify mysqld's certificate (it names 127.0.0.1) against this CA.
  if [[ -n ${EXPORTER_SSL_CA:-} ]]; then printf 'ssl-ca=%s\n' "$EXPORTER_SSL_CA" >>"$EXPORTER_CNF.tmp"; fi
)
mv "$EXPORTER_CNF.tmp" "$EXPORTER_CNF"
echo "exporter-config: wrote $EXPORTER_CNF for MySQL user $EXPORTER_USER (127.0.0.1:$MYSQL_PORT)"
