# A demo Linux agent: the same Deno code as agent.exe, run with `deno run` and the same
# permission flags (deno compile needs a runtime download that CI machines cannot make).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=dev && npm ls deno
COPY packages/protocol ./packages/protocol
COPY agent ./agent
COPY scripts/agent.mjs ./scripts/agent.mjs
VOLUME /state
ENTRYPOINT ["node", "scripts/agent.mjs"]
CMD ["run", "--state-dir", "/state"]
