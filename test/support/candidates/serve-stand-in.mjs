// A serve/1 worker for the gate's tests and benchmark: an identity candidate (right for n_
// untouched cases) that misbehaves on request: `serve-stand-in.mjs MODE[:CASE_ID] [START_MS]`.
//   identity        answers every case (writes "stderr of <case>" on stderr first)
//   crash:ID        exits 3 when the request for ID comes
//   hang:ID         never answers ID
//   garbage:ID      answers ID with a line that is not JSON
//   wrong:ID        answers ID as another case
//   stray:ID        answers ID, then writes a second line
//   refuse          refuses every case
//   early-exit      exits 0 before reading any request
// START_MS: a sleep before the first answer (an expensive import).
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [spec = "identity", startMs = "0"] = process.argv.slice(2);
const [mode, target] = spec.split(":");
if (mode === "early-exit") process.exit(0);
if (process.env.MOE_PREFUSE_PROTOCOL !== "serve/1") {
  process.stderr.write("not started as a serve/1 worker\n");
  process.exit(2);
}
const started = new Promise((r) => setTimeout(r, Number(startMs)));
const answer = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  queue = queue.then(async () => {
    await started;
    const r = JSON.parse(line);
    process.stderr.write(`stderr of ${r.case}\n`);
    const hit = r.case === target;
    if (hit && mode === "crash") process.exit(3);
    if (hit && mode === "hang") return new Promise(() => {});
    if (hit && mode === "garbage") return void process.stdout.write("hello, gate\n");
    if (hit && mode === "wrong") return answer({ case: "someone-else", status: "written" });
    if (mode === "refuse") return answer({ case: r.case, status: "refused", message: `no thanks, ${r.stage}` });
    copyFileSync(join(r.input, "model.safetensors"), r.output);
    // stray: the extra line in the same write as the answer, so it arrives between requests.
    process.stdout.write(`${JSON.stringify({ case: r.case, status: "written" })}\n${hit && mode === "stray" ? "by the way\n" : ""}`);
  });
});
