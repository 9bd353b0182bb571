// The agent's own version, sent in `hello`; bump it with each released binary.
export const AGENT_VERSION = "0.1.0";
