// The API with oss-local as its object store (checking real OSS signatures), uploads cut into
// parts of the store's 100 KiB minimum so multipart runs on small files, and a temp folder for
// the test's files and the store's data: the setup of the upload and `lb` tests.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApi, type RunningApi } from "@labbridge/api";
import { DEV_STORAGE } from "@labbridge/config";
import { startOssLocal, type OssLocal } from "@labbridge/oss-local";
import { MIN_PART_BYTES } from "@labbridge/protocol";
import { createTestEnv, type TestEnv } from "./test_env.ts";

/** A running API on oss-local, and the folder both live in. */
export interface ApiOnOssLocal {
  /** Temp folder: the store's data under store/, the test's files anywhere else. */
  dir: string;
  store: OssLocal;
  env: TestEnv;
  api: RunningApi;
  /** The API's base URL, http://127.0.0.1:port. */
  base: string;
  /** Stops the API and the store and removes the folder and the test's keys and database. */
  close(): Promise<void>;
}

/** Starts oss-local and an API on it; `name` tells the temp folder and the test environment apart. */
export async function startApiOnOssLocal(name: string, partBytes = MIN_PART_BYTES): Promise<ApiOnOssLocal> {
  const dir = await mkdtemp(join(tmpdir(), `lb-${name}-`));
  const store = await startOssLocal({ port: 0, dataDir: join(dir, "store"), ...DEV_STORAGE });
  const env = await createTestEnv({ LB_OSS_ENDPOINT: store.url, LB_UPLOAD_PART_BYTES: String(partBytes) }, `lb${name}`);
  const api = await startApi(env.config);
  return {
    dir, store, env, api, base: `http://127.0.0.1:${api.port}`,
    async close() {
      await api.close();
      await env.cleanup();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
