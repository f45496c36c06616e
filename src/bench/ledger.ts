// The strategies' own memory accounting. Every buffer a strategy creates is allocated through
// the ledger and handed back when the strategy would drop it (where torch or MLX would free it
// on the spot), so the ledger knows the bytes live at every moment and keeps the worst one:
// the analytic peak, with what was live then. Inputs are not counted: they are the baseline.
//
// JavaScript frees an ArrayBuffer only when V8 collects it, so `collect` asks for a collection
// where the strategy has dropped buffers (the analogue of oQ's `mx.clear_cache()` between
// chunks). It is a no-op unless the process runs with `--expose-gc`, as the measuring child
// does. Only a forced full collection, `gc()`, reliably returns dropped ArrayBuffers at once
// (`gc({type: "minor"})` and `gc({type: "major"})` were seen to keep them until later), and it
// costs about 2 ms: between steps it runs once STEP_COLLECT_BYTES have been dropped, so the
// measured peak may exceed the analytic one by up to that much, and time is not dominated by
// collections when chunks are small.

/** Bytes dropped between steps before a step boundary collects. */
export const STEP_COLLECT_BYTES = 32 << 20;

export type CollectKind = "step" | "phase";

/** A forced full collection, when the process exposes `gc()`; otherwise nothing. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc === "function") (gc as () => void)();
}

/** Bytes held by code the strategy calls but does not own (e.g. the safetensors writer's stage). */
export interface Reservation {
  readonly byteLength: number;
}

type Held = Uint8Array | Reservation;

export class MemoryLedger {
  private readonly live = new Map<Held, string>();
  private liveBytes = 0;
  private peakBytes = 0;
  private peakMoment: readonly string[] = [];
  private droppedSinceCollect = 0;

  /** A fresh zeroed buffer of `bytes`, accounted as live under `label` until `release`d. */
  alloc(bytes: number, label: string): Uint8Array {
    const buf = new Uint8Array(bytes);
    this.hold(buf, label);
    return buf;
  }

  /** Accounts for `bytes` allocated on the strategy's behalf by code it calls. */
  reserve(bytes: number, label: string): Reservation {
    const r: Reservation = { byteLength: bytes };
    this.hold(r, label);
    return r;
  }

  private hold(h: Held, label: string): void {
    this.live.set(h, label);
    this.liveBytes += h.byteLength;
    if (this.liveBytes > this.peakBytes) {
      this.peakBytes = this.liveBytes;
      this.peakMoment = [...this.live.values()];
    }
  }

  /** The strategy drops these buffers: they no longer count as live. */
  release(...held: readonly Held[]): void {
    for (const h of held) {
      if (!this.live.delete(h)) throw new Error("releasing a buffer the ledger does not hold (a strategy bug)");
      this.liveBytes -= h.byteLength;
      this.droppedSinceCollect += h.byteLength;
    }
  }

  /** Returns dropped buffers' memory to the system where the runtime allows it. */
  collect(kind: CollectKind): void {
    if (kind === "step" && this.droppedSinceCollect < STEP_COLLECT_BYTES) return;
    this.droppedSinceCollect = 0;
    collectGarbage();
  }

  get current(): number {
    return this.liveBytes;
  }

  /** Bytes live at the worst moment so far. */
  get peak(): number {
    return this.peakBytes;
  }

  /** What was live at the worst moment, summarised as "label x count". */
  get peakDescription(): string {
    const counts = new Map<string, number>();
    for (const l of this.peakMoment) counts.set(l, (counts.get(l) ?? 0) + 1);
    return [...counts].map(([l, n]) => (n === 1 ? l : `${l} x${n}`)).join(" + ");
  }
}
