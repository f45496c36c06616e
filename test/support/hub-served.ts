// Generated checkpoints as the files of a Hub repository: config.json and README.md as regular
// git files, safetensors as LFS files, exactly as writeGeneratedCheckpoint lays them out.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { writeGeneratedCheckpoint } from "../../src/fixtures-gen/generate.js";
import type { FixtureSpec } from "../../src/fixtures-gen/spec.js";
import type { ServedFile } from "./hub-server.js";
import { tempDir } from "./tmp.js";

export async function repoFiles(spec: FixtureSpec): Promise<ServedFile[]> {
  const dir = join(tempDir(), "repo");
  await writeGeneratedCheckpoint(dir, spec);
  const files: ServedFile[] = readdirSync(dir).map((name) => ({ path: name, data: readFileSync(join(dir, name)), lfs: name.endsWith(".safetensors") }));
  files.push({ path: "README.md", data: new TextEncoder().encode(`# ${spec.family} (generated)\n`), lfs: false });
  return files;
}
