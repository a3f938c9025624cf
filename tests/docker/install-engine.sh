#!/usr/bin/env bash
# Installs what tests/docker needs when it is missing: Debian's docker.io (dockerd, its client,
# tini as docker-init) and debootstrap (the local base image). Needs root and apt-get; otherwise
# it says so and exits 1 (the docker tests then skip, with this reason).
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v dockerd >/dev/null || missing+=(dockerd)
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "${missing[*]} not installed, and apt-get as root is not available to install docker.io and debootstrap" >&2
  exit 1
fi
echo "installing docker.io and debootstrap (missing: ${missing[*]})" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends docker.io debootstrap >/dev/null
