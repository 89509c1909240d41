"""The official RocketMQ 5.x Python SDK (rocketmq-python-client) against one gRPC proxy.

Run by run.sh against Apache's proxy + broker and against rmq's mqproxy + broker; it writes
what a client sees as sorted fact lines (run.sh diffs the two stacks' files) and exits 1 when
its own expectations fail, so each stack is checked on its own too:

- normal: a Producer sends 10 messages with keys and tags; a SimpleConsumer receives them with
  a short invisible duration and acks all but n3, which must come back once with attempt 2;
  after its ack nothing comes back. Deliveries are counted as a multiset of body#attempt.
- fifo: 6 messages in 2 message groups on a FIFO topic, received by an orderly group; each
  group must arrive exactly once, in send order.

Usage: python scenario.py PROXY PREFIX OUT  (the topics PREFIXNormal and PREFIXFifo and the
orderly group PREFIXFifoGroup must exist; run.sh creates them).
"""

import collections
import sys
import time

from rocketmq import (ClientConfiguration, Credentials, FilterExpression,
                      Message, Producer, SimpleConsumer)

INVISIBLE_SECONDS = 2
AWAIT_SECONDS = 3
UNACKED = "n3"

FACTS = []
FAILURES = []
PREFIX = ""


def expect(what, wanted, got):
    """Records a failure when a scenario's result is not the expected one."""
    if wanted != got:
        FAILURES.append(f"{what}: expected {wanted}, got {got}")


def send_all(config, normal, fifo):
    """Sends the normal messages (keys, tags) and the FIFO messages (two groups)."""
    producer = Producer(config, (normal, fifo))
    producer.startup()
    sent_fifo = collections.defaultdict(list)
    try:
        ids = 0
        for i in range(10):
            msg = Message()
            msg.topic = normal
            msg.body = f"n{i}".encode()
            msg.tag = "TagA" if i % 2 == 0 else "TagB"
            msg.keys = f"key-{i}"
            msg.keys = "batch"  # the setter adds: two keys per message
            if producer.send(msg).message_id:
                ids += 1
        FACTS.append(f"normal sent with a message id {ids}")
        for i in range(3):
            for group in ("g0", "g1"):
                msg = Message()
                msg.topic = fifo
                msg.body = f"{group}-{i}".encode()
                msg.message_group = group
                producer.send(msg)
                sent_fifo[group].append(f"{group}-{i}")
        FACTS.append(f"fifo sent {sum(len(v) for v in sent_fifo.values())}")
    finally:
        producer.shutdown()
    return sent_fifo


def consumer(config, group, topic):
    """A started SimpleConsumer of `group` on `topic` (every tag)."""
    c = SimpleConsumer(config, group, {topic: FilterExpression()}, await_duration=AWAIT_SECONDS)
    c.startup()
    # The SDK's SimpleConsumer does not wait for the proxy's settings at startup; Apache's proxy
    # answers a receive before them with an internal error (its settings are null). Wait for
    # the event the SDK sets when the settings arrive over the telemetry stream.
    FACTS.append(f"{group[len(PREFIX):]} settings from the proxy {c._init_settings_event.wait(10)}")
    return c


def receive_normal(config, topic, group):
    """Acks every delivery but n3's first; n3 must come back once, attempt 2."""
    deliveries = collections.Counter()
    seen = {}
    c = consumer(config, group, topic)
    try:
        deadline = time.monotonic() + 60
        quiet_until = None
        while time.monotonic() < deadline:
            if quiet_until is None and len(deliveries) == 11:
                # Everything expected arrived: wait past two invisible durations for extras.
                quiet_until = time.monotonic() + 2 * INVISIBLE_SECONDS + 1
            if quiet_until is not None and time.monotonic() > quiet_until:
                break
            for m in c.receive(16, INVISIBLE_SECONDS):
                body = m.body.decode()
                deliveries[f"{body}#{m.delivery_attempt}"] += 1
                seen.setdefault(body, f"tag {m.tag} keys {','.join(sorted(m.keys))}")
                if body == UNACKED and m.delivery_attempt == 1:
                    continue
                c.ack(m)
    finally:
        c.shutdown()
    for body, attrs in seen.items():
        FACTS.append(f"normal {body} {attrs}")
    for d, n in deliveries.items():
        FACTS.append(f"normal delivery {d} x{n}")
    wanted = collections.Counter({f"n{i}#1": 1 for i in range(10)})
    wanted[f"{UNACKED}#2"] = 1
    expect("normal deliveries", dict(sorted(wanted.items())), dict(sorted(deliveries.items())))


def receive_fifo(config, topic, group, sent):
    """Receives and acks in turn; each message group must come in send order, once."""
    deliveries = collections.Counter()
    order = collections.defaultdict(list)
    total = sum(len(v) for v in sent.values())
    c = consumer(config, group, topic)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(deliveries.values()) < total:
            for m in c.receive(16, INVISIBLE_SECONDS + 1):
                body = m.body.decode()
                deliveries[f"{body}#{m.delivery_attempt}"] += 1
                order[m.message_group].append(body)
                c.ack(m)
    finally:
        c.shutdown()
    for d, n in deliveries.items():
        FACTS.append(f"fifo delivery {d} x{n}")
    for group, bodies in order.items():
        FACTS.append(f"fifo group {group} order {' '.join(bodies)}")
    expect("fifo order", dict(sent), dict(order))


def main():
    global PREFIX
    proxy, prefix, out = sys.argv[1:4]
    PREFIX = prefix
    config = ClientConfiguration(proxy, Credentials(), request_timeout=10)
    normal, fifo = f"{prefix}Normal", f"{prefix}Fifo"
    began = time.monotonic()
    sent_fifo = send_all(config, normal, fifo)
    receive_normal(config, normal, f"{prefix}NormalGroup")
    receive_fifo(config, fifo, f"{prefix}FifoGroup", sent_fifo)
    FACTS.sort()
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in FACTS))
    print("\n".join(FACTS))
    for failure in FAILURES:
        print(f"FAIL grpc-python: {failure}")
    print(f"scenario took {time.monotonic() - began:.1f} s")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
