//! What one ACL decision costs the broker: `Rules::check` of a signed SEND_MESSAGE_V2 with the
//! header fields a Java 4.9.7 producer sends and a 1 KiB body (signature, then the topic's
//! permission), next to an unsigned request from a whitelisted peer; and `Rules::check_signed`
//! of a gRPC send as the proxy decides it (HMAC-SHA1 of the 16-byte `x-mq-date-time`).
//!
//!     cargo bench -p rmq-acl --bench check

use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use rmq_acl::{Perm, Resource, Rules, SignedContent};
use rmq_remoting::acl::Credentials;
use rmq_remoting::{RemotingCommand, RequestCode};
use sha1::Sha1;

const RULES: &str = "
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: producer1
    secretKey: producer-secret
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - BenchTopic=PUB
      - OtherTopic=SUB
";

fn send() -> RemotingCommand {
    let mut request = RemotingCommand::request_without_header(RequestCode::SEND_MESSAGE_V2)
        .with_body(vec![b'x'; 1024]);
    for (key, value) in [
        ("a", "bench_pg"),
        ("b", "BenchTopic"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "3"),
        ("f", "0"),
        ("g", "1733500000000"),
        ("h", "0"),
        ("i", "UNIQ_KEY\u{1}7F0000010001\u{2}WAIT\u{1}true\u{2}"),
        ("j", "0"),
        ("k", "false"),
        ("m", "false"),
    ] {
        request.ext_fields.insert(key.into(), value.into());
    }
    Credentials::new("producer1", "producer-secret").sign(&mut request);
    request
}

fn bench(c: &mut Criterion) {
    let rules = Rules::parse("plain_acl.yml", RULES).expect("the bench's rules parse");
    let signed = send();
    let peer = "127.0.0.1".parse().expect("an address");
    assert_eq!(rules.check(peer, &signed), Ok(()));
    c.bench_function("signed SEND_MESSAGE_V2, 1 KiB", |b| {
        b.iter(|| rules.check(peer, std::hint::black_box(&signed)))
    });
    let values: Vec<String> = {
        let mut fields: Vec<_> = signed
            .ext_fields
            .iter()
            .filter(|(k, _)| *k != "Signature")
            .collect();
        fields.sort();
        fields.into_iter().map(|(_, v)| v.to_owned()).collect()
    };
    c.bench_function("HMAC-SHA1 alone (the same content)", |b| {
        b.iter(|| {
            rmq_remoting::acl::signature_of_sorted(
                values.iter().map(String::as_str),
                std::hint::black_box(&signed.body),
                "producer-secret",
            )
        })
    });
    let date = b"20261206T231500Z";
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(b"producer-secret").expect("any key length");
    mac.update(date);
    let mac = mac.finalize().into_bytes();
    let grpc = SignedContent {
        access_key: Some("producer1"),
        content: date,
        mac: Some(&mac[..]),
    };
    let needs = [(Resource::topic("BenchTopic".into()), Perm::PUB)];
    let code = RequestCode::SEND_MESSAGE_V2.as_i32();
    assert_eq!(rules.check_signed(peer, &grpc, code, &needs), Ok(()));
    c.bench_function("gRPC SendMessage (check_signed)", |b| {
        b.iter(|| rules.check_signed(peer, std::hint::black_box(&grpc), code, &needs))
    });
    let whitelisted = "10.10.103.7".parse().expect("an address");
    let unsigned = RemotingCommand::request_without_header(RequestCode::SEND_MESSAGE_V2);
    c.bench_function("whitelisted peer", |b| {
        b.iter(|| rules.check(whitelisted, std::hint::black_box(&unsigned)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
