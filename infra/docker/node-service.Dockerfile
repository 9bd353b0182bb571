# One image for the four Node services and the local object store; the command picks which.
# Build from the repository root: docker build -f infra/docker/node-service.Dockerfile .
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY infra ./infra
COPY agent/permissions.json ./agent/permissions.json
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx
ENV NODE_ENV=production
USER node
# e.g. command: ["node", "--import", "tsx", "services/api/src/main.ts"]
CMD ["node", "--import", "tsx", "services/api/src/main.ts"]
