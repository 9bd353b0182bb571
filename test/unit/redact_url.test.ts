import { describe, expect, it } from "vitest";
import { assertValidObjectKey, objectKeyProblem, redactPresignedUrl } from "@labbridge/storage";

describe("redactPresignedUrl", () => {
  it("replaces the V1 Signature and OSSAccessKeyId and keeps everything else", () => {
    const url =
      "http://127.0.0.1:9000/jobs/j1/out%20put.bin?OSSAccessKeyId=lb-dev-access-key&Expires=1700000000&Signature=abc%2Bdef%3D";
    expect(redactPresignedUrl(url)).toBe(
      "http://127.0.0.1:9000/jobs/j1/out%20put.bin?OSSAccessKeyId=REDACTED&Expires=1700000000&Signature=REDACTED",
    );
  });

  it("replaces the V4 x-oss-signature and x-oss-credential and keeps the other x-oss parameters", () => {
    const url =
      "https://b.oss-cn-hangzhou.aliyuncs.com/k?x-oss-credential=id%2F20250101%2Fcn-hangzhou%2Foss%2Faliyun_v4_request" +
      "&x-oss-date=20250101T000000Z&x-oss-expires=60&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-signature=0a1b2c";
    expect(redactPresignedUrl(url)).toBe(
      "https://b.oss-cn-hangzhou.aliyuncs.com/k?x-oss-credential=REDACTED" +
        "&x-oss-date=20250101T000000Z&x-oss-expires=60&x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-signature=REDACTED",
    );
  });

  it("replaces STS security tokens", () => {
    expect(redactPresignedUrl("http://h/k?security-token=tok&Signature=s")).toBe(
      "http://h/k?security-token=REDACTED&Signature=REDACTED",
    );
  });

  it("matches parameter names case-insensitively and encoded", () => {
    expect(redactPresignedUrl("/k?signature=a&%53ignature=b")).toBe("/k?signature=REDACTED&%53ignature=REDACTED");
  });

  it("redacts a path with a query, as a server sees it", () => {
    expect(redactPresignedUrl("/a/b.txt?partNumber=1&Signature=x")).toBe("/a/b.txt?partNumber=1&Signature=REDACTED");
  });

  it("keeps a fragment and leaves a URL without a query unchanged", () => {
    expect(redactPresignedUrl("http://h/k?Signature=s#frag")).toBe("http://h/k?Signature=REDACTED#frag");
    expect(redactPresignedUrl("http://h/k")).toBe("http://h/k");
  });

  it("redacts a bare Signature without a value", () => {
    expect(redactPresignedUrl("/k?Signature&Expires=1")).toBe("/k?Signature=REDACTED&Expires=1");
  });
});

describe("object key validation", () => {
  it.each([
    ["", "is empty"],
    ["/abs/key", 'starts with "/"'],
    ["jobs/../secrets", 'contains ".." segment'],
    ["..", 'contains ".." segment'],
    ["jobs/./x", 'contains "." segment'],
    ["dir\\file", "contains a backslash"],
    ["line\nbreak", "contains a control character"],
    ["nul\u0000", "contains a control character"],
    ["del\u007f", "contains a control character"],
    ["lone\ud800", "contains a lone surrogate"],
    ["x".repeat(1024), "is longer than 1023 bytes"],
  ])("refuses %j: %s", (key, problem) => {
    expect(objectKeyProblem(key)).toBe(problem);
    expect(() => assertValidObjectKey(key)).toThrow(`Invalid object key ${JSON.stringify(key)}: ${problem}`);
  });

  it.each(["a", "jobs/j1/a1/outputs/model.bin", "dir/", "a..b/c..", "spaces and ü+(1).txt", "a//b"])(
    "accepts %j",
    (key) => {
      expect(objectKeyProblem(key)).toBeNull();
      expect(assertValidObjectKey(key)).toBe(key);
    },
  );

  it("names the key and the problem in the message, as specified", () => {
    expect(() => assertValidObjectKey("x/../y")).toThrow('Invalid object key "x/../y": contains ".." segment');
  });
});
