// The measuring child: one fresh process per grid point, so that its maxRSS high-water mark
// belongs to that point alone. Reads a PointSpec (JSON) from argv, prints one JSON line,
// `{"ok":true,"result":...}` or `{"ok":false,"error":"..."}`, and exits 0 or 1. The parent
// starts it with --expose-gc (see runner.ts).

import { measurePoint, type PointSpec } from "./measure.js";

try {
  const spec = JSON.parse(process.argv[2] ?? "") as PointSpec;
  const result = await measurePoint(spec);
  process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: (e as Error).message ?? String(e) })}\n`);
  process.exitCode = 1;
}
