// The layout's rules, checked on the import graph of src/: the CLI is a client of the library and
// nothing in the library imports it; the library imports nothing outside src/; and the top-level
// folders (reference, fixtures-gen, hub, golden, gate, bench, cli) import each other without a
// cycle, so each can be read, tested and changed from the bottom up. Files at src/'s root
// (index.ts, package-info.ts) are nodes of their own.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/cli.js";

const SRC = join(ROOT, "src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of every source file, as [importer, imported] paths relative to the repository. */
function imports(): [string, string][] {
  const spec = /(?:^|\s)(?:import|export)\b[^"';]*?from\s*["'](\.{1,2}\/[^"']+)["']|\bimport\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;
  return sources(SRC).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(spec)].map((m): [string, string] => [
      relative(ROOT, file),
      relative(ROOT, resolve(dirname(file), (m[1] ?? m[2])!)),
    ]),
  );
}

/** src/<folder> for files in a folder, the file itself at src/'s root, the path otherwise. */
function node(path: string): string {
  const parts = path.split(sep);
  return parts[0] === "src" && parts.length > 2 ? `src/${parts[1]}` : path;
}

describe("the source tree's import graph", () => {
  const edges = imports();

  it("is read from every file (the regex finds static, side-effect, re-export and dynamic imports)", () => {
    expect(edges.length).toBeGreaterThan(300);
    expect(edges.some(([, to]) => to.startsWith(join("src", "cli")))).toBe(true);
  });

  it("keeps the library out of the CLI: only src/cli imports src/cli", () => {
    expect(edges.filter(([from, to]) => node(to) === "src/cli" && node(from) !== "src/cli")).toEqual([]);
  });

  it("imports nothing outside src/ (no ci/, test/ or bench/ code in the library)", () => {
    expect(edges.filter(([, to]) => !to.startsWith(`src${sep}`))).toEqual([]);
  });

  it("has no cycle between top-level folders", () => {
    const next = new Map<string, Set<string>>();
    for (const [from, to] of edges) {
      const [a, b] = [node(from), node(to)];
      if (a !== b) next.set(a, (next.get(a) ?? new Set()).add(b));
    }
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (n: string, path: string[]): void => {
      if (state.get(n) === "done") return;
      if (state.get(n) === "open") {
        cycles.push([...path.slice(path.indexOf(n)), n].join(" -> "));
        return;
      }
      state.set(n, "open");
      for (const m of next.get(n) ?? []) visit(m, [...path, n]);
      state.set(n, "done");
    };
    for (const n of next.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });
});
