// Hostile per-case (case/1) candidates for the gate's tests: `hostile.mjs MODE INPUT OUTPUT`.
// Each mode is one attack of issue 15 (an identity candidate: its output is its input, which is
// the right answer for an n_ untouched case).
import { spawn, execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, openSync, ftruncateSync, closeSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const [mode, input, output] = process.argv.slice(2);
const identity = () => copyFileSync(join(input, "model.safetensors"), output);
/** A grandchild in a session of its own (out of the gate's reach by group) for a minute; its pid appended to ATTACK_PID_FILE. */
const escapee = (stdio) => {
  const g = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { detached: true, stdio });
  g.unref();
  appendFileSync(process.env.ATTACK_PID_FILE, `${g.pid}\n`);
};

switch (mode) {
  case "env":
    // Prints what it was given; exits 1 so the gate keeps its stdout and stderr.
    process.stdout.write(`${JSON.stringify(Object.keys(process.env).sort())}\n`);
    if (process.env.HF_TOKEN !== undefined) process.stderr.write(`my token is ${process.env.HF_TOKEN}.\n${"x".repeat(40000)}${process.env.HF_TOKEN}`);
    process.exitCode = 1;
    break;
  case "token-tensor": {
    // A valid safetensors file whose one tensor is named after the token: diagnoses quote names.
    const header = Buffer.from(JSON.stringify({ [`leak.${process.env.HF_TOKEN}`]: { dtype: "U8", shape: [1], data_offsets: [0, 1] } }));
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(output, Buffer.concat([size, header, Buffer.from([7])]));
    break;
  }
  case "symlink-zero":
    symlinkSync("/dev/zero", output);
    break;
  case "symlink-input":
    symlinkSync(join(input, "model.safetensors"), output);
    break;
  case "fifo":
    execFileSync("mkfifo", [output]);
    break;
  case "directory":
    mkdirSync(output);
    break;
  case "sparse": {
    // 3 GiB that take no disk: a gate reading it whole would need 3 GiB of memory.
    const fd = openSync(output, "w");
    ftruncateSync(fd, 3 * 2 ** 30);
    closeSync(fd);
    break;
  }
  case "swap-dir":
    // The output directory replaced by a link to the input directory, which holds model.safetensors.
    rmSync(dirname(output), { recursive: true });
    symlinkSync(input, dirname(output));
    break;
  case "rewrite-corpus": {
    // Makes every case of the corpus expect its own input, then answers with its input.
    const corpus = process.env.ATTACK_CORPUS;
    for (const id of readdirSync(corpus, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      copyFileSync(join(corpus, id.name, "input", "model.safetensors"), join(corpus, id.name, "expected.safetensors"));
    }
    identity();
    break;
  }
  case "escape":
    // Two grandchildren in sessions of their own: one holds stdout and stderr, one holds nothing.
    escapee(["ignore", "inherit", "inherit"]);
    escapee("ignore");
    identity();
    break;
  case "escape-hang":
    // An escaped grandchild, then a candidate that never finishes (the gate is interrupted).
    escapee("ignore");
    setInterval(() => {}, 1000);
    break;
  case "ignore-term":
    // Records SIGTERM, ignores it, never finishes: the gate must SIGKILL the group after its grace.
    process.on("SIGTERM", () => writeFileSync(process.env.ATTACK_PID_FILE, `${process.pid} TERM`));
    writeFileSync(process.env.ATTACK_PID_FILE, String(process.pid));
    setInterval(() => {}, 1000);
    break;
  case "hang":
    writeFileSync(process.env.ATTACK_PID_FILE, String(process.pid));
    setInterval(() => {}, 1000);
    break;
  default:
    identity();
}
