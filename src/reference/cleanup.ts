// Temporary outputs that must not survive the process. Every atomic write registers its
// temporary path here; on SIGINT/SIGTERM they are removed before the process exits, so an
// interrupted run leaves neither a partial output nor its scaffolding.

import { rmSync } from "node:fs";

const pending = new Set<string>();
let installed = false;

function removeAll(): void {
  for (const p of pending) rmSync(p, { recursive: true, force: true });
  pending.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.once(signal, () => {
      removeAll();
      process.exit(code);
    });
  }
  process.once("exit", removeAll);
}

export function registerTemp(path: string): void {
  install();
  pending.add(path);
}

export function releaseTemp(path: string): void {
  pending.delete(path);
}
