// Finding and killing what a gate run's candidates left running outside their process groups:
// every process whose environment carries the run's mark, and nothing else (a longer mark, another
// run's, the mark under another name or inside another value, a process without one). /proc is
// what Linux uses; `ps` printing environments is what runs elsewhere (macOS's `ps -E`; procps's
// `e` here, its local stand-in, and a Linux without /proc), so both are held to the same answers.

import { type ChildProcess, spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { PS, RUN_MARK_VAR, killMarked, markedEnv, markedProcesses, psMarked } from "../../src/gate/escapees.js";

const MARK = "00112233445566aa";
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** A process sleeping for a minute with `vars` added to its environment, and `args` to its command. */
async function sleeper(vars: Record<string, string>, args: readonly string[] = []): Promise<number> {
  const c = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)", ...args], { env: { ...process.env, ...vars }, stdio: "ignore" });
  children.push(c);
  await new Promise((r) => c.once("spawn", r));
  return c.pid!;
}

const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once("exit", r)));

describe("processes carrying a run's mark", () => {
  // The platform's `ps` (procps here: the local stand-in for macOS's `ps -E`) and /proc.
  const listers = [
    ["/proc", markedProcesses],
    [PS.environment.join(" "), psMarked(RUN_MARK_VAR)],
  ] as const;

  for (const [name, list] of listers) {
    it(`${name}: finds exactly the processes whose environment holds the mark`, async () => {
      const marked = [await sleeper({ [RUN_MARK_VAR]: MARK }), await sleeper({ [RUN_MARK_VAR]: MARK })];
      // A longer mark, another run's, the mark under another name or inside another value, none.
      await sleeper({ [RUN_MARK_VAR]: `${MARK}ff` });
      await sleeper({ [RUN_MARK_VAR]: "ffeeddccbbaa9988" });
      await sleeper({ [`X_${RUN_MARK_VAR}`]: MARK });
      await sleeper({ OTHER: `${RUN_MARK_VAR}=${MARK}` });
      await sleeper({});
      // The mark in a command's arguments, even as a line of its own after another process's pid.
      const victim = await sleeper({});
      await sleeper({}, [`${RUN_MARK_VAR}=${MARK}`, `\n${victim} ${RUN_MARK_VAR}=${MARK}`]);
      expect((list(MARK) as number[]).sort()).toEqual(marked.sort());
    });
  }

  it("kills them all, returns once they are dead, says how many, and leaves the rest running", async () => {
    await sleeper({ [RUN_MARK_VAR]: MARK });
    await sleeper({ [RUN_MARK_VAR]: MARK });
    const other = await sleeper({ [RUN_MARK_VAR]: "ffeeddccbbaa9988" });
    expect(killMarked(MARK)).toEqual({ listed: true, killed: 2 });
    expect(markedProcesses(MARK)).toEqual([]);
    await Promise.all(children.filter((c) => c.pid !== other).map(exited));
    expect(children.filter((c) => c.signalCode === "SIGKILL").length).toBe(2);
    expect(markedProcesses("ffeeddccbbaa9988")).toEqual([other]);
    expect(killMarked(MARK)).toEqual({ listed: true, killed: 0 });
  });

  it("finds a process whose environment is long, the mark first in it (ps cuts a long environment short)", async () => {
    const padding = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`PAD${i}`, "x".repeat(1000)]));
    const env = markedEnv({ ...padding, [RUN_MARK_VAR]: "an outer run's mark" }, MARK);
    expect(Object.keys(env)[0]).toBe(RUN_MARK_VAR);
    const c = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { env, stdio: "ignore" });
    children.push(c);
    await new Promise((r) => c.once("spawn", r));
    expect(markedProcesses(MARK)).toEqual([c.pid]);
    expect(psMarked(RUN_MARK_VAR)(MARK)).toEqual([c.pid]);
  });

  it("says why when it cannot list processes, instead of finding none", () => {
    const missing = psMarked(RUN_MARK_VAR, { plain: ["/nonexistent/ps", "-A"], environment: ["/nonexistent/ps", "-A", "e"] });
    const sweep = killMarked(MARK, missing);
    expect(sweep.listed).toBe(false);
    expect(sweep.listed === false && sweep.why).toMatch(/^\/nonexistent\/ps -A failed: /);
  });
});
