#!/usr/bin/env bash
# container-init: the last step of starting a container, run by the harness as PID 1 of a fresh PID and mount
# namespace (`unshare --mount --pid --fork`) that already sits in its pod's network, UTS and IPC namespaces.
#
# It builds the container's root file system from a spec directory written by test/e2e/lib/container.ts,
# pivots into it, drops to the container's user, groups and capability bounding set, and execs the
# container's process (which stays PID 1, as in a real container).
#
# Usage: container-init.sh SPEC_DIR
#   SPEC_DIR/root     empty directory that becomes the container's "/" (a tmpfs is mounted on it)
#   SPEC_DIR/stage    empty directory for overlay upper/work dirs (a tmpfs is mounted on it)
#   SPEC_DIR/mounts   one mount per line, tab separated, applied in order (targets are container paths):
#                       dir      TARGET MODE UID GID
#                       symlink  TARGET LINK_VALUE
#                       tmpfs    TARGET MODE
#                       overlay  TARGET LOWERDIRS(colon separated, top first) NAME(of the upper dir in stage)
#                       bind     TARGET SOURCE ro|rw
#                       proc     TARGET
#                       ro       TARGET   (applied after pivot_root: remount read-only; readOnlyRootFilesystem)
#   SPEC_DIR/argv     the process's argv, NUL separated
#   SPEC_DIR/env      the process's environment, NUL separated NAME=VALUE entries
#   SPEC_DIR/user     one line: UID GID SUPPLEMENTARY_GROUPS(comma separated or "-") CAPABILITY_BOUNDING_SET
#                     [NO_NEW_PRIVS (1: allowPrivilegeEscalation false)]
#   SPEC_DIR/workdir  one line: the working directory
# Everything mounted here lives only in this mount namespace and disappears with the container.
set -euo pipefail

spec=${1:?usage: container-init.sh SPEC_DIR}
root="$spec/root"
stage="$spec/stage"

mount -t tmpfs -o mode=0755 e2e-rootfs "$root"
mount -t tmpfs -o mode=0755 e2e-layers "$stage"

read_only=()
while IFS=$'\t' read -r kind target a b c d; do
  [[ -n $kind ]] || continue
  path="$root$target"
  case $kind in
    dir)
      mkdir -p "$path"
      chmod "$a" "$path"
      chown "$b:$c" "$path"
      ;;
    symlink)
      mkdir -p "$(dirname "$path")"
      ln -sfn "$a" "$path"
      ;;
    tmpfs)
      mkdir -p "$path"
      mount -t tmpfs -o "mode=$a" e2e-tmpfs "$path"
      ;;
    overlay)
      mkdir -p "$path" "$stage/$b/upper" "$stage/$b/work"
      mount -t overlay e2e-layer -o "lowerdir=$a,upperdir=$stage/$b/upper,workdir=$stage/$b/work" "$path"
      ;;
    bind)
      if [[ -d $a ]]; then
        mkdir -p "$path"
      else
        mkdir -p "$(dirname "$path")"
        [[ -e $path ]] || : >"$path"
      fi
      mount --bind "$a" "$path"
      if [[ $b == ro ]]; then
        mount -o remount,bind,ro "$path"
      fi
      ;;
    proc)
      mkdir -p "$path"
      mount -t proc proc "$path"
      ;;
    ro) read_only+=("$target") ;;
    *)
      echo "container-init: unknown mount kind '$kind' (d=$d)" >&2
      exit 1
      ;;
  esac
done <"$spec/mounts"

readarray -d '' -t argv <"$spec/argv"
readarray -d '' -t envs <"$spec/env"
read -r uid gid groups caps nnp <"$spec/user"
read -r workdir <"$spec/workdir"

# After pivot_root only the new root's files exist: the host's tools are under $host (mounted by the spec,
# outside every PATH), so the container's /usr/bin holds nothing but its image's executables.
host=/usr/libexec/e2e-host/bin
cd "$root"
mkdir -p .e2e-oldroot
pivot_root . .e2e-oldroot
cd /
"$host/umount" -l /.e2e-oldroot
"$host/rmdir" /.e2e-oldroot
for target in "${read_only[@]}"; do
  "$host/mount" -o remount,bind,ro "$target"
done
cd "$workdir"

if [[ $groups == - ]]; then
  group_opt=(--clear-groups)
else
  group_opt=(--groups "$groups")
fi
nnp_opt=()
if [[ ${nnp:-0} == 1 ]]; then
  nnp_opt=(--no-new-privs)
fi
# The process's environment is exactly the spec's: exported here, not passed to `env` on a command line, where
# /proc/PID/cmdline would show it to every process of the host (bash adds only `_`).
while IFS= read -r name; do
  unset -v "$name" 2>/dev/null || true
done < <(compgen -e)
for assignment in "${envs[@]}"; do
  export "${assignment?}"
done
exec "$host/setpriv" --reuid "$uid" --regid "$gid" "${group_opt[@]}" --bounding-set "$caps" --inh-caps -all \
  "${nnp_opt[@]}" -- "${argv[@]}"
