# The SMTP ingress container: one gateway's `mailbag start --only ingress` on the unprivileged
# port 2525 (the load balancer maps 25 and 587 to it), against real AWS, its config from the
# published directory (MAILBAG_DIRECTORY, MAILBAG_GATEWAY, MAILBAG_BUCKET and MAILBAG_BACKEND=aws
# are set by infra/constructs/ingress-service.ts). The build context is what .dockerignore allows.
# Built by `cdk deploy` for linux/arm64.

# Build: bundle the CLI with esbuild (scripts/build.mjs) — plain JS, no type stripping at run time.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# patches/: the embedded emulator and smtp-server fixes (package.json postinstall, skipped above).
RUN npx patch-package && node scripts/build.mjs

# Run: the bundle alone (it carries its dependencies); the config comes from the directory.
FROM node:24-bookworm-slim
ENV NODE_ENV=production
# Streaming allocates many short-lived Buffers; a 1 MiB young generation returns their memory
# about every megabyte instead of every 16 (measured: docs/benchmarks.md).
ENV NODE_OPTIONS=--max-semi-space-size=1
WORKDIR /app
COPY --from=build /src/dist ./dist
# Unprivileged user, unprivileged port: no capability or system control needed.
USER node
EXPOSE 2525
ENTRYPOINT ["node", "--enable-source-maps", "dist/mailbag.js", "start", "--only", "ingress", "--port", "2525", "--host", "0.0.0.0", "--backend", "aws"]
