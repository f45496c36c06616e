// `moe-prefuse gen <family> <out>`: writes a deterministic synthetic checkpoint of a model
// family (see src/fixtures-gen), and `gen --list`: the families and variants it knows.

import type { Command } from "commander";
import { UsageError } from "../../reference/errors.js";
import { optionalWholeNumber, wholeNumberList } from "../options.js";
import { formatBytes } from "../../reference/size.js";
import { FAMILY_NAMES, isFamilyName, listFamilies } from "../../fixtures-gen/families.js";
import { isFloatDType } from "../../fixtures-gen/float-codec.js";
import { writeGeneratedCheckpoint } from "../../fixtures-gen/generate.js";
import type { FixtureSpec, Fp8Options } from "../../fixtures-gen/spec.js";
import { type Variant, listVariants, parseVariant } from "../../fixtures-gen/variants.js";
import { say } from "../output.js";
import { tableLines } from "../table.js";

export interface GenOptions {
  list?: boolean;
  json?: boolean;
  seed?: string;
  experts?: string;
  layers?: string;
  hidden?: string;
  intermediate?: string;
  vocab?: string;
  mtpLayers?: string;
  mlpOnlyLayers?: string;
  dtype?: string;
  variant: string[];
  fp8?: boolean;
  fp8Block?: string;
  fp8ScaleDtype?: string;
  fp8ScaleSuffix?: string;
  shards?: string;
}

function fp8Options(o: GenOptions): boolean | Fp8Options | undefined {
  const set = o.fp8Block !== undefined || o.fp8ScaleDtype !== undefined || o.fp8ScaleSuffix !== undefined;
  if (!o.fp8 && !set) return undefined;
  let blockSize: [number, number] | undefined;
  if (o.fp8Block !== undefined) {
    const m = /^(\d+)(?:x(\d+))?$/.exec(o.fp8Block);
    if (m === null) throw new UsageError("INVALID_ARGUMENT", `--fp8-block must look like 128x128 or 128, not '${o.fp8Block}'`);
    blockSize = [Number(m[1]), Number(m[2] ?? m[1])];
  }
  const scaleDtype = o.fp8ScaleDtype;
  if (scaleDtype !== undefined && scaleDtype !== "F32" && scaleDtype !== "BF16")
    throw new UsageError("INVALID_ARGUMENT", `--fp8-scale-dtype must be F32 or BF16, not '${scaleDtype}'`);
  const suffix = o.fp8ScaleSuffix;
  if (suffix !== undefined && suffix !== "_scale_inv" && suffix !== "_scale")
    throw new UsageError("INVALID_ARGUMENT", `--fp8-scale-suffix must be _scale_inv or _scale, not '${suffix}'`);
  if (!set) return true;
  return { ...(blockSize ? { blockSize } : {}), ...(scaleDtype ? { scaleDtype } : {}), ...(suffix ? { scaleSuffix: suffix } : {}) };
}

/** The FixtureSpec a `gen` command line asks for. */
export function specFromOptions(familyName: string, o: GenOptions): FixtureSpec {
  if (!isFamilyName(familyName)) throw new UsageError("INVALID_ARGUMENT", `unknown family '${familyName}' (${FAMILY_NAMES.join(", ")}; see gen --list)`);
  if (o.dtype !== undefined && !isFloatDType(o.dtype)) throw new UsageError("INVALID_ARGUMENT", `--dtype must be BF16, F16 or F32, not '${o.dtype}'`);
  const variants: Variant[] = o.variant.map(parseVariant);
  const fp8 = fp8Options(o);
  const pairs = {
    seed: optionalWholeNumber("seed", o.seed),
    experts: optionalWholeNumber("experts", o.experts),
    layers: optionalWholeNumber("layers", o.layers),
    hidden: optionalWholeNumber("hidden", o.hidden),
    intermediate: optionalWholeNumber("intermediate", o.intermediate),
    vocab: optionalWholeNumber("vocab", o.vocab),
    mtpLayers: optionalWholeNumber("mtp-layers", o.mtpLayers),
    mlpOnlyLayers: wholeNumberList("mlp-only-layers", o.mlpOnlyLayers),
    shards: optionalWholeNumber("shards", o.shards),
    dtype: o.dtype,
    fp8,
  };
  const defined = Object.fromEntries(Object.entries(pairs).filter(([, v]) => v !== undefined));
  return { family: familyName, variants, ...defined } as FixtureSpec;
}

