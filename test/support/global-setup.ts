// Before the suite: builds dist/ once, so tests that run the real `moe-prefuse` binary in a child
// process test what users install, not a stale build; and puts the python3 interpreter first on
// the tests' PATH when a version manager's shim stands before it.

import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A shim (pyenv's `python3` is a shell script running `pyenv exec`) costs each of the suite's
 * Python runs (the FP8 oracle, the README snippet, bench's torch probe) about a quarter of a CPU
 * second. The interpreter it runs is the one a child would get: its directory goes first on the
 * PATH the test workers (and their children) inherit, as `pyenv exec` itself does.
 */
function pythonFirst(root: string): void {
  const path = process.env.PATH ?? "";
  const first = path.split(delimiter).find((d) => d !== "" && existsSync(join(d, "python3")));
  if (first === undefined) return; // the tests that need Python say so
  const exe = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { cwd: root, encoding: "utf8" }).trim();
  if (dirname(exe) !== first) process.env.PATH = `${dirname(exe)}${delimiter}${path}`;
}

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
  pythonFirst(root);
}
