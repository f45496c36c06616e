import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // onnxruntime-node is a native addon: separate processes, not worker threads.
    pool: "forks",
    // A worker runs its test files one after another in one process and shares the modules they
    // import (each test file and setup file is still evaluated afresh): a fresh process and module
    // graph per file cost about a third of a CPU second each, a sixth of the suite's CPU time.
    // What src modules keep for a process's life (the secrets safe-text.ts registered, the default
    // FP8 pool, cleanup.ts's exit hooks) then outlives a file: no test depends on it being fresh
    // (the files' secrets differ), and per-test cleanup lives in a setup file (tmp-setup.ts).
    isolate: false,
    // Many tests wait on child processes (the CLI, Python candidates): one worker more than the two
    // cores keeps both busy (902 tests on an idle 2-core machine: 87 s, 161 CPU seconds).
    maxWorkers: 3,
    globalSetup: ["test/support/global-setup.ts"],
    // The one fast-check configuration (FC_NUM_RUNS, FC_SEED, FC_PATH): see test/support/fc.ts;
    // temporary directories removed after each test: test/support/tmp.ts.
    setupFiles: ["test/support/fc-setup.ts", "test/support/tmp-setup.ts"],
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