function printList(json: boolean): void {
  const families = listFamilies();
  if (json) {
    process.stdout.write(`${JSON.stringify({ families, variants: listVariants() }, null, 2)}\n`);
    return;
  }
  const lines = [
    "Families (moe-prefuse gen <family> <out>):",
    ...tableLines(
      ["NAME", "MODEL_TYPE", "EXPERT COUNT", "DTYPE", "DEFAULT E/L/H/I", "MODELLED ON"],
      families.map((f) => [
        f.name,
        f.modelType,
        f.countKey,
        f.dtype,
        `${f.defaults.experts}/${f.defaults.layers}/${f.defaults.hidden}/${f.defaults.intermediate}`,
        f.modelledOn,
      ]),
    ),
    "",
    ...families.map((f) => `  ${f.name}: ${f.summary}`),
    "",
    "Variants (--variant, repeatable; default per-expert):",
    ...listVariants().flatMap((v) => [`  ${v.syntax}`, `      ${v.summary}`]),
    "",
    "Also: --shards N (exactly N safetensors files + index), --fp8 [--fp8-block RxC] [--fp8-scale-dtype F32|BF16]",
    "[--fp8-scale-suffix _scale_inv|_scale] (block-FP8 E4M3; a block that does not divide the sizes, e.g.",
    "--fp8-block 16x16 --hidden 40, gives partial edge blocks), --dtype BF16|F16|F32, --vocab V, --mtp-layers N,",
    "--mlp-only-layers 0,2. Same options and seed: byte-identical files on any machine.",
  ];
  say(...lines);
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerGen(program: Command): void {
  program
    .command("gen")
    .description("write a deterministic synthetic MoE checkpoint modelled on a real family (gen --list shows them)")
    .argument("[family]", "model family (see --list)")
    .argument("[out]", "output directory (must not exist or be empty)")
    .option("--list", "list families and variants")
    .option("--json", "print the result (or the list) as JSON")
    .option("--seed <S>", "unsigned 32-bit seed (default 0)")
    .option("--experts <E>", "experts per MoE layer")
    .option("--layers <L>", "decoder layers")
    .option("--hidden <H>", "hidden size")
    .option("--intermediate <I>", "per-expert intermediate size")
    .option("--vocab <V>", "vocabulary size")
    .option("--mtp-layers <N>", "multi-token-prediction layers (Qwen3.5 families)")
    .option("--mlp-only-layers <list>", "dense decoder layers, comma-separated (qwen3_moe)")
    .option("--dtype <dtype>", "dtype of the unquantized weights: BF16, F16 or F32")
    .option("--variant <variant>", "a variant, e.g. fused, partial:drop-expert:layer=1,expert=3 (repeatable)", collect, [])
    .option("--fp8", "block-FP8 quantize the linear weights (E4M3 + weight_scale_inv)")
    .option("--fp8-block <RxC>", "FP8 block size (default 128x128)")
    .option("--fp8-scale-dtype <dtype>", "FP8 scale dtype: F32 or BF16 (default: the family's)")
    .option("--fp8-scale-suffix <suffix>", "FP8 scale name suffix: _scale_inv (default) or _scale")
    .option("--shards <N>", "number of safetensors files (default 1)")
    .action(async (familyName: string | undefined, out: string | undefined, o: GenOptions) => {
      if (o.list) {
        printList(o.json === true);
        return;
      }
      if (familyName === undefined || out === undefined) throw new UsageError("INVALID_ARGUMENT", "gen needs <family> and <out> (or --list)");
      const result = await writeGeneratedCheckpoint(out, specFromOptions(familyName, o));
      const s = result.spec;
      if (o.json) {
        const summary = {
          out,
          family: s.family.name,
          seed: s.seed,
          experts: s.experts,
          layers: s.layers,
          hidden: s.hidden,
          intermediate: s.intermediate,
          variants: s.variantLabels,
          fp8: s.fp8 ?? null,
          files: result.files,
          tensors: result.tensorCount,
          totalSize: result.totalSize,
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      say(
        `wrote ${out}: ${s.family.name}, ${result.tensorCount} tensors, ${formatBytes(result.totalSize)} in ${result.files.filter((f) => f.endsWith(".safetensors")).length} safetensors file(s); ` +
          `E=${s.experts} L=${s.layers} H=${s.hidden} I=${s.intermediate}, seed ${s.seed}` +
          (s.variantLabels.length > 0 ? `, variants ${s.variantLabels.join(" ")}` : "") +
          (s.fp8 ? `, FP8 ${s.fp8.blockSize.join("x")} blocks` : ""),
      );
    });
}
