// vitest setupFiles entry: removes the test's temporary directories (tmp.ts) after each test.
// Setup files run again before every test file, while other modules are shared by the files a
// worker runs (isolate: false), so the hook lives here rather than in tmp.ts.
import { afterEach } from "vitest";
import { removeTempDirs } from "./tmp.js";

afterEach(removeTempDirs);
