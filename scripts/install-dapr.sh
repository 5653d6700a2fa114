#!/usr/bin/env bash
# Builds the Dapr runtime (daprd, placement, scheduler) and the Dapr CLI from
# the Go module proxy and installs them where the CLI looks: $DAPR_HOME/bin
# (default ~/.dapr/bin), with a $DAPR_HOME/config.yaml. Idempotent: a stamp
# records what was built, and nothing is rebuilt while it still matches.
set -euo pipefail

DAPR_RUNTIME_VERSION=1.18.3
DAPR_CLI_VERSION=1.12.0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dapr_home="${DAPR_HOME:-$HOME/.dapr}"
bin="$dapr_home/bin"
stamp="$bin/.customer-service-build"

# What a build depends on: the versions and our wrapper modules' sources.
fingerprint="runtime=$DAPR_RUNTIME_VERSION cli=$DAPR_CLI_VERSION $(
  cd "$here/tools" && find dapr-runtime dapr-cli -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) \
    -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$fingerprint" ]] \
  && [[ -x "$bin/daprd" && -x "$bin/placement" && -x "$bin/scheduler" && -x "$bin/dapr" ]]; then
  exit 0
fi

command -v go >/dev/null || { echo "install-dapr: Go is required (go.dev toolchain >= 1.26)" >&2; exit 1; }
mkdir -p "$bin"
start=$(date +%s)
echo "install-dapr: building Dapr runtime $DAPR_RUNTIME_VERSION and CLI $DAPR_CLI_VERSION (first time: several minutes)"

# The checksum database has no entry for this module version; go.sum pins it.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/diagridio/go-etcd-cron"
export GOFLAGS="${GOFLAGS:-} -mod=readonly"

(cd "$here/tools/dapr-runtime" && go build -trimpath -tags stablecomponents \
  -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_RUNTIME_VERSION" \
  -o "$bin/" ./cmd/daprd ./cmd/placement ./cmd/scheduler)
(cd "$here/tools/dapr-cli" && go build -trimpath \
  -ldflags "-s -w -X main.version=$DAPR_CLI_VERSION" -o "$bin/dapr" ./cmd/dapr)

# The CLI reads this default configuration; `dapr run -f dapr.yaml` passes ours.
if [[ ! -f "$dapr_home/config.yaml" ]]; then
  cat > "$dapr_home/config.yaml" <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprConfig
spec: {}
YAML
fi
mkdir -p "$dapr_home/components"

echo "$fingerprint" > "$stamp"
echo "install-dapr: done in $(( $(date +%s) - start ))s: $("$bin/daprd" --version) in $bin"
