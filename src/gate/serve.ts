// The serve/1 candidate protocol: long-lived workers started from the template (no {input} or
// {output}; {stage} allowed) with MOE_PREFUSE_PROTOCOL=serve/1, one JSON request per line on
// their stdin, one JSON answer per line on their stdout (docs/gate-protocols.md). Everything the
// per-case protocol guarantees holds, through the same functions: the same environment rule,
// process groups and secret-redacted tails (candidate.ts), output reading (output.ts) and judging
// (run-case.ts, judge.ts). A worker that times out is killed with its whole group; one that dies,
// writes a line that is not the answer to the request in flight, or a line between requests, is
// replaced by a fresh worker for the next case, and the replacements are counted.

import { redact } from "../reference/safe-text.js";
import { CandidateProcess, type ProcessEnd } from "./candidate.js";
import type { Ending } from "./judge.js";
import { type CaseResult, type CaseRunSettings, type CaseRunner, type Execution, type PreparedCase, runCase } from "./run-case.js";
import type { GateCase } from "./cases.js";
import { expandTemplate } from "./template.js";

export const SERVE_PROTOCOL = "serve/1";
/** A longer stdout line is a protocol violation (and the gate holds no more of it than this). */
export const MAX_LINE = 64 * 1024;
/** At the end of the run, how long a worker whose stdin was closed may take to exit before its group is killed. */
const CLOSE_GRACE_MS = 2000;

/** What a worker did next: a line on stdout, a line too long, or its exit. */
type WorkerEvent = { readonly kind: "line"; readonly line: string } | { readonly kind: "overlong" } | { readonly kind: "exit"; readonly end: ProcessEnd };

