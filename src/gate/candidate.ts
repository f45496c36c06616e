// Running one candidate process: argv without a shell, stdin closed, stdout and stderr captured
// (their last 16 KiB), a timeout after which the whole process group is killed (so a wrapper
// script's children die too), and every way of failing (not found, crash, signal, timeout)
// returned as data, never thrown: a broken candidate is a failed case, not a broken gate.

import { spawn } from "node:child_process";

export interface CandidateRun {
  readonly argv: readonly string[];
  /** Exit status, or null when killed by a signal or never started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Why the process could not be started (ENOENT: command not found...). */
  readonly spawnError?: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

const KEEP = 16 * 1024;

/** Process groups still running, killed if the gate itself exits first. */
const live = new Set<number>();
let exitHook = false;

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function watch(pid: number): void {
  live.add(pid);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const p of live) killGroup(p);
  });
}

/** The tail of a stream: appended chunks, keeping the last KEEP characters. */
class Tail {
  private text = "";
  add(chunk: string): void {
    this.text += chunk;
    if (this.text.length > 2 * KEEP) this.text = this.text.slice(-KEEP);
  }
  toString(): string {
    return this.text.length > KEEP ? this.text.slice(-KEEP) : this.text;
  }
}

export function runCandidate(argv: readonly string[], options: RunOptions): Promise<CandidateRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    const stdout = new Tail();
    const stderr = new Tail();
    let timedOut = false;
    let spawnError: string | undefined;
    // detached: a process group of its own, so the timeout can kill everything it started.
    const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    if (child.pid !== undefined) watch(child.pid);
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid);
    }, options.timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => stdout.add(d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => stderr.add(d));
    child.on("error", (e: NodeJS.ErrnoException) => {
      spawnError = e.code === "ENOENT" ? `command not found: ${argv[0]}` : e.message;
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) {
        // A candidate that exits while its own children run on: end them with it.
        killGroup(child.pid);
        live.delete(child.pid);
      }
      resolve({
        argv,
        exitCode: spawnError !== undefined ? null : code,
        signal: signal ?? null,
        timedOut,
        ...(spawnError !== undefined ? { spawnError } : {}),
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        durationMs: performance.now() - started,
      });
    });
  });
}
