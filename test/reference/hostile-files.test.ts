// Hostile local files, reproduced: FIFOs and devices as inputs, a config nested thousands deep,
// a read failing in the step the fuse produces ahead, outputs that are symlinks or mount points
// or private directories, and the leftovers of runs killed by SIGHUP or SIGKILL.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeDirAtomically, writeFileAtomically } from "../../src/reference/atomic.js";
import { Checkpoint } from "../../src/reference/checkpoint.js";
import { MoePrefuseError, SafetensorsError } from "../../src/reference/errors.js";
import { dequantCheckpoint } from "../../src/reference/fp8/checkpoint.js";
import { MAX_JSON_DEPTH, jsonDepth } from "../../src/reference/input-file.js";
import { typedBackend } from "../../src/reference/ops/typed-backend.js";
import { fuseCheckpointDir, outputSource } from "../../src/reference/prefuse/fuse-checkpoint.js";
import { planPrefuse } from "../../src/reference/prefuse/plan.js";
import { type WeightSource, memoryWeights } from "../../src/reference/weights.js";
import { ROOT, runCli } from "../support/cli.js";
import { tinyMoe, writeTinyCheckpoint } from "../support/moe.js";
import { tempDir } from "../support/tmp.js";

const CONFIG = { model_type: "qwen3_moe", num_experts: 4 };
const PREFIXES = ["model.layers.0.mlp"];

async function checkpoint(): Promise<string> {
  const dir = join(tempDir(), "in");
  await writeTinyCheckpoint(dir, tinyMoe({ prefixes: PREFIXES, E: 4, I: 2, H: 3 }), CONFIG);
  return dir;
}

async function refusal(p: Promise<unknown>, code: string): Promise<MoePrefuseError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(MoePrefuseError);
  expect((e as MoePrefuseError).code).toBe(code);
  expect((e as Error).message).not.toContain("\n");
  return e as MoePrefuseError;
}

