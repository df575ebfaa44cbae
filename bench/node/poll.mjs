// node poll.mjs --table NAME [--batch-size N] [--batching-window-ms W] [--in-flight K]
//
// The Node.js handler (handler.mjs) behind a stand-in for Lambda's event source mapping, as
// `relay poll` stands for it in front of ours (bench/latency.py), with the same rules: reads
// the table's stream through the DynamoDB Streams API (DYNAMODB_ENDPOINT); a batch goes to the
// handler, as the Lambda event it would get, once N records are buffered (default 100) or the
// oldest has waited W ms (default 1000, the example's batching window); the handler keeps K
// PutEvents requests in flight (default 8; 1 is the seed style) to EVENTBRIDGE_ENDPOINT. It
// reads again at once, or after 250 ms when nothing was new (Lambda polls a shard four times
// a second). Prints `polling` once it reads; stops on SIGINT or SIGTERM.
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { client, handleEvent } from './handler.mjs';

const args = { batchSize: 100, windowMs: 1000, inFlight: 8 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--table') args.table = argv[++i];
  else if (argv[i] === '--batch-size') args.batchSize = Number(argv[++i]);
  else if (argv[i] === '--batching-window-ms') args.windowMs = Number(argv[++i]);
  else if (argv[i] === '--in-flight') args.inFlight = Number(argv[++i]);
}
if (!args.table) {
  console.error('usage: node poll.mjs --table NAME [--batch-size N] [--batching-window-ms W] [--in-flight K]');
  process.exit(2);
}

const streams = new DynamoDBStreamsClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
const { Streams: found = [] } = await streams.send(new ListStreamsCommand({ TableName: args.table }));
if (found.length === 0) throw new Error(`the table ${args.table} has no stream`);
const arn = found[0].StreamArn;
const { StreamDescription: description } = await streams.send(new DescribeStreamCommand({ StreamArn: arn }));
// One shard: a table this benchmark writes to holds no more (moto keeps one per stream).
if (description.Shards.length !== 1) throw new Error(`expected one shard, found ${description.Shards.length}`);
let { ShardIterator: iterator } = await streams.send(
  new GetShardIteratorCommand({ StreamArn: arn, ShardId: description.Shards[0].ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
);

/** A record as Lambda hands it over: creation time in epoch seconds, the source named. */
function lambdaRecord(record) {
  const dynamodb = { ...record.dynamodb, ApproximateCreationDateTime: record.dynamodb.ApproximateCreationDateTime.getTime() / 1000 };
  return { ...record, eventSource: 'aws:dynamodb', eventSourceARN: arn, dynamodb };
}

let stopping = false;
process.on('SIGINT', () => (stopping = true));
process.on('SIGTERM', () => (stopping = true));
const eventBridge = client();
console.log('polling');
let buffer = [];
let since = 0;
while (!stopping && iterator) {
  const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
  iterator = out.NextShardIterator;
  const records = (out.Records ?? []).map(lambdaRecord);
  if (records.length > 0 && buffer.length === 0) since = performance.now();
  buffer.push(...records);
  while (buffer.length >= args.batchSize || (buffer.length > 0 && performance.now() - since >= args.windowMs)) {
    const batch = buffer.splice(0, args.batchSize);
    since = performance.now();
    await handleEvent(eventBridge, { Records: batch }, args.inFlight);
  }
  if (records.length === 0) await sleep(250);
}
