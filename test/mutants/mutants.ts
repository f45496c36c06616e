// The deliberate breaks of the reference and the gate that the suite must catch (`npm run
// mutants`). Each is a realistic bug of a prefuse, an FP8 dequantization, a header reader or the
// gate's compare, written as exact search/replace edits on named source files: an edit whose
// search text is not found exactly once fails the run loudly, so a refactor cannot turn a mutant
// into a silent no-op. A mutant may name the tests that state its rule (`rule`): those run with
// the suite, and the mutant counts as killed only when one of them fails (golden files are
// evidence, not reasons).

export interface Edit {
  /** Path relative to the repository root. */
  readonly file: string;
  readonly search: string;
  readonly replace: string;
}

export interface Mutant {
  readonly name: string;
  readonly bug: string;
  readonly edits: readonly Edit[];
  /** Test files that state the broken rule; one of them must fail. */
  readonly rule?: readonly string[];
}

const PREFUSE = "src/reference/prefuse";
const FP8_DECODE = "test/reference/fp8/decode.property.test.ts";
const LAYER_RULES = "test/reference/prefuse/layer-rules.property.test.ts";

export const MUTANTS: readonly Mutant[] = [
  {
    name: "gate-up-swapped",
    bug: "up rows written before gate rows in gate_up_proj",
    edits: [
      {
        file: `${PREFUSE}/recipes.ts`,
        search: "      gate: seriesOf(gate),\n      up: seriesOf(up),",
        replace: "      gate: seriesOf(up),\n      up: seriesOf(gate),",
      },
    ],
  },
  {
    name: "wrong-concat-axis",
    bug: "gate and up concatenated along the hidden axis (columns) instead of the intermediate axis (rows)",
    edits: [
      {
        file: `${PREFUSE}/produce.ts`,
        search: "slabs.push(await backend.concat(pair, 0, out.subarray(i * eb, (i + 1) * eb)));",
        replace: "slabs.push(await backend.concat(pair, 1, out.subarray(i * eb, (i + 1) * eb)));",
      },
    ],
  },
  {
    name: "chunk-off-by-one",
    bug: "the chunk loop stops one expert early: a last chunk of one expert (E = 16k + 1) is never written",
    edits: [
      { file: `${PREFUSE}/chunk.ts`, search: "for (let first = 0; first < E; first += chunk)", replace: "for (let first = 0; first < E - 1; first += chunk)" },
    ],
  },
  {
    name: "lexicographic-order",
    bug: "experts stacked in the string order of their names (10 before 2)",
    edits: [
      {
        file: `${PREFUSE}/layer-check.ts`,
        search: "const names = Array.from({ length: E }, (_, e) => slots.byKey.get(slotKey(p, kind, e))!.name);",
        replace: "const names = [...slots.byKey.values()].filter((t) => t.projection === p && t.kind === kind).map((t) => t.name).sort();",
      },
    ],
  },
  {
    name: "text-config-ignored",
    bug: "the expert count is only looked for at the top level of config.json",
    edits: [
      {
        file: `${PREFUSE}/expert-count.ts`,
        search: "[...lookup.keys, ...familyKeys].filter((k) => !(lookup.ignored ?? []).includes(k))",
        replace: '[...lookup.keys, ...familyKeys].filter((k) => !(lookup.ignored ?? []).includes(k) && !k.startsWith("text_config."))',
      },
    ],
  },
  {
    name: "partial-fused-with-zeros",
    bug: "a missing expert is not a reason to leave the layer alone: it is stacked as zeros",
    edits: [
      {
        file: `${PREFUSE}/layer-check.ts`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the search text is TypeScript source holding a template literal
        search: '      reasons.push({ code: "MISSING_TENSOR", expert: e, projection: p, kind, message: `expert ${e} has no ${label(p, kind)}` });\n',
        replace: "",
      },
      {
        file: `${PREFUSE}/layer-check.ts`,
        search:
          "const names = Array.from({ length: E }, (_, e) => slots.byKey.get(slotKey(p, kind, e))!.name);\n    return { projection: p, kind, names, spec: specs.get(names[0]!)! };",
        replace:
          'const names = Array.from({ length: E }, (_, e) => slots.byKey.get(slotKey(p, kind, e))?.name ?? "<zeros>");\n    return { projection: p, kind, names, spec: specs.get(names.find((n) => n !== "<zeros>")!)! };',
      },
      {
        file: `${PREFUSE}/prefuse.ts`,
        search: "    tensor: async (name) => get(name),",
        replace: '    tensor: async (name, spec) => (name === "<zeros>" ? { ...spec, data: new Uint8Array(specByteLength(spec)) } : get(name)),',
      },
    ],
  },
  {
    name: "down-transposed",
    bug: "down_proj stacked transposed ([E, I, H] bytes under an [E, H, I] header)",
    edits: [{ file: `${PREFUSE}/recipes.ts`, search: 'op: rows ? "stack" : "stack-transposed",', replace: 'op: "stack-transposed",' }],
  },
  {
    name: "dtype-widened",
    bug: "fused BF16 tensors written as F32 (upcast during the stack)",
    edits: [
      {
        file: `${PREFUSE}/prefuse.ts`,
        search: "    out.set(o.name, { ...spec, data });",
        replace:
          '    out.set(o.name, o.dtype === "BF16" ? { dtype: "F32", shape: o.shape, data: new Uint8Array(Uint32Array.from(new Uint16Array(data.buffer, data.byteOffset, data.length / 2), (x) => x << 16).buffer) } : { ...spec, data });',
      },
    ],
  },
  {
    name: "layer-skipped",
    bug: "the scan skips layers outside the language model (the MTP layer stays per expert)",
    edits: [
      { file: `${PREFUSE}/scan.ts`, search: String.raw`/^(?<prefix>.+)\.experts\.(?<id>`, replace: String.raw`/^(?<prefix>(?!mtp\.).+)\.experts\.(?<id>` },
    ],
  },
  {
    name: "wrong-precedence",
    bug: "num_experts read before num_local_experts",
    edits: [
      {
        file: `${PREFUSE}/expert-count.ts`,
        search: '  "num_local_experts",\n  "text_config.num_local_experts",\n  "num_experts",\n  "text_config.num_experts",\n',
        replace: '  "num_experts",\n  "text_config.num_experts",\n  "num_local_experts",\n  "text_config.num_local_experts",\n',
      },
    ],
  },
  {
    name: "fp8-partial-block-misaligned",
    bug: "the FP8 block derived from the scale grid (rows // grid rows, as transformers does): 130 rows over 2 blocks become blocks of 65",
    edits: [
      {
        file: "src/reference/fp8/dequant.ts",
        search: "{ dtype: entry.dtype, rows, cols, block: entry.block, scales:",
        replace:
          "{ dtype: entry.dtype, rows, cols, block: [Math.floor(rows / Math.ceil(rows / entry.block[0])), Math.floor(cols / Math.ceil(cols / entry.block[1]))] as const, scales:",
      },
    ],
  },
  {
    name: "switch-halves-swapped",
    bug: "the switch_mlp conversion of a fused layer takes up from the first half and gate from the second",
    edits: [
      {
        file: `${PREFUSE}/recipes.ts`,
        search: 'out("gate", [E, I, H], { op: rows ? "split-rows" : "split-columns", input: gateUp, half: 0 }),',
        replace: 'out("gate", [E, I, H], { op: rows ? "split-rows" : "split-columns", input: gateUp, half: 1 }),',
      },
    ],
  },
  {
    name: "extra-expert-ignored",
    bug: "an expert id >= E is skipped instead of blocking the layer (the layer is fused without it)",
    edits: [
      {
        file: `${PREFUSE}/layer-check.ts`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the search text is TypeScript source holding a template literal
        search: '      reasons.push({ ...base, code: "UNEXPECTED_EXPERT", message: `${t.name}: expert id ${t.expert} is not below the expert count ${E}` });\n',
        replace: "",
      },
    ],
  },
  {
    name: "bit-exact-as-ulp-0",
    bug: "the gate's default (no tolerance) compare counts ulps with a limit of 0: -0 equals +0 and NaN payloads are ignored",
    edits: [
      {
        file: "src/gate/compare.ts",
        search: "      differs = false;\n      for (let k = i * width; k < (i + 1) * width; k++) if (e.data[k] !== a.data[k]) differs = true;",
        replace:
          "      differs = isUlpDType(e.dtype) && ulpDistance(e.dtype, elementBits(e.dtype, e.data, i), elementBits(e.dtype, a.data, i)) > 0;\n      if (!isUlpDType(e.dtype)) for (let k = i * width; k < (i + 1) * width; k++) if (e.data[k] !== a.data[k]) differs = true;",
      },
    ],
    rule: ["test/gate/compare.test.ts"],
  },
  {
    name: "strict-missing-only",
    bug: "strict refuses only layers with a missing tensor: a stray dtype, a wrong shape, an id >= E or a duplicate id fuse the rest and leave the layer per expert",
    edits: [
      {
        file: `${PREFUSE}/fuse-checkpoint.ts`,
        search: 'const layer = plan.layers.find((l) => l.state === "untouched");',
        replace: 'const layer = plan.layers.find((l) => l.state === "untouched" && l.reasons.some((r) => r.code === "MISSING_TENSOR"));',
      },
    ],
    rule: ["test/reference/prefuse/strict.test.ts", "test/cli/fuse-strict.test.ts"],
  },
  {
    name: "dtype-by-width",
    bug: "the one-dtype rule compares element widths: an F16 expert in a BF16 layer is stacked with the others",
    edits: [
      {
        file: `${PREFUSE}/layer-check.ts`,
        search: 'import type { DType } from "../dtypes.js";',
        replace: 'import { type DType, dtypeBits } from "../dtypes.js";',
      },
      {
        file: `${PREFUSE}/layer-check.ts`,
        search: "if (dtype !== undefined && spec.dtype !== dtype) {",
        replace: "if (dtype !== undefined && dtypeBits(spec.dtype) !== dtypeBits(dtype)) {",
      },
    ],
    rule: [LAYER_RULES, "test/reference/prefuse/strict.test.ts"],
  },
  {
    name: "biases-not-stacked",
    bug: "the switch_mlp target stacks .scales but leaves .biases per expert",
    edits: [
      {
        file: `${PREFUSE}/layer-check.ts`,
        search: 'export const STACKED_COMPANIONS: readonly string[] = ["scales", "biases"];',
        replace: 'export const STACKED_COMPANIONS: readonly string[] = ["scales"];',
      },
    ],
    rule: [LAYER_RULES],
  },
  {
    name: "overlapping-offsets-accepted",
    bug: "the header reader refuses gaps between tensors but accepts a tensor starting inside the previous one",
    edits: [{ file: "src/reference/safetensors/header.ts", search: "    if (t.begin !== cursor) {", replace: "    if (t.begin > cursor) {" }],
    rule: ["test/reference/safetensors/offsets.property.test.ts"],
  },
  {
    name: "fp8-ties-half-up",
    bug: "float32 -> bf16 rounding (every FP8 kernel path's, through the block tables and the direct path) ties away from zero instead of to even",
    edits: [{ file: "src/reference/dtypes.ts", search: "((bits >>> 0) + 0x7fff + ((bits >>> 16) & 1)) >>> 16", replace: "((bits >>> 0) + 0x8000) >>> 16" }],
    rule: [FP8_DECODE],
  },
  {
    name: "e4m3-0xff-not-nan",
    bug: "E4M3FN decodes 0x7F as NaN but 0xFF (negative NaN) as -480",
    edits: [{ file: "src/reference/dtypes.ts", search: "  if ((c & 0x7f) === 0x7f) return NaN;", replace: "  if (c === 0x7f) return NaN;" }],
    rule: [FP8_DECODE],
  },
  {
    name: "fp8-partial-block-grid",
    bug: "rows of a trailing partial block take the scale of the last full block row (a grid of full blocks only)",
    edits: [
      {
        file: "src/reference/fp8/kernel.ts",
        search: "      const br = Math.floor(i / bm);",
        replace: "      const br = Math.min(Math.floor(i / bm), Math.max(0, Math.floor(this.weight.rows / bm) - 1));",
      },
      // The same in the WebAssembly kernel, the default path: the bug is in whichever kernel runs.
      {
        file: "src/reference/fp8/wasm-kernel.ts",
        search: "      const br = Math.floor(row / this.bm);",
        replace: "      const br = Math.min(Math.floor(row / this.bm), Math.max(0, Math.floor(rows / this.bm) - 1));",
      },
    ],
    rule: [FP8_DECODE],
  },
  {
    name: "fp8-simd-scale-range-too-wide",
    bug: "the WebAssembly kernel trusts its SIMD formula without the byte check for block scales down to 2^-122, where the smallest products are subnormal",
    edits: [
      { file: "src/reference/fp8/wasm-kernel.ts", search: "export const SIMD_SCALE_MIN = 2 ** -120;", replace: "export const SIMD_SCALE_MIN = 2 ** -122;" },
    ],
    rule: ["test/reference/fp8/wasm-kernel.test.ts"],
  },
  {
    name: "bf16-scales-big-endian",
    bug: "BF16 scale tensors read high byte first (safetensors data is little-endian)",
    edits: [
      {
        file: "src/reference/fp8/formats.ts",
        search: "for (let i = 0; i < n; i++) bits[i] = (data[2 * i]! | (data[2 * i + 1]! << 8)) << 16;",
        replace: "for (let i = 0; i < n; i++) bits[i] = ((data[2 * i]! << 8) | data[2 * i + 1]!) << 16;",
      },
    ],
    rule: [FP8_DECODE],
  },
  {
    name: "mixtral-w1-w3-swapped",
    bug: "the mixtral layout reads w3 as gate and w1 as up",
    edits: [
      {
        file: `${PREFUSE}/families.ts`,
        search: 'const W1_W3_W2 = { gate: "w1", up: "w3", down: "w2" } as const;',
        replace: 'const W1_W3_W2 = { gate: "w3", up: "w1", down: "w2" } as const;',
      },
    ],
    // The scan, not the layout, says which projection a name is (scan.ts PROJECTION_NAMES), so
    // no fused byte changes: the layouts' names for a missing tensor and the family table do.
    // The test that states the rule holds each layout to the scan, and Mixtral's to mlx-lm's.
    rule: ["test/reference/prefuse/layouts-scan.test.ts"],
  },
  {
    name: "mixtral-scan-w1-w3-swapped",
    bug: "the scan reads Mixtral's w1 as the up projection and w3 as the gate",
    edits: [{ file: `${PREFUSE}/scan.ts`, search: '  w1: "gate",\n  w3: "up",', replace: '  w1: "up",\n  w3: "gate",' }],
    rule: ["test/reference/prefuse/layouts-scan.test.ts"],
  },
  {
    name: "columns-scratch-swapped",
    bug: "the columns layouts transpose up into the gate's scratch buffer, overwriting the transposed gate before the concat",
    edits: [
      {
        file: `${PREFUSE}/produce.ts`,
        search: 'const ut = await backend.transpose(u, T2, scratch.get("up^T", ub));',
        replace: 'const ut = await backend.transpose(u, T2, scratch.get("gate^T", ub));',
      },
    ],
    rule: [LAYER_RULES],
  },
];
