// Listing a folder the agent may find missing (a work root before the first job, an output
// folder a job removed): a missing folder has no entries, any other error is thrown as Deno
// raised it.

/** The entries of folder `path`, or null when there is no such folder. */
export async function dirEntriesOrNull(path: string): Promise<Deno.DirEntry[] | null> {
  try {
    return await Array.fromAsync(Deno.readDir(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
