// node bench.mjs EVENT_FILE --mode map|seq|conc|entries --warmup W --iterations K
//
// The relay-bench contract for the Node.js reference handler (handler.mjs): reads the file
// once, runs the mapping only (map: JSON.parse of the raw text -> PutEvents request bodies),
// or the whole handler with PutEvents one at a time (seq) or 8 in flight (conc) to
// EVENTBRIDGE_ENDPOINT, and prints one JSON line. `entries` prints the entries instead, one
// JSON object per line, in send order, for the equality check.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { chunks, client, handle, toEntries } from './handler.mjs';

function parseArgs(argv) {
  const args = { warmup: 1, iterations: 10 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--mode') args.mode = argv[++i];
    else if (a === '--warmup') args.warmup = Number(argv[++i]);
    else if (a === '--iterations') args.iterations = Number(argv[++i]);
    else args.file = a;
  }
  if (!args.file || !['map', 'seq', 'conc', 'entries'].includes(args.mode)) {
    console.error('usage: node bench.mjs EVENT_FILE --mode map|seq|conc|entries [--warmup W] [--iterations K]');
    process.exit(2);
  }
  return args;
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

function mapToRequests(text) {
  const requests = chunks(toEntries(JSON.parse(text)));
  let entries = 0;
  for (const request of requests) {
    // What PutEventsCommand serializes (awsJson1_1; Time as epoch seconds).
    const body = JSON.stringify({ Entries: request.map((e) => ({ ...e, Time: e.Time.getTime() / 1000 })) });
    if (body.length === 0) throw new Error('empty body');
    entries += request.length;
  }
  return entries;
}

const args = parseArgs(process.argv.slice(2));
const text = readFileSync(args.file, 'utf8');
if (args.mode === 'entries') {
  // One write: process.exit would cut a pipe's pending output short.
  const lines = toEntries(JSON.parse(text)).map((e) => JSON.stringify({ ...e, Time: Math.floor(e.Time.getTime() / 1000) }));
  process.stdout.write(lines.map((l) => l + '\n').join(''));
} else {
  await bench();
}

async function bench() {
const records = JSON.parse(text).Records.length;
const eventBridge = args.mode === 'map' ? null : client();
const inFlight = args.mode === 'conc' ? 8 : 1;
const initMs = performance.now();

const wall = [];
const cpu = [];
let firstMs = null;
let spawnToFirstMs = null;
let forwarded = 0;
for (let i = 0; i < args.warmup + args.iterations; i++) {
  const cpuBefore = process.cpuUsage();
  const t = performance.now();
  forwarded = eventBridge === null ? mapToRequests(text) : await handle(eventBridge, text, inFlight);
  const elapsed = performance.now() - t;
  const used = process.cpuUsage(cpuBefore);
  if (i === 0) {
    firstMs = elapsed;
    if (process.env.BENCH_T0_MS) spawnToFirstMs = Date.now() - Number(process.env.BENCH_T0_MS);
  }
  if (i >= args.warmup) {
    wall.push(elapsed);
    cpu.push((used.user + used.system) / 1000);
  }
}
const medianMs = median(wall);
console.log(
  JSON.stringify({
    impl: 'node',
    mode: args.mode,
    records,
    forwarded_per_invocation: forwarded,
    init_ms: initMs,
    first_ms: firstMs,
    median_ms: medianMs,
    records_per_s: records / (medianMs / 1000),
    cpu_median_ms: median(cpu),
    spawn_to_first_ms: spawnToFirstMs,
    // VmHWM, as the relay reports it (getrusage's maxRSS survives exec: it can be the parent's).
    max_rss_kib: Number(/VmHWM:\s*(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]),
    iterations: args.iterations,
  }),
);
eventBridge?.destroy();
}
