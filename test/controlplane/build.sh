#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kubectl) from the Go module proxy and caches
# the binaries outside the clone. Prints the binary directory on the last line of stdout.
#
#   test/controlplane/build.sh            build or reuse tier A (etcd, kube-apiserver, kubectl)
#   test/controlplane/build.sh --tier-b   build or reuse tier B (kube-controller-manager, kube-scheduler,
#                                         kwok, metrics-server)
#   test/controlplane/build.sh --regen    regenerate every wrapper go.mod/go.sum from upstream (maintainers)
#
# Cache: ${SHOAL_TESTENV_CACHE:-~/.cache/shoal/testenv}/bin/<kube>-<etcd>-<goos>-<goarch>-<go>/.
# A cache hit needs the `.complete` marker, the wrapper go.sum hashes recorded at build time, and each
# binary reporting the pinned version.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"
ROOT="${SHOAL_TESTENV_CACHE:-$HOME/.cache/shoal/testenv}"
export GOMODCACHE="$ROOT/gomod" GOCACHE="$ROOT/gocache"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw"
export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"

log() { echo "[controlplane] $*" >&2; }

# One build at a time per cache: test setups that start together (integration and e2e) may both ask
# for tier A; the second waits here and then finds it cached instead of building it again.
mkdir -p "$ROOT"
exec 9>"$ROOT/.build.lock"
flock 9

# Runs a `go build -v` in the background and reports progress every 30 s (packages compiled so far),
# so a cold build of many minutes is never silent. $1 names the step; the rest is the command.
with_progress() {
  local what=$1; shift
  local plog="$ROOT/logs/$what.log" started=$SECONDS
  mkdir -p "$ROOT/logs"
  "$@" >"$plog" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null &&
      log "still building $what: $((SECONDS - started)) s, $(grep -c . "$plog" || true) packages compiled (log: $plog)"
  done
  if ! wait "$pid"; then log "building $what failed; last lines of $plog:"; tail -n 30 "$plog" >&2; return 1; fi
}

PLAT="$(go env GOOS)-$(go env GOARCH)"
GOVER="$(go env GOVERSION)"
STAMP="$({ cat "$HERE/kube/go.sum" "$HERE/etcd/go.sum" 2>/dev/null || true; } | sha256sum | cut -c1-12)"
OUT="$ROOT/bin/kube-$KUBE_VERSION-etcd-$ETCD_VERSION-$PLAT-$GOVER-$STAMP"

# regen_kube DIR TOOL...: a wrapper module for commands of k8s.io/kubernetes (tier A: kube, tier B: kube-b).
regen_kube() {
  local dir="$HERE/$1" staging="v0.${KUBE_VERSION#v1.}"; shift
  local tools=("$@")
  log "regenerating $dir/go.mod for k8s.io/kubernetes $KUBE_VERSION (staging modules at $staging)"
  rm -f "$dir/go.mod" "$dir/go.sum"
  mkdir -p "$dir"
  (cd "$dir" && go mod init "testbins.local/$(basename "$dir")" >/dev/null 2>&1
    local up; up="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | jq -r .GoMod)"
    go mod edit -go="$(awk '$1=="go"{print $2; exit}' "$up")"
    for kv in $(awk '$1=="godebug" && $2 ~ /=/ {print $2}' "$up"); do go mod edit -godebug="$kv"; done
    go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
    # every k8s.io module that upstream requires at the placeholder v0.0.0 is a staging module
    awk '($1 ~ /^k8s\.io\// && $2=="v0.0.0") {print $1}' "$up" | sort -u |
      while read -r m; do go mod edit -replace="$m=$m@$staging"; done
    for t in "${tools[@]}"; do go mod edit -tool="k8s.io/kubernetes/cmd/$t"; done
    go mod tidy)
}

regen_etcd() {
  local dir="$HERE/etcd"
  log "regenerating $dir/go.mod for go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init testbins.local/etcd >/dev/null 2>&1
    local up; up="$(go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" | jq -r .GoMod)"
    go mod edit -go="$(awk '$1=="go"{print $2; exit}' "$up")"
    go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION" -tool=go.etcd.io/etcd/server/v3
    go mod tidy)
}

