// Human sizes for options such as --max-shard-size: "5GB" (decimal, as transformers writes it),
// "4GiB" (binary), or a plain byte count.

import { UsageError } from "./errors.js";

const UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = UNITS[(m?.[2] ?? "").toUpperCase() || "B"];
  if (m === null || unit === undefined) throw new UsageError("INVALID_ARGUMENT", `'${text}' is not a size (examples: 5GB, 512MiB, 1000000)`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new UsageError("INVALID_ARGUMENT", `size '${text}' must be at least one byte`);
  return bytes;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}
