// The TypeScript bindings of one generated output on the relay's own dry-run output: every
// published entry, as the envelope a consumer receives, parses with its deterministic id; every
// sample parses; events the schemas refuse (a required field missing or of the wrong type, an
// unknown field in a closed detail, an unknown detail-type) are refused, naming the field.
//
// Usage: node check.mjs GENERATED_DIR DRYRUN_FILE COMPILED_DIR
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [generated, dryrun, compiled] = process.argv.slice(2);
const b = await import(pathToFileURL(join(compiled, 'events.js')).href);
const POISON = 'Outbox Poison Record';

function refused(event, path) {
  assert.throws(() => b.parseEvent(event), (e) => e instanceof b.OutboxEventError && e.path === path, `expected a refusal at ${path}`);
}

let parsed = 0;
let poison = 0;
const lines = readFileSync(dryrun, 'utf8').split('\n').filter((l) => l.trim() !== '');
for (const [i, line] of lines.entries()) {
  const entry = JSON.parse(line);
  const event = {
    version: '0',
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    'detail-type': entry.DetailType,
    source: entry.Source,
    account: '123456789012',
    time: '2026-12-05T10:00:00Z',
    region: 'eu-west-1',
    resources: entry.Resources,
    detail: JSON.parse(entry.Detail),
  };
  if (entry.DetailType === POISON) {
    // The relay's dead letters are not events of the service.
    refused(event, '$.detail-type');
    poison += 1;
    continue;
  }
  const typed = b.parseEvent(event);
  assert.equal(b.eventId(typed), entry.Resources[0]);
  assert.deepEqual(typed.detail, event.detail);
  parsed += 1;
}

let refusals = 0;
const schemas = readdirSync(join(generated, 'schemas')).filter((f) => f.endsWith('.json'));
for (const file of schemas) {
  const schema = JSON.parse(readFileSync(join(generated, 'schemas', file), 'utf8'));
  const sample = b.samples[schema.title];
  assert.ok(sample, `a sample of ${schema.title}`);
  assert.equal(b.eventId(b.parseEvent(sample)), sample.resources[0]);
  const detail = schema.$defs.detail;
  for (const field of detail.required ?? []) {
    const missing = structuredClone(sample);
    delete missing.detail[field];
    refused(missing, `$.detail.${field}`);
    const wrong = structuredClone(sample);
    wrong.detail[field] = detail.properties[field]?.type === 'string' ? 42 : 'not-this';
    refused(wrong, `$.detail.${field}`);
    refusals += 2;
  }
  if (detail.additionalProperties === false) {
    const extra = structuredClone(sample);
    extra.detail.outboxUnexpectedField = 1;
    refused(extra, '$.detail.outboxUnexpectedField');
    refusals += 1;
  }
  refused({ ...structuredClone(sample), 'detail-type': 'No Such Event' }, '$.detail-type');
}
assert.ok(parsed > 0 || lines.length === 0, 'the dry run published events');
console.log(`${generated}: TypeScript bindings parsed ${parsed} published events (${poison} dead letters refused), ${schemas.length} samples, ${refusals} refusals`);
