# One image for every minimesh role: proxy (sidecar, gateway), control plane, injector, and the
# init container's `minimesh iptables`.
#
#   minikube image build -t minimesh:0.1.0 .
#
# BASE_IMAGE: any Debian-like image with Node.js >= 20 on PATH (node, npm). Build tools and
# iptables are installed with apt only when the base lacks them.
# npm_config_nodedir: a folder holding include/node (Node's headers) so node-gyp builds the
# SO_ORIGINAL_DST addon without downloading them.
ARG BASE_IMAGE=node:22-bookworm-slim

# --- manifests: package.json files alone, so `npm ci` below is redone only when they change.
FROM ${BASE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp --parents package.json package-lock.json */package.json packages/*/package.json /manifests/

# --- build: dev dependencies, TypeScript, the native addon; then production dependencies only.
FROM ${BASE_IMAGE} AS build
ARG npm_config_nodedir
RUN command -v python3 && command -v make && command -v g++ \
 || (apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
     && rm -rf /var/lib/apt/lists/*)
WORKDIR /opt/minimesh
COPY --from=manifests /manifests/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# The SO_ORIGINAL_DST addon (proxy/native) with node-gyp: `npm install` only warns when it does
# not build, the image fails instead (a proxy without it cannot route captured connections).
# Without npm_config_nodedir, the headers beside node (as the official images have them) serve.
RUN if [ -z "$npm_config_nodedir" ]; then \
      unset npm_config_nodedir; \
      prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")"); \
      if [ -f "$prefix/include/node/common.gypi" ]; then export npm_config_nodedir="$prefix"; fi; \
    fi; \
    npm run build \
 && npm run build:native -w @minimesh/proxy \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf proxy/native/build/Release/obj.target proxy/native/build/Release/.deps \
      */dist/test packages/*/dist/test */dist/*.tsbuildinfo packages/*/dist/*.tsbuildinfo

# --- runtime
FROM ${BASE_IMAGE}
RUN command -v iptables-restore \
 || (apt-get update && apt-get install -y --no-install-recommends iptables \
     && rm -rf /var/lib/apt/lists/*)
WORKDIR /opt/minimesh
COPY --from=build /opt/minimesh/ ./
RUN ln -s /opt/minimesh/packages/cli/bin/minimesh.js /usr/local/bin/minimesh \
 && minimesh version
USER 1337:1337
ENTRYPOINT ["minimesh"]
