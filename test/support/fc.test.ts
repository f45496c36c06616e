// The suite's one fast-check configuration (fc.ts): FC_NUM_RUNS scales every property's default,
// FC_SEED is every property's seed, and the setup file has applied them globally.

import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_RUNS, configureFastCheck, fcParams, fcRuns } from "./fc.js";

const saved = { FC_NUM_RUNS: process.env.FC_NUM_RUNS, FC_SEED: process.env.FC_SEED, FC_PATH: process.env.FC_PATH };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  configureFastCheck();
});

describe("fast-check configuration", () => {
  it("is applied globally before every test file (vitest setupFiles)", () => {
    expect(fc.readConfigureGlobal().numRuns).toBe(fcRuns(DEFAULT_RUNS));
  });

  it("FC_NUM_RUNS scales each property's default, never below it; FC_SEED and FC_PATH become the global seed and path", () => {
    delete process.env.FC_NUM_RUNS;
    delete process.env.FC_SEED;
    delete process.env.FC_PATH;
    expect([fcRuns(), fcRuns(20), fcRuns(20000)]).toEqual([100, 20, 20000]);
    process.env.FC_NUM_RUNS = "1000";
    expect([fcRuns(), fcRuns(20), fcParams(500).numRuns]).toEqual([1000, 200, 5000]);
    process.env.FC_NUM_RUNS = "10";
    expect(fcRuns(300)).toBe(300);
    process.env.FC_SEED = "7";
    process.env.FC_PATH = "3:1";
    configureFastCheck();
    expect(fc.readConfigureGlobal()).toMatchObject({ numRuns: 100, seed: 7, path: "3:1" });
    process.env.FC_SEED = "x";
    expect(() => configureFastCheck()).toThrow(/FC_SEED=x is not an integer/);
  });

  it("a global seed makes fc.sample (and so every property) replay the same values", () => {
    process.env.FC_SEED = "12345";
    configureFastCheck();
    const draw = () => fc.sample(fc.integer(), 5);
    expect(draw()).toEqual(draw());
  });
});
