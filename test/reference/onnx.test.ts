import { describe, expect, it } from "vitest";
import { OnnxType } from "../../src/reference/onnx/model.js";
import { ortTensor, runGraph } from "../../src/reference/onnx/session.js";

describe("ONNX builder", () => {
  it("builds a graph onnxruntime accepts: Split along axis -2 with a negative int64 attribute", async () => {
    const x = Uint16Array.from({ length: 24 }, (_, i) => i);
    const out = await runGraph(
      {
        nodes: [{ op: "Split", inputs: ["x", "sizes"], outputs: ["a", "b"], attributes: { axis: -2 } }],
        inputs: [{ name: "x", type: OnnxType.UINT16, shape: [2, 4, 3] }],
        outputs: [
          { name: "a", type: OnnxType.UINT16, shape: [2, 2, 3] },
          { name: "b", type: OnnxType.UINT16, shape: [2, 2, 3] },
        ],
        initializers: [{ name: "sizes", type: OnnxType.INT64, dims: [2], raw: new Uint8Array(new BigInt64Array([2n, 2n]).buffer) }],
      },
      { x: ortTensor("uint16", x, [2, 4, 3]) },
    );
    expect([...(out.a!.data as Uint16Array)]).toEqual([0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17]);
    expect([...(out.b!.data as Uint16Array)]).toEqual([6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23]);
  });
});
