#!/usr/bin/env node
// The installed command: runs the compiled CLI (built by `npm run build`, which `npm ci` runs).
import { run } from "../dist/src/cli/main.js";

process.exitCode = await run(process.argv.slice(2));
