package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// deadLetters: a group allowed two deliveries (run.sh gives it retryMaxTimes 1). dl0 is never
// acked: it is delivered with attempts 1 and 2, then the proxy moves it to %DLQ%group instead
// of a third delivery; dl1 is acked at once. Another group reads the dead letter back from
// %DLQ%group with a SimpleConsumer once its route exists.
func deadLetters(s *stack) {
	const name = "dlq"
	topic, group := s.prefix+"Dlq", s.prefix+"DlqGroup"
	c, err := s.consumer(group, topic)
	if err != nil {
		s.rec.fail("dlq: consumer: %v", err)
		return
	}
	defer stop(name, c)
	p, err := s.producer(topic, nil)
	if err != nil {
		s.rec.fail("dlq: producer: %v", err)
		return
	}
	for _, body := range []string{"dl0", "dl1"} {
		if _, err := p.Send(context.Background(), &rmq.Message{Topic: topic, Body: []byte(body)}); err != nil {
			s.rec.fail("dlq: send %s: %v", body, err)
		}
	}
	stop(name, p)
	began := time.Now()
	deadline := began.Add(90 * time.Second)
	reader := &deadLetterReader{dead: multiset{}, stop: make(chan struct{})}
	deliveries := multiset{}
	// The quiet time is long enough for a third delivery of dl0, which must not come.
	for w := untilQuiet(deadline); w.more(reader.total() > 0); {
		// Receiving goes on: the proxy moves dl0 when a receive pops it a third time.
		for _, m := range s.receive(name, c, 16, invisible) {
			deliveries.add(delivery(m))
			fmt.Printf("dlq: %s after %.1f s\n", delivery(m), time.Since(began).Seconds())
			if string(m.GetBody()) == "dl1" {
				if err := c.Ack(context.Background(), m); err != nil {
					fmt.Printf("dlq: ack %s: %v\n", delivery(m), err)
				}
			}
		}
		if deliveries["dl0#2"] > 0 {
			reader.start(s, "%DLQ%"+group, s.prefix+"DlqReader", began, deadline)
		}
	}
	reader.finish()
	s.rec.expect("dlq deliveries", counts("dl0#1", "dl0#2", "dl1#1"), deliveries)
	s.rec.expect("dlq dead letters", counts("dl0"), reader.snapshot())
}

// deadLetterReader receives and acks the bodies of a dead-letter topic in the background.
type deadLetterReader struct {
	once sync.Once
	wg   sync.WaitGroup
	mu   sync.Mutex
	dead multiset
	stop chan struct{}
}

// start begins reading topic as group (once), retrying the consumer's start until the
// topic's route exists (the broker makes %DLQ% topics with the first dead letter).
func (r *deadLetterReader) start(s *stack, topic, group string, began, deadline time.Time) {
	r.once.Do(func() {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			var c rmq.SimpleConsumer
			err := retry(deadline, func() error {
				var err error
				c, err = s.consumer(group, topic)
				return err
			})
			if err != nil {
				s.rec.fail("dlq: no consumer of %s: %v", topic, err)
				return
			}
			defer stop("dlq reader", c)
			fmt.Printf("dlq reader: started after %.1f s\n", time.Since(began).Seconds())
			for time.Now().Before(deadline) {
				select {
				case <-r.stop:
					return
				default:
				}
				for _, m := range s.receive("dlq reader", c, 16, invisible) {
					r.mu.Lock()
					r.dead.add(string(m.GetBody()))
					fmt.Printf("dlq reader: %s after %.1f s\n", m.GetBody(), time.Since(began).Seconds())
					r.mu.Unlock()
					_ = c.Ack(context.Background(), m)
				}
			}
		}()
	})
}

// total is how many dead letters were read so far.
func (r *deadLetterReader) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dead.total()
}

// finish stops the reader and waits for it.
func (r *deadLetterReader) finish() {
	close(r.stop)
	r.wg.Wait()
}

// snapshot is a copy of the bodies read.
func (r *deadLetterReader) snapshot() multiset {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := multiset{}
	for k, v := range r.dead {
		m[k] = v
	}
	return m
}
