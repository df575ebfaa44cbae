//! What a relay invocation costs before the network: decode the Lambda event, select and map
//! every record with the example's generated mappings, serialize each detail, check it against
//! its schema and build the PutEvents entries; and the same without the schema check, to show
//! what the check costs. And what reading the body Lambda sends costs: `lambda_runtime`'s
//! deserialization into a `Box<RawValue>` against the UTF-8 check the relay does instead
//! (`TakeBody` in `runtime/src/lambda.rs`).
//! `cargo bench -p e2e --bench relay`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use outbox_runtime::handler::{Options, prepare};

fn decode_map_serialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("prepare");
    for records in [1_000, 10_000] {
        let event = e2e::example_batch(records, 7).to_string();
        group.throughput(Throughput::Elements(records as u64));
        for validate in [true, false] {
            let mut options = Options::new("bench-bus");
            options.validate = validate;
            let name = if validate { "validated" } else { "unvalidated" };
            group.bench_with_input(BenchmarkId::new(name, records), &event, |b, event| {
                b.iter(|| {
                    prepare(&relay::mapping::Mapping, event, &options, None).expect("a batch")
                });
            });
        }
    }
    group.finish();
}

fn lambda_body_to_text(c: &mut Criterion) {
    let mut group = c.benchmark_group("lambda body to text");
    for records in [1_000, 10_000] {
        let body = e2e::example_batch(records, 7).to_string().into_bytes();
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("raw value", records), &body, |b, body| {
            b.iter(|| {
                serde_json::from_slice::<Box<serde_json::value::RawValue>>(body).expect("JSON")
            });
        });
        group.bench_with_input(
            BenchmarkId::new("utf-8 check", records),
            &body,
            |b, body| {
                b.iter(|| std::str::from_utf8(body).expect("UTF-8").len());
            },
        );
    }
    group.finish();
}

criterion_group!(benches, decode_map_serialize, lambda_body_to_text);
criterion_main!(benches);
