// Imported first by the gateway's main, before anything else is loaded: a gateway holds
// tens of thousands of idle sessions, and what they cost it is memory, not CPU. V8 is told
// to favour size over speed (smaller young generation, slower heap growth, more eager
// compaction), so the garbage of hellos and heartbeats is collected instead of letting the
// heap grow with the fleet. Set here rather than on the command line so every way of
// starting the gateway (npm start, a container's command, the dev stack) gets it; Node
// refuses V8 flags in NODE_OPTIONS. Decision 0038 has the figures.
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--optimize-for-size");
