package main

import (
	"context"
	"errors"
	"regexp"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
)

// refusals: what the proxy answers the Go SDK when it must refuse, by status code (texts
// differ between proxies and are not compared): the route of a topic that does not exist, a
// tag with a '|', a receive hiding messages for less than the proxy's minimum
// (minInvisibleTimeMillsForRecv, 1 s in run.sh), and a change of invisible duration with a
// receipt handle already past its invisible time. The message of that handle still comes back
// once, with attempt 2.
func refusals(s *stack) {
	const name = "refusals"
	topic := s.prefix + "Refuse"
	_, err := s.producer(s.prefix+"Missing", nil)
	s.rec.fact("refusals route of a missing topic: %s", codeOf(err))
	c, err := s.consumer(s.prefix+"RefuseGroup", topic)
	if err != nil {
		s.rec.fail("refusals: consumer: %v", err)
		return
	}
	defer stop(name, c)
	p, err := s.producer(topic, nil)
	if err != nil {
		s.rec.fail("refusals: producer: %v", err)
		return
	}
	bad := &rmq.Message{Topic: topic, Body: []byte("bad-tag")}
	bad.SetTag("a|b")
	_, err = p.Send(context.Background(), bad)
	s.rec.fact("refusals tag with a bar: %s", codeOf(err))
	if _, err := p.Send(context.Background(), &rmq.Message{Topic: topic, Body: []byte("r0")}); err != nil {
		s.rec.fail("refusals: send r0: %v", err)
	}
	stop(name, p)
	deliveries := multiset{}
	changed := "nothing received"
	for w := untilQuiet(time.Now().Add(60 * time.Second)); w.more(deliveries.total() >= 2); {
		// r0 is hidden for 1 s the first time, so its handle expires soon; then for longer,
		// so the ack of its second delivery comes in time.
		hide := time.Second
		if deliveries.total() > 0 {
			hide = invisible
		}
		for _, m := range s.receive(name, c, 16, hide) {
			deliveries.add(delivery(m))
			if m.GetDeliveryAttempt() == 1 {
				time.Sleep(1500 * time.Millisecond)
				changed = codeOf(c.ChangeInvisibleDuration(m, 10*time.Second))
				continue
			}
			_ = c.Ack(context.Background(), m)
		}
	}
	// After receives that worked: Apache's proxy answers a receive that comes before the
	// consumer's settings (the SDK does not wait for them) with an internal error.
	_, err = c.Receive(context.Background(), 16, 500*time.Millisecond)
	s.rec.fact("refusals receive hiding for 500 ms: %s", codeOf(err))
	s.rec.fact("refusals change of invisible duration with an expired handle: %s", changed)
	s.rec.expect("refusals deliveries", counts("r0#1", "r0#2"), deliveries)
}

// statusCode finds the status code name in an error's text: the SDK wraps some statuses with
// %v, which keeps only their text ("CODE: TOPIC_NOT_FOUND, MESSAGE: ...").
var statusCode = regexp.MustCompile(`CODE: ([A-Z_]+)`)

// codeOf is the status code name of a refusal, OK for no error, else the error's text.
func codeOf(err error) string {
	if err == nil {
		return "OK"
	}
	var status *rmq.ErrRpcStatus
	if errors.As(err, &status) {
		if name, ok := v2.Code_name[status.GetCode()]; ok {
			return name
		}
	}
	if m := statusCode.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return "error " + err.Error()
}
