// The reference: a relay written the way the seed's stream Lambda is, for the example config.
// Unmarshall each image with the AWS SDK (@aws-sdk/util-dynamodb), pick the example's two
// events, and send them with PutEventsCommand in chunks of 10. It produces the same entries as
// the generated relay (checked by bench/run.py and the relay-bench tests).
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';

const BUS = process.env.EVENT_BUS_NAME ?? 'myapp-events';

// unmarshall turns string sets into Set, which JSON.stringify would write as {}.
const setsAsArrays = (_key, value) => (value instanceof Set ? [...value] : value);

function entry(record, source, detailType, detail) {
  return {
    Source: source,
    DetailType: detailType,
    Detail: JSON.stringify(detail, setsAsArrays),
    EventBusName: BUS,
    Time: new Date(record.dynamodb.ApproximateCreationDateTime * 1000),
    Resources: [`urn:outbox:event:${record.eventID}:${detailType}`],
  };
}

/** The PutEvents entries of a DynamoDB Streams event, in record order. */
export function toEntries(event) {
  const entries = [];
  for (const record of event.Records) {
    const change = record.dynamodb;
    const keys = unmarshall(change.Keys);
    if (record.eventName === 'INSERT' && keys.pk.startsWith('USER#') && keys.sk === 'PROFILE') {
      const { pk, sk, ...rest } = unmarshall(change.NewImage);
      entries.push(entry(record, 'myapp.users', 'UserCreated', { userId: pk.slice('USER#'.length), ...rest }));
    } else if (record.eventName === 'MODIFY' && keys.pk.startsWith('ORDER#')) {
      const next = unmarshall(change.NewImage);
      const previous = unmarshall(change.OldImage);
      if (next.status !== previous.status) {
        const { pk, sk, ...order } = next;
        entries.push(
          entry(record, 'myapp.orders', 'OrderStatusChanged', {
            orderId: pk.slice('ORDER#'.length),
            previousStatus: previous.status,
            status: next.status,
            order,
          }),
        );
      }
    }
  }
  return entries;
}

/** Chunks of 10 entries, the PutEvents limit. */
export function chunks(entries) {
  const out = [];
  for (let i = 0; i < entries.length; i += 10) {
    out.push(entries.slice(i, i + 10));
  }
  return out;
}

export function client() {
  return new EventBridgeClient({ endpoint: process.env.EVENTBRIDGE_ENDPOINT });
}

/** The handler: JSON text in (as the Lambda runtime hands it over), entries sent with
 * `inFlight` PutEvents requests at a time. Returns how many entries EventBridge accepted. */
export async function handle(eventBridge, text, inFlight) {
  return handleEvent(eventBridge, JSON.parse(text), inFlight);
}

/** The same for an event already parsed (the stream poller, poll.mjs). */
export async function handleEvent(eventBridge, event, inFlight) {
  const requests = chunks(toEntries(event));
  let accepted = 0;
  let next = 0;
  async function worker() {
    while (next < requests.length) {
      const request = requests[next++];
      const result = await eventBridge.send(new PutEventsCommand({ Entries: request }));
      accepted += request.length - (result.FailedEntryCount ?? 0);
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, requests.length) }, worker));
  return accepted;
}
