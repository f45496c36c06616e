// The deliberate breaks of the reference that the suite must catch (`npm run mutants`). Each is
// a realistic bug of a prefuse or an FP8 dequantization, written as exact search/replace edits on
// named source files: an edit whose search text is not found exactly once fails the run loudly,
// so a refactor cannot turn a mutant into a silent no-op.

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
}

const PREFUSE = "src/reference/prefuse";

export const MUTANTS: readonly Mutant[] = [
  {
    name: "gate-up-swapped",
    bug: "up rows written before gate rows in gate_up_proj",
    edits: [{ file: `${PREFUSE}/recipes.ts`, search: "      gate: seriesOf(gate),\n      up: seriesOf(up),", replace: "      gate: seriesOf(up),\n      up: seriesOf(gate)," }],
  },
  {
    name: "wrong-concat-axis",
    bug: "gate and up concatenated along the hidden axis (columns) instead of the intermediate axis (rows)",
    edits: [{ file: `${PREFUSE}/produce.ts`, search: "slabs.push(await backend.concat(pair, 0, out.subarray(i * eb, (i + 1) * eb)));", replace: "slabs.push(await backend.concat(pair, 1, out.subarray(i * eb, (i + 1) * eb)));" }],
  },
  {
    name: "chunk-off-by-one",
    bug: "the chunk loop stops one expert early: a last chunk of one expert (E = 16k + 1) is never written",
    edits: [{ file: `${PREFUSE}/chunk.ts`, search: "for (let first = 0; first < E; first += chunk)", replace: "for (let first = 0; first < E - 1; first += chunk)" }],
  },
  {
    name: "lexicographic-order",
    bug: "experts stacked in the string order of their names (10 before 2)",
    edits: [
      {
        file: `${PREFUSE}/layer-check.ts`,
        search: "const names = Array.from({ length: E }, (_, e) => slots.get(slotKey(p, kind, e))!.name);",
        replace: "const names = [...slots.values()].filter((t) => t.projection === p && t.kind === kind).map((t) => t.name).sort();",
      },
    ],
  },
  {
    name: "text-config-ignored",
    bug: "the expert count is only looked for at the top level of config.json",
    edits: [{ file: `${PREFUSE}/expert-count.ts`, search: "for (const key of EXPERT_COUNT_KEYS) {", replace: 'for (const key of EXPERT_COUNT_KEYS.filter((k) => !k.startsWith("text_config."))) {' }],
  },
  {
    name: "partial-fused-with-zeros",
    bug: "a missing expert is not a reason to leave the layer alone: it is stacked as zeros",
    edits: [
      {
        file: `${PREFUSE}/layer-check.ts`,
        search: "        reasons.push({ code: \"MISSING_TENSOR\", expert: e, projection: p, kind, message: `expert ${e} has no ${label(p, kind)}` });\n",
        replace: "",
      },
      {
        file: `${PREFUSE}/layer-check.ts`,
        search: "const names = Array.from({ length: E }, (_, e) => slots.get(slotKey(p, kind, e))!.name);\n    return { projection: p, kind, names, spec: specs.get(names[0]!)! };",
        replace: 'const names = Array.from({ length: E }, (_, e) => slots.get(slotKey(p, kind, e))?.name ?? "<zeros>");\n    return { projection: p, kind, names, spec: specs.get(names.find((n) => n !== "<zeros>")!)! };',
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
    edits: [{ file: `${PREFUSE}/scan.ts`, search: String.raw`^(?<prefix>.+)\\.(?:experts`, replace: String.raw`^(?<prefix>(?!mtp\\.).+)\\.(?:experts` }],
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
        replace: "{ dtype: entry.dtype, rows, cols, block: [Math.floor(rows / Math.ceil(rows / entry.block[0])), Math.floor(cols / Math.ceil(cols / entry.block[1]))] as const, scales:",
      },
    ],
  },
  {
    name: "switch-halves-swapped",
    bug: "the switch_mlp conversion of a fused layer takes up from the first half and gate from the second",
    edits: [{ file: `${PREFUSE}/recipes.ts`, search: 'out("gate", [E, I, H], { op: rows ? "split-rows" : "split-columns", input: gateUp, half: 0 }),', replace: 'out("gate", [E, I, H], { op: rows ? "split-rows" : "split-columns", input: gateUp, half: 1 }),' }],
  },
  {
    name: "extra-expert-ignored",
    bug: "an expert id >= E is skipped instead of blocking the layer (the layer is fused without it)",
    edits: [
      {
        file: `${PREFUSE}/layer-check.ts`,
        search: "      reasons.push({ ...base, code: \"UNEXPECTED_EXPERT\", message: `${t.name}: expert id ${t.expert} is not below the expert count ${E}` });\n",
        replace: "",
      },
    ],
  },
];
