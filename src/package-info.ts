// The package's own name and version, read from package.json wherever the code runs from
// (the TypeScript sources under tsx, or the compiled copy under dist/).

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findPackageJson(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "moe-prefuse") return { name: pkg.name, version: pkg.version ?? "0.0.0" };
    }
    const parent = dirname(dir);
    if (parent === dir) return { name: "moe-prefuse", version: "0.0.0" };
    dir = parent;
  }
}

export const PACKAGE = findPackageJson();

/** The package's root directory (where package.json, ci/ and corpus/golden live). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
