// vitest setupFiles entry: the suite's one fast-check configuration (see fc.ts).
import { configureFastCheck } from "./fc.js";

configureFastCheck();
