//! The trace record format of Java's `TraceDataEncoder` (client 4.9.7): records of one message
//! body are ended by `\u{2}`, their fields separated by `\u{1}`; each record type has its own
//! field order. Writing it byte for byte as Java does lets Java's tools and consoles read the
//! traces rmq-client writes, and lets rmq's tools read Java's.

use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Separates the fields of one record (Java `TraceConstants.CONTENT_SPLITOR`).
const CONTENT_SPLITOR: char = '\u{1}';
/// Ends a record (Java `TraceConstants.FIELD_SPLITOR`).
const FIELD_SPLITOR: char = '\u{2}';

/// How Java writes a field it has no value for (string concatenation of `null`); trace
/// readers of every language expect this literal.
pub(crate) const ABSENT: &str = "null";

/// Which step of a message's life a record describes (Java `TraceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TraceType {
    /// The producer sent the message and the broker answered.
    Pub,
    /// A consumer is about to hand the message to its listener.
    SubBefore,
    /// The listener returned (cost and outcome).
    SubAfter,
    /// A transactional producer committed, rolled back or left the message unknown.
    EndTransaction,
}

impl TraceType {
    /// The name Java writes (`TraceType.name()`).
    pub fn as_str(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
        }
    }

    fn parse(s: &str) -> Option<TraceType> {
        [
            TraceType::Pub,
            TraceType::SubBefore,
            TraceType::SubAfter,
            TraceType::EndTransaction,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// The kind of message a Pub or EndTransaction record describes (Java `MessageType`, written
/// as its ordinal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceMessageType {
    /// An ordinary message (0).
    Normal,
    /// The half message of a transaction (1).
    TransHalf,
    /// The end of a transaction (2; Java's `Trans_msg_Commit`, whatever the outcome).
    TransCommit,
    /// A message with a delay level (3).
    Delay,
}

impl TraceMessageType {
    /// Java's ordinal, as written in records.
    pub fn ordinal(self) -> u8 {
        match self {
            TraceMessageType::Normal => 0,
            TraceMessageType::TransHalf => 1,
            TraceMessageType::TransCommit => 2,
            TraceMessageType::Delay => 3,
        }
    }

    /// Java's enum constant name (`Normal_Msg`, ...), what consoles print.
    pub fn java_name(self) -> &'static str {
        match self {
            TraceMessageType::Normal => "Normal_Msg",
            TraceMessageType::TransHalf => "Trans_Msg_Half",
            TraceMessageType::TransCommit => "Trans_msg_Commit",
            TraceMessageType::Delay => "Delay_Msg",
        }
    }

    fn from_ordinal(s: &str) -> Option<TraceMessageType> {
        match s.parse::<u8>().ok()? {
            0 => Some(TraceMessageType::Normal),
            1 => Some(TraceMessageType::TransHalf),
            2 => Some(TraceMessageType::TransCommit),
            3 => Some(TraceMessageType::Delay),
            _ => None,
        }
    }
}

