import type { RequestedPart } from "./multipart_uploads.ts";
import { MAX_PART_NUMBER } from "./multipart_uploads.ts";
import { OssError } from "./oss_error.ts";
import { unescapeXml } from "./xml.ts";

/** The parts listed by a CompleteMultipartUpload body, in the order given. */
export function parseCompleteRequest(xml: string): RequestedPart[] {
  if (!/<CompleteMultipartUpload(\s[^>]*)?>[\s\S]*<\/CompleteMultipartUpload>/.test(xml)) {
    throw malformed("root element is not <CompleteMultipartUpload>");
  }
  const parts: RequestedPart[] = [];
  for (const [, body = ""] of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const number = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(body)?.[1];
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(body)?.[1];
    if (number === undefined || etag === undefined) throw malformed("a <Part> lacks <PartNumber> or <ETag>");
    const partNumber = Number(number);
    if (partNumber < 1 || partNumber > MAX_PART_NUMBER) throw malformed(`part number ${number} is outside 1..${MAX_PART_NUMBER}`);
    parts.push({ partNumber, etag: unescapeXml(etag) });
  }
  return parts;
}

function malformed(detail: string): OssError {
  return new OssError(400, "MalformedXML", `Complete request is not valid XML: ${detail}`);
}
