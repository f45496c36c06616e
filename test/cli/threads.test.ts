// `--threads N` on `dequant` and `fuse --dequant-fp8`, run as a user runs them (the built binary):
// every thread count writes the same bytes as one thread (tensors large enough that the rows are
// cut among worker threads), the command ends by itself, and a bad count is a one-line usage
// error that writes nothing.

import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

/** An FP8 checkpoint whose expert tensors hold 2^17 elements: two worker tasks each. */
function fp8Checkpoint(): string {
  const input = join(tempDir(), "in");
  const r = runCli(["gen", "qwen3_5_moe_fp8", input, "--experts", "4", "--layers", "1", "--hidden", "512", "--intermediate", "256"]);
  expect(r.status, r.stderr).toBe(0);
  return input;
}

const files = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir).map((f) => [
      f,
      createHash("sha256")
        .update(readFileSync(join(dir, f)))
        .digest("hex"),
    ]),
  );

describe("--threads", () => {
  it("dequant and fuse --dequant-fp8 write the same bytes for 1, 2 and 3 threads, and exit", () => {
    const input = fp8Checkpoint();
    for (const command of [["dequant"], ["fuse", "--dequant-fp8"]]) {
      const outputs = [1, 2, 3].map((threads) => {
        const out = join(tempDir(), "out");
        const r = runCli([command[0]!, input, out, ...command.slice(1), "--threads", String(threads)]);
        expect(r.stderr, `${command.join(" ")} --threads ${threads}`).toBe("");
        expect(r.status).toBe(0);
        return files(out);
      });
      expect(Object.keys(outputs[0]!).length).toBeGreaterThan(1);
      expect(outputs[1], `${command.join(" ")}: 2 threads vs 1`).toEqual(outputs[0]);
      expect(outputs[2], `${command.join(" ")}: 3 threads vs 1`).toEqual(outputs[0]);
    }
  });

  it("refuses a thread count that is not a whole number from 1 to 256, in one line, before touching anything", () => {
    // The count is checked first: the input need not even exist.
    const input = join(tempDir(), "no-such-checkpoint");
    const cases = [
      ...["0", "-1", "1.5", "257", "100000000000", "two", ""].map((bad) => [["dequant"], bad] as const),
      ...["0", "1.5"].map((bad) => [["fuse", "--dequant-fp8"], bad] as const),
    ];
    for (const [command, bad] of cases) {
      const out = join(tempDir(), "out");
      const r = runCli([command[0]!, input, out, ...command.slice(1), `--threads=${bad}`]);
      expect(r.status, `${command[0]} --threads=${bad}`).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`moe-prefuse: error: --threads must be a whole number from 1 to 256, not '${bad}'\n`);
      expect(existsSync(out)).toBe(false);
    }
    const r = runCli(["fuse", input, join(tempDir(), "out"), "--threads", "2"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("moe-prefuse: error: --threads applies to FP8 dequantization: give --dequant-fp8 too\n");
  });
});
