package main

import (
	"context"
	"fmt"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// delayBy is how far ahead the delayed messages are due.
const delayBy = 4 * time.Second

// delay: three messages with a delivery timestamp 4 s ahead, on a DELAY topic; a
// SimpleConsumer receiving all along must not see one before its timestamp, must see each
// once, with the delivery timestamp it was sent with.
func delay(s *stack) {
	const name = "delay"
	topic := s.prefix + "Delay"
	c, err := s.consumer(s.prefix+"DelayGroup", topic)
	if err != nil {
		s.rec.fail("delay: consumer: %v", err)
		return
	}
	defer stop(name, c)
	p, err := s.producer(topic, nil)
	if err != nil {
		s.rec.fail("delay: producer: %v", err)
		return
	}
	due := map[string]time.Time{}
	for i := 0; i < 3; i++ {
		body := fmt.Sprintf("d%d", i)
		at := time.Now().Add(delayBy)
		m := &rmq.Message{Topic: topic, Body: []byte(body)}
		m.SetDelayTimestamp(at)
		if _, err := p.Send(context.Background(), m); err != nil {
			s.rec.fail("delay: send %s: %v", body, err)
			continue
		}
		due[body] = at
	}
	stop(name, p)
	s.rec.fact("delay sent %d", len(due))
	deliveries := multiset{}
	received := map[string]time.Time{}
	timestamps := map[string]bool{}
	for w := untilQuiet(time.Now().Add(40 * time.Second)); w.more(deliveries.total() >= 3); {
		for _, m := range s.receive(name, c, 16, invisible) {
			body := string(m.GetBody())
			deliveries.add(delivery(m))
			if _, ok := received[body]; !ok {
				received[body] = time.Now()
			}
			ts := m.GetDeliveryTimestamp()
			timestamps[body] = ts != nil && ts.UnixMilli() == due[body].UnixMilli()
			if err := c.Ack(context.Background(), m); err != nil {
				fmt.Printf("delay: ack %s: %v\n", delivery(m), err)
			}
		}
	}
	s.rec.expect("delay deliveries", counts("d0#1", "d1#1", "d2#1"), deliveries)
	for body, at := range due {
		got, ok := received[body]
		if ok && got.Before(at) {
			fmt.Printf("delay: %s received %d ms early\n", body, at.Sub(got).Milliseconds())
		}
		s.rec.check(fmt.Sprintf("delay %s received not before its delivery time", body), ok && !got.Before(at))
		s.rec.check(fmt.Sprintf("delay %s delivery timestamp as sent", body), timestamps[body])
	}
}
