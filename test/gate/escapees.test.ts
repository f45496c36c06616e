// Finding and killing what a gate run's candidates left running outside their process groups:
// every process whose environment carries the run's mark, and nothing else (a longer mark, another
// run's, a process without one). /proc is what Linux uses; `ps` (macOS's -E, here procps's `e`,
// its local stand-in) is what runs elsewhere, so both listers are held to the same answers.

import { type ChildProcess, spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { RUN_MARK_VAR, killMarked, markedProcesses, psMarked } from "../../src/gate/escapees.js";

const MARK = "00112233445566aa";
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** A process sleeping for a minute with `mark` (or none) in its environment. */
async function sleeper(mark: string | undefined): Promise<number> {
  const env = { ...process.env };
  if (mark !== undefined) env[RUN_MARK_VAR] = mark;
  const c = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { env, stdio: "ignore" });
  children.push(c);
  await new Promise((r) => c.once("spawn", r));
  return c.pid!;
}

const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once("exit", r)));

describe("processes carrying a run's mark", () => {
  const listers = [
    ["/proc", markedProcesses],
    ["ps (procps `e`)", psMarked(["ps", "-A", "-ww", "-o", "pid=,command=", "e"])],
  ] as const;

  for (const [name, list] of listers) {
    it(`${name}: finds exactly the processes whose environment holds the mark`, async () => {
      const marked = [await sleeper(MARK), await sleeper(MARK)];
      await sleeper(`${MARK}ff`);
      await sleeper("ffeeddccbbaa9988");
      await sleeper(undefined);
      expect(list(MARK).sort()).toEqual(marked.sort());
    });
  }

  it("kills them all and says how many, and leaves the rest running", async () => {
    await sleeper(MARK);
    await sleeper(MARK);
    const other = await sleeper("ffeeddccbbaa9988");
    expect(killMarked(MARK)).toBe(2);
    await Promise.all(children.filter((c) => c.pid !== other).map(exited));
    expect(children.filter((c) => c.signalCode === "SIGKILL").length).toBe(2);
    expect(markedProcesses(MARK)).toEqual([]);
    expect(markedProcesses("ffeeddccbbaa9988")).toEqual([other]);
    expect(killMarked(MARK)).toBe(0);
  });
});
