// Evaluates each case's JSONata expression with JSONata's reference implementation over its
// `$events` and compares the result with what the Classic input gives (`expected`), numbers as
// the 64-bit floats JSONata computes with. Prints one line per mismatch; exit 1 if any.
//
//   node .ci/jsonata/check.mjs CASES.json
//   CASES.json: [{ "consumer", "expression", "events": [{ "events", "expected" }] }]
import { readFileSync } from "node:fs";
import jsonata from "jsonata";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
let checked = 0;
let failed = 0;
for (const { consumer, expression, events } of cases) {
  const body = expression.replace(/^\{%/, "").replace(/%\}$/, "");
  const compiled = jsonata(body);
  for (const { events: input, expected } of events) {
    let got = await compiled.evaluate({}, { events: input });
    // Nothing (undefined) reaches a target as nothing; the expressions give null instead.
    got = got === undefined ? null : JSON.parse(JSON.stringify(got));
    checked += 1;
    if (!equal(got, expected)) {
      failed += 1;
      console.log(`${consumer}: ${JSON.stringify(got)} != ${JSON.stringify(expected)}`);
    }
  }
}
console.log(`jsonata ${checked} evaluations, ${failed} differ`);
process.exit(failed === 0 && checked > 0 ? 0 : 1);

function equal(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && equal(a[k], b[k]));
  }
  return a === b;
}