/// One trace record: one message at one step, with what Java's encoder writes for that step.
/// Fields the step does not carry stay empty or zero; text Java had no value for reads
/// `"null"`, as Java writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRecord {
    /// The step.
    pub trace_type: TraceType,
    /// When the step began, ms since the epoch (absent from old SubAfter records: 0).
    pub timestamp: i64,
    /// The broker's region (`MSG_REGION`); not in SubAfter records.
    pub region_id: String,
    /// The producer or consumer group (not in old SubAfter records).
    pub group: String,
    /// Pairs a SubBefore with its SubAfter (both carry the same id).
    pub request_id: String,
    /// The traced message's topic (Pub, EndTransaction).
    pub topic: String,
    /// The traced message's id (its `UNIQ_KEY`): what a trace is looked up by.
    pub msg_id: String,
    /// The broker's offset message id (Pub).
    pub offset_msg_id: String,
    /// The message's tag (Pub, EndTransaction).
    pub tags: String,
    /// The message's keys, space-separated.
    pub keys: String,
    /// The broker address the message was sent to (Pub, EndTransaction).
    pub store_host: String,
    /// The sending client, only in records of old Java clients (Pub with 15 fields).
    pub client_host: String,
    /// Body bytes as sent, after compression (Pub).
    pub body_length: i32,
    /// Milliseconds the send or the listener took (per message of a batch).
    pub cost_time: i32,
    /// The message kind (Pub, EndTransaction).
    pub msg_type: Option<TraceMessageType>,
    /// Whether the send stored the message (SEND_OK) or the listener succeeded.
    pub success: bool,
    /// How often the message had been redelivered (SubBefore).
    pub retry_times: i32,
    /// How the listener returned (SubAfter; Java `ConsumeReturnType` ordinal: 0 success,
    /// 1 timeout, 2 exception, 3 null, 4 failed).
    pub context_code: i32,
    /// The transaction id (EndTransaction).
    pub transaction_id: String,
    /// `COMMIT_MESSAGE`, `ROLLBACK_MESSAGE` or `UNKNOW` (EndTransaction).
    pub transaction_state: String,
    /// Whether the outcome answered a broker's check (EndTransaction).
    pub from_transaction_check: bool,
}

impl TraceRecord {
    /// An empty record of `trace_type`, as Java's `TraceContext`/`TraceBean` start out.
    pub fn new(trace_type: TraceType) -> TraceRecord {
        TraceRecord {
            trace_type,
            timestamp: 0,
            region_id: String::new(),
            group: String::new(),
            request_id: String::new(),
            topic: String::new(),
            msg_id: String::new(),
            offset_msg_id: String::new(),
            tags: String::new(),
            keys: String::new(),
            store_host: String::new(),
            client_host: String::new(),
            body_length: 0,
            cost_time: 0,
            msg_type: None,
            success: true,
            retry_times: 0,
            context_code: 0,
            transaction_id: String::new(),
            transaction_state: String::new(),
            from_transaction_check: false,
        }
    }

    /// Appends the record as Java's `encoderFromContextBean` writes it (local access channel).
    pub fn encode_into(&self, out: &mut String) {
        let msg_type = self.msg_type.unwrap_or(TraceMessageType::Normal).ordinal();
        // Pub and EndTransaction records begin alike: the message as the producer saw it.
        let message_fields = || {
            vec![
                self.trace_type.as_str().to_owned(),
                self.timestamp.to_string(),
                self.region_id.clone(),
                self.group.clone(),
                self.topic.clone(),
                self.msg_id.clone(),
                self.tags.clone(),
                self.keys.clone(),
                self.store_host.clone(),
            ]
        };
        let fields: Vec<String> = match self.trace_type {
            TraceType::Pub => {
                let mut fields = message_fields();
                fields.extend([
                    self.body_length.to_string(),
                    self.cost_time.to_string(),
                    msg_type.to_string(),
                    self.offset_msg_id.clone(),
                    self.success.to_string(),
                ]);
                fields
            }
            TraceType::SubBefore => vec![
                self.trace_type.as_str().to_owned(),
                self.timestamp.to_string(),
                self.region_id.clone(),
                self.group.clone(),
                self.request_id.clone(),
                self.msg_id.clone(),
                self.retry_times.to_string(),
                self.keys.clone(),
            ],
            TraceType::SubAfter => vec![
                self.trace_type.as_str().to_owned(),
                self.request_id.clone(),
                self.msg_id.clone(),
                self.cost_time.to_string(),
                self.success.to_string(),
                self.keys.clone(),
                self.context_code.to_string(),
                self.timestamp.to_string(),
                self.group.clone(),
            ],
            TraceType::EndTransaction => {
                let mut fields = message_fields();
                fields.extend([
                    msg_type.to_string(),
                    self.transaction_id.clone(),
                    self.transaction_state.clone(),
                    self.from_transaction_check.to_string(),
                ]);
                fields
            }
        };
        let _ = write!(out, "{}{FIELD_SPLITOR}", fields.join("\u{1}"));
    }

