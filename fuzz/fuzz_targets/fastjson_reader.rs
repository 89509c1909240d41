//! Arbitrary bytes into the tolerant fastjson reader.
//!
//! For every success, the `serde_json` form is written back with `fastjson::to_vec` in both key
//! styles and re-parsed: it must parse, give the same `serde_json` form, and the standard style
//! must be strict JSON (what clients with plain JSON parsers read, §3.3). The same input is also
//! read as a route document through `from_slice`; a success there must round-trip too.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use rmq_remoting::fastjson::{from_slice, parse, to_vec, KeyStyle};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BrokerData {
    cluster: String,
    broker_name: String,
    broker_addrs: BTreeMap<i64, String>,
    #[serde(default)]
    enable_acting_master: Option<bool>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueData {
    broker_name: String,
    read_queue_nums: i32,
    write_queue_nums: i32,
    perm: i32,
    topic_sys_flag: i32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteData {
    #[serde(default)]
    order_topic_conf: Option<String>,
    queue_datas: Vec<QueueData>,
    broker_datas: Vec<BrokerData>,
    #[serde(default)]
    filter_server_table: BTreeMap<String, Vec<String>>,
}

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = parse(data) {
        let json = value.into_serde_json();
        for style in [KeyStyle::Fastjson, KeyStyle::Standard] {
            let text = to_vec(&json, style);
            let again = parse(&text).unwrap_or_else(|e| {
                panic!("{style:?} output does not re-parse: {e}\n{}", String::from_utf8_lossy(&text))
            });
            assert_eq!(again.into_serde_json(), json, "{style:?} round trip");
            if style == KeyStyle::Standard {
                match serde_json::from_slice::<serde_json::Value>(&text) {
                    // serde_json's parser is only best-effort on float precision (without its
                    // `float_roundtrip` feature), so compare exactly only when there are none.
                    Ok(strict) => {
                        if !has_float(&json) {
                            assert_eq!(strict, json, "standard style read by serde_json");
                        }
                    }
                    // serde_json stops at 128 levels; our reader allows a level more.
                    Err(e) if e.to_string().contains("recursion limit") => {}
                    Err(e) => panic!(
                        "standard style is not JSON: {e}\n{}",
                        String::from_utf8_lossy(&text)
                    ),
                }
                assert!(text.is_ascii(), "standard style must escape non-ASCII");
            }
        }
    }
    if let Ok(route) = from_slice::<RouteData>(data) {
        for style in [KeyStyle::Fastjson, KeyStyle::Standard] {
            let text = to_vec(&route, style);
            let back: RouteData = from_slice(&text).unwrap_or_else(|e| {
                panic!("{style:?} route does not read back: {e}\n{}", String::from_utf8_lossy(&text))
            });
            assert_eq!(back, route, "{style:?} route round trip");
        }
    }
});

fn has_float(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(items) => items.iter().any(has_float),
        serde_json::Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}
