// The `moe-prefuse` command line: one program, one module per command under commands/. The CLI
// stays thin: parse options, call the library, print. Every failure is one line,
// `moe-prefuse: error: <message>`, exit 1 (`--debug` adds the stack).
//
// Commands are loaded on demand: a run loads only the module of the command it names (all of
// them for help or an unknown word), so `inspect` does not pay for the gate, the benchmarks or
// the Hub client at startup.

import { Command, CommanderError } from "commander";
import { MoePrefuseError } from "../reference/errors.js";
import { PACKAGE } from "../package-info.js";
import { exitQuietlyOnEpipe, humanLine, notice, stderrLine } from "./output.js";

type Register = (program: Command) => void;

const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  inspect: async () => (await import("./commands/inspect.js")).registerInspect,
  families: async () => (await import("./commands/families.js")).registerFamilies,
  fuse: async () => (await import("./commands/fuse.js")).registerFuse,
  dequant: async () => (await import("./commands/dequant.js")).registerDequant,
  gen: async () => (await import("./commands/gen.js")).registerGen,
  hub: async () => (await import("./commands/hub.js")).registerHub,
  golden: async () => (await import("./commands/golden.js")).registerGolden,
  gate: async () => (await import("./commands/gate.js")).registerGate,
  bench: async () => (await import("./commands/bench.js")).registerBench,
};

/** The program with the commands `argv` needs registered (every command when it names none). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command("moe-prefuse")
    .description("Verify and perform the MoE prefuse: per-expert experts to the fused layout transformers v5 reads, or to the stacks each MLX loader reads.")
    .version(PACKAGE.version, "-V, --version")
    .option("--debug", "print stack traces with errors")
    // Usage errors stay on one line, like every other error.
    .configureOutput({ outputError: (str, write) => write(humanLine(`moe-prefuse: ${str.trimEnd()} (see --help)`)) })
    .exitOverride();
  // Global options take no values, so the first word that is not an option names the command.
  const named = argv.find((a) => !a.startsWith("-"));
  const versionOnly = named === undefined && argv.some((a) => a === "-V" || a === "--version");
  const wanted = named !== undefined && named in COMMANDS ? [named] : versionOnly ? [] : Object.keys(COMMANDS);
  for (const name of wanted) (await COMMANDS[name]!())(program);
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  exitQuietlyOnEpipe();
  try {
    const program = await buildProgram(argv);
    await program.parseAsync([...argv], { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    const debug = argv.includes("--debug");
    const message = e instanceof MoePrefuseError ? e.message : `${(e as Error).message ?? String(e)}`;
    notice(`error: ${message.split("\n")[0]}`);
    if (debug && e instanceof Error && e.stack) for (const line of e.stack.split("\n")) stderrLine(line);
    return 1;
  }
}
