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
# The three cert-manager.io CRDs are joined and imported in one run instead (one file, one set of classes).
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

# Several CRDs of one API group must go through one `cdk8s import`: each import writes imports/<group>.ts
# and would overwrite the previous one. They are joined into one multi-document YAML in a temporary
# directory (imports/crds/ keeps the upstream files byte for byte).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for crd in \
  imports/crds/cert-manager.io_certificates.yaml \
  imports/crds/cert-manager.io_issuers.yaml \
  imports/crds/cert-manager.io_clusterissuers.yaml; do
  printf -- '---\n'
  cat "$crd"
done >"$tmp/cert-manager.io.yaml"
"$cdk8s" import "$tmp/cert-manager.io.yaml" --output imports --language typescript --no-save --no-check-upgrade
