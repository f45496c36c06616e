// Candidate processes, for both protocols (per case and serve): argv without a shell, a process
// group of their own, stdout and stderr captured (tails of at most 16 KiB, secrets redacted), and
// every way of failing (not found, crash, signal, timeout) returned as data, never thrown: a
// broken candidate is a failed case, not a broken gate.
//
// A process is over when it exits, not when its pipes close: a grandchild that left the group
// (setsid) may hold stdout for ever. After the exit the gate waits PIPE_GRACE_MS for the pipes to
// drain, then destroys its ends of them, and kills whatever is left of the group. A timeout kills
// the whole group (SIGTERM, then SIGKILL after KILL_GRACE_MS), so a wrapper's children die too.

import { type ChildProcess, spawn } from "node:child_process";
import { beforeCleanup } from "../reference/cleanup.js";
import { redact } from "../reference/safe-text.js";

/** How a candidate process ended. */
export interface ProcessEnd {
  /** Exit status, or null when killed by a signal or never started. */
  readonly code: number | null;
  readonly signal: string | null;
  /** Why the process could not be started (ENOENT: command not found...). */
  readonly spawnError?: string;
}

export interface CandidateRun extends ProcessEnd {
  readonly argv: readonly string[];
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface SpawnOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Values redacted from everything kept of stdout and stderr. */
  readonly secrets: readonly string[];
}

export interface RunOptions extends SpawnOptions {
  readonly timeoutMs: number;
}

const KEEP = 16 * 1024;
/** After an exit, how long the pipes may take to drain before the gate abandons them. */
export const PIPE_GRACE_MS = 200;
/** After SIGTERM to a group, how long before SIGKILL. */
export const KILL_GRACE_MS = 1000;

/** Process groups still running, killed if the gate itself exits or is interrupted first. */
const live = new Set<number>();
let hooked = false;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** The tail of a stream: appended chunks, keeping the last KEEP characters, secrets redacted. */
export class Tail {
  private text = "";
  constructor(private readonly secrets: readonly string[]) {}
  add(chunk: string): void {
    this.text += chunk;
    // Redacted before cutting: a secret still whole in the buffer is never cut in half.
    if (this.text.length > 2 * KEEP) this.text = redact(this.text, { secrets: this.secrets }).slice(-KEEP);
  }
  toString(): string {
    return redact(this.text, { secrets: this.secrets, cutEnd: true }).slice(-KEEP);
  }
  /** The text so far, emptied (serve mode keeps stderr per case). */
  take(): string {
    const t = this.toString();
    this.text = "";
    return t;
  }
}

/** One candidate process in a group of its own. */
export class CandidateProcess {
  readonly child: ChildProcess;
  readonly stderr: Tail;
  /** Settles when the process exits (or fails to start); never rejects. */
  readonly ended: Promise<ProcessEnd>;
  private end: ProcessEnd | undefined;
  private readonly stdoutTail: Tail;

  /**
   * `stdin: "pipe"` for serve workers (requests), "ignore" for per-case runs; `onStdout` gets
   * stdout's text as it comes (default: kept as a tail in `stdout`).
   */
  constructor(
    readonly argv: readonly string[],
    o: SpawnOptions & { readonly stdin: "pipe" | "ignore"; readonly onStdout?: (text: string) => void },
  ) {
    this.stderr = new Tail(o.secrets);
    // detached: a process group of its own, so the timeout can kill everything it started.
    this.child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: o.env, stdio: [o.stdin, "pipe", "pipe"], detached: true });
    const pid = this.child.pid;
    if (pid !== undefined) {
      live.add(pid);
      if (!hooked) {
        hooked = true;
        beforeCleanup(() => {
          for (const p of live) signalGroup(p, "SIGKILL");
        });
      }
    }
    const stdout = new Tail(o.secrets);
    this.stdoutTail = stdout;
    this.child.stdout!.setEncoding("utf8").on("data", o.onStdout ?? ((d: string) => stdout.add(d)));
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => this.stderr.add(d));
    // A worker that dies makes writes to its stdin fail (EPIPE): its exit is what counts.
    this.child.stdin?.on("error", () => {});
    this.ended = new Promise((resolve) => {
      const settle = (end: ProcessEnd) => {
        this.end ??= end;
        resolve(this.end);
      };
      this.child.on("error", (e: NodeJS.ErrnoException) => {
        if (pid === undefined) settle({ code: null, signal: null, spawnError: e.code === "ENOENT" ? `command not found: ${argv[0]}` : e.message });
      });
      this.child.on("exit", (code, signal) => {
        // A candidate that exits while its own children run on: end them with it.
        if (pid !== undefined) {
          signalGroup(pid, "SIGKILL");
          live.delete(pid);
        }
        settle({ code, signal: signal ?? null });
      });
    });
  }

  get stdout(): string {
    return this.stdoutTail.toString();
  }

  get exited(): boolean {
    return this.end !== undefined;
  }

  /** Kills the whole group: SIGTERM, then SIGKILL if it has not exited after KILL_GRACE_MS. */
  async kill(): Promise<ProcessEnd> {
    const pid = this.child.pid;
    if (pid !== undefined && !this.exited) {
      signalGroup(pid, "SIGTERM");
      const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), KILL_GRACE_MS);
      await this.ended;
      clearTimeout(timer);
    }
    return this.ended;
  }

  /** After the exit: stdout and stderr get PIPE_GRACE_MS to deliver what the process wrote before it exited (an escaped grandchild may hold them open for ever). */
  async drained(): Promise<void> {
    await this.ended;
    const open = [this.child.stdout, this.child.stderr].filter((s) => s !== null && !s.destroyed && !s.readableEnded);
    if (open.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(open.map((s) => new Promise((r) => s!.once("close", r)))),
      new Promise((r) => {
        timer = setTimeout(r, PIPE_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** After the exit and the drain: the gate lets go of the pipes, whoever else holds them. */
  async release(): Promise<void> {
    await this.drained();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) s?.destroy();
  }
}

/** Runs one candidate to its exit or the timeout (then its group is killed); never throws. */
export async function runCandidate(argv: readonly string[], options: RunOptions): Promise<CandidateRun> {
  const started = performance.now();
  const p = new CandidateProcess(argv, { ...options, stdin: "ignore" });
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((r) => {
    timer = setTimeout(r, options.timeoutMs);
  });
  await Promise.race([p.ended, timeout]);
  clearTimeout(timer);
  if (!p.exited) {
    timedOut = true;
    await p.kill();
  }
  const end = await p.ended;
  const durationMs = performance.now() - started;
  await p.release();
  return { argv, ...end, timedOut, stdout: p.stdout, stderr: p.stderr.toString(), durationMs };
}
