//! Byte-vector tests composed from docs/remoting-protocol.md §1.2 and §2, plus round trips.

use bytes::BytesMut;
use proptest::prelude::*;
use rmq_remoting::frame::{decode_frame, encode_frame, DEFAULT_MAX_FRAME_LEN};
use rmq_remoting::{FrameError, LanguageCode, RemotingCommand, SerializeType};

fn route_request(serialize_type: SerializeType) -> RemotingCommand {
    RemotingCommand {
        code: 105,
        language: LanguageCode::JAVA,
        version: 409,
        opaque: 1,
        flag: 0,
        remark: None,
        ext_fields: [("topic", "TopicTest")].into_iter().collect(),
        body: Default::default(),
        serialize_type,
    }
}

#[test]
fn json_route_request_matches_the_java_bytes() {
    let mut buf = BytesMut::new();
    encode_frame(&route_request(SerializeType::Json), &mut buf);
    let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":409}"#;
    assert_eq!(header.len(), 131);
    assert_eq!(&buf[..8], &[0, 0, 0, 0x87, 0, 0, 0, 0x83]);
    assert_eq!(&buf[8..], &header[..]);
}

#[test]
fn binary_route_request_has_the_documented_sizes() {
    let mut buf = BytesMut::new();
    encode_frame(&route_request(SerializeType::RocketMq), &mut buf);
    assert_eq!(&buf[..8], &[0, 0, 0, 45, 1, 0, 0, 41]);
    let decoded = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN)
        .unwrap()
        .unwrap();
    assert_eq!(decoded, route_request(SerializeType::RocketMq));
    assert!(buf.is_empty());
}

#[test]
fn cpp_style_header_with_numbers_and_missing_fields_is_accepted() {
    let header = br#"{"code":11,"language":"CPP","opaque":3,"extFields":{"queueId":2,"topic":"T","AccessKey":"","unitMode":"0"}}"#;
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&((4 + header.len()) as u32).to_be_bytes());
    buf.extend_from_slice(&(header.len() as u32).to_be_bytes());
    buf.extend_from_slice(header);
    let cmd = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN)
        .unwrap()
        .unwrap();
    assert_eq!(cmd.language, LanguageCode::CPP);
    assert_eq!(&cmd.ext_fields["queueId"], "2");
    assert_eq!(cmd.version, 0);
}

#[test]
fn incomplete_frames_wait_and_hostile_frames_fail() {
    let mut full = BytesMut::new();
    encode_frame(&route_request(SerializeType::Json), &mut full);
    let mut partial = BytesMut::from(&full[..full.len() - 1]);
    assert!(decode_frame(&mut partial, DEFAULT_MAX_FRAME_LEN)
        .unwrap()
        .is_none());
    assert_eq!(
        partial.len(),
        full.len() - 1,
        "nothing consumed while incomplete"
    );

    let mut huge = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]);
    assert!(matches!(
        decode_frame(&mut huge, DEFAULT_MAX_FRAME_LEN),
        Err(FrameError::TooLarge { .. })
    ));

    let mut bad_header = BytesMut::from(&[0, 0, 0, 8, 0, 0, 0, 9, 1, 2, 3, 4][..]);
    assert!(matches!(
        decode_frame(&mut bad_header, 1024),
        Err(FrameError::HeaderBeyondFrame { .. })
    ));

    let mut bad_type = BytesMut::from(&[0, 0, 0, 4, 7, 0, 0, 0][..]);
    assert!(matches!(
        decode_frame(&mut bad_type, 1024),
        Err(FrameError::UnknownSerializeType(7))
    ));

    let mut array_header =
        BytesMut::from(&[0, 0, 0, 9, 0, 0, 0, 5, b'[', b'1', b'0', b'5', b']'][..]);
    assert!(
        matches!(
            decode_frame(&mut array_header, 1024),
            Err(FrameError::InvalidJson(_))
        ),
        "a positional JSON array is not a header"
    );

    let mut bad_json = BytesMut::from(&[0, 0, 0, 6, 0, 0, 0, 2, b'{', b'x'][..]);
    assert!(matches!(
        decode_frame(&mut bad_json, 1024),
        Err(FrameError::InvalidJson(_))
    ));
}

fn arb_command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        0u8..14,
        any::<i16>(),
        any::<i32>(),
        0i32..4,
        proptest::option::of("[^\u{0}]{1,40}"),
        proptest::collection::hash_map("[a-zA-Z_]{1,12}", "[^\u{0}]{1,30}", 0..8),
        proptest::collection::vec(any::<u8>(), 0..256),
        any::<bool>(),
    )
        .prop_map(
            |(code, lang, version, opaque, flag, remark, ext_fields, body, binary)| {
                RemotingCommand {
                    code: i32::from(code),
                    language: LanguageCode::from_u8(lang),
                    version: i32::from(version),
                    opaque,
                    flag,
                    remark,
                    ext_fields: ext_fields.into_iter().collect(),
                    body: body.into(),
                    serialize_type: if binary {
                        SerializeType::RocketMq
                    } else {
                        SerializeType::Json
                    },
                }
            },
        )
}

proptest! {
    #[test]
    fn any_command_round_trips_in_both_serializations(cmd in arb_command()) {
        let mut buf = BytesMut::new();
        encode_frame(&cmd, &mut buf);
        encode_frame(&cmd, &mut buf);
        let first = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
        let second = decode_frame(&mut buf, DEFAULT_MAX_FRAME_LEN).unwrap().unwrap();
        prop_assert_eq!(&first, &cmd);
        prop_assert_eq!(&second, &cmd);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = decode_frame(&mut buf, 4096) {}
    }
}
