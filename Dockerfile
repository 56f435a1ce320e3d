# scimforce container: build on the full toolchain, run on a slim image with production dependencies only.
# Node 22 LTS here; the project itself also runs (and is tested) on Node 20.

FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles its native addon when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# node:22 ships npm 10, which ignores package.json `allowScripts` and runs every install script. The lockfile has
# two, better-sqlite3 (fetches or compiles its addon) and esbuild (dev only), both allowed: npm 11 elsewhere runs
# the same ones (test/container/dockerfile.test.ts checks it, and replays this file's commands).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    STORE_PATH=/data/scimforce.db
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
# The store (tombstones) lives on a volume owned by the unprivileged user the process runs as.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# Liveness only: readiness (/readyz) needs Salesforce and belongs to the orchestrator's probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Configuration: SCIMFORCE_CONFIG=/config/scimforce.yaml (mounted) and/or environment variables; secrets as
# NAME_FILE=/run/secrets/... (see README, "Configuration").
CMD ["node", "dist/cli.js", "serve"]
