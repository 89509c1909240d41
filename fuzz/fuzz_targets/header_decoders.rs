//! The header layer on its own. The first input byte picks the mode:
//!
//! * even: the rest is a header, given to `decode_json` and `decode_binary`. The binary result is
//!   compared with an independent reference reader written from docs/remoting-protocol.md §2.5
//!   (differential oracle), JSON successes must be JSON objects with the same `code`, and every
//!   success must survive `encode_json`/`encode_binary` and decode back equal.
//! * odd: the rest drives an `extFields` map (keys mostly drawn from real header field names,
//!   values mostly from numbers and booleans in Java's and C++'s spellings), read with
//!   `ext_fields::from_map` into a few realistic header structs. Every success must survive
//!   `to_map` → `from_map` unchanged.

#![no_main]

use arbitrary::{Result as ArbResult, Unstructured};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rmq_remoting::ext_fields::{from_map, to_map};
use rmq_remoting::header_codec::{decode_binary, decode_json, encode_binary, encode_json};
use rmq_remoting::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// Raw headers

/// Reference reader for the ROCKETMQ binary header (§2.5), deliberately written differently
/// from `decode_binary` (index arithmetic, no `Buf`). `None` = malformed.
fn reference_binary(h: &[u8]) -> Option<RemotingCommand> {
    fn i16_at(h: &[u8], at: usize) -> Option<i16> {
        Some(i16::from_be_bytes(h.get(at..at + 2)?.try_into().ok()?))
    }
    fn i32_at(h: &[u8], at: usize) -> Option<i32> {
        Some(i32::from_be_bytes(h.get(at..at + 4)?.try_into().ok()?))
    }
    /// Text of `len` bytes at `at`: zero length is null, invalid UTF-8 is malformed.
    fn text_at(h: &[u8], at: usize, len: usize) -> Option<Option<String>> {
        let bytes = h.get(at..at.checked_add(len)?)?;
        if len == 0 {
            return Some(None);
        }
        Some(Some(String::from_utf8(bytes.to_vec()).ok()?))
    }
    if h.len() < 21 {
        return None;
    }
    let code = i16_at(h, 0)?;
    let language = h[2];
    let version = i16_at(h, 3)?;
    let opaque = i32_at(h, 5)?;
    let flag = i32_at(h, 9)?;
    let remark_len = usize::try_from(i32_at(h, 13)?).ok()?;
    let remark = text_at(h, 17, remark_len)?;
    let mut at = 17 + remark_len;
    let ext_len = usize::try_from(i32_at(h, at)?).ok()?;
    at += 4;
    let end = at.checked_add(ext_len)?;
    if end > h.len() {
        return None;
    }
    let entries = &h[..end];
    let mut ext_fields = ExtFields::new();
    while at < end {
        let key_len = usize::try_from(i16_at(entries, at)?).ok()?;
        let key = text_at(entries, at + 2, key_len)?;
        at += 2 + key_len;
        let value_len = usize::try_from(i32_at(entries, at)?).ok()?;
        let value = text_at(entries, at + 4, value_len)?;
        at += 4 + value_len;
        if let (Some(k), Some(v)) = (key, value) {
            ext_fields.insert(k, v);
        }
    }
    Some(RemotingCommand {
        code: code.into(),
        language: LanguageCode::from_u8(language),
        version: version.into(),
        opaque,
        flag,
        remark,
        ext_fields,
        body: Default::default(),
        serialize_type: SerializeType::RocketMq,
    })
}

