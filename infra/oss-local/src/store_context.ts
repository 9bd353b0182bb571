import type { DiskLayout } from "./disk_layout.ts";
import type { MultipartUploads } from "./multipart_uploads.ts";
import type { ObjectFiles } from "./object_files.ts";

/** Everything a request handler of one store needs. */
export interface StoreContext {
  bucket: string;
  /** Base URL of the store, for the Location of completed uploads. */
  url: string;
  layout: DiskLayout;
  objects: ObjectFiles;
  uploads: MultipartUploads;
  clock: () => number;
}
