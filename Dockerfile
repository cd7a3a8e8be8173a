# The operator image for a machine with a Docker engine: Node 24, git, openssh-client, tini, the
# pinned kustomize and Helm (built from tools/kustomize/go.mod and tools/helm/go.mod), and the operator
# bundled with its dependencies by esbuild (scripts/build-operator.ts), beside the dashboard's assets.
# Build: docker build -t ghcr.io/shoal-dev/shoal:0.1.0 .
# Without a daemon (and reproducibly, layer for layer the same content): npm run image.
FROM golang:1.26 AS kustomize
WORKDIR /src
COPY tools/kustomize/go.mod tools/kustomize/go.sum ./
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/kustomize sigs.k8s.io/kustomize/kustomize/v5

FROM golang:1.26 AS helm
WORKDIR /src
COPY tools/helm/go.mod tools/helm/go.sum ./
# The version from go.mod, stamped as tools/build-helm.sh does (else `helm version` says only v4.3).
RUN V="$(awk '$1 == "helm.sh/helm/v4" { print $2 }' go.mod)" \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$V" \
      -o /out/helm helm.sh/helm/v4/cmd/helm

FROM node:24-slim AS bundles
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY web ./web
COPY scripts/build-dashboard.ts scripts/build-operator.ts scripts/inputs-digest.ts ./scripts/
COPY src ./src
RUN node scripts/build-dashboard.ts && node scripts/build-operator.ts

FROM node:24-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=kustomize /out/kustomize /usr/local/bin/kustomize
COPY --from=helm /out/helm /usr/local/bin/helm
COPY package.json ./
COPY --from=bundles /app/dist/operator ./dist/operator
COPY --from=bundles /app/dist/dashboard ./dist/dashboard
RUN mkdir -p /var/cache/shoal
# The root filesystem is read-only in the Deployment: HOME and caches live on its emptyDir volumes.
ENV NODE_ENV=production HOME=/tmp
USER 1000:1000
EXPOSE 8080 9292 9080
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/operator/shoal.mjs"]
CMD ["run"]
