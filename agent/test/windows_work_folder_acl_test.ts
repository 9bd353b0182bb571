// The icacls grant that opens an attempt's work folder to the job's logon session.
import { assertEquals, assertThrows } from "./helpers/assert.ts";
import { grantWorkFolder, icaclsGrantArgs } from "../src/os/windows/work_folder_acl.ts";

Deno.test("the grant is modify access inherited by files and subfolders, for a logon SID or an account", () => {
  assertEquals(icaclsGrantArgs("C:\\ProgramData\\LabBridge\\work\\att_1", "*S-1-5-5-0-123456"), [
    "C:\\ProgramData\\LabBridge\\work\\att_1",
    "/grant",
    "*S-1-5-5-0-123456:(OI)(CI)M",
    "/Q",
  ]);
  assertEquals(icaclsGrantArgs("D:\\w", "labbridge-job")[2], "labbridge-job:(OI)(CI)M");
  assertEquals(icaclsGrantArgs("D:\\w", "PC01\\labbridge-job")[2], "PC01\\labbridge-job:(OI)(CI)M");
});

Deno.test("a trustee that could smuggle in another permission or switch is refused", () => {
  for (const bad of ["", "x:(F)", "a /T", "*S-1-5-5:F", "Everyone:(OI)(CI)F"]) assertThrows(() => icaclsGrantArgs("D:\\w", bad), RangeError);
});

Deno.test("a failing icacls is an error carrying its exit code and message", async () => {
  let message = "";
  await grantWorkFolder("D:\\w", "labbridge-job", () => Promise.resolve({ success: false, code: 1332, stderr: "No mapping between account names\r\n" }))
    .catch((e) => message = e.message);
  assertEquals(message, 'icacls could not grant "labbridge-job" access to "D:\\w": exit 1332: No mapping between account names');
});
