# One image for the four Node services and the local object store; the command picks which.
# Build from the repository root: docker build -f infra/docker/node-service.Dockerfile .
# The dashboard (web/) is built in a first stage, with its dev dependencies (esbuild); only
# its static files reach the image, for the API to serve at /.
FROM node:20-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY infra ./infra
COPY web ./web
# No install scripts are needed to bundle: esbuild finds its binary in its platform package.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm run build

FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY infra ./infra
COPY web/package.json ./web/package.json
COPY --from=web /app/web/dist ./web/dist
COPY agent/permissions.json ./agent/permissions.json
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx
ENV NODE_ENV=production
USER node
# e.g. command: ["node", "--import", "tsx", "services/api/src/main.ts"]
CMD ["node", "--import", "tsx", "services/api/src/main.ts"]
