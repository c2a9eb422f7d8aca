# The SMTP ingress container: one gateway's `mailbag start --only ingress` on port 25 (and 587),
# against real AWS, its config from the published directory (MAILBAG_DIRECTORY, MAILBAG_GATEWAY
# and MAILBAG_BACKEND=aws are set by infra/constructs/ingress-service.ts).
# Built by `cdk deploy` for linux/arm64.

# Build: bundle the CLI with esbuild (scripts/build.mjs) — plain JS, no type stripping at run time.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# patches/: the embedded emulator and smtp-server fixes (package.json postinstall, skipped above).
RUN npx patch-package && node scripts/build.mjs

# Run: the bundle alone (it carries its dependencies) and the example configs as a fallback.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
# Streaming allocates many short-lived Buffers; a 1 MiB young generation returns their memory
# about every megabyte instead of every 16 (measured: docs/benchmarks.md).
ENV NODE_OPTIONS=--max-semi-space-size=1
WORKDIR /app
COPY --from=build /src/dist ./dist
COPY --from=build /src/mailbag.config.json ./
COPY --from=build /src/examples ./examples
# Unprivileged: binding 25 needs net.ipv4.ip_unprivileged_port_start=0, which Docker sets by
# default and the ECS task definition sets explicitly (systemControls).
USER node
EXPOSE 25 587
ENTRYPOINT ["node", "--enable-source-maps", "dist/mailbag.js", "start", "--only", "ingress", "--port", "25", "--host", "0.0.0.0", "--backend", "aws"]
