// The XML well-formedness check the chart validation relies on: generated documents parse
// (with their text recovered), and each kind of damage is rejected.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { escapeXml, renderChart } from "../../src/bench/report/svg.js";
import { XmlError, checkXml } from "../../src/bench/report/xml.js";
import { fcParams } from "../support/fc.js";

interface Node {
  name: string;
  attrs: Array<[string, string]>;
  text: string;
  children: Node[];
}

const nameArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/);
const textArb = fc.string({ maxLength: 12 });
function nodeArb(depth: number): fc.Arbitrary<Node> {
  return fc.record({
    name: nameArb,
    attrs: fc.uniqueArray(fc.tuple(nameArb, textArb), { maxLength: 3, selector: (a) => a[0] }),
    text: textArb,
    children: depth === 0 ? fc.constant([]) : fc.array(nodeArb(depth - 1), { maxLength: 3 }),
  });
}
const treeArb = nodeArb(3);

function serialize(n: Node): string {
  const attrs = n.attrs.map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join("");
  return `<${n.name}${attrs}>${escapeXml(n.text)}${n.children.map(serialize).join("")}</${n.name}>`;
}

function count(n: Node): number {
  return 1 + n.children.reduce((a, c) => a + count(c), 0);
}

describe("checkXml", () => {
  it("accepts any serialized tree, with its root, element count and texts", () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const doc = `<?xml version="1.0"?>\n${serialize(tree)}\n`;
        const s = checkXml(doc);
        expect(s.root).toBe(tree.name);
        expect([...s.elements.values()].reduce((a, b) => a + b, 0)).toBe(count(tree));
        if (tree.text.trim() !== "") expect(s.texts[0]).toBe(tree.text);
      }),
      fcParams(),
    );
  });

  it("rejects any truncation of a document with nested elements", () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), (tree, cut) => {
        const doc = serialize({ name: "svg", attrs: [], text: "", children: [tree] });
        const at = 1 + (cut % (doc.length - 1));
        expect(() => checkXml(doc.slice(0, at))).toThrow(XmlError);
      }),
      fcParams(),
    );
  });

  it("rejects each kind of malformation", () => {
    for (const bad of [
      "<a><b></a></b>",
      "<a></a><b></b>",
      '<a x="1" x="2"/>',
      "<a x=1/>",
      "<a>&nbsp;</a>",
      "<a>1 < 2</a>",
      "text<a/>",
      "",
      '<a x="&bogus;"/>',
    ]) {
      expect(() => checkXml(bad), bad).toThrow(XmlError);
    }
  });

  it("accepts the chart renderer's output, escaping every label", () => {
    const svg = renderChart({
      title: 'a <b> & "c"',
      subtitle: ["x & y"],
      xLabel: "C",
      yLabel: "MiB",
      yDivisor: 1,
      columns: 2,
      legend: [{ label: "s<1>", color: "#000", marker: "circle" }],
      panels: [
        {
          title: "E = 4",
          xTicks: [1, 2, 4],
          series: [
            {
              label: "s",
              color: "#000",
              marker: "square",
              hollow: true,
              points: [
                { x: 1, y: 3, low: 2, high: 4 },
                { x: 4, y: 0 },
              ],
            },
          ],
        },
      ],
    });
    const s = checkXml(svg);
    expect(s.root).toBe("svg");
    expect(s.texts).toContain('a <b> & "c"');
    expect(s.texts).toContain("s<1>");
    expect(s.elements.get("polyline")).toBe(1);
  });
});
