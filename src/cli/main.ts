// The `moe-prefuse` command line: one program, one module per command under commands/. The CLI
// stays thin: parse options, call the library, print. Every failure is one line,
// `moe-prefuse: error: <message>`, exit 1 (`--debug` adds the stack).

import { Command, CommanderError } from "commander";
import { MoePrefuseError } from "../reference/errors.js";
import { registerGen } from "./commands/gen.js";
import { registerHub } from "./commands/hub.js";
import { registerInspect } from "./commands/inspect.js";
import { registerDequant } from "./commands/dequant.js";
import { registerFuse } from "./commands/fuse.js";
import { registerGolden } from "./commands/golden.js";
import { registerBench } from "./commands/bench.js";
import { registerGate } from "./commands/gate.js";
import { PACKAGE } from "./package-info.js";

export function buildProgram(): Command {
  const program = new Command("moe-prefuse")
    .description("Verify and perform the per-expert -> fused MoE prefuse that MLX loaders expect.")
    .version(PACKAGE.version, "-V, --version")
    .option("--debug", "print stack traces with errors")
    .showHelpAfterError("(add --help for usage)")
    .configureOutput({ outputError: (str, write) => write(`moe-prefuse: ${str}`) })
    .exitOverride();
  registerInspect(program);
  registerDequant(program);
  registerFuse(program);
  registerGen(program);
  registerHub(program);
  registerGolden(program);
  registerBench(program);
  registerGate(program);
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    const debug = argv.includes("--debug");
    const message = e instanceof MoePrefuseError ? e.message : `${(e as Error).message ?? String(e)}`;
    process.stderr.write(`moe-prefuse: error: ${message.split("\n")[0]}\n`);
    if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
