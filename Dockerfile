# scimforce container: build on the full toolchain, run on a slim image with what `npm start` runs and nothing more.
#
# Base: Node 24, an LTS line (security fixes until 2028-04-30), pinned to an exact release so that a rebuild gives
# the same runtime; bump the tag deliberately (CI runs the whole test suite on this major: .ci/run reads it here).
# better-sqlite3 12.x publishes prebuilt binaries for it. Node 26 became the active LTS in October 2026 and is the
# next step once the suite has run on it.

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its native addon when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# No install script runs but the one production needs: better-sqlite3's (prebuild-install fetches the addon, or
# node-gyp compiles it), named below. The same on every npm version, whatever it does with package.json allowScripts.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Build, keep production dependencies only, build the addon, then drop what only the build needed: the emulated
# org (only `demo` and `emulator` load it, and those are development commands) and SQLite's sources and objects.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && rm -rf dist/emulator \
 && cd node_modules/better-sqlite3 \
 && rm -rf deps src binding.gyp build/deps build/Release/obj build/Release/obj.target build/Release/.deps build/Release/sqlite3.a build/Release/test_extension.node build/Makefile build/config.gypi build/binding.Makefile build/better_sqlite3.target.mk build/test_extension.target.mk

FROM node:24.22.3-bookworm-slim
# V8 sized for the pod (deploy/kubernetes: 512 MiB limit), from measurements of `node dist/cli.js serve` under an
# initial load (README "The image"): a 4 MiB semi-space instead of V8's 16 MiB keeps short-lived request garbage
# in a young generation that is collected often and small: peak RSS during 16 clients' POSTs about 140-150 MiB
# instead of 175-185, idle about 97 instead of 105, for the same CPU per request (2 MiB saved a few MiB more but
# cost up to 10-20 % more CPU at 250 requests a second). An old space of 256 MiB makes V8 collect hard well before
# the pod's limit (ten Bulk requests of 1,000 operations at once: peak about 260 MiB instead of 400-500) rather
# than grow into it and be killed.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=256" \
    HOST=0.0.0.0 \
    PORT=8080 \
    STORE_PATH=/data/scimforce.db
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY LICENSE ./LICENSE
# The store lives on a volume owned by the unprivileged user the process runs as: uid and gid 1000 (the image's
# `node` user), by number, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN mkdir -p /data && chown 1000:1000 /data
USER 1000:1000
VOLUME ["/data"]
EXPOSE 8080
# Liveness only: readiness (/readyz) needs Salesforce and belongs to the orchestrator's probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Configuration: environment variables and secrets as NAME_FILE=/run/secrets/... and, optionally, a mounted file
# named by SCIMFORCE_CONFIG (README, "Production"). No configuration file is baked in.
CMD ["node", "dist/cli.js", "serve"]
