import { describe, expect, it } from "vitest";
import { expandTemplate, splitTemplate } from "../../src/gate/template.js";
import { UsageError } from "../../src/reference/errors.js";

describe("candidate template", () => {
  it("splits on unquoted whitespace", () => {
    expect(splitTemplate("python3  ci/x.py\t{input}\n{output}")).toEqual(["python3", "ci/x.py", "{input}", "{output}"]);
  });

  it('single quotes are literal, double quotes take \\" and \\\\ only, backslash escapes outside quotes', () => {
    expect(splitTemplate(`run 'a b\\n"c' "d \\"e\\" \\\\ \\n" f\\ g {input} {output}`)).toEqual([
      "run",
      'a b\\n"c',
      'd "e" \\ \\n',
      "f g",
      "{input}",
      "{output}",
    ]);
    expect(splitTemplate(`x --in='{input}' --out="{output}"`)).toEqual(["x", "--in={input}", "--out={output}"]);
    expect(splitTemplate(`x '' "" {input} {output}`)).toEqual(["x", "", "", "{input}", "{output}"]);
    expect(splitTemplate(`x a\\'b 'c|d>e' {input} {output}`)).toEqual(["x", "a'b", "c|d>e", "{input}", "{output}"]);
  });

  it("refuses malformed templates and templates without {input} or {output}", () => {
    for (const bad of ["x 'open {input} {output}", 'x "open {input} {output}', "x {input} {output} \\", "   ", "x {input}", "x {output}"]) {
      expect(() => splitTemplate(bad)).toThrow(UsageError);
    }
    expect(() => splitTemplate("x {input}")).toThrow(/must contain \{output\}/);
  });

  it("replaces the placeholders inside arguments, quoted or not, and nothing else", () => {
    const words = splitTemplate(`impl --in={input} '{output}' --stage {stage} '{other}' {input}/config.json`);
    const dir = "/tmp/a b/$&c";
    expect(expandTemplate(words, { input: dir, output: "/o/model.safetensors", stage: "dequant+prefuse" })).toEqual([
      "impl",
      `--in=${dir}`,
      "/o/model.safetensors",
      "--stage",
      "dequant+prefuse",
      "{other}",
      `${dir}/config.json`,
    ]);
  });
});
