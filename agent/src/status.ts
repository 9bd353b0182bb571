// `labbridge-agent status --state-dir <dir>`: what this folder is enrolled as. Prints one
// JSON line (never the credential); exit 0 when enrolled, 1 when not.
import { agentFilePath, readIdentity } from "./agent_state.ts";
import { errorText } from "./log.ts";

export async function statusCommand(stateDir: string, print: (line: string) => void): Promise<number> {
  try {
    const id = await readIdentity(stateDir);
    if (!id) {
      print(JSON.stringify({ enrolled: false, state_dir: stateDir }));
      return 1;
    }
    print(JSON.stringify({ enrolled: true, agent_id: id.agent_id, name: id.name, servers: id.servers, state_dir: stateDir }));
    return 0;
  } catch (e) {
    print(JSON.stringify({ enrolled: false, state_dir: stateDir, error: `${agentFilePath(stateDir)}: ${errorText(e)}` }));
    return 1;
  }
}
