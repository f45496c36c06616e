import { runGate } from "../src/gate/gate.js";
const serve = process.argv[2] === "serve";
const py = "/root/.pyenv/versions/3.11.7/bin/python3";
const t = performance.now();
const r = await runGate({ candidate: serve ? `python3 ci/adapters/numpy_prefuse.py --serve` : `python3 ci/adapters/numpy_prefuse.py {input} {output}`, serve, corpus: { dir: "corpus/golden", optional: false }, runs: Number(process.argv[3] ?? 5), jobs: 2 }, (l) => { if (!l.startsWith("PASS")) console.log(l); });
console.log(serve, r.totals, r.restarts, ((performance.now() - t) / 1000).toFixed(1));