# regen_module DIR MODULE@VERSION TOOL: a wrapper module for one command of another module.
regen_module() {
  local dir="$HERE/$1" mod=$2 tool=$3
  log "regenerating $dir/go.mod for $mod"
  rm -f "$dir/go.mod" "$dir/go.sum"
  mkdir -p "$dir"
  (cd "$dir" && go mod init "testbins.local/$1" >/dev/null 2>&1
    local up; up="$(go mod download -json "$mod" | jq -r .GoMod)"
    go mod edit -go="$(awk '$1=="go"{print $2; exit}' "$up")" -require="$mod" -tool="$tool"
    go mod tidy)
}

if [[ "${1:-}" == "--regen" ]]; then
  regen_kube kube kube-apiserver kubectl
  regen_etcd
  regen_kube kube-b kube-controller-manager kube-scheduler
  regen_module kwok "sigs.k8s.io/kwok@$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
  regen_module metrics-server "sigs.k8s.io/metrics-server@$METRICS_SERVER_VERSION" \
    sigs.k8s.io/metrics-server/cmd/metrics-server
  exit 0
fi

# Version stamping as upstream's hack/lib/version.sh does, so /version reports the pinned release.
kube_ldflags() {
  local info commit build_date minor p ld="-s -w"
  info="$(cd "$HERE/kube" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION")"
  commit="$(jq -r '.Origin.Hash // "unknown"' <<<"$info")"
  build_date="$(jq -r .Time "$(jq -r .Info <<<"$info")")"
  minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitCommit=$commit -X $p.gitTreeState=clean -X $p.buildDate=$build_date"
  done
  echo "$ld"
}


