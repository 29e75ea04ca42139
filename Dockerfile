# Vestibule's production image: two stages, the second with only production dependencies and the
# compiled JavaScript (no TypeScript, no tsx), run as the unprivileged `node` user.
# Every RUN here is a step the test suite runs itself (test/ops/recipe.test.ts checks that and runs them).
# Build: docker build -t vestibule .   Run: see compose.yaml and docs/operations.md.

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24.22.3-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    TENANTS_DIR=/etc/vestibule/tenants \
    DATA_DIR=/home/node/.vestibule
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The worker runs from the same image: command ["node", "dist/server.js", "worker"].
# --max-semi-space-size=32: fewer young-generation collections, each of which costs more the more tenants a
# node keeps built (docs/bench.md, "Tenants in the database").
CMD ["node", "--max-semi-space-size=32", "dist/server.js", "serve"]
