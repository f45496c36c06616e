// A progress bar on stderr for long runs, shown only when stderr is a terminal and the run has
// lasted a moment: pipes, CI logs and --json consumers never see it.

import { formatBytes } from "../reference/size.js";

export interface Progress {
  update(done: number, total: number): void;
  done(): void;
}

const WIDTH = 30;
const SHOW_AFTER_MS = 500;
const REDRAW_MS = 100;

/** The bar's text for a fraction done (pure, for tests). */
export function renderBar(done: number, total: number, elapsedMs: number): string {
  const f = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(f * WIDTH);
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  return `[${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${formatBytes(done)} / ${formatBytes(total)} ${formatBytes(rate)}/s`;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress | undefined {
  if (!stream.isTTY) return undefined;
  const start = now();
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      const t = now();
      if (t - start < SHOW_AFTER_MS || (t - last < REDRAW_MS && done < total)) return;
      last = t;
      shown = true;
      stream.write(`\r${renderBar(done, total, t - start)}`);
    },
    done() {
      if (shown) stream.write("\r\x1b[K");
    },
  };
}
