#!/usr/bin/env python3
"""Writes the small seed corpora under fuzz/seeds/ (composed from docs/remoting-protocol.md §1-§3).

Run from anywhere: python3 fuzz/seeds/gen_seeds.py. The output is checked in; the corpora that
libFuzzer grows from it live in fuzz/corpus/ (git-ignored).
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
LANG = {"JAVA": 0, "CPP": 1, "GO": 9, "RUST": 12}


def json_header(h):
    return json.dumps(h, separators=(",", ":")).encode()


def binary_header(code, lang, version, opaque, flag, remark, ext):
    out = struct.pack(">hBhii", code, LANG[lang], version, opaque, flag)
    r = (remark or "").encode()
    out += struct.pack(">i", len(r)) + r
    entries = b""
    for k, v in ext.items():
        kb, vb = k.encode(), v.encode()
        entries += struct.pack(">h", len(kb)) + kb + struct.pack(">i", len(vb)) + vb
    return out + struct.pack(">i", len(entries)) + entries


def frame(header, serialize_type, body=b""):
    return struct.pack(">II", 4 + len(header) + len(body), (serialize_type << 24) | len(header)) + header + body


ROUTE_REQ = {"code": 105, "extFields": {"topic": "TopicTest"}, "flag": 0, "language": "JAVA",
             "opaque": 1, "serializeTypeCurrentRPC": "JSON", "version": 409}
SEND_V2 = {"code": 310, "extFields": {"a": "PG", "b": "TopicTest", "c": "TBW102", "d": "4", "e": "2",
           "f": "0", "g": "1718000000000", "h": "0",
           "i": "KEYS\u0001k1\u0002UNIQ_KEY\u0001C0A8010530391B6D35860A1B2C3D0001\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002",
           "j": "0", "k": "false", "m": "false", "n": "broker-a"},
           "flag": 0, "language": "JAVA", "opaque": 42, "serializeTypeCurrentRPC": "JSON", "version": 479}
GO_PULL = b'{"code":11,"language":"GO","version":317,"opaque":7,"flag":0,"remark":"","extFields":{"consumerGroup":"cg","topic":"TopicTest","queueId":"0","queueOffset":"12","maxMsgNums":"32","sysFlag":"2","commitOffset":"0","suspendTimeoutMillis":"20000","subscription":"","subVersion":"0","expressionType":"TAG","bname":"broker-a"}}'
CPP_HDR = b'{"code":11,"language":"CPP","opaque":3,"extFields":{"queueId":2,"topic":"T","AccessKey":"","unitMode":"0"}}'
SEND_RESP = {"code": 0, "extFields": {"queueId": "2", "MSG_REGION": "DefaultRegion", "TRACE_ON": "true",
             "msgId": "C0A8010A00002A9F0000000000001234", "queueOffset": "17",
             "transactionId": "C0A8010530391B6D35860A1B2C3D0001"},
             "flag": 1, "language": "JAVA", "opaque": 42, "serializeTypeCurrentRPC": "JSON", "version": 479}
ERR_RESP = {"code": 17, "flag": 1, "language": "JAVA", "opaque": 9, "remark": "topic[T] not exist\n\"x\"\u0001",
            "serializeTypeCurrentRPC": "JSON", "version": 409}

ROUTE_STD = b'{"brokerDatas":[{"brokerAddrs":{"0":"192.168.1.10:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}'
ROUTE_FJ = b'{"brokerDatas":[{"brokerAddrs":{0:"192.168.1.10:10911",1:"192.168.1.11:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}'
CONSUME_STATS = b'{"consumeTps":0.0,"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:{"brokerOffset":120,"consumerOffset":118,"lastTimestamp":1718000000123,"pullOffset":120}}}'
OFFSETS = b'{"offsetTable":{"TopicTest@cg":{0:118,1:97,2:120,3:64}}}'
TOLERANT = b" {'a' : 'x', b: 1, 2: [true, null, -3.5e2, 18446744073709551615], \"c\\u0001\\ud83d\\ude00\":{}} "


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


route_bin = binary_header(105, "JAVA", 409, 1, 0, None, {"topic": "TopicTest"})
send_bin = binary_header(310, "JAVA", 479, 42, 0, None, SEND_V2["extFields"])
err_bin = binary_header(17, "GO", 317, 9, 1, ERR_RESP["remark"], {})

write("frame_decoder", "route_json", frame(json_header(ROUTE_REQ), 0))
write("frame_decoder", "route_binary", frame(route_bin, 1))
write("frame_decoder", "send_v2_json", frame(json_header(SEND_V2), 0, b"Hello RocketMQ " * 4))
write("frame_decoder", "send_v2_binary", frame(send_bin, 1, b"\x00\x01\x02body"))
write("frame_decoder", "go_pull_json", frame(GO_PULL, 0))
write("frame_decoder", "cpp_json", frame(CPP_HDR, 0))
write("frame_decoder", "stream_three", frame(json_header(SEND_RESP), 0) + frame(err_bin, 1)
      + frame(json_header(ERR_RESP), 0, ROUTE_FJ)[:20])
write("frame_decoder", "route_response_body", frame(json_header(SEND_RESP), 0, ROUTE_STD))

write("header_decoders", "json_route", b"\x00" + json_header(ROUTE_REQ))
write("header_decoders", "json_cpp", b"\x00" + CPP_HDR)
write("header_decoders", "json_error", b"\x00" + json_header(ERR_RESP))
write("header_decoders", "binary_send", b"\x00" + send_bin)
write("header_decoders", "binary_error", b"\x00" + err_bin)
write("header_decoders", "map_bytes", b"\x01" + bytes(range(0, 256, 3)))

write("fastjson_reader", "route_standard", ROUTE_STD)
write("fastjson_reader", "route_fastjson", ROUTE_FJ)
write("fastjson_reader", "consume_stats", CONSUME_STATS)
write("fastjson_reader", "offsets", OFFSETS)
write("fastjson_reader", "tolerant", TOLERANT)
