// The property suite's runner. Every property runs through `checkProperty`:
// - runs: the property's default (at least 100, or fewer for the few that spawn processes),
//   scaled by FC_NUM_RUNS as everywhere in the suite (../fc.ts: FC_NUM_RUNS=1000 runs every
//   property ten times as long);
// - seed: FC_SEED, else a fresh one; printed before the run, so any run can be replayed
//   (FC_SEED=<seed>, plus FC_PATH=<path> from the failure report to go straight to it);
// - on failure: the shrunk counterexample is written as a checkpoint folder
//   (test/counterexamples/<property>-<seed>/: config.json, model.safetensors, case.json
//   draft) and the failure message names that folder.

import fc from "fast-check";
import { join } from "node:path";
import { fcEnv, fcRuns } from "../fc.js";
import { ROOT } from "../cli.js";
import { type CounterexampleCheckpoint, writeCounterexample } from "./counterexample.js";

export const COUNTEREXAMPLES = join(ROOT, "test", "counterexamples");

export interface PropertyRun<T> {
  /** Kebab-case name of the invariant: the counterexample folder is `<name>-<seed>`. */
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws (an `expect` failing) when the invariant does not hold for `value`. */
  readonly predicate: (value: T) => Promise<void> | void;
  /** The checkpoint a failing value stands for. */
  readonly counterexample: (value: T) => CounterexampleCheckpoint;
  /** Default number of runs (100). */
  readonly runs?: number;
  /** Values always tried first, whatever the seed (fast-check `examples`). */
  readonly examples?: readonly T[];
  /** Where counterexamples go (default test/counterexamples). */
  readonly counterexampleRoot?: string;
}

export interface RunSettings {
  readonly runs: number;
  readonly seed: number;
  readonly path: string | undefined;
}

export function runSettings(defaultRuns: number): RunSettings {
  const { seed, path } = fcEnv();
  // A fresh seed is drawn here (not left to fast-check) so that it can be printed before the run.
  return { runs: fcRuns(defaultRuns), seed: seed ?? (Math.random() * 0x7fffffff) | 0, path };
}

export async function checkProperty<T>(run: PropertyRun<T>): Promise<void> {
  const { runs, seed, path } = runSettings(run.runs ?? 100);
  console.log(`property ${run.name}: seed=${seed} runs=${runs} (replay: FC_SEED=${seed})`);
  const details = await fc.check(
    fc.asyncProperty(run.arbitrary, async (value) => {
      await run.predicate(value);
    }),
    { numRuns: runs, seed, ...(path === undefined ? {} : { path }), ...(run.examples === undefined ? {} : { examples: run.examples.map((e) => [e] as [T]) }) },
  );
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const report = `${fc.defaultReportMessage(details) ?? `property ${run.name} failed`}\nGot error: ${cause}`;
  const value = details.counterexample?.[0];
  if (value === undefined) throw new Error(report);
  const dir = await writeCounterexample(run.counterexampleRoot ?? COUNTEREXAMPLES, run.counterexample(value), {
    property: run.name,
    seed,
    path: details.counterexamplePath ?? undefined,
  });
  throw new Error(`${report}\n\nShrunk counterexample checkpoint written to ${dir} (config.json, model.safetensors, case.json draft).`);
}
