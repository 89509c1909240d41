package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// extended is the invisible duration n5 gets from ChangeInvisibleDuration: twice the first
// one, so a change that was ignored shows.
const extended = 2 * invisible

// normal: ten messages with a tag, two keys and a user property each; a SimpleConsumer sees
// them as sent (message id, tag, keys, property) and acks all but two. n3 is left unacked and
// must come back once with attempt 2 after its invisible time; n5's invisible duration is
// changed to 8 s and it must come back once with attempt 2, not before. Nothing comes back
// after the acks.
func normal(s *stack) {
	const name = "normal"
	topic := s.prefix + "Normal"
	c, err := s.consumer(s.prefix+"NormalGroup", topic)
	if err != nil {
		s.rec.fail("normal: consumer: %v", err)
		return
	}
	defer stop(name, c)
	ids, err := sendNormal(s, topic)
	if err != nil {
		s.rec.fail("normal: %v", err)
		return
	}
	deliveries := multiset{}
	seen := map[string]string{}
	idsAsSent := true
	var unackedAt, changedAt, n3Back, n5Back time.Time
	changed := false
	for deadline := time.Now().Add(60 * time.Second); deliveries.total() < 12 && time.Now().Before(deadline); {
		// The broker hides a message from when it pops it, after this moment and before the
		// receive returns (long on a loaded machine): the earliest it may come back is measured
		// from here.
		polled := time.Now()
		for _, m := range s.receive(name, c, 16, invisible) {
			body, attempt := string(m.GetBody()), m.GetDeliveryAttempt()
			deliveries.add(delivery(m))
			if _, ok := seen[body]; !ok {
				seen[body] = describe(m)
			}
			idsAsSent = idsAsSent && m.GetMessageId() == ids[body]
			switch {
			case body == "n3" && attempt == 1:
				unackedAt = polled
				continue
			case body == "n5" && attempt == 1:
				changedAt = time.Now()
				err := c.ChangeInvisibleDuration(m, extended)
				changed = err == nil
				if err != nil {
					fmt.Printf("normal: change invisible duration: %v\n", err)
				}
				continue
			case body == "n3":
				n3Back = time.Now()
			case body == "n5":
				n5Back = time.Now()
			}
			if err := c.Ack(context.Background(), m); err != nil {
				fmt.Printf("normal: ack %s: %v\n", delivery(m), err)
			}
		}
	}
	// Past two invisible durations: an ack that did not hold would show as a redelivery.
	for quiet := time.Now().Add(2*invisible + time.Second); time.Now().Before(quiet); {
		for _, m := range s.receive(name, c, 16, invisible) {
			deliveries.add(delivery(m))
			_ = c.Ack(context.Background(), m)
		}
	}
	for body, attrs := range seen {
		s.rec.fact("normal %s %s", body, attrs)
	}
	want := counts("n3#2", "n5#2")
	for i := 0; i < 10; i++ {
		want.add(fmt.Sprintf("n%d#1", i))
	}
	s.rec.expect("normal deliveries", want, deliveries)
	s.rec.check("normal message ids as the sends answered", idsAsSent)
	s.rec.check("normal n5 invisible duration changed", changed)
	fmt.Printf("normal: n3 back %.2f s after its receive was asked, n5 %.2f s after its change was\n",
		n3Back.Sub(unackedAt).Seconds(), n5Back.Sub(changedAt).Seconds())
	s.rec.check("normal n3 back after its invisible time",
		!n3Back.IsZero() && n3Back.Sub(unackedAt) >= invisible-500*time.Millisecond)
	s.rec.check("normal n5 back after its changed invisible duration",
		!n5Back.IsZero() && n5Back.Sub(changedAt) >= extended-500*time.Millisecond)
}

// sendNormal sends n0..n9 (tags TagA/TagB, keys k-i and batch, property p=vi) and returns
// the message id each send answered, by body.
func sendNormal(s *stack, topic string) (map[string]string, error) {
	p, err := s.producer(topic, nil)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	defer stop("normal", p)
	ids := map[string]string{}
	for i := 0; i < 10; i++ {
		body := fmt.Sprintf("n%d", i)
		m := &rmq.Message{Topic: topic, Body: []byte(body)}
		m.SetTag([]string{"TagA", "TagB"}[i%2])
		m.SetKeys(fmt.Sprintf("k-%d", i), "batch")
		m.AddProperty("p", fmt.Sprintf("v%d", i))
		receipts, err := p.Send(context.Background(), m)
		if err != nil {
			return nil, fmt.Errorf("send %s: %w", body, err)
		}
		ids[body] = receipts[0].MessageID
	}
	s.rec.fact("normal sent %d", len(ids))
	return ids, nil
}

// describe is what a receiver sees of a message besides its body: tag, keys (sorted) and the
// user properties.
func describe(m *rmq.MessageView) string {
	tag := "<none>"
	if m.GetTag() != nil {
		tag = *m.GetTag()
	}
	keys := append([]string(nil), m.GetKeys()...)
	sort.Strings(keys)
	props := make([]string, 0, len(m.GetProperties()))
	for k, v := range m.GetProperties() {
		props = append(props, k+"="+v)
	}
	sort.Strings(props)
	return fmt.Sprintf("tag %s keys %s properties %s", tag, strings.Join(keys, ","), strings.Join(props, ","))
}
