#!/usr/bin/env bash
# Builds what `make k8s-check` runs, from the Go module proxy, into
# $K8S_TOOLS_DIR/bin (default ~/.cache/customer-service/k8s-tools/bin):
#   kube-apiserver, kubectl, etcd   tools/k8s: one pinned Kubernetes release
#   injector, sentry                tools/dapr-k8s: Dapr's, at the runtime's version
# and Dapr's CRDs (the pinned module's charts/dapr/crds) into $K8S_TOOLS_DIR/dapr-crds.
# Idempotent: a stamp records what was built; nothing is rebuilt while the
# wrapper modules are unchanged. Cold: several minutes and a few GB of Go caches.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${K8S_TOOLS_DIR:-$HOME/.cache/customer-service/k8s-tools}"
bin="$tools_dir/bin"
stamp="$bin/.customer-service-build"
tools=(kube-apiserver kubectl etcd injector sentry)

# The version a module requires, from a go.mod line "[require] MODULE VERSION".
required() { sed -nE "s#^(require)?[[:space:]]*$1[[:space:]]+(v[^[:space:]]+).*#\2#p" "$2" | head -1; }
kubernetes_version="$(required k8s.io/kubernetes "$here/tools/k8s/go.mod")"
dapr_version="$(required github.com/dapr/dapr "$here/tools/dapr-k8s/go.mod")"
[[ -n $kubernetes_version && -n $dapr_version ]] || { echo "install-k8s-tools: cannot read the pinned versions" >&2; exit 1; }
fingerprint="kubernetes=$kubernetes_version dapr=$dapr_version $(
  cd "$here/tools" && find k8s dapr-k8s dapr-runtime/avroshim -type f \
    \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
)"
crds="$tools_dir/dapr-crds"
copy_crds() {
  [[ -f "$crds/.version" && "$(cat "$crds/.version")" == "$dapr_version" ]] && return
  local module
  module="$(cd "$here/tools/dapr-k8s" && go mod download -json github.com/dapr/dapr \
    | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
  rm -rf "$crds" && mkdir -p "$crds"
  cp "$module"/charts/dapr/crds/*.yaml "$crds/"
  echo "$dapr_version" > "$crds/.version"
}

complete=1
for tool in "${tools[@]}"; do [[ -x "$bin/$tool" ]] || complete=0; done
if ((complete)) && [[ -f "$stamp" && "$(cat "$stamp")" == "$fingerprint" ]]; then
  copy_crds
  exit 0
fi

command -v go >/dev/null || { echo "install-k8s-tools: Go is required (>= 1.26)" >&2; exit 1; }
mkdir -p "$bin"
start=$(date +%s)
echo "install-k8s-tools: building Kubernetes $kubernetes_version (kube-apiserver, kubectl, etcd) and Dapr $dapr_version's injector and sentry (first time: several minutes)"
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
# As in install-dapr.sh: the checksum database lacks this version; go.sum pins it.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/diagridio/go-etcd-cron"

minor="${kubernetes_version#v1.}"; minor="${minor%%.*}"
k8s_version_flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_version_flags+=" -X $pkg.gitVersion=$kubernetes_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
done
(cd "$here/tools/k8s" && nice go build -trimpath -ldflags "-s -w$k8s_version_flags" \
  -o "$bin/" ./cmd/kube-apiserver ./cmd/kubectl ./cmd/etcd)
(cd "$here/tools/dapr-k8s" && nice go build -trimpath \
  -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${dapr_version#v}" \
  -o "$bin/" ./cmd/injector ./cmd/sentry)

copy_crds
echo "$fingerprint" > "$stamp"
echo "install-k8s-tools: done in $(( $(date +%s) - start ))s into $bin"
