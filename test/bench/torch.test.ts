// Finding and reading the torch anchor: discovery order and reasons, and parsing of its output
// and of the peak RSS line of `/usr/bin/time -v` (or the getrusage wrapper, which prints the same).

import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { QWEN35_MOE } from "../../src/bench/grid.js";
import { discoverTorch, parseTorchRun } from "../../src/bench/torch.js";
import { tempDir } from "../support/tmp.js";

const RSS = "\tMaximum resident set size (kbytes): 5468768\n";

describe("parseTorchRun", () => {
  it("reads the fuse time and the peak RSS", () => {
    const r = parseTorchRun(QWEN35_MOE, 256, "chunked16", 0, "chunked16 E=256 I=512 H=2048 fuse_s=4.905 out_bytes=1610612736\n", `\tElapsed: 0:19\n${RSS}`);
    expect(r).toEqual({ shape: QWEN35_MOE, experts: 256, strategy: "chunked16", fuseSeconds: 4.905, maxRss: 5468768 * 1024 });
  });

  it("takes the baseline from a run that stopped at the anchor's final assert", () => {
    const stderr = `Traceback (most recent call last):\nNameError: name 'gate_up' is not defined\nCommand exited with non-zero status 1\n${RSS}`;
    expect(parseTorchRun(QWEN35_MOE, 256, "baseline", 1, "", stderr)).toEqual({
      shape: QWEN35_MOE,
      experts: 256,
      strategy: "baseline",
      maxRss: 5468768 * 1024,
    });
    expect(parseTorchRun(QWEN35_MOE, 256, "baseline", 1, "", `MemoryError\n${RSS}`).error).toMatch(/did not stop at the anchor's final assert/);
  });

  it("reports a failed run with its error line", () => {
    const r = parseTorchRun(QWEN35_MOE, 256, "prealloc", 1, "", `Traceback\nRuntimeError: out of memory\n${RSS}`);
    expect(r.error).toBe("exit 1: RuntimeError: out of memory");
    expect(r.fuseSeconds).toBeUndefined();
  });
});

describe("discoverTorch", () => {
  it("says when the anchor cannot be found", () => {
    const d = discoverTorch({ anchor: join(tempDir(), "missing.py"), searchRoots: [] });
    expect(d).toEqual({ unavailable: { status: "no anchor", reason: expect.stringMatching(/torch_prefuse.py not found/), runs: [] } });
  });

  it("finds the anchor under shared/anchors of an ancestor and takes the explicit python first", () => {
    const root = tempDir();
    const project = join(root, "wt", "project");
    const anchors = join(root, "shared", "anchors");
    for (const d of [project, anchors]) mkdirSync(d, { recursive: true });
    writeFileSync(join(anchors, "torch_prefuse.py"), "# anchor\n");
    const python = join(root, "fake-python");
    writeFileSync(python, "#!/bin/sh\necho 9.9.9\n");
    chmodSync(python, 0o755);
    const d = discoverTorch({ python, searchRoots: [project] });
    expect(d).toEqual({ setup: { python, version: "9.9.9", anchor: join(anchors, "torch_prefuse.py"), rssTool: expect.any(String) } });
  });

  it("records why each python was refused", () => {
    const root = tempDir();
    const anchor = join(root, "torch_prefuse.py");
    writeFileSync(anchor, "# anchor\n");
    const python = join(root, "no-torch");
    writeFileSync(python, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
    chmodSync(python, 0o755);
    const d = discoverTorch({ python, anchor, searchRoots: [root] });
    if ("unavailable" in d) {
      expect(d.unavailable.status).toBe("not installed");
      expect(d.unavailable.reason).toContain(`${python}: ModuleNotFoundError: No module named 'torch'`);
      expect(d.unavailable.reason).toContain(`${join(root, ".venv", "bin", "python")}: not found`);
    } else {
      // This machine's python3 has torch: it is the fallback after the refused candidates.
      expect(d.setup.python).toBe("python3");
    }
  });
});