/** A pid that surely belonged to a process which has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  return r.pid!;
}

const mkfifo = (path: string) => execFileSync("mkfifo", [path]);

describe("inputs must be regular files", () => {
  it("model.safetensors or config.json as a FIFO (no writer) is refused at once, naming the file", async () => {
    for (const name of ["model.safetensors", "config.json"]) {
      const dir = await checkpoint();
      execFileSync("rm", [join(dir, name)]);
      mkfifo(join(dir, name));
      const e = await refusal(Checkpoint.open(dir), "NOT_REGULAR_FILE");
      expect(e.message).toBe(`${join(dir, name)}: is a FIFO, not a regular file; inputs must be regular files`);
    }
  });

  it("devices, directly or through a symlink, are refused without reading them", async () => {
    for (const device of ["/dev/zero", "/dev/urandom"]) {
      await refusal(Checkpoint.open(device), "NOT_REGULAR_FILE");
      const dir = await checkpoint();
      execFileSync("rm", [join(dir, "config.json")]);
      symlinkSync(device, join(dir, "config.json"));
      expect((await refusal(Checkpoint.open(dir), "NOT_REGULAR_FILE")).message).toContain("is a character device");
    }
  });

  it("the CLI says so in one line (inspect /dev/zero, fuse of a checkpoint with a FIFO)", async () => {
    const r = runCli(["inspect", "/dev/zero"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("moe-prefuse: error: /dev/zero: is a character device, not a regular file; inputs must be regular files\n");
    const dir = await checkpoint();
    execFileSync("rm", [join(dir, "model.safetensors")]);
    mkfifo(join(dir, "model.safetensors"));
    const f = runCli(["fuse", dir, join(dir, "..", "out")]);
    expect(f.status).toBe(1);
    expect(f.stderr).toMatch(/^moe-prefuse: error: .*model\.safetensors: is a FIFO[^\n]*\n$/);
  });
});

describe("a config nested thousands deep", () => {
  const deep = (n: number) => `{"model_type": "qwen3_moe", "num_experts": 4, "x": ${"[".repeat(n)}${"]".repeat(n)}}`;

  it("is refused when read, naming config.json, before anything recurses into it", async () => {
    const dir = await checkpoint();
    writeFileSync(join(dir, "config.json"), deep(100_000));
    const e = await refusal(Checkpoint.open(dir), "CONFIG_TOO_DEEP");
    expect(e.message).toMatch(/config\.json: nests arrays and objects more than 64 deep/);
    const r = runCli(["dequant", dir, join(dir, "..", "out")]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^moe-prefuse: error: .*config\.json: nests arrays and objects more than 64 deep; refused\n$/);
    await refusal(dequantCheckpoint(dir, join(dir, "..", "out2")), "CONFIG_TOO_DEEP");
  });

  it("a config at the limit is read; depth is counted outside strings only", async () => {
    const dir = await checkpoint();
    writeFileSync(join(dir, "config.json"), deep(MAX_JSON_DEPTH - 1));
    const ckpt = await Checkpoint.open(dir);
    await ckpt.close();
    expect(jsonDepth('{"a": "[[[[\\"[[[", "b": [{}]}')).toBe(3);
    expect(jsonDepth("[]")).toBe(1);
    expect(jsonDepth('"{"')).toBe(0);
  });
});

describe("a read that fails in the step produced ahead", () => {
  it("is observed at once (no unhandled rejection) and reaches the consumer as the typed error", async () => {
    const w = tinyMoe({ prefixes: PREFIXES, E: 4, I: 2, H: 3 });
    const mem = memoryWeights(w);
    // Expert 1's tensors fail to read, as a shard truncated under the fuse or an EIO would.
    const failing: WeightSource = {
      ...mem,
      readInto: async (name, target, offset) => {
        if (name.includes(".experts.1.")) throw new SafetensorsError("READ_FAILED", "read failed at byte 96 (EIO)", { file: "shard", tensor: name });
        return mem.readInto(name, target, offset);
      },
    };
    const plan = planPrefuse(w, CONFIG);
    const seen: unknown[] = [];
    const record = (r: unknown) => seen.push(r);
    process.on("unhandledRejection", record);
    try {
      const steps = outputSource(plan.outputs[0]!, failing, typedBackend, 1).chunks()[Symbol.asyncIterator]();
      expect((await steps.next()).done).toBe(false);
      // The consumer is away writing step 0 (a macrotask or more) while step 1 fails.
      await new Promise((r) => setTimeout(r, 20));
      await expect(steps.next()).rejects.toMatchObject({ code: "READ_FAILED" });
      await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual([]);
    } finally {
      process.off("unhandledRejection", record);
    }
  });
});

describe("outputs", () => {
  it("an existing empty 0700 directory stays 0700 (and private while it is written); an existing 0600 file stays 0600", async () => {
    const input = await checkpoint();
    const out = join(tempDir(), "private");
    mkdirSync(out, { mode: 0o700 });
    chmodSync(out, 0o700);
    await fuseCheckpointDir(input, out);
    expect(statSync(out).mode & 0o7777).toBe(0o700);
    expect(readdirSync(out).sort()).toEqual(["config.json", "model.safetensors"]);

    const dir = join(tempDir(), "d");
    mkdirSync(dir);
    chmodSync(dir, 0o710);
    await writeDirAtomically(dir, async (temp) => {
      expect(statSync(temp).mode & 0o7777).toBe(0o710);
    });
    expect(statSync(dir).mode & 0o7777).toBe(0o710);

    const file = join(tempDir(), "report.json");
    writeFileSync(file, "old");
    chmodSync(file, 0o600);
    await writeFileAtomically(file, (temp) => writeFile(temp, "new"));
    expect(readFileSync(file, "utf8")).toBe("new");
    expect(statSync(file).mode & 0o7777).toBe(0o600);
  });

  it("a symlink to an empty directory is refused before the input is read, the directory untouched", async () => {
    const input = await checkpoint();
    const root = tempDir();
    mkdirSync(join(root, "empty"));
    symlinkSync(join(root, "empty"), join(root, "link"));
    for (const out of [join(root, "link"), `${join(root, "link")}/`]) {
      const e = await refusal(fuseCheckpointDir(input, out), "OUTPUT_UNREPLACEABLE");
      expect(e.message).toContain("is a symbolic link");
    }
    expect(readdirSync(root).sort()).toEqual(["empty", "link"]);
    expect(lstatSync(join(root, "link")).isSymbolicLink()).toBe(true);
  });

  it("a mount point is refused before the input is read", async () => {
    const input = await checkpoint();
    // /proc is a mount point on every Linux; /dev/shm usually is one, and often empty.
    for (const out of ["/proc", ...(readdirSync("/dev/shm").length === 0 && statSync("/dev/shm").dev !== statSync("/dev").dev ? ["/dev/shm"] : [])]) {
      const e = await refusal(fuseCheckpointDir(input, out), "OUTPUT_UNREPLACEABLE");
      expect(e.message).toBe(`${out}: output is a mount point, which the final rename cannot replace; name a new directory inside it`);
    }
  });
});

describe("leftovers of interrupted runs", () => {
  it("stale temporaries of a dead run of the same target are removed; nothing else is", async () => {
    const input = await checkpoint();
    const root = tempDir();
    const dead = deadPid();
    const elsewhere = join(tempDir(), "not-ours");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, "keep"), "x");
    const stale = `.out.tmp-${dead}-deadbeef`;
    mkdirSync(join(root, stale));
    writeFileSync(join(root, stale, "model.safetensors"), "partial");
    const kept = [
      `.out.tmp-${dead}-cafebabe`, // a symlink: we never make one, and never follow it
      `.out.tmp-${process.pid}-01234567`, // a live process's
      `.out.tmp-${dead}-deadbeef.bak`, // not exactly our name
      `.other.tmp-${dead}-deadbeef`, // another target's
    ];
    symlinkSync(elsewhere, join(root, kept[0]!));
    for (const k of kept.slice(1)) mkdirSync(join(root, k));
    await fuseCheckpointDir(input, join(root, "out"));
    expect(readdirSync(root).sort()).toEqual([...kept, "out"].sort());
    expect(readFileSync(join(elsewhere, "keep"), "utf8")).toBe("x");
  });

  it("SIGHUP removes the temporary output, like SIGTERM, and exits 129", async () => {
    const target = join(tempDir(), "out");
    const script = `
      import { writeFileSync } from "node:fs";
      import { join } from "node:path";
      import { writeDirAtomically } from ${JSON.stringify(join(ROOT, "dist", "src", "reference", "atomic.js"))};
      setInterval(() => {}, 1000);
      await writeDirAtomically(${JSON.stringify(target)}, async (temp) => {
        writeFileSync(join(temp, "model.safetensors"), "partial");
        process.stdout.write(temp + "\\n");
        await new Promise(() => {});
      });`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const temp = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())));
    expect(existsSync(join(temp, "model.safetensors"))).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGHUP");
    expect(await exited).toBe(129);
    expect(existsSync(temp)).toBe(false);
    expect(existsSync(target)).toBe(false);
  });
});