/** The excerpt of a bad line put in a reason: one line, quoted, at most 200 characters, secrets redacted. */
function excerpt(line: string, secrets: readonly string[]): string {
  const s = redact(line, { secrets });
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}...` : s);
}

function howItEnded(end: ProcessEnd): string {
  if (end.spawnError !== undefined) return `could not be started: ${end.spawnError}`;
  return end.signal !== null ? `was killed by ${end.signal}` : `exited with status ${end.code}`;
}

class Worker {
  readonly proc: CandidateProcess;
  private buffer = "";
  private waiting: ((e: WorkerEvent) => void) | null = null;
  /** Why this worker takes no more requests (it exited or broke the protocol between requests). */
  broken: string | null = null;

  constructor(argv: readonly string[], s: CaseRunSettings) {
    this.proc = new CandidateProcess(argv, {
      cwd: s.cwd,
      secrets: s.secrets,
      env: { ...s.env, MOE_PREFUSE_PROTOCOL: SERVE_PROTOCOL, MOE_PREFUSE_STAGE: s.stage },
      stdin: "pipe",
      onStdout: (t) => this.onStdout(t),
    });
    // Lines written just before an exit are delivered first.
    void this.proc.drained().then(async () => this.deliver({ kind: "exit", end: await this.proc.ended }));
  }

  private onStdout(text: string): void {
    this.buffer += text;
    for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, "");
      this.buffer = this.buffer.slice(nl + 1);
      this.deliver({ kind: "line", line });
    }
    if (this.buffer.length > MAX_LINE) {
      this.buffer = "";
      this.deliver({ kind: "overlong" });
    }
  }

  private deliver(e: WorkerEvent): void {
    const w = this.waiting;
    if (w !== null) {
      this.waiting = null;
      w(e);
      return;
    }
    if (this.broken !== null) return;
    // Nothing was asked: stdout carries only answers, so this worker is done.
    this.broken = e.kind === "exit" ? howItEnded(e.end) : e.kind === "line" ? "wrote a line between requests" : "wrote an overlong line between requests";
    if (e.kind !== "exit") void this.proc.kill();
  }

  /** Sends one request; resolves with what the worker does next. */
  ask(request: Readonly<Record<string, string>>): Promise<WorkerEvent> {
    const next = new Promise<WorkerEvent>((r) => {
      this.waiting = r;
    });
    this.proc.child.stdin?.write(`${JSON.stringify(request)}\n`);
    return next;
  }

  /** No more requests: stdin closed (the protocol's "exit"), then the group killed if it lingers. */
  async close(): Promise<void> {
    this.proc.child.stdin?.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.proc.ended, new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    await this.proc.kill();
    await this.proc.release();
  }
}

/** The ending of a case from the worker's answer line. */
export function answerEnding(line: string, id: string, secrets: readonly string[]): Ending {
  const bad = (reason: string): Ending => ({ kind: "failed", failure: "protocol", reason });
  let a: unknown;
  try {
    a = JSON.parse(line);
  } catch {
    return bad(`answered with a line that is not JSON: ${excerpt(line, secrets)}`);
  }
  if (typeof a !== "object" || a === null || Array.isArray(a))
    return bad(`answered with a line that is not a serve/1 answer object: ${excerpt(line, secrets)}`);
  const { case: answered, status, message } = a as Record<string, unknown>;
  if (answered !== id) return bad(`answered for case ${excerpt(String(answered), secrets)} while case ${id} was in flight`);
  if (status === "written") return { kind: "written", said: "answered written" };
  if (status === "refused")
    return { kind: "refused", reason: `refused: ${typeof message === "string" && message !== "" ? excerpt(message, secrets).slice(1, -1) : "(no message)"}` };
  return bad(`answered with status ${excerpt(String(status), secrets)} (serve/1 answers "written" or "refused")`);
}

/** The serve/1 protocol: up to `jobs` workers (one per case in flight), each replaced when it fails. */
export class ServeRunner implements CaseRunner {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();
  /** Retired workers being killed and let go of; close() waits for them. */
  private readonly retiring: Promise<void>[] = [];
  private readonly argv: readonly string[];
  restarts = 0;

  constructor(private readonly s: CaseRunSettings) {
    this.argv = expandTemplate(s.argv, { stage: s.stage });
  }

  run(c: GateCase): Promise<CaseResult> {
    return runCase(c, this.s, (p) => this.execute(p));
  }

  private take(): Worker {
    for (let w = this.idle.pop(); w !== undefined; w = this.idle.pop()) {
      // A worker that exited while idle (its exit may not be delivered yet) is not sent anything.
      if (w.broken === null && !w.proc.exited) return w;
      this.retire(w);
    }
    const w = new Worker(this.argv, this.s);
    this.all.add(w);
    return w;
  }

  /** A worker that failed: killed with its group, and counted (the next case starts a fresh one). */
  private retire(w: Worker): void {
    this.all.delete(w);
    if (w.proc.child.pid !== undefined) this.restarts++;
    this.retiring.push(w.proc.kill().then(() => w.proc.release()));
  }

  private async execute(p: PreparedCase): Promise<Execution> {
    const w = this.take();
    const started = performance.now();
    const id = p.case.id;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), this.s.timeoutMs)));
    const event = await Promise.race([w.ask({ case: id, stage: this.s.stage, input: p.input, output: p.output }), timeout]);
    clearTimeout(timer);
    let ending: Ending;
    let end: ProcessEnd | undefined;
    if (event === "timeout") {
      const waited = performance.now() - started;
      end = await w.proc.kill();
      ending = { kind: "failed", failure: "timeout", reason: `timed out after ${(waited / 1000).toFixed(1)} s without an answer (worker killed)` };
    } else if (event.kind === "exit") {
      end = event.end;
      ending =
        end.spawnError !== undefined
          ? { kind: "failed", failure: "spawn", reason: `could not start the candidate: ${end.spawnError}` }
          : { kind: "failed", failure: "crash", reason: `the worker ${howItEnded(end)} before answering` };
    } else if (event.kind === "overlong") {
      ending = { kind: "failed", failure: "protocol", reason: `answered with a line longer than ${MAX_LINE / 1024} KiB` };
    } else {
      ending = answerEnding(event.line, id, this.s.secrets);
    }
    const durationMs = performance.now() - started;
    // stderr written just before the answer may arrive a moment after it (another pipe).
    await new Promise((r) => setImmediate(r));
    const stderr = w.proc.stderr.take();
    if (ending.kind === "failed") this.retire(w);
    else this.idle.push(w);
    return {
      ending,
      exit: { code: end?.code ?? null, signal: end?.signal ?? null, timedOut: event === "timeout" },
      // stdout carries only answers: a bad one is quoted in the reason.
      stdout: "",
      stderr,
      durationMs,
    };
  }

  async close(): Promise<void> {
    this.idle.length = 0;
    await Promise.all([...[...this.all].map((w) => w.close()), ...this.retiring]);
    this.all.clear();
  }
}
