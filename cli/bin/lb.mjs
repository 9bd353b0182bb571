#!/usr/bin/env node
// `lb` runs its TypeScript through tsx, a declared dependency of this package (decision 0023):
// the CLI shares packages/protocol with the services and the agent, as source.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
