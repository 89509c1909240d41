//! Cost of evaluating compiled SQL92 filters against one message's properties, as the broker
//! does for every message a pull scans. Properties are looked up in the stored properties
//! string with `property_value`, exactly as the broker reads them from a record.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rmq_filter::Expression;
use rmq_remoting::message::property_value;

fn bench(c: &mut Criterion) {
    let props = "a\u{1}7\u{2}region\u{1}eu\u{2}price\u{1}19.99\u{2}TAGS\u{1}TagA\u{2}KEYS\u{1}order-1\u{2}\
        UNIQ_KEY\u{1}7F0000010A2B18B4AAC2730E2B5D0000\u{2}WAIT\u{1}true\u{2}CLUSTER\u{1}DefaultCluster";
    let cases = [
        ("simple", "a > 5"),
        ("typical", "a > 5 AND region IN ('eu','us')"),
        (
            "complex",
            "(a BETWEEN 1 AND 10 OR price > 100.0) AND region IN ('eu','us','ap') AND TAGS = 'TagA' AND missing IS NULL",
        ),
    ];
    let mut group = c.benchmark_group("sql92_evaluate");
    for (name, text) in cases {
        let expr = Expression::compile(text).expect("benchmark expressions compile");
        group.bench_function(name, |b| {
            b.iter(|| black_box(&expr).matches(|n| property_value(black_box(props), n)))
        });
    }
    group.finish();
    c.bench_function("sql92_compile_typical", |b| {
        b.iter(|| Expression::compile(black_box("a > 5 AND region IN ('eu','us')")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
