#!/usr/bin/env bash
# client_cnf(), for the backup scripts that call it (backup-to-s3, binlog-archiver, volume-snapshot).
# Not run on its own: the chart puts this text in front of each of those scripts at synth time
# (charts/backup-chart.ts, readBackupScript), so each container still runs one self-contained `bash -c`
# text, and an image needs this function's tools only where a script calls it. Each script defines fail()
# and checks its tools itself.

# client_cnf FILE USER PASSWORD_FILE [CA CERT KEY]: writes a [client] option file for USER with the password
# read from PASSWORD_FILE (mode 0600, so the password is never on a command line), values double-quoted with
# \ and " escaped; with CA, CERT and KEY also the TLS files the client presents and verifies with.
client_cnf() {
  local file=$1 user=$2 password
  password=$(<"$3")
  password=${password//\\/\\\\}
  password=${password//\"/\\\"}
  (
    umask 077
    printf '[client]\nuser="%s"\npassword="%s"\n' "$user" "$password" >"$file"
    if (($# == 6)); then
      printf 'ssl-ca="%s"\nssl-cert="%s"\nssl-key="%s"\n' "$4" "$5" "$6" >>"$file"
    fi
  )
}
