// Prints one plain closing line, `tests: N passed, M failed, K skipped`, after vitest's own
// summary, so any CI log reader can count results without knowing vitest's format. Files that
// fail to load count as failed, so a suite that cannot even start never reads as green.

import type { Reporter, TestModule } from "vitest/node";

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandled.length;
    let skipped = 0;
    for (const m of modules) {
      let cases = 0;
      for (const t of m.children.allTests()) {
        cases++;
        const state = t.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      if (cases === 0 && m.state() === "failed") failed++;
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
