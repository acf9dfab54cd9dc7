#!/usr/bin/env bash
# Re-vendors Fairwinds Polaris' check definitions, its default configuration, its per-check test
# fixtures and its license from a local clone of https://github.com/FairwindsOps/polaris at one commit.
#
#   third_party/polaris/update.sh /path/to/polaris.git <commit-or-tag>
#
# Copies, unchanged: LICENSE, pkg/config/default.yaml, pkg/config/checks/*.yaml, and for every built-in
# check the success*/failure* fixtures under test/checks/<check>/ (the custom checks' folders, which
# carry their own check.yaml, and the mutation fixtures are left out: test/policy does not evaluate
# mutations). Then update SOURCE.md's commit line by hand and run `npm test`.
set -euo pipefail

repo=${1:?usage: update.sh <polaris git dir or clone> <commit>}
rev=${2:?usage: update.sh <polaris git dir or clone> <commit>}
here=$(cd "$(dirname "$0")" && pwd)
commit=$(git -C "$repo" rev-parse --verify "$rev^{commit}")

rm -rf "$here/pkg" "$here/test" "$here/LICENSE"
mkdir -p "$here/pkg/config/checks"
git -C "$repo" show "$commit:LICENSE" >"$here/LICENSE"
git -C "$repo" show "$commit:pkg/config/default.yaml" >"$here/pkg/config/default.yaml"
while read -r path; do
  git -C "$repo" show "$commit:$path" >"$here/$path"
done < <(git -C "$repo" ls-tree --name-only "$commit" pkg/config/checks/ | grep '\.yaml$')

while read -r path; do
  check=${path#test/checks/}
  check=${check%%/*}
  [[ -f $here/pkg/config/checks/$check.yaml ]] || continue
  case ${path##*/} in
  success*.yaml | failure*.yaml) ;;
  *) continue ;;
  esac
  mkdir -p "$here/test/checks/$check"
  git -C "$repo" show "$commit:$path" >"$here/$path"
done < <(git -C "$repo" ls-tree -r --name-only "$commit" test/checks/)

echo "vendored Polaris $commit into $here"
