# A demo Linux agent: the same Deno code as agent.exe, run with `deno run` and the same
# permission flags (deno compile needs a runtime download that CI machines cannot make).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=dev && npm ls deno
COPY packages/protocol ./packages/protocol
COPY agent ./agent
COPY scripts/agent.mjs ./scripts/agent.mjs
# The agent runs as root and starts every job as this unprivileged account (work folders
# in /state-work, beside the state volume; docs/decisions/0009). setpriv is in util-linux.
RUN useradd --system --no-create-home --shell /usr/sbin/nologin labbridge-job
VOLUME /state
ENTRYPOINT ["node", "scripts/agent.mjs"]
CMD ["run", "--state-dir", "/state"]
