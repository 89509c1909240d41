//! `rocketmq_rpc_latency`: how long each request took to handle, per request and response code.

use std::time::Duration;

use rmq_remoting::{RequestCode, ResponseCode};

use crate::exposition::{Exposition, Kind};
use crate::histogram::HistogramMap;

/// Apache's bucket bounds for `rocketmq_rpc_latency`, in milliseconds.
const LATENCY_BOUNDS_MS: [u64; 9] = [1, 3, 5, 7, 10, 100, 1_000, 2_000, 3_000];

/// (request code, response code, oneway).
type Key = (i32, i32, bool);

/// Request latencies as the transport's dispatch reports them, one histogram per
/// (request code, response code, oneway). Recording takes a shared read lock and a few atomic
/// adds; the write lock is taken once per new combination.
pub struct RpcLatency {
    by_code: HistogramMap<Key>,
}

impl Default for RpcLatency {
    fn default() -> Self {
        RpcLatency {
            by_code: HistogramMap::new(&LATENCY_BOUNDS_MS),
        }
    }
}

impl RpcLatency {
    /// Counts one handled request.
    pub fn record(&self, request_code: i32, response_code: i32, oneway: bool, took: Duration) {
        let key = (request_code, response_code, oneway);
        let millis = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let histogram = self.by_code.get(&key, |k| *k);
        histogram.observe(millis);
    }

    /// Writes the `rocketmq_rpc_latency` family (samples named with the `_milliseconds` unit
    /// suffix, as OpenTelemetry's exporter names Apache's).
    pub fn encode(&self, out: &mut Exposition) {
        let entries = self.by_code.sorted();
        if entries.is_empty() {
            return;
        }
        out.family("rocketmq_rpc_latency", Kind::Histogram, "Rpc latency");
        for ((request, response, oneway), histogram) in entries {
            let request = request_code_label(request);
            let response = response_code_label(response);
            let result = if oneway { "oneway" } else { "success" };
            histogram.encode(
                out,
                "rocketmq_rpc_latency_milliseconds",
                &[
                    ("protocol_type", "remoting"),
                    ("request_code", &request),
                    ("response_code", &response),
                    ("result", result),
                ],
            );
        }
    }
}

/// Apache's label for a request code: its name in lower case, or the number when unknown.
pub(crate) fn request_code_label(code: i32) -> String {
    RequestCode::from_i32(code).map_or_else(|| code.to_string(), |c| c.name().to_lowercase())
}

/// Apache's label for a response code: its name in lower case, or the number when unknown.
pub(crate) fn response_code_label(code: i32) -> String {
    ResponseCode::from_i32(code).map_or_else(|| code.to_string(), |c| c.name().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_histogram_per_code_pair_named_as_apache_names_them() {
        let rpc = RpcLatency::default();
        let send = RequestCode::SEND_MESSAGE_V2.as_i32();
        let ok = ResponseCode::SUCCESS.as_i32();
        rpc.record(send, ok, false, Duration::from_micros(400));
        rpc.record(send, ok, false, Duration::from_millis(4));
        rpc.record(9_999, 4_242, true, Duration::from_secs(5));
        let mut out = Exposition::new(&[]);
        rpc.encode(&mut out);
        let text = out.finish();
        assert!(text.contains(
            "rocketmq_rpc_latency_milliseconds_count{protocol_type=\"remoting\",request_code=\"send_message_v2\",response_code=\"success\",result=\"success\"} 2.0"
        ), "{text}");
        assert!(text.contains(
            "rocketmq_rpc_latency_milliseconds_bucket{protocol_type=\"remoting\",request_code=\"send_message_v2\",response_code=\"success\",result=\"success\",le=\"3.0\"} 1.0"
        ), "{text}");
        assert!(text.contains(
            "rocketmq_rpc_latency_milliseconds_bucket{protocol_type=\"remoting\",request_code=\"9999\",response_code=\"4242\",result=\"oneway\",le=\"3000.0\"} 0.0"
        ), "{text}");
    }
}
