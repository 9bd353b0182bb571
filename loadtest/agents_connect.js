// k6: hold many agent sessions on one gateway and heartbeat like real agents.
// Credentials come from a JSON file of [{"credential": "lba_…"}] made by enrolling agents
// (see loadtest/README.md). Run: k6 run -e GATEWAY=ws://127.0.0.1:8081 -e CREDS=creds.json agents_connect.js
import ws from "k6/ws";
import { check } from "k6";
import { SharedArray } from "k6/data";

const creds = new SharedArray("creds", () => JSON.parse(open(__ENV.CREDS || "creds.json")));

export const options = {
  scenarios: {
    agents: { executor: "per-vu-iterations", vus: Math.min(creds.length, Number(__ENV.AGENTS || creds.length)), iterations: 1, maxDuration: "10m" },
  },
};

export default function () {
  const cred = creds[(__VU - 1) % creds.length].credential;
  const holdSeconds = Number(__ENV.HOLD_SECONDS || 60);
  const res = ws.connect(`${__ENV.GATEWAY || "ws://127.0.0.1:8081"}/v1/agent`, { headers: { Authorization: `Bearer ${cred}` } }, (socket) => {
    socket.on("open", () => {
      socket.send(JSON.stringify({ type: "hello", protocol: 1, agent_version: "k6", os: "linux", hostname: `k6-${__VU}`, gpus: [], running: [], restarted: false }));
    });
    socket.on("message", (text) => {
      const msg = JSON.parse(text);
      if (msg.type === "welcome") {
        socket.setInterval(() => socket.send(JSON.stringify({ type: "heartbeat", running: [] })), msg.heartbeat_seconds * 1000);
      }
    });
    socket.setTimeout(() => socket.close(), holdSeconds * 1000);
  });
  check(res, { "upgraded (101)": (r) => r && r.status === 101 });
}
