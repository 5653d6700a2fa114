#!/usr/bin/env bash
# `make image`: builds the project's Dockerfile with podman into
# localhost/customer-service:<version>. BASE_IMAGE defaults to the base built
# here from Debian's packages (scripts/build-base-image.sh), since no image
# registry is reachable; with one, BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm
# builds exactly what `docker build` builds. Idempotent: podman's layer cache
# makes a rebuild of unchanged sources take seconds.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
podman=scripts/podman

scripts/install-image-tools.sh
base="${BASE_IMAGE:-$(scripts/build-base-image.sh)}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)"
image="${IMAGE:-localhost/customer-service:$version}"

args=(
  --format docker             # keeps HEALTHCHECK (the OCI format has none)
  --network host              # pip reaches PyPI as this machine does
  --layers
  --build-arg "BASE_IMAGE=$base"
  --tag "$image"
)
# pip trusts its own CA list; a TLS-inspecting proxy's CA (PIP_CERT, as set on
# this machine) is mounted for the build stage only, never copied in.
if [[ -n "${PIP_CERT:-}" && -f "$PIP_CERT" ]]; then
  args+=(--volume "$PIP_CERT:/etc/pip-build-ca.crt:ro" --build-arg PIP_CERT=/etc/pip-build-ca.crt)
fi

start=$(date +%s)
echo "build-image: $image on $base" >&2
nice "$podman" build "${args[@]}" . >&2
size="$("$podman" image inspect --format '{{.Size}}' "$image")"
echo "build-image: $image built in $(( $(date +%s) - start ))s, $(( size / 1000000 )) MB" >&2
echo "$image"