fn fuzz_headers(data: &[u8]) {
    // Binary: differential against the reference, then a round trip.
    let ours = decode_binary(data).ok();
    let reference = reference_binary(data);
    assert_eq!(ours, reference, "decode_binary disagrees with the §2.5 reference");
    if let Some(cmd) = ours {
        let mut buf = BytesMut::new();
        encode_binary(&cmd, &mut buf);
        assert_eq!(decode_binary(&buf).ok().as_ref(), Some(&cmd), "binary round trip");
    }

    // JSON: a success must be a JSON object with that code, and must round-trip exactly.
    if let Ok(cmd) = decode_json(data) {
        // serde_json skips ignored fields (e.g. `serializeTypeCurrentRPC`) without checking
        // their UTF-8 or surrogate escapes, so such headers are accepted though `Value` would
        // refuse them; harmless, and Java reads them too. Compare the code when `Value` agrees.
        let text = String::from_utf8_lossy(data);
        assert!(text.trim_start().starts_with('{'), "only JSON objects are headers");
        if let Ok(value @ serde_json::Value::Object(_)) =
            serde_json::from_str::<serde_json::Value>(&text)
        {
            assert_eq!(value["code"].as_i64(), Some(i64::from(cmd.code)), "code differs");
        }
        assert_eq!(cmd.serialize_type, SerializeType::Json);
        let mut buf = BytesMut::new();
        encode_json(&cmd, &mut buf);
        let back = decode_json(&buf).unwrap_or_else(|e| {
            panic!("our JSON did not decode: {e}: {}", String::from_utf8_lossy(&buf))
        });
        assert_eq!(back, cmd, "JSON round trip");
        // Everything we write must be standard JSON with string extFields values (§2.6).
        let written: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        if let Some(fields) = written.get("extFields") {
            assert!(fields.as_object().unwrap().values().all(|v| v.is_string()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Typed extFields

/// `SendMessageRequestHeaderV2` (§6.1): single-letter keys.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct SendMessageHeaderV2 {
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
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
enum ExpressionType {
    TAG,
    SQL92,
}

/// `PullMessageRequestHeader` (§6.2), with an enum and unsigned fields.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PullMessageHeader {
    consumer_group: String,
    topic: String,
    queue_id: i32,
    queue_offset: i64,
    max_msg_nums: u32,
    sys_flag: u8,
    commit_offset: i64,
    suspend_timeout_millis: u64,
    #[serde(default)]
    subscription: Option<String>,
    sub_version: i64,
    #[serde(default)]
    expression_type: Option<ExpressionType>,
    #[serde(default)]
    max_msg_bytes: Option<i32>,
    #[serde(default)]
    bname: Option<String>,
}

/// `GetRouteInfoRequestHeader` (§6.10) plus the 5.x RPC fields (§2.6).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteInfoHeader {
    topic: String,
    #[serde(default)]
    accept_standard_json_only: Option<bool>,
    #[serde(default)]
    ns: Option<String>,
    #[serde(default)]
    nsd: Option<bool>,
    #[serde(default)]
    oway: Option<bool>,
    #[serde(default)]
    lo: Option<bool>,
}

/// A response header with the odd types: short, unsigned short, double.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OddTypesHeader {
    queue_id: i16,
    perm: u16,
    #[serde(default)]
    consume_tps: Option<f64>,
    #[serde(default)]
    order: bool,
    #[serde(default)]
    remark_text: Option<String>,
}

const KEYS: &[&str] = &[
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n",
    "consumerGroup", "topic", "queueId", "queueOffset", "maxMsgNums", "sysFlag", "commitOffset",
    "suspendTimeoutMillis", "subscription", "subVersion", "expressionType", "maxMsgBytes",
    "bname", "acceptStandardJsonOnly", "ns", "nsd", "oway", "lo", "perm", "consumeTps", "order",
    "remarkText", "AccessKey", "Signature", "OnsChannel", "",
];

const VALUES: &[&str] = &[
    "", " ", "0", "1", "-1", " 7 ", "+5", "true", "TRUE", "True", "false", "yes", "TAG", "SQL92",
    "tag", "2147483647", "2147483648", "-2147483648", "-2147483649", "32767", "32768", "65535",
    "65536", "255", "256", "9223372036854775807", "9223372036854775808", "18446744073709551615",
    "1.5", "1e3", "NaN", "inf", "-0", "0x10", "TopicTest", "KEYS\u{1}k1\u{2}TAGS\u{1}TagA\u{2}",
    "\u{0}", "é",
];

fn arbitrary_map(u: &mut Unstructured) -> ArbResult<ExtFields> {
    let mut map = ExtFields::new();
    let entries = u.int_in_range(0..=24)?;
    for _ in 0..entries {
        let key = if u.ratio(7, 8)? {
            (*u.choose(KEYS)?).to_owned()
        } else {
            String::arbitrary_take(u)?
        };
        let value = if u.ratio(3, 4)? {
            (*u.choose(VALUES)?).to_owned()
        } else {
            String::arbitrary_take(u)?
        };
        map.insert(key, value);
    }
    Ok(map)
}

trait TakeString: Sized {
    fn arbitrary_take(u: &mut Unstructured) -> ArbResult<Self>;
}

impl TakeString for String {
    fn arbitrary_take(u: &mut Unstructured) -> ArbResult<Self> {
        let len = u.int_in_range(0..=24)?;
        let bytes = u.bytes(len)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// Reads `map` as `H`; a success must come back unchanged through `to_map` → `from_map`, and
/// `to_map` may only write the struct's own keys.
fn check_header<H>(map: &ExtFields, own_keys: &[&str], has_float: fn(&H) -> bool)
where
    H: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let Ok(header) = from_map::<H>(map) else {
        return;
    };
    let written = to_map(&header);
    for key in written.keys() {
        assert!(own_keys.contains(&key), "to_map wrote a foreign key {key:?}");
    }
    if has_float(&header) {
        // Non-finite doubles ("NaN", "inf") are accepted but cannot be written back.
        return;
    }
    let back: H = from_map(&written).unwrap_or_else(|e| {
        panic!("to_map output does not read back: {e}\nheader: {header:?}\nmap: {written:?}")
    });
    assert_eq!(back, header, "extFields round trip\nmap in: {map:?}\nmap out: {written:?}");
}

fn fuzz_ext_fields(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(map) = arbitrary_map(&mut u) else {
        return;
    };
    check_header::<SendMessageHeaderV2>(
        &map,
        &["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"],
        |_| false,
    );
    check_header::<PullMessageHeader>(
        &map,
        &[
            "consumerGroup", "topic", "queueId", "queueOffset", "maxMsgNums", "sysFlag",
            "commitOffset", "suspendTimeoutMillis", "subscription", "subVersion",
            "expressionType", "maxMsgBytes", "bname",
        ],
        |_| false,
    );
    check_header::<RouteInfoHeader>(
        &map,
        &["topic", "acceptStandardJsonOnly", "ns", "nsd", "oway", "lo"],
        |_| false,
    );
    check_header::<OddTypesHeader>(
        &map,
        &["queueId", "perm", "consumeTps", "order", "remarkText"],
        |h| h.consume_tps.is_some_and(|t| !t.is_finite()),
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        fuzz_headers(rest);
    } else {
        fuzz_ext_fields(rest);
    }
});