    /// The keys the trace message is indexed under for this record: the message id and each
    /// of its keys (Java's `TraceTransferBean.transKey`).
    pub(crate) fn index_keys(&self, into: &mut BTreeSet<String>) {
        into.insert(self.msg_id.clone());
        if self.keys != ABSENT {
            into.extend(
                self.keys
                    .split(' ')
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned),
            );
        }
    }
}

/// Encodes records into one trace message body.
pub fn encode(records: &[TraceRecord]) -> String {
    let mut out = String::new();
    for r in records {
        r.encode_into(&mut out);
    }
    out
}

/// Decodes a trace message body as Java's `decoderFromTraceDataString` does, including the
/// older and newer field counts it accepts. A record Java could not parse either (unknown
/// type, missing or non-numeric fields) is skipped instead of failing the whole body.
pub fn decode(data: &str) -> Vec<TraceRecord> {
    data.split(FIELD_SPLITOR)
        .filter(|chunk| !chunk.is_empty())
        .filter_map(decode_one)
        .collect()
}

/// One record; `None` when it is malformed.
fn decode_one(chunk: &str) -> Option<TraceRecord> {
    let mut line: Vec<&str> = chunk.split(CONTENT_SPLITOR).collect();
    // Java's String.split drops trailing empty fields; the field counts below assume it.
    while line.last() == Some(&"") {
        line.pop();
    }
    let trace_type = TraceType::parse(line.first()?)?;
    let text = |i: usize| line.get(i).map(|s| (*s).to_owned());
    let int = |i: usize| line.get(i)?.parse::<i32>().ok();
    let long = |i: usize| line.get(i)?.parse::<i64>().ok();
    // Java's Boolean.parseBoolean: "true" in any case is true, anything else false.
    let flag = |i: usize| line.get(i).is_some_and(|s| s.eq_ignore_ascii_case("true"));
    let msg_type = |i: usize| TraceMessageType::from_ordinal(line.get(i)?);
    // Pub and EndTransaction records begin alike (fields 1 to 8).
    let message_fields = |r: &mut TraceRecord| -> Option<()> {
        r.timestamp = long(1)?;
        r.region_id = text(2)?;
        r.group = text(3)?;
        r.topic = text(4)?;
        r.msg_id = text(5)?;
        r.tags = text(6)?;
        r.keys = text(7)?;
        r.store_host = text(8)?;
        Some(())
    };
    let mut r = TraceRecord::new(trace_type);
    match trace_type {
        TraceType::Pub => {
            message_fields(&mut r)?;
            r.body_length = int(9)?;
            r.cost_time = int(10)?;
            r.msg_type = Some(msg_type(11)?);
            // 13 fields: no offset message id (older clients); 15: the client host too.
            if line.len() >= 14 {
                r.offset_msg_id = text(12)?;
                r.success = flag(13);
            } else if line.len() == 13 {
                r.success = flag(12);
            }
            if line.len() >= 15 {
                r.client_host = text(14)?;
            }
        }
        TraceType::SubBefore => {
            r.timestamp = long(1)?;
            r.region_id = text(2)?;
            r.group = text(3)?;
            r.request_id = text(4)?;
            r.msg_id = text(5)?;
            r.retry_times = int(6)?;
            r.keys = text(7)?;
        }
        TraceType::SubAfter => {
            r.request_id = text(1)?;
            r.msg_id = text(2)?;
            r.cost_time = int(3)?;
            r.success = flag(4);
            r.keys = text(5)?;
            if line.len() >= 7 {
                r.context_code = int(6)?;
            }
            if line.len() >= 9 {
                r.timestamp = long(7)?;
                r.group = text(8)?;
            }
        }
        TraceType::EndTransaction => {
            message_fields(&mut r)?;
            r.msg_type = Some(msg_type(9)?);
            r.transaction_id = text(10)?;
            r.transaction_state = text(11)?;
            r.from_transaction_check = flag(12);
        }
    }
    Some(r)
}
