#!/usr/bin/env sh
# Regenerates the typed constructs in imports/ from the CRDs in imports/crds/, offline.
#
#   sh imports/regenerate.sh        (from anywhere; needs only node_modules, no network)
#
# One `cdk8s import` per file: cdk8s-cli 2.x takes a single SPEC argument. --no-save keeps cdk8s.yaml
# unchanged (the CLI otherwise appends every import to its `imports:` list); --no-check-upgrade skips the
# CLI's version check, which queries the npm registry. Each CRD becomes imports/<api group>.ts, or
# imports/<prefix>-<api group>.ts for an entry written <prefix>:=<file> (two CRDs of one API group, such as
# the Prometheus Operator's PodMonitor and PrometheusRule, would otherwise overwrite each other's file).
# imports/k8s.ts is not generated here (see the comment in that file).
set -eu
cd "$(dirname "$0")/.."
cdk8s=node_modules/.bin/cdk8s
for crd in \
  imports/crds/application-crd.yaml \
  imports/crds/snapshot.storage.k8s.io_volumesnapshotclasses.yaml \
  imports/crds/external-secrets.io_externalsecrets.yaml \
  podmonitor:=imports/crds/monitoring.coreos.com_podmonitors.yaml \
  prometheusrule:=imports/crds/monitoring.coreos.com_prometheusrules.yaml; do
  "$cdk8s" import "$crd" --output imports --language typescript --no-save --no-check-upgrade
done
