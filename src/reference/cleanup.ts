// Temporary outputs that must not survive the process. Every atomic write registers its
// temporary path here; on SIGINT/SIGTERM/SIGHUP (a closed terminal or SSH session) they are
// removed before the process exits, so an interrupted run leaves neither a partial output nor its
// scaffolding. Hooks registered with `beforeCleanup` run first (the gate kills its candidates'
// process groups there, so nothing writes into a directory while it is removed).

import { rmSync } from "node:fs";

const pending = new Set<string>();
const hooks = new Set<() => void>();
let installed = false;

function removeAll(): void {
  for (const h of hooks) h();
  for (const p of pending) rmSync(p, { recursive: true, force: true });
  pending.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
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

/** Runs `hook` (synchronously) when the process exits or is interrupted, before temporary paths are removed. */
export function beforeCleanup(hook: () => void): void {
  install();
  hooks.add(hook);
}
