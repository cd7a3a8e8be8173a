#!/usr/bin/env bash
# Builds kustomize (pinned in tools/kustomize/go.mod) from the Go module proxy and caches it outside
# the clone. Prints the binary's path on the last line of stdout. The operator image builds the same
# module (see the Dockerfile); Shoal finds the binary through --kustomize-path or on PATH.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION=v5.8.2   # the newest kustomize whose go.mod (go 1.26.0) builds with Go 1.26; v5.8.3 needs Go 1.27
ROOT="${SHOAL_TESTENV_CACHE:-$HOME/.cache/shoal/testenv}"
export GOMODCACHE="$ROOT/gomod" GOCACHE="$ROOT/gocache"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw"
STAMP="$(sha256sum "$HERE/kustomize/go.sum" | cut -c1-12)"
OUT="$ROOT/bin/kustomize-$VERSION-$(go env GOOS)-$(go env GOARCH)-$(go env GOVERSION)-$STAMP"
version_of() { "$@" 2>/dev/null || true; }
if [[ -x "$OUT/kustomize" && "$(version_of "$OUT/kustomize" version)" == "$VERSION" ]]; then
  echo "[kustomize] cached: $OUT" >&2
  echo "$OUT/kustomize"
  exit 0
fi
echo "[kustomize] building $VERSION from the Go module proxy (cold: a few minutes)" >&2
mkdir -p "$OUT.tmp.$$"
trap 'rm -rf "$OUT.tmp.$$"' EXIT
(cd "$HERE/kustomize" && go build -trimpath -ldflags="-s -w" -o "$OUT.tmp.$$/kustomize" sigs.k8s.io/kustomize/kustomize/v5)
[[ "$(version_of "$OUT.tmp.$$/kustomize" version)" == "$VERSION" ]] || { echo "[kustomize] built binary is not $VERSION" >&2; exit 1; }
rm -rf "$OUT" && mv "$OUT.tmp.$$" "$OUT"
trap - EXIT
echo "$OUT/kustomize"
