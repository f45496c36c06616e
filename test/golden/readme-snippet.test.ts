// The Python snippet of corpus/golden/README.md, run as written (python3, no moe-prefuse): a port
// of oQ's function, written here from the stage's contract, passes every y_ and n_ case of the
// prefuse stage and differs on the i_ cases beyond oQ's function (the contract leaves them open); the identity
// function fails every y_ case. This holds the README, the corpus labels and the contract to each other.

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/cli.js";
import { tempDir } from "../support/tmp.js";

const README = readFileSync(join(ROOT, "corpus", "golden", "README.md"), "utf8");
const SNIPPET = /```python\n([\s\S]*?)```/.exec(README)![1]!;

const CANDIDATES = String.raw`
import re, sys

PER_EXPERT = re.compile(r"^(.+)\.experts\.(\d+)\.(gate|up|down)_proj\.weight$")

def oq_prefuse(weights, config):
    text = config.get("text_config") or {}
    E = next((v for v in (config.get("num_local_experts"), text.get("num_local_experts"), config.get("num_experts"), text.get("num_experts")) if v is not None), None)
    if not E:
        return weights
    layers = {}
    for name in weights:
        m = PER_EXPERT.match(name)
        if m:
            layers.setdefault(m[1], {})[(int(m[2]), m[3])] = name
    out = dict(weights)
    for prefix, found in layers.items():
        if prefix + ".experts.gate_up_proj" in weights or prefix + ".experts.down_proj" in weights:
            continue
        if set(found) != {(e, p) for e in range(E) for p in ("gate", "up", "down")}:
            continue
        dtypes = {weights[n][0] for n in found.values()}
        I, H = weights[found[(0, "gate")]][1]
        if len(dtypes) != 1 or any(weights[n][1] != ((H, I) if p == "down" else (I, H)) for (e, p), n in found.items()):
            continue
        dtype = dtypes.pop()
        gate_up = b"".join(weights[found[(e, "gate")]][2] + weights[found[(e, "up")]][2] for e in range(E))
        down = b"".join(weights[found[(e, "down")]][2] for e in range(E))
        for n in found.values():
            del out[n]
        out[prefix + ".experts.gate_up_proj"] = (dtype, (E, 2 * I, H), gate_up)
        out[prefix + ".experts.down_proj"] = (dtype, (E, H, I), down)
    return out

candidate = {"oq": oq_prefuse, "identity": lambda w, c: w}[sys.argv[2]]
failed = run_stage(sys.argv[1], "prefuse", candidate)
print(f"failed {failed}")
`;

function run(candidate: string): string[] {
  const script = join(tempDir(), "consume.py");
  writeFileSync(script, `${SNIPPET}\n${CANDIDATES}`);
  return execFileSync("python3", [script, join(ROOT, "corpus", "golden"), candidate], { encoding: "utf8" })
    .trimEnd()
    .split("\n");
}

const points = (id: string): string[] => JSON.parse(readFileSync(join(ROOT, "corpus", "golden", id, "case.json"), "utf8")).points;
const prefuseCases = (JSON.parse(readFileSync(join(ROOT, "corpus", "golden", "index.json"), "utf8")).cases as string[]).filter((id) =>
  /^[yni]_prefuse-/.test(id),
);

describe("corpus/golden/README.md's Python snippet", () => {
  it("a port of oQ's function passes every y_ and n_ prefuse case the contract settles; cases of its other readings are reported, not failed", () => {
    const lines = run("oq");
    expect(lines.at(-1)).toBe("failed 0");
    const verdicts = new Map(lines.slice(0, -1).map((l) => [l.slice(l.lastIndexOf(" ") + 1), l.slice(0, l.lastIndexOf(" ")).trim()]));
    expect([...verdicts.keys()]).toEqual(prefuseCases);
    for (const id of prefuseCases.filter((c) => points(c).length === 0 && !c.startsWith("i_"))) expect(verdicts.get(id), id).toBe("ok");
    // Beyond oQ's function (another expert form, moe_num_experts, sub-model counts) it is reported, never failed.
    for (const id of prefuseCases.filter((c) => c.startsWith("i_"))) expect(["ok", "differs (open: reported only)"], id).toContain(verdicts.get(id));
    expect(verdicts.get("i_prefuse-ernie4_5_moe")).toBe("differs (open: reported only)");
    // The port reads oQ's four keys only, oQ's names only, and a first-present count (0 stops it).
    for (const [id, point] of [
      ["y_prefuse-deepseek_v3-n_routed_experts", "n-routed-experts"],
      ["y_prefuse-mixtral", "family-layouts"],
      ["y_prefuse-qwen3_vl_moe-per-expert", "family-layouts"],
      ["n_prefuse-count-zero", "count-zero"],
    ])
      expect(verdicts.get(id!), id).toBe(`differs (reading: ${point})`);
  });

  it("the identity fails every y_ case the contract settles, passes the n_ ones that leave the input as it is, and is a reading elsewhere", () => {
    const lines = run("identity");
    const y = prefuseCases.filter((id) => id.startsWith("y_") && points(id).length === 0);
    expect(lines.at(-1)).toBe(`failed ${y.length}`);
    for (const id of y) expect(lines).toContain(`FAIL ${id}`);
    for (const id of prefuseCases.filter((c) => c.startsWith("n_") && c !== "n_prefuse-count-zero")) expect(lines).toContain(`ok   ${id}`);
    for (const id of prefuseCases.filter((c) => points(c).length > 0 && c.startsWith("y_")))
      expect(lines).toContain(`differs (reading: ${points(id).join(", ")}) ${id}`);
  });
});
