// Just enough XML for the OSS wire format: the responses are flat, and the only body we
// parse (CompleteMultipartUpload) has a fixed shape, so a parser library would buy nothing.

/** `text` with the five XML special characters escaped. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`);
}

/** `text` with XML entity and character references resolved. */
export function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, ref: string) => {
    if (ref.startsWith("#x")) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith("#")) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[ref] ?? "";
  });
}

/** A value of an XML document: text, nested elements, or a list of same-named elements. */
export type XmlValue = string | number | boolean | XmlFields | XmlFields[];
/** Child elements in document order. */
export interface XmlFields {
  [name: string]: XmlValue | undefined;
}

/** An XML document with root element `root` and the given children, as OSS writes them. */
export function xmlDocument(root: string, fields: XmlFields): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>${renderFields(fields)}</${root}>\n`;
}

function renderFields(fields: XmlFields): string {
  let out = "";
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const inner = typeof item === "object" ? renderFields(item) : escapeXml(String(item));
      out += `<${name}>${inner}</${name}>`;
    }
  }
  return out;
}
