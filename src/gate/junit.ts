// JUnit XML of a gate report (`--junit`), for CI test views: one testsuite per run, one testcase
// per case (classname `gate.<stage>.<golden|generated>`), failed cases with a <failure> whose type
// is the first diagnosis or the kind of failure, open cases as skipped with what was recorded,
// corpus cases outside the contract as skipped with the reason.

import { describeMismatch } from "./compare.js";
import { failureSignature } from "./judge.js";
import type { GateReport } from "./report.js";
import type { CaseResult } from "./run-case.js";
import { tailLines } from "./lines.js";

/** XML text: the five entities escaped and characters XML 1.0 cannot hold dropped. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function failureBody(r: CaseResult): string {
  return [
    r.reason,
    ...r.diagnoses.slice(1).map((d) => `also: ${d.message}`),
    ...r.mismatches.map((m) => `tensor ${describeMismatch(m)}`),
    ...(r.spec !== undefined ? [`checkpoint: ${JSON.stringify(r.spec)}`] : []),
    ...tailLines(r.stderr, 20).map((l) => `stderr: ${l}`),
    ...tailLines(r.stdout, 5).map((l) => `stdout: ${l}`),
  ].join("\n");
}

function testcase(report: GateReport, r: CaseResult): string {
  const head = `    <testcase classname="gate.${xmlEscape(report.stage)}.${r.origin}" name="${xmlEscape(`${r.id} ${r.origin === "golden" ? "" : r.label}`.trim())}" time="${seconds(r.durationMs)}"`;
  if (r.verdict === "pass") return `${head}/>`;
  if (r.verdict === "open") return `${head}>\n      <skipped message="${xmlEscape(`open case, recorded not judged: ${r.reason}`)}"/>\n    </testcase>`;
  return `${head}>\n      <failure message="${xmlEscape(r.reason)}" type="${xmlEscape(failureSignature(r))}">${xmlEscape(failureBody(r))}</failure>\n    </testcase>`;
}

export function junitXml(report: GateReport): string {
  const t = report.totals;
  const tests = report.cases.length + report.skipped.length;
  const skipped = t.open + t.skipped;
  const name = `moe-prefuse gate ${report.stage}: ${report.name}`;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="${xmlEscape(name)}" tests="${tests}" failures="${t.failed}" errors="0" skipped="${skipped}" time="${seconds(report.durationMs)}">`,
    `  <testsuite name="${xmlEscape(name)}" tests="${tests}" failures="${t.failed}" errors="0" skipped="${skipped}" time="${seconds(report.durationMs)}">`,
    ...report.cases.map((r) => testcase(report, r)),
    ...report.skipped.map(
      (s) =>
        `    <testcase classname="gate.${xmlEscape(report.stage)}.golden" name="${xmlEscape(s.id)}" time="0">\n      <skipped message="${xmlEscape(`outside the ${report.stage} contract: ${s.reason}`)}"/>\n    </testcase>`,
    ),
    `  </testsuite>`,
    `</testsuites>`,
  ];
  return `${lines.join("\n")}\n`;
}
