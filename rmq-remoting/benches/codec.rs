//! Codec costs on realistic sizes: a Java 5.x SEND_MESSAGE_V2 request (docs/remoting-protocol.md
//! §2.7: 14 extFields, 1 KiB body) encoded and decoded as a frame in both header
//! serializations; the typed send header read from its `extFields`; and a route document
//! written with `fastjson::to_vec` in both key styles.
//!
//! Run with `cargo bench -p rmq-remoting --bench codec` (about a minute and a half).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rmq_remoting::ext_fields;
use rmq_remoting::fastjson::{self, KeyStyle};
use rmq_remoting::frame::{decode_frame, encode_frame, DEFAULT_MAX_FRAME_LEN};
use rmq_remoting::header_codec::{decode_binary, decode_json};
use rmq_remoting::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use serde::{Deserialize, Serialize};

/// SEND_MESSAGE_V2's header as Java 5.x sends it (single-letter keys, plus `bname`).
#[derive(Debug, Serialize, Deserialize)]
struct SendMessageRequestHeaderV2 {
    a: String,
    b: String,
    c: String,
    d: i32,
    e: i32,
    f: i32,
    g: i64,
    h: i32,
    #[serde(default)]
    i: Option<String>,
    #[serde(default)]
    j: Option<i32>,
    #[serde(default)]
    k: bool,
    #[serde(default)]
    l: Option<i32>,
    #[serde(default)]
    m: Option<bool>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    bname: Option<String>,
}

fn send_v2(serialize_type: SerializeType) -> RemotingCommand {
    let fields = [
        ("a", "PG"),
        ("b", "TopicTest"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "2"),
        ("f", "0"),
        ("g", "1718000000000"),
        ("h", "0"),
        (
            "i",
            "KEYS\u{1}k1\u{2}UNIQ_KEY\u{1}C0A8010530391B6D35860A1B2C3D0001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}",
        ),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
        ("n", "broker-a"),
        ("bname", "broker-a"),
    ];
    RemotingCommand {
        code: 310,
        language: LanguageCode::JAVA,
        version: 479,
        opaque: 42,
        flag: 0,
        remark: None,
        ext_fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: Bytes::from(vec![b'x'; 1024]),
        serialize_type,
    }
}

fn frames(c: &mut Criterion) {
    for (name, st) in [
        ("json", SerializeType::Json),
        ("binary", SerializeType::RocketMq),
    ] {
        let cmd = send_v2(st);
        let mut frame = BytesMut::new();
        encode_frame(&cmd, &mut frame);
        let header_len =
            (u32::from_be_bytes(frame[4..8].try_into().unwrap()) & 0x00FF_FFFF) as usize;
        let header = frame[8..8 + header_len].to_vec();

        let mut group = c.benchmark_group(format!("send_v2/{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("encode_frame ({} B)", frame.len()), |b| {
            let mut dst = BytesMut::with_capacity(4096);
            b.iter(|| {
                dst.clear();
                encode_frame(black_box(&cmd), &mut dst);
                black_box(dst.len())
            })
        });
        group.bench_function(format!("decode_frame ({} B)", frame.len()), |b| {
            b.iter_batched(
                || frame.clone(),
                |mut src| decode_frame(black_box(&mut src), DEFAULT_MAX_FRAME_LEN).unwrap(),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("decode header only ({header_len} B)"), |b| {
            b.iter(|| match st {
                SerializeType::Json => decode_json(black_box(&header)).unwrap(),
                SerializeType::RocketMq => decode_binary(black_box(&header)).unwrap(),
            })
        });
        group.finish();
    }
}

fn typed_header(c: &mut Criterion) {
    let fields: ExtFields = send_v2(SerializeType::Json).ext_fields;
    let header: SendMessageRequestHeaderV2 = ext_fields::from_map(&fields).unwrap();
    let mut group = c.benchmark_group("ext_fields");
    group.throughput(Throughput::Elements(1));
    group.bench_function("from_map SendMessageRequestHeaderV2", |b| {
        b.iter(|| ext_fields::from_map::<SendMessageRequestHeaderV2>(black_box(&fields)).unwrap())
    });
    group.bench_function("to_map SendMessageRequestHeaderV2", |b| {
        b.iter(|| ext_fields::to_map(black_box(&header)))
    });
    group.finish();
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueueData {
    broker_name: String,
    read_queue_nums: i32,
    write_queue_nums: i32,
    perm: i32,
    topic_sys_flag: i32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BrokerData {
    cluster: String,
    broker_name: String,
    broker_addrs: BTreeMap<i64, String>,
    enable_acting_master: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicRouteData {
    broker_datas: Vec<BrokerData>,
    filter_server_table: BTreeMap<String, Vec<String>>,
    queue_datas: Vec<QueueData>,
}

/// A route for a topic on three master/slave broker pairs.
fn route() -> TopicRouteData {
    let names = ["broker-a", "broker-b", "broker-c"];
    TopicRouteData {
        broker_datas: names
            .iter()
            .enumerate()
            .map(|(i, name)| BrokerData {
                cluster: "DefaultCluster".into(),
                broker_name: (*name).into(),
                broker_addrs: BTreeMap::from([
                    (0, format!("192.168.1.{}:10911", 10 + i)),
                    (1, format!("192.168.1.{}:10911", 20 + i)),
                ]),
                enable_acting_master: false,
            })
            .collect(),
        filter_server_table: BTreeMap::new(),
        queue_datas: names
            .iter()
            .map(|name| QueueData {
                broker_name: (*name).into(),
                read_queue_nums: 8,
                write_queue_nums: 8,
                perm: 6,
                topic_sys_flag: 0,
            })
            .collect(),
    }
}

fn fastjson_route(c: &mut Criterion) {
    let route = route();
    let mut group = c.benchmark_group("fastjson");
    group.throughput(Throughput::Elements(1));
    for (name, style) in [
        ("fastjson", KeyStyle::Fastjson),
        ("standard", KeyStyle::Standard),
    ] {
        let len = fastjson::to_vec(&route, style).len();
        group.bench_function(format!("to_vec route {name} ({len} B)"), |b| {
            b.iter(|| fastjson::to_vec(black_box(&route), style))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = frames, typed_header, fastjson_route
}
criterion_main!(benches);
