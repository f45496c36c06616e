// A strict XML well-formedness check, enough to prove the charts parse as XML (no dependency
// on an XML library): one root element, balanced and properly nested tags, quoted attributes
// without duplicates, only the predefined and numeric entities, no stray `<` or `&`.

export interface XmlSummary {
  readonly root: string;
  /** Element name -> how many times it occurs. */
  readonly elements: ReadonlyMap<string, number>;
  /** Text content of every element, in document order (for checking labels). */
  readonly texts: readonly string[];
}

export class XmlError extends Error {
  override readonly name = "XmlError";
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_.:]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/;

function checkText(text: string, where: number): void {
  if (text.includes("<")) throw new XmlError(`stray '<' at ${where}`);
  for (let i = text.indexOf("&"); i >= 0; i = text.indexOf("&", i + 1)) {
    if (!ENTITY.test(text.slice(i))) throw new XmlError(`undefined or malformed entity at ${where + i}`);
  }
}

function decode(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/g, (_, e: string) =>
    e === "amp"
      ? "&"
      : e === "lt"
        ? "<"
        : e === "gt"
          ? ">"
          : e === "quot"
            ? '"'
            : e === "apos"
              ? "'"
              : String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );
}

export function checkXml(doc: string): XmlSummary {
  let i = 0;
  const stack: string[] = [];
  const elements = new Map<string, number>();
  const texts: string[] = [];
  let root: string | undefined;
  let rootClosed = false;
  const skip = (re: RegExp) => {
    const m = re.exec(doc.slice(i));
    if (m) i += m[0].length;
    return m;
  };
  if (doc.startsWith("<?xml")) {
    const end = doc.indexOf("?>");
    if (end < 0) throw new XmlError("unterminated XML declaration");
    i = end + 2;
  }
  while (i < doc.length) {
    if (doc.startsWith("<!--", i)) {
      const end = doc.indexOf("-->", i + 4);
      if (end < 0) throw new XmlError(`unterminated comment at ${i}`);
      i = end + 3;
      continue;
    }
    if (doc[i] !== "<") {
      const next = doc.indexOf("<", i);
      const text = doc.slice(i, next < 0 ? doc.length : next);
      if (stack.length === 0 && text.trim() !== "") throw new XmlError(`text outside the root element at ${i}`);
      checkText(text, i);
      if (stack.length > 0 && text.trim() !== "") texts.push(decode(text));
      i = next < 0 ? doc.length : next;
      continue;
    }
    if (doc.startsWith("</", i)) {
      i += 2;
      const name = skip(NAME)?.[0];
      skip(/^\s*/);
      if (name === undefined || doc[i] !== ">") throw new XmlError(`malformed end tag at ${i}`);
      i++;
      const open = stack.pop();
      if (open !== name) throw new XmlError(`</${name}> closes <${open ?? "nothing"}> at ${i}`);
      if (stack.length === 0) rootClosed = true;
      continue;
    }
    i++;
    const name = skip(NAME)?.[0];
    if (name === undefined) throw new XmlError(`malformed start tag at ${i}`);
    if (rootClosed || (root !== undefined && stack.length === 0)) throw new XmlError(`second root element <${name}> at ${i}`);
    root ??= name;
    elements.set(name, (elements.get(name) ?? 0) + 1);
    const seen = new Set<string>();
    for (;;) {
      const ws = skip(/^\s*/)![0];
      if (doc.startsWith("/>", i)) {
        i += 2;
        if (stack.length === 0) rootClosed = true;
        break;
      }
      if (doc[i] === ">") {
        i++;
        stack.push(name);
        break;
      }
      if (ws === "") throw new XmlError(`expected whitespace before an attribute of <${name}> at ${i}`);
      const attr = skip(NAME)?.[0];
      if (attr === undefined || skip(/^\s*=\s*/) === null) throw new XmlError(`malformed attribute in <${name}> at ${i}`);
      if (seen.has(attr)) throw new XmlError(`duplicate attribute '${attr}' in <${name}> at ${i}`);
      seen.add(attr);
      const q = doc[i];
      if (q !== '"' && q !== "'") throw new XmlError(`unquoted value of '${attr}' at ${i}`);
      const end = doc.indexOf(q, i + 1);
      if (end < 0) throw new XmlError(`unterminated value of '${attr}' at ${i}`);
      checkText(doc.slice(i + 1, end), i + 1);
      i = end + 1;
    }
  }
  if (root === undefined) throw new XmlError("no root element");
  if (stack.length > 0) throw new XmlError(`<${stack[stack.length - 1]}> is never closed`);
  return { root, elements, texts };
}
