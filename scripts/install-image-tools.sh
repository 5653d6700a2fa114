#!/usr/bin/env bash
# Installs what `make image` and `make image-check` need, from Debian's
# packages, when missing: podman (builds and runs the image), runc (its
# runtime here, see scripts/containers.conf), mmdebstrap (builds the base
# image from Debian's packages when no registry is reachable).
set -euo pipefail
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
# podman's default network and pause-image helpers are not needed: the image
# runs on the host network (--network=host), like the build's RUN steps.
if ((${#missing[@]})); then
  echo "install-image-tools: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
