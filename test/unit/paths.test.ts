import { describe, expect, it } from "vitest";
import { attemptPrefix, fileNameProblem, inputKey, inputKeyProblem, logKey, outputKey, relativePathProblem } from "@labbridge/protocol";

describe("relativePathProblem", () => {
  it("accepts plain relative paths with forward slashes", () => {
    for (const p of ["model.pt", "a/b/c.txt", "checkpoints/epoch-3/weights.bin", "..hidden", "a/...", "名前.txt"]) {
      expect(relativePathProblem(p), p).toBeNull();
    }
  });

  it("refuses a .. segment anywhere in the path", () => {
    for (const p of ["..", "../x", "a/../b", "a/.."]) expect(relativePathProblem(p), p).toBe('contains a ".." segment');
  });

  it("refuses absolute paths", () => {
    expect(relativePathProblem("/etc/passwd")).toBe("is absolute");
    expect(relativePathProblem("//server/share/x")).toBe("is absolute");
  });

  it("refuses paths that start with a drive letter", () => {
    for (const p of ["C:/Windows/System32", "c:relative", "Z:"]) expect(relativePathProblem(p), p).toBe("starts with a drive letter");
  });

  it("refuses backslashes, which Windows reads as separators", () => {
    for (const p of ["a\\b", "..\\x", "\\\\server\\share", "C:\\x"]) expect(relativePathProblem(p), p).toBe("contains a backslash");
  });

  it("refuses empty and . segments", () => {
    for (const p of ["a//b", "a/", "./a", "a/./b", "."]) expect(relativePathProblem(p), p).toBe('contains an empty or "." segment');
  });

  it("refuses empty strings, non-strings, control characters and overlong paths", () => {
    expect(relativePathProblem("")).toBe("is empty");
    expect(relativePathProblem(undefined)).toBe("is empty");
    expect(relativePathProblem(42)).toBe("is empty");
    expect(relativePathProblem("a\nb")).toBe("contains a control character");
    expect(relativePathProblem("a\u0000b")).toBe("contains a control character");
    expect(relativePathProblem("a".repeat(513))).toBe("is longer than 512 characters");
    expect(relativePathProblem("a".repeat(512))).toBeNull();
    expect(relativePathProblem("a\ud800b")).toBe("contains a lone surrogate");
    expect(relativePathProblem("model-🚀.pt")).toBeNull();
  });
});

describe("fileNameProblem", () => {
  it("accepts a single file name and refuses anything with a slash", () => {
    expect(fileNameProblem("data.zip")).toBeNull();
    expect(fileNameProblem("dir/data.zip")).toBe("contains a slash");
  });

  it("refuses a name over 255 bytes in UTF-8, the uploads.name column's size", () => {
    expect(fileNameProblem("a".repeat(255))).toBeNull();
    expect(fileNameProblem("a".repeat(256))).toBe("is longer than 255 bytes in UTF-8");
    expect(fileNameProblem("é".repeat(128))).toBe("is longer than 255 bytes in UTF-8");
  });

  it("refuses what relativePathProblem refuses", () => {
    expect(fileNameProblem("..")).toBe('contains a ".." segment');
    expect(fileNameProblem("C:x")).toBe("starts with a drive letter");
  });
});

describe("inputKeyProblem", () => {
  it("accepts an upload key and refuses keys that are not clean relative keys", () => {
    expect(inputKeyProblem("inputs/upl_1/data.zip")).toBeNull();
    expect(inputKeyProblem("inputs/../x")).toBe('contains a ".." segment');
    expect(inputKeyProblem("/inputs/x")).toBe("is absolute");
  });
});

describe("object key layout", () => {
  it("puts outputs and logs under jobs/<job_id>/<attempt_id>/ so outputs never overwrite", () => {
    expect(attemptPrefix("job_A", "att_B")).toBe("jobs/job_A/att_B/");
    expect(outputKey("job_A", "att_B", "model/final.pt")).toBe("jobs/job_A/att_B/outputs/model/final.pt");
    expect(logKey("job_A", "att_B", "stdout")).toBe("jobs/job_A/att_B/logs/stdout.log");
    expect(outputKey("job_A", "att_B", "x")).not.toBe(outputKey("job_A", "att_C", "x"));
  });

  it("puts uploads under inputs/<upload_id>/<name>", () => {
    expect(inputKey("upl_X", "data.zip")).toBe("inputs/upl_X/data.zip");
  });
});
