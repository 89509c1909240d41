//! The trace record format against bytes Apache RocketMQ 4.9.7's own `TraceDataEncoder` wrote
//! (fixtures/trace, made by fixtures/trace/TraceFixtures.java): rmq-client must write the same
//! bytes for the same records, so Java's decoder reads rmq's traces, and must decode Java's
//! bodies (current and older layouts) to the values Java's decoder finds.

use rmq_client::{decode_trace, encode_trace, TraceMessageType, TraceRecord, TraceType};

const JAVA_BODY: &[u8] = include_bytes!("fixtures/trace/java-4.9.7-body.bin");
const LEGACY_BODY: &[u8] = include_bytes!("fixtures/trace/legacy-body.bin");
const JAVA_DECODED: &str = include_str!("fixtures/trace/java-4.9.7-decoded.txt");

const ID1: &str = "7F0000010A2B18B4AAC2000000000001";
const ID2: &str = "7F0000010A2B18B4AAC2000000000002";
const REQ: &str = "7F0000010A2B18B4AAC20000000000AA";

fn s(v: &str) -> String {
    v.to_owned()
}

/// The records TraceFixtures.java encodes, built the way rmq-client's hooks build them.
fn java_fixture_records() -> Vec<TraceRecord> {
    let mut pub1 = TraceRecord::new(TraceType::Pub);
    pub1.timestamp = 1_700_000_000_123;
    pub1.region_id = s("DefaultRegion");
    pub1.group = s("pg-trace");
    pub1.topic = s("TopicA");
    pub1.msg_id = s(ID1);
    pub1.offset_msg_id = s("7F00000100002A9F0000000000000ABC");
    pub1.tags = s("TagA");
    pub1.keys = s("k1 k2");
    pub1.store_host = s("127.0.0.1:10911");
    pub1.body_length = 11;
    pub1.cost_time = 7;
    pub1.msg_type = Some(TraceMessageType::Normal);
    let mut pub2 = pub1.clone();
    pub2.timestamp = 1_700_000_000_456;
    pub2.msg_id = s(ID2);
    pub2.offset_msg_id = s("7F00000100002A9F0000000000000DEF");
    pub2.tags = s("null");
    pub2.keys = s("null");
    pub2.body_length = 5000;
    pub2.cost_time = 0;
    pub2.msg_type = Some(TraceMessageType::Delay);
    pub2.success = false;
    let mut before1 = TraceRecord::new(TraceType::SubBefore);
    before1.timestamp = 1_700_000_001_000;
    before1.region_id = s("DefaultRegion");
    before1.group = s("cg-trace");
    before1.request_id = s(REQ);
    before1.msg_id = s(ID1);
    before1.keys = s("k1 k2");
    let mut before2 = before1.clone();
    before2.msg_id = s(ID2);
    before2.retry_times = 3;
    before2.keys = s("null");
    let after = |b: &TraceRecord| {
        let mut a = b.clone();
        a.trace_type = TraceType::SubAfter;
        a.cost_time = 12;
        a.success = false;
        a.context_code = 4;
        a
    };
    let (after1, after2) = (after(&before1), after(&before2));
    let mut end = TraceRecord::new(TraceType::EndTransaction);
    end.timestamp = 1_700_000_002_000;
    end.region_id = s("DefaultRegion");
    end.group = s("pg-tx");
    end.topic = s("TopicTx");
    end.msg_id = s("7F0000010A2B18B4AAC2000000000003");
    end.tags = s("TagT");
    end.keys = s("order-9");
    end.store_host = s("127.0.0.1:10911");
    end.msg_type = Some(TraceMessageType::TransCommit);
    end.transaction_id = s("7F0000010A2B18B4AAC2000000000003");
    end.transaction_state = s("COMMIT_MESSAGE");
    end.from_transaction_check = true;
    vec![pub1, pub2, before1, before2, after1, after2, end]
}

#[test]
fn rmq_writes_the_bytes_java_writes() {
    let ours = encode_trace(&java_fixture_records());
    assert_eq!(ours.as_bytes(), JAVA_BODY);
}

/// A record as TraceFixtures.java dumps what Java's decoder found (tab-separated).
fn dump(r: &TraceRecord) -> String {
    let ord = |t: Option<TraceMessageType>| t.map_or(s("?"), |t| t.ordinal().to_string());
    let mut f = vec![
        s(r.trace_type.as_str()),
        r.timestamp.to_string(),
        r.group.clone(),
        r.cost_time.to_string(),
        r.success.to_string(),
        r.msg_id.clone(),
        r.keys.clone(),
    ];
    match r.trace_type {
        TraceType::Pub => f.extend([
            r.region_id.clone(),
            r.topic.clone(),
            r.tags.clone(),
            r.store_host.clone(),
            r.body_length.to_string(),
            ord(r.msg_type),
            r.offset_msg_id.clone(),
        ]),
        TraceType::SubBefore => f.extend([
            r.region_id.clone(),
            r.request_id.clone(),
            r.retry_times.to_string(),
        ]),
        TraceType::SubAfter => f.extend([r.request_id.clone(), r.context_code.to_string()]),
        TraceType::EndTransaction => f.extend([
            r.region_id.clone(),
            r.topic.clone(),
            r.tags.clone(),
            r.store_host.clone(),
            ord(r.msg_type),
            r.transaction_id.clone(),
            r.transaction_state.clone(),
            r.from_transaction_check.to_string(),
        ]),
    }
    f.join("\t")
}

#[test]
fn rmq_decodes_what_java_decodes() {
    let mut ours = decode_trace(std::str::from_utf8(JAVA_BODY).unwrap());
    ours.extend(decode_trace(std::str::from_utf8(LEGACY_BODY).unwrap()));
    let java: Vec<&str> = JAVA_DECODED.lines().collect();
    assert_eq!(ours.len(), java.len(), "records decoded");
    for (r, j) in ours.iter().zip(&java) {
        let mut expected: Vec<&str> = j.split('\t').collect();
        // An old SubAfter has no timestamp: Java's decoder leaves its clock's "now" there.
        if r.trace_type == TraceType::SubAfter && r.timestamp == 0 {
            assert!(expected[1].parse::<i64>().unwrap() > 1_600_000_000_000);
            expected[1] = "0";
        }
        assert_eq!(dump(r), expected.join("\t"));
    }
    assert_eq!(
        ours[8].client_host, "10.0.0.9",
        "15-field Pub keeps the client host"
    );
}

#[test]
fn records_round_trip_and_garbage_is_skipped() {
    let records = java_fixture_records();
    let body = encode_trace(&records);
    // SubAfter records do not carry the region: decoding keeps what was written, nothing more.
    assert_eq!(encode_trace(&decode_trace(&body)), body);
    let mixed = format!(
        "Nope\u{1}1\u{2}Pub\u{1}notanumber\u{2}{}",
        encode_trace(&records[..1])
    );
    assert_eq!(
        encode_trace(&decode_trace(&mixed)),
        encode_trace(&records[..1])
    );
    assert!(decode_trace("").is_empty());
}
