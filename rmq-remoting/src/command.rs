//! `RemotingCommand`: the unit every RocketMQ peer sends and receives (docs/remoting-protocol.md §2).

use bytes::Bytes;
use serde::{de::DeserializeOwned, Serialize};

use crate::code::{RequestCode, ResponseCode};
use crate::error::{CommandError, HeaderError};
use crate::ext_fields;
use crate::field_map::ExtFields;

/// The `version` rmq puts in every command it sends: Java 4.9.8's ordinal (§2.4), so that peers
/// which gate features on the version (SQL92 pulls, standard-JSON routes) treat us as current.
pub const RMQ_VERSION: i32 = 409;

/// Flag bit 0: set on responses.
const FLAG_RESPONSE: i32 = 0x1;
/// Flag bit 1: set on requests that expect no response.
const FLAG_ONEWAY: i32 = 0x2;

/// How a command's header is serialized; the high byte of the frame's header-length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    /// Type 0: a JSON object. What every Java component emits by default, and all the C++
    /// client can read.
    #[default]
    Json,
    /// Type 1: RocketMQ's compact binary layout (§2.5).
    RocketMq,
}

impl SerializeType {
    /// The type byte as it appears on the wire.
    pub const fn as_u8(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }
}

/// The sender's implementation language (§2.3). Unknown names or bytes become [`LanguageCode::Other`],
/// because a server must accept any value without failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum LanguageCode {
    #[default]
    JAVA,
    CPP,
    DOTNET,
    PYTHON,
    DELPHI,
    ERLANG,
    RUBY,
    OTHER,
    HTTP,
    GO,
    PHP,
    OMS,
    RUST,
    NODE_JS,
}

/// Every language in wire-byte order; the index is the byte.
const LANGUAGES: [(LanguageCode, &str); 14] = [
    (LanguageCode::JAVA, "JAVA"),
    (LanguageCode::CPP, "CPP"),
    (LanguageCode::DOTNET, "DOTNET"),
    (LanguageCode::PYTHON, "PYTHON"),
    (LanguageCode::DELPHI, "DELPHI"),
    (LanguageCode::ERLANG, "ERLANG"),
    (LanguageCode::RUBY, "RUBY"),
    (LanguageCode::OTHER, "OTHER"),
    (LanguageCode::HTTP, "HTTP"),
    (LanguageCode::GO, "GO"),
    (LanguageCode::PHP, "PHP"),
    (LanguageCode::OMS, "OMS"),
    (LanguageCode::RUST, "RUST"),
    (LanguageCode::NODE_JS, "NODE_JS"),
];

impl LanguageCode {
    /// The byte used by the binary header.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The language for a binary-header byte; unknown bytes are `OTHER`.
    pub fn from_u8(byte: u8) -> Self {
        LANGUAGES
            .get(usize::from(byte))
            .map_or(LanguageCode::OTHER, |(code, _)| *code)
    }

    /// The enum name used by JSON headers.
    pub fn name(self) -> &'static str {
        LANGUAGES[self as usize].1
    }

    /// The language for a JSON name; unknown names are `OTHER`.
    pub fn from_name(name: &str) -> Self {
        LANGUAGES
            .iter()
            .find(|(_, n)| *n == name)
            .map_or(LanguageCode::OTHER, |(code, _)| *code)
    }
}

/// One request or response, as carried by one frame.
///
/// `code` stays a raw `i32` because peers may send codes rmq does not know; use
/// [`RemotingCommand::request_code`] to classify it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemotingCommand {
    /// Request code in requests, response code in responses.
    pub code: i32,
    /// The sender's language.
    pub language: LanguageCode,
    /// The sender's version ordinal.
    pub version: i32,
    /// Request id, echoed by the response.
    pub opaque: i32,
    /// Bit 0 = response, bit 1 = oneway.
    pub flag: i32,
    /// Free text; on failed responses the reason.
    pub remark: Option<String>,
    /// The command-specific header fields, all strings.
    pub ext_fields: ExtFields,
    /// Opaque body bytes (JSON document, message records, or nothing).
    pub body: Bytes,
    /// How this command's header was (or will be) serialized.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A request with a typed header.
    pub fn request<H: Serialize>(code: RequestCode, header: &H) -> Self {
        RemotingCommand {
            code: code.as_i32(),
            ext_fields: ext_fields::to_map(header),
            ..Self::bare(code.as_i32())
        }
    }

    /// A request without header fields.
    pub fn request_without_header(code: RequestCode) -> Self {
        Self::bare(code.as_i32())
    }

    /// A successful response without header fields.
    pub fn success() -> Self {
        Self::response(ResponseCode::SUCCESS, None)
    }

    /// A successful response carrying a typed header.
    pub fn success_with_header<H: Serialize>(header: &H) -> Self {
        RemotingCommand {
            ext_fields: ext_fields::to_map(header),
            ..Self::success()
        }
    }

    /// A response with the given code and remark.
    pub fn response(code: ResponseCode, remark: Option<String>) -> Self {
        RemotingCommand {
            flag: FLAG_RESPONSE,
            remark,
            ..Self::bare(code.as_i32())
        }
    }

    fn bare(code: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: RMQ_VERSION,
            ..Default::default()
        }
    }

    /// This command with the given body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Marks this request as oneway: the peer will not answer it.
    pub fn into_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    /// True for responses (flag bit 0).
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// True for requests that expect no response (flag bit 1).
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// The request code, if rmq knows it.
    pub fn request_code(&self) -> Option<RequestCode> {
        RequestCode::from_i32(self.code)
    }

    /// The response code, if rmq knows it.
    pub fn response_code(&self) -> Option<ResponseCode> {
        ResponseCode::from_i32(self.code)
    }

    /// Reads the `extFields` as a typed header.
    pub fn decode_header<H: DeserializeOwned>(&self) -> Result<H, HeaderError> {
        ext_fields::from_map(&self.ext_fields)
    }

    /// Turns this command into the response to `request`: same opaque, response flag set, and
    /// the request's serialization so Java and Go peers get what they sent.
    pub fn answering(self, request: &RemotingCommand) -> Self {
        self.answer_to(request.opaque, request.serialize_type)
    }

    /// [`Self::answering`] for a request that has already been consumed.
    pub(crate) fn answer_to(mut self, opaque: i32, serialize_type: SerializeType) -> Self {
        self.opaque = opaque;
        self.flag |= FLAG_RESPONSE;
        self.serialize_type = serialize_type;
        self
    }
}

impl From<CommandError> for RemotingCommand {
    fn from(err: CommandError) -> Self {
        RemotingCommand::response(err.code, Some(err.remark))
    }
}
