// Terminal injection: names from a checkpoint or a server (tensor names, layer prefixes, Hub file
// names, server messages) reach the terminal through one printer that redacts secrets and shows
// every control character as a visible escape. Reproduced with the real binary: ESC sequences,
// CR, LF, C1 controls and bidi overrides in names never reach stdout or stderr raw.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { humanLine } from "../../src/cli/output.js";
import { tableLines } from "../../src/cli/table.js";
import { printable, redact, safeText } from "../../src/reference/safe-text.js";
import { runCli } from "../support/cli.js";
import { runCliAsync } from "../support/cli-async.js";
import { FakeHub, hubEnv } from "../support/hub-server.js";
import { repoFiles } from "../support/hub-served.js";
import { tinyMoe, writeTinyCheckpoint } from "../support/moe.js";
import { tempDir } from "../support/tmp.js";

/** Anything a terminal would act on, other than the newline that ends a line. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
const HOSTILE = "\u001b]0;pwned\u0007\u001b[2J\r\u009b31m\u202eevil";
/** HOSTILE without CR (a URL drops it, and the expert-name pattern stops at it). */
const JUNK = "\u001b]0;pwned\u0007\u001b[2J\u009b31m\u202eevil";

function expectNoRawControls(...texts: string[]): void {
  for (const t of texts) expect(RAW_CONTROL.exec(t)?.[0], JSON.stringify(t.slice(0, 400))).toBeUndefined();
}

describe("the terminal-safe printer", () => {
  it("escapes every C0 and C1 control, DEL, separators and bidi controls, and nothing else", () => {
    for (let c = 0; c < 0x3000; c++) {
      const ch = String.fromCharCode(c);
      const out = printable(ch);
      if (RAW_CONTROL.test(ch) || ch === "\n") expect(out).toBe(`\\u${c.toString(16).padStart(4, "0")}`);
      else expect(out).toBe(ch);
    }
    expect(humanLine(`a${HOSTILE}\nb`)).toBe("a\\u001b]0;pwned\\u0007\\u001b[2J\\u000d\\u009b31m\\u202eevil\\u000ab\n");
  });

  it("is idempotent, so a line made safe twice reads the same", () => {
    const once = safeText(HOSTILE);
    expect(safeText(once)).toBe(once);
  });

  it("redacts tokens by value (HF_TOKEN), by shape (hf_...) and after Bearer, leaving names alone", () => {
    const saved = process.env.HF_TOKEN;
    process.env.HF_TOKEN = "my-very-own-secret-value";
    try {
      expect(redact("x my-very-own-secret-value y")).toBe("x <redacted> y");
      expect(redact(`sent {"authorization":"Bearer hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"}`)).toBe(`sent {"authorization":"Bearer <redacted>"}`);
      expect(redact("token hf_abcdefghijklmnopqrstuvwxyzABCDEFGH here")).toBe("token <redacted> here");
      expect(redact("model.layers.0.hf_proj.weight")).toBe("model.layers.0.hf_proj.weight");
    } finally {
      if (saved === undefined) delete process.env.HF_TOKEN;
      else process.env.HF_TOKEN = saved;
    }
  });

  it("tables escape cells before measuring them, so columns stay aligned", () => {
    const lines = tableLines(
      ["NAME", "N"],
      [
        [`a\u001bbc`, "1"],
        ["abcdefgh", "2"],
      ],
    );
    expect(lines).toEqual(["NAME       N", "a\\u001bbc  1", "abcdefgh   2"]);
  });
});

describe("no raw control reaches the terminal from a hostile checkpoint", () => {
  const prefix = `model.layers.0${JUNK}.mlp`;

  async function hostileCheckpoint(): Promise<string> {
    const dir = join(tempDir(), "in");
    // Three experts of four: the layer is left untouched, with a warning naming it.
    const w = tinyMoe({ prefixes: [prefix, "model.layers.1.mlp"], E: 4, I: 2, H: 3 });
    for (const p of ["gate", "up", "down"]) w.delete(`${prefix}.experts.3.${p}_proj.weight`);
    w.set(`lm_head${HOSTILE}\nnext line`, w.get("model.norm.weight")!);
    await writeTinyCheckpoint(dir, w, { model_type: "qwen3_moe", num_experts: 4, weird: HOSTILE });
    return dir;
  }

  it("inspect: the tensor table, the MoE table and its warnings", async () => {
    const input = await hostileCheckpoint();
    const r = runCli(["inspect", input]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("model.layers.0\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u202eevil.mlp.experts.0.up_proj.weight");
    expect(r.stdout).toContain("lm_head\\u001b]0;pwned\\u0007\\u001b[2J\\u000d\\u009b31m\\u202eevil\\u000anext line");
    expectNoRawControls(r.stdout, r.stderr);
  });

  it("fuse: the plan table and the warning lines", async () => {
    const input = await hostileCheckpoint();
    const r = runCli(["fuse", input, join(input, "..", "out")]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^moe-prefuse: warning: layer model\.layers\.0\\u001b.*left untouched/m);
    expect(r.stdout).toMatch(/model\.layers\.0\\u001b\]0;pwned.*untouched/);
    expectNoRawControls(r.stdout, r.stderr);
  });

  it("an error naming a hostile tensor", async () => {
    const input = await hostileCheckpoint();
    const r = runCli(["fuse", input, join(input, "..", "out"), "--strict"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^moe-prefuse: error: [^\n]+\n$/);
    expectNoRawControls(r.stderr);
  });
});

describe("no raw control reaches the terminal from a hostile Hub", () => {
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await FakeHub.start();
    const files = await repoFiles({ family: "olmoe", experts: 3 });
    files.push({ path: `notes${JUNK}.txt`, data: new TextEncoder().encode("hi"), lfs: false });
    hub.publish("acme/ansi", files);
  });
  afterAll(() => hub.close());

  it("the downloading lines name the server's file names escaped", async () => {
    const env = hubEnv(hub, join(tempDir(), "cache"));
    const r = await runCliAsync(["inspect", "hf://acme/ansi"], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("moe-prefuse: downloading notes\\u001b]0;pwned");
    expectNoRawControls(r.stdout, r.stderr);
  });
});
