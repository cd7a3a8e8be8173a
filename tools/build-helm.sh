#!/usr/bin/env bash
# Builds Helm (pinned in tools/helm/go.mod) from the Go module proxy, with its version stamped, and
# caches it outside the clone. Prints the binary's path on the last line of stdout. The operator image
# builds the same module (see the Dockerfile); Shoal finds the binary through --helm-path or on PATH.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The version go.mod pins (v4.3.2: the newest Helm whose go.mod builds with Go 1.26).
VERSION="$(awk '$1 == "helm.sh/helm/v4" { print $2 }' "$HERE/helm/go.mod")"
ROOT="${SHOAL_TESTENV_CACHE:-$HOME/.cache/shoal/testenv}"
export GOMODCACHE="$ROOT/gomod" GOCACHE="$ROOT/gocache"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw"
STAMP="$(sha256sum "$HERE/helm/go.sum" | cut -c1-12)"
OUT="$ROOT/bin/helm-$VERSION-$(go env GOOS)-$(go env GOARCH)-$(go env GOVERSION)-$STAMP"
version_of() { "$@" 2>/dev/null || true; }
if [[ -x "$OUT/helm" && "$(version_of "$OUT/helm" version --template '{{.Version}}')" == "$VERSION" ]]; then
  echo "[helm] cached: $OUT" >&2
  echo "$OUT/helm"
  exit 0
fi
echo "[helm] building $VERSION from the Go module proxy (cold: about 10 minutes on 2 cores)" >&2
mkdir -p "$OUT.tmp.$$"
trap 'rm -rf "$OUT.tmp.$$"' EXIT
# Without -X, `helm version` says only v4.3; the cache check above needs the whole version.
(cd "$HERE/helm" && go build -trimpath -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$VERSION" \
  -o "$OUT.tmp.$$/helm" helm.sh/helm/v4/cmd/helm)
[[ "$(version_of "$OUT.tmp.$$/helm" version --template '{{.Version}}')" == "$VERSION" ]] || { echo "[helm] built binary is not $VERSION" >&2; exit 1; }
rm -rf "$OUT" && mv "$OUT.tmp.$$" "$OUT"
trap - EXIT
echo "$OUT/helm"
