// Validates an AsyncAPI document with the official parser; exits 1 on any error diagnostic.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const file = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"));
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) {
  const level = ["error", "warning", "info", "hint"][d.severity] ?? "note";
  console.log(`${file}: ${level}: ${d.code}: ${d.message} at /${d.path.join("/")}`);
}
if (errors.length > 0 || !document) {
  console.log(`${file}: ${errors.length} error(s)`);
  process.exit(1);
}
const channels = document.channels().length;
const operations = document.operations().length;
const messages = document.messages().length;
console.log(`${file}: valid AsyncAPI ${document.version()}: ${channels} channels, ${messages} messages, ${operations} operations`);
