#!/usr/bin/env bash
# Builds the base image for `make image` from Debian's packages: Debian 12
# (bookworm) minbase with Debian's Python 3.11, venv and CA certificates, and
# `python` on PATH, which is what the Dockerfile needs of python:3.11-slim-bookworm
# (the default BASE_IMAGE, from a registry this machine cannot reach).
# Idempotent: the image carries a label with this script's hash and is rebuilt
# only when the script changes or the image is gone. Prints the image name.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
podman="$here/scripts/podman"
image="${BASE_IMAGE_NAME:-localhost/customer-service-base:bookworm-python3.11}"
recipe="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

if [[ "$("$podman" image inspect --format '{{index .Labels "customer-service.base-recipe"}}' "$image" 2>/dev/null)" == "$recipe" ]]; then
  echo "$image"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "build-base-image: mmdebstrap bookworm + python3.11 (about a minute)" >&2
# Docs, man pages and translations are left out, as in the slim images;
# apt's lists are dropped after the install (the Dockerfile installs no .debs).
nice mmdebstrap --mode=root --variant=minbase --format=tar \
  --include=python3.11,python3.11-venv,python-is-python3,ca-certificates,tzdata \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log "$1"/var/cache/ldconfig/aux-cache' \
  bookworm "$work/rootfs.tar" \
  "deb $mirror bookworm main" \
  "deb $mirror bookworm-updates main" \
  "deb $security bookworm-security main" \
  </dev/null >"$work/mmdebstrap.log" 2>&1 \
  || { tail -30 "$work/mmdebstrap.log" >&2; exit 1; }

"$podman" import --quiet \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL customer-service.base-recipe=$recipe" \
  --change 'CMD ["python3"]' \
  "$work/rootfs.tar" "$image" >/dev/null
echo "build-base-image: $image in $(( $(date +%s) - start ))s" >&2
echo "$image"
