// Entry of `lb`: runs the command line and exits with its code.
import { runLb } from "./program.ts";

process.exitCode = await runLb(process.argv.slice(2));
