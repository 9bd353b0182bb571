// A real XML parser for tests (fast-xml-parser from the repository's node_modules, a root
// devDependency): the agent itself has no dependencies, so it is loaded by path here only.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { XMLParser, XMLValidator } = require("../../../node_modules/fast-xml-parser") as {
  XMLParser: new (opts: Record<string, unknown>) => { parse(text: string): Record<string, unknown> };
  XMLValidator: { validate(text: string): true | { err: { msg: string; line: number } } };
};

/** Parses `text` strictly (it must be well-formed); attributes as `@_name`, every value as text. */
export function parseXml(text: string): Record<string, unknown> {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`Not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  return new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (name: string) => name === "onfailure" }).parse(text);
}
