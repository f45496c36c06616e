// Natural order of names: digit runs compare as numbers, so `layers.2` sorts before `layers.10`
// and `experts.9` before `experts.10`. A lexicographic sort puts 10 before 2, the classic bug of
// expert stacking; the harness never relies on string order where a number is meant.

const RUNS = /\d+|\D+/g;

function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, "");
  const y = b.replace(/^0+(?=\d)/, "");
  if (x.length !== y.length) return x.length - y.length;
  if (x !== y) return x < y ? -1 : 1;
  // Equal values: fewer leading zeros first, so the order stays total and deterministic.
  return a.length - b.length;
}

export function naturalCompare(a: string, b: string): number {
  const ra = a.match(RUNS) ?? [];
  const rb = b.match(RUNS) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    const digits = /^\d/.test(x) && /^\d/.test(y);
    const c = digits ? compareDigits(x, y) : x < y ? -1 : x > y ? 1 : 0;
    if (c !== 0) return c;
  }
  return ra.length - rb.length;
}
