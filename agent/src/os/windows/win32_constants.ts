// Win32 constants the agent uses, with the header each comes from. Values are from the
// Windows SDK headers (winnt.h, winbase.h, processthreadsapi.h, fileapi.h, winerror.h).

// winnt.h: job object limit flags and information classes (jobapi2.h).
export const JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x0000_0400;
export const JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x0000_2000;
export const JOB_OBJECT_LIMIT_BREAKAWAY_OK = 0x0000_0800;
export const JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK = 0x0000_1000;
export const JobObjectBasicAccountingInformation = 1;
export const JobObjectBasicProcessIdList = 3;
export const JobObjectExtendedLimitInformation = 9;

// winnt.h: access rights.
export const JOB_OBJECT_QUERY = 0x0004;
export const JOB_OBJECT_TERMINATE = 0x0008;
export const PROCESS_TERMINATE = 0x0001;
export const PROCESS_SET_QUOTA = 0x0100;
export const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
export const SYNCHRONIZE = 0x0010_0000;
export const GENERIC_READ = 0x8000_0000;
export const GENERIC_WRITE = 0x4000_0000;

// winbase.h: process creation flags and STARTUPINFO flags.
export const CREATE_SUSPENDED = 0x0000_0004;
export const CREATE_NEW_PROCESS_GROUP = 0x0000_0200;
export const CREATE_UNICODE_ENVIRONMENT = 0x0000_0400;
export const CREATE_NO_WINDOW = 0x0800_0000;
export const EXTENDED_STARTUPINFO_PRESENT = 0x0008_0000;
export const STARTF_USESTDHANDLES = 0x0000_0100;
/** ProcThreadAttributeValue(ProcThreadAttributeHandleList = 2, FALSE, TRUE, FALSE). */
export const PROC_THREAD_ATTRIBUTE_HANDLE_LIST = 0x0002_0002n;

// fileapi.h / winnt.h: CreateFileW.
export const FILE_SHARE_READ = 0x1;
export const FILE_SHARE_WRITE = 0x2;
export const FILE_SHARE_DELETE = 0x4;
export const CREATE_ALWAYS = 2;
export const OPEN_EXISTING = 3;
export const FILE_ATTRIBUTE_NORMAL = 0x80;

// handleapi.h.
/** INVALID_HANDLE_VALUE ((HANDLE)-1) as the unsigned pointer-sized value FFI returns. */
export const INVALID_HANDLE_VALUE = 0xffff_ffff_ffff_ffffn;

// minwinbase.h: LocalAlloc.
export const LMEM_FIXED = 0x0000;
export const LMEM_ZEROINIT = 0x0040;

// synchapi.h / winbase.h: waits.
export const INFINITE = 0xffff_ffff;
export const WAIT_OBJECT_0 = 0x0000_0000;
export const WAIT_TIMEOUT = 0x0000_0102;
export const WAIT_FAILED = 0xffff_ffff;
/** ResumeThread's failure value ((DWORD)-1). */
export const RESUME_FAILED = 0xffff_ffff;

// winbase.h: LogonUserW.
export const LOGON32_LOGON_BATCH = 4;
export const LOGON32_PROVIDER_DEFAULT = 0;

// winerror.h.
export const ERROR_FILE_NOT_FOUND = 2;
export const ERROR_ACCESS_DENIED = 5;
