# The SMTP ingress container: one gateway's `mailbag start --only ingress` on port 25.
# The CLI is TypeScript run by Node's type stripping: Node >= 22.18 and the source files.
# Built by `cdk deploy` (infra/constructs/ingress-service.ts) for linux/arm64.
FROM node:24-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# core/, functions/, cli/, bin/ and the config files (see .dockerignore for what stays out).
COPY . .

# Unprivileged: binding 25 needs net.ipv4.ip_unprivileged_port_start=0, which Docker sets by
# default and the ECS task definition sets explicitly (systemControls).
USER node
EXPOSE 25 587
ENTRYPOINT ["node", "cli/mailbag.ts", "start", "--only", "ingress", "--port", "25", "--host", "0.0.0.0"]
