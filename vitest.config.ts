import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // onnxruntime-node is a native addon: separate processes, not worker threads.
    pool: "forks",
    // vitest leaves one core idle by default; many tests wait on child processes, so use both.
    maxWorkers: 2,
    globalSetup: ["test/support/global-setup.ts"],
    // The one fast-check configuration (FC_NUM_RUNS, FC_SEED, FC_PATH): see test/support/fc.ts.
    setupFiles: ["test/support/fc-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
