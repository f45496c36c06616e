import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // onnxruntime-node is a native addon: separate processes, not worker threads.
    pool: "forks",
    // Many tests wait on child processes (the CLI, Python candidates): one worker more than the two
    // cores keeps both busy (902 tests: 124 s with 3 workers on an idle 2-core machine, 154 s with 2 under light load).
    maxWorkers: 3,
    globalSetup: ["test/support/global-setup.ts"],
    // The one fast-check configuration (FC_NUM_RUNS, FC_SEED, FC_PATH): see test/support/fc.ts.
    setupFiles: ["test/support/fc-setup.ts"],
    // Verdicts must not depend on the machine's load: on a shared 2-core machine a test that
    // spawns processes can be held for tens of seconds, so the limits are generous (a hang still
    // ends), and the heavy properties set their own from their run count (fcTimeout).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Stopping a forks worker (an IPC round trip, then the process exiting) takes seconds under
    // load; with vitest's 10 s default a loaded run reported "Timeout terminating forks worker".
    teardownTimeout: 60_000,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
