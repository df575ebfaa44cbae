//! What a relay invocation costs before the network: decode the Lambda event, select and map
//! every record with the example's generated mappings, serialize each detail and build the
//! PutEvents entries. `cargo bench -p e2e --bench relay`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use outbox_runtime::handler::{Options, prepare};

fn decode_map_serialize(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode+map+serialize");
    for records in [1_000, 10_000] {
        let event = e2e::example_batch(records, 7).to_string();
        let options = Options::new("bench-bus");
        group.throughput(Throughput::Elements(records as u64));
        group.bench_with_input(BenchmarkId::from_parameter(records), &event, |b, event| {
            b.iter(|| prepare(&relay::mapping::Mapping, event, &options, None).expect("a batch"));
        });
    }
    group.finish();
}

criterion_group!(benches, decode_map_serialize);
criterion_main!(benches);
