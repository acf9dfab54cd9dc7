#!/usr/bin/env bash
# aws_s3(), for the backup scripts that call it (backup-to-s3, binlog-archiver, restore-from-s3).
# Not run on its own: the chart puts this text in front of each of those scripts at synth time
# (charts/backup-chart.ts, readBackupScript), so each container still runs one self-contained `bash -c`
# text, and an image needs this function's tools only where a script calls it. Each script defines fail()
# and checks its tools itself.

# aws_s3 ARGS...: the AWS CLI v2, against S3_ENDPOINT_URL when it is set (an S3-compatible store, or the
# harness' local server); otherwise the CLI's own endpoint for the region.
aws_s3() {
  if [[ -n ${S3_ENDPOINT_URL:-} ]]; then
    aws --endpoint-url "$S3_ENDPOINT_URL" "$@"
  else
    aws "$@"
  fi
}
