#!/usr/bin/env bash
# Runs commands in a clean clone of this project inside a fresh, minimal Debian 12 (bookworm)
# root, as a new user with nothing installed would: proof that set-up is complete, not that it
# works on a machine with packages left over from earlier work.
#
#   tools/fresh-root.sh [--project DIR] STEP...
#
# Each STEP is a shell command run as root in /home/project (the clone of DIR's committed HEAD,
# default: this repository). A STEP prefixed with `bare:` runs without ../shared, as on a bare
# clone; other steps see DIR/../shared bound read-only at /home/shared when it exists. Steps run
# in order in the same root (a later step finds what an earlier one installed or built) and stop
# at the first failure; each step's output is streamed and its exit code and time are printed.
#
# Only the debootstrap base image is kept between runs ($FRESH_ROOT_CACHE, default
# /var/cache/refinery/fresh-root-bookworm): packages, clone and builds start from nothing every
# time. Needs root (debootstrap, chroot, mounts).
#
# Exit codes: the failing step's exit code; 3 when no fresh root can be made here (no
# debootstrap and none installable, or no Debian mirror): the caller decides what to do then.
main() {
  set -uo pipefail
  local project
  project=$(cd "$(dirname "$0")/.." && pwd)
  if [ "${1:-}" = "--project" ]; then
    project=$(cd "$2" && pwd) || return 2
    shift 2
  fi
  (($#)) || { echo "usage: tools/fresh-root.sh [--project DIR] STEP..." >&2; return 2; }
  [ "$(id -u)" = 0 ] || { echo "fresh-root: needs root (debootstrap, chroot, mounts)" >&2; return 3; }

  local cache=${FRESH_ROOT_CACHE:-/var/cache/refinery/fresh-root-bookworm}
  local t0=$SECONDS
  make_base "$cache" || return 3
  echo "fresh-root: base image ready after $((SECONDS - t0)) s ($cache)"

  work=$(mktemp -d /var/tmp/refinery-fresh-root.XXXXXX)
  root=$work/root
  trap cleanup EXIT
  t0=$SECONDS
  cp -a "$cache" "$root" || return 3
  rm -f "$root/.complete"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  git clone -q "$project" "$root/home/project" || { echo "fresh-root: cannot clone $project" >&2; return 2; }
  echo "fresh-root: root copied and $(git -C "$root/home/project" log -1 --format='%h %s' | cut -c1-80) cloned in $((SECONDS - t0)) s"
  mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" &&
    mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" || return 3

  # This kind of machine reaches registries through its own certificate authority: the host's
  # bundle is copied beside the root's own (which apt may rewrite) and named by the same
  # variables the host sets.
  local env_vars=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
    TERM=dumb "CI=${CI:-}")
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl" && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/host-ca-bundle.crt" || return 3
    local v
    for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE CURL_CA_BUNDLE GIT_SSL_CAINFO; do
      [ -n "${!v:-}" ] && env_vars+=("$v=/etc/ssl/host-ca-bundle.crt")
    done
  fi

  local step n=0 status=0 summary=()
  for step in "$@"; do
    n=$((n + 1))
    local bare=0 cmd=$step
    if [[ $step == bare:* ]]; then bare=1 cmd=${step#bare:}; fi
    local shared_note="without ../shared"
    if ((!bare)) && [ -d "$project/../shared" ]; then
      mkdir -p "$root/home/shared" && mount --bind -o ro "$project/../shared" "$root/home/shared" &&
        mount -o remount,bind,ro "$root/home/shared" || return 3
      shared_note="with ../shared"
    fi
    echo "fresh-root: == step $n: $cmd ($shared_note)"
    t0=$SECONDS
    chroot "$root" /usr/bin/env -i "${env_vars[@]}" bash -c "cd /home/project && $cmd" </dev/null 2>&1
    status=$?
    summary+=("step $n: exit $status after $((SECONDS - t0)) s: $cmd ($shared_note)")
    echo "fresh-root: == ${summary[-1]}"
    if mountpoint -q "$root/home/shared"; then umount "$root/home/shared" || umount -l "$root/home/shared"; fi
    rmdir "$root/home/shared" 2>/dev/null
    [ "$status" = 0 ] || break
  done
  echo "fresh-root: summary"
  printf 'fresh-root:   %s\n' "${summary[@]}"
  return "$status"
}

# The cached minimal Debian 12 root: debootstrap minbase and the host's apt sources (the mirror
# this machine may reach), nothing else. Made once; a half-made one is never used.
make_base() {
  local cache=$1
  [ -f "$cache/.complete" ] && return 0
  if ! command -v debootstrap >/dev/null; then
    echo "fresh-root: installing debootstrap on this machine" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } >&2 ||
      { echo "fresh-root: debootstrap is not installed and cannot be installed" >&2; return 1; }
  fi
  local mirror
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  [ -n "$mirror" ] || { echo "fresh-root: no Debian mirror in this machine's apt sources" >&2; return 1; }
  rm -rf "$cache" && mkdir -p "$cache"
  local log
  log=$(mktemp)
  echo "fresh-root: debootstrap bookworm from $mirror into $cache" >&2
  if ! debootstrap --variant=minbase bookworm "$cache" "$mirror" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "fresh-root: debootstrap failed (log above)" >&2
    rm -rf "$cache" "$log"
    return 1
  fi
  rm -f "$log"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$cache/etc/apt/sources.list.d/" && rm -f "$cache/etc/apt/sources.list"
  fi
  touch "$cache/.complete"
}

cleanup() {
  [ -n "${root:-}" ] || return
  if mountpoint -q "$root/home/shared"; then umount "$root/home/shared" || umount -l "$root/home/shared"; fi
  local m
  for m in proc dev sys; do
    mountpoint -q "$root/$m" && { umount -R "$root/$m" 2>/dev/null || umount -R -l "$root/$m"; }
  done
  if grep -q " $root/" /proc/mounts; then
    echo "fresh-root: mounts remain under $root: not removed" >&2
  else
    rm -rf "$work"
  fi
}

main "$@"
exit $?
