// Turning a checkpoint argument into a local path. Today a path is a path; `hf://` references
// are resolved here once the Hub fetcher is in place, so that every command accepts them.

export async function resolveCheckpointArg(arg: string): Promise<string> {
  return arg;
}