expect_kube="Kubernetes $KUBE_VERSION"
expect_etcd="etcd Version: ${ETCD_VERSION#v}"
# Capture before matching: `cmd | grep -q` fails under pipefail when grep exits first (SIGPIPE).
version_of() { "$@" 2>/dev/null || true; }
cache_hit() {
  [[ -f "$OUT/.complete" ]] || return 1
  [[ "$(version_of "$OUT/kube-apiserver" --version)" == "$expect_kube" ]] &&
    [[ "$(version_of "$OUT/kubectl" version --client)" == *"$KUBE_VERSION"* ]] &&
    [[ "$(version_of "$OUT/etcd" --version)" == *"$expect_etcd"* ]]
}
# Tier B: kube-controller-manager and kube-scheduler (same Kubernetes release), KWOK and
# metrics-server, each from its committed wrapper module; cached in a directory of its own.
if [[ "${1:-}" == "--tier-b" ]]; then
  STAMP_B="$({ cat "$HERE/kube-b/go.sum" "$HERE/kwok/go.sum" "$HERE/metrics-server/go.sum"; } | sha256sum | cut -c1-12)"
  OUT_B="$ROOT/bin/tierb-kube-$KUBE_VERSION-kwok-$KWOK_VERSION-ms-$METRICS_SERVER_VERSION-$PLAT-$GOVER-$STAMP_B"
  tier_b_hit() {
    [[ -f "$OUT_B/.complete" ]] &&
      [[ "$(version_of "$OUT_B/kube-scheduler" --version)" == "Kubernetes $KUBE_VERSION" ]] &&
      [[ "$(version_of "$OUT_B/kube-controller-manager" --version)" == "Kubernetes $KUBE_VERSION" ]] &&
      [[ -x "$OUT_B/kwok" && -x "$OUT_B/metrics-server" && -f "$OUT_B/kwok.yaml" ]]
  }
  # KWOK's configuration from its own module: fast node and pod stages (pods go Running and Ready at
  # once), node heartbeats through Leases, per-node resource metrics, and usage from pod annotations.
  write_kwok_config() {
    local src f
    src="$(cd "$HERE/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize"
    for f in stage/node/fast/node-initialize.yaml stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      stage/pod/fast/pod-ready.yaml stage/pod/fast/pod-complete.yaml stage/pod/fast/pod-delete.yaml \
      metrics/resource/metrics-resource.yaml metrics/usage/usage-from-annotation.yaml; do
      echo '---'; cat "$src/$f"
    done >"$1"
  }
  if [[ -f "$OUT_B/.complete" && ! -f "$OUT_B/kwok.yaml" ]]; then write_kwok_config "$OUT_B/kwok.yaml"; fi
  if tier_b_hit; then log "cached: $OUT_B"; echo "$OUT_B"; exit 0; fi
  command -v go >/dev/null || { log "go is not on PATH: tier B is built from Go modules"; exit 1; }
  TMP="$OUT_B.tmp.$$"
  rm -rf "$TMP" && mkdir -p "$TMP"
  trap 'rm -rf "$TMP"' EXIT
  start=$SECONDS
  log "building kube-controller-manager and kube-scheduler $KUBE_VERSION (cold: several minutes on 2 cores)"
  (cd "$HERE/kube-b" && with_progress kube-b go build -v -trimpath -tags=selinux,notest \
    -ldflags="$(kube_ldflags)" -o "$TMP/" \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
  log "kube-controller-manager and kube-scheduler built after $((SECONDS - start)) s"
  log "building kwok $KWOK_VERSION"
  (cd "$HERE/kwok" && with_progress kwok go build -v -trimpath -ldflags="-s -w" -o "$TMP/kwok" sigs.k8s.io/kwok/cmd/kwok)
  log "building metrics-server $METRICS_SERVER_VERSION"
  (cd "$HERE/metrics-server" && with_progress metrics-server go build -v -trimpath -ldflags="-s -w" \
    -o "$TMP/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server)
  write_kwok_config "$TMP/kwok.yaml"
  touch "$TMP/.complete"
  rm -rf "$OUT_B" && mv "$TMP" "$OUT_B"
  trap - EXIT
  tier_b_hit || { log "built tier B binaries do not report the pinned versions"; exit 1; }
  log "tier B done in $((SECONDS - start)) s: $OUT_B"
  echo "$OUT_B"
  exit 0
fi

if cache_hit; then log "cached: $OUT"; echo "$OUT"; exit 0; fi

command -v go >/dev/null || { log "go is not on PATH: the control plane is built from Go modules"; exit 1; }
free_kb="$(df -Pk "$(dirname "$ROOT")" 2>/dev/null | awk 'NR==2{print $4}' || echo 0)"
mkdir -p "$ROOT"
if [[ "${free_kb:-0}" -lt 8000000 ]]; then log "warning: less than 8 GB free under $ROOT; a cold build needs about 6 GB"; fi

TMP="$OUT.tmp.$$"
rm -rf "$TMP" && mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
start=$SECONDS

log "building etcd $ETCD_VERSION (cold: about 1-2 min on 2 cores)"
(cd "$HERE/etcd" && with_progress etcd go build -v -trimpath \
  -ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" -o "$TMP/etcd" go.etcd.io/etcd/server/v3)
log "etcd built after $((SECONDS - start)) s"

ld="$(kube_ldflags)"
log "building kube-apiserver and kubectl $KUBE_VERSION (cold: about 8-10 min on 2 cores; warm Go cache: seconds)"
(cd "$HERE/kube" && with_progress kube go build -v -trimpath -tags=selinux,notest -ldflags="$ld" -o "$TMP/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
log "kube-apiserver and kubectl built after $((SECONDS - start)) s"

[[ "$(version_of "$TMP/kube-apiserver" --version)" == "$expect_kube" ]]
touch "$TMP/.complete"
rm -rf "$OUT" && mv "$TMP" "$OUT"
trap - EXIT
cache_hit || { log "built binaries do not report the pinned versions"; exit 1; }
log "done in $((SECONDS - start)) s: $OUT"
echo "$OUT"
