# One image for every edgesplit process; docker-compose.yml picks the command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY proto proto
COPY scheduler scheduler
COPY dnn dnn
COPY cli cli
COPY broker broker
COPY agents agents
COPY edge-worker edge-worker
COPY runtime runtime
COPY system system
COPY metrics metrics
COPY experiments experiments
COPY stats stats
# the dashboard's server and page; scripts/build-dashboard.ts bundles the page in `npm run build`
COPY dashboard dashboard
COPY scripts/build-dashboard.ts scripts/build-dashboard.ts
# experiment scale loads the MILP reference (benchmarks/milp.ts) when HiGHS is installed
COPY benchmarks benchmarks
# No install scripts: `prepare` would build a second time, and the dependencies' own scripts are
# the ones package.json's allowScripts turns off (prebuilt binaries need none).
RUN npm ci --ignore-scripts && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Every long-running command serves /metrics, /healthz and /readyz here (docs/operations.md);
# the container's network is private, so the endpoints listen on all of its addresses.
ENV EDGESPLIT_METRICS_PORT=9464 EDGESPLIT_METRICS_HOST=0.0.0.0
EXPOSE 9464
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY examples examples
USER node
# Healthy once ready: connected to the broker and Redis (a scheduler's role known, an edge
# worker's units declared). Commands that serve no metrics (solve, experiment) do not need it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.EDGESPLIT_METRICS_PORT || 9464) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
