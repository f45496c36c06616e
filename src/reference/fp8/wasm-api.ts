// The part of the WebAssembly JavaScript API the FP8 kernel uses. TypeScript declares WebAssembly
// only in its DOM library, which this Node project does not load; Node has had it (SIMD and
// shared memories included) since 16.4.

/** A WebAssembly memory created with `shared: true`: its buffer is a SharedArrayBuffer. */
export interface SharedMemory {
  /** The memory's current bytes (a new SharedArrayBuffer over the same bytes after each growth). */
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}

interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  readonly Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => SharedMemory;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: { env: { memory: SharedMemory } }) => { readonly exports: unknown };
}

/** The runtime's WebAssembly, if it has one. */
export const WEBASSEMBLY = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
