package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// fifo: 18 messages in three message groups, sent interleaved to a FIFO topic, received by
// two SimpleConsumers of an orderly group at the same time. Each consumer records a message,
// then acks it a little later: a group's next message must not reach either consumer before
// that ack, so each group's record is its send order, every message exactly once.
func fifo(s *stack) {
	const name = "fifo"
	topic, group := s.prefix+"Fifo", s.prefix+"FifoGroup"
	sent, err := sendFifo(s, topic)
	if err != nil {
		s.rec.fail("fifo: %v", err)
		return
	}
	var mu sync.Mutex
	deliveries := multiset{}
	order := map[string][]string{}
	groupsAsSent := true
	perConsumer := make([]int, 2)
	var wg sync.WaitGroup
	for i := range perConsumer {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := s.consumer(group, topic)
			if err != nil {
				s.rec.fail("fifo: consumer %d: %v", i, err)
				return
			}
			defer stop(name, c)
			done := func() bool { mu.Lock(); defer mu.Unlock(); return deliveries.total() >= 18 }
			for w := untilQuiet(time.Now().Add(60 * time.Second)); w.more(done()); {
				for _, m := range s.receive(name, c, 4, 5*time.Second) {
					body := string(m.GetBody())
					mu.Lock()
					deliveries.add(delivery(m))
					g := "<none>"
					if m.GetMessageGroup() != nil {
						g = *m.GetMessageGroup()
					}
					groupsAsSent = groupsAsSent && strings.HasPrefix(body, g+"-")
					order[g] = append(order[g], body)
					perConsumer[i]++
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
					if err := c.Ack(context.Background(), m); err != nil {
						fmt.Printf("fifo: ack %s: %v\n", delivery(m), err)
					}
				}
			}
		}(i)
	}
	wg.Wait()
	fmt.Printf("fifo: deliveries per consumer %v\n", perConsumer)
	want := multiset{}
	for _, bodies := range sent {
		for _, b := range bodies {
			want.add(b + "#1")
		}
	}
	s.rec.expect("fifo deliveries", want, deliveries)
	s.rec.check("fifo message groups as sent", groupsAsSent)
	for g, bodies := range sent {
		s.rec.check(fmt.Sprintf("fifo group %s in send order", g),
			strings.Join(bodies, " ") == strings.Join(order[g], " "))
	}
}

// sendFifo sends gG-i for i in 0..5 and groups g0..g2, interleaved; the bodies by group.
func sendFifo(s *stack, topic string) (map[string][]string, error) {
	p, err := s.producer(topic, nil)
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}
	defer stop("fifo", p)
	sent := map[string][]string{}
	for i := 0; i < 6; i++ {
		for g := 0; g < 3; g++ {
			group, body := fmt.Sprintf("g%d", g), fmt.Sprintf("g%d-%d", g, i)
			m := &rmq.Message{Topic: topic, Body: []byte(body)}
			m.SetMessageGroup(group)
			if _, err := p.Send(context.Background(), m); err != nil {
				return nil, fmt.Errorf("send %s: %w", body, err)
			}
			sent[group] = append(sent[group], body)
		}
	}
	s.rec.fact("fifo sent 18")
	return sent, nil
}
