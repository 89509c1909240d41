package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// transaction: producer A, another process (`grpcgo orphan`), sends the half message
// tx-orphan and exits without ending it. Producer B then starts on the same topic with a
// checker; it sends tx-commit and commits it, sends tx-rollback and rolls it back, and must be
// asked about tx-orphan (the broker's check-back, relayed by the proxy to a producer of the
// topic) and answers COMMIT. Any other check is answered ROLLBACK: Apache's broker at times
// checks a transaction already ended (its end not matched yet), and a COMMIT answer to a
// committed one stores it twice there; such checks are printed, not facts. A SimpleConsumer
// receiving all along must see tx-commit and tx-orphan once each and never tx-rollback.
func transaction(s *stack) {
	const name = "transaction"
	topic := s.prefix + "Tx"
	c, err := s.consumer(s.prefix+"TxGroup", topic)
	if err != nil {
		s.rec.fail("transaction: consumer: %v", err)
		return
	}
	defer stop(name, c)
	if err := runOrphan(s, topic); err != nil {
		s.rec.fail("transaction: producer A: %v", err)
		return
	}
	var mu sync.Mutex
	checked := multiset{}
	checker := &rmq.TransactionChecker{Check: func(m *rmq.MessageView) rmq.TransactionResolution {
		body := string(m.GetBody())
		mu.Lock()
		checked.add(body)
		mu.Unlock()
		if body == "tx-orphan" {
			return rmq.COMMIT
		}
		return rmq.ROLLBACK
	}}
	p, err := s.producer(topic, checker)
	if err != nil {
		s.rec.fail("transaction: producer B: %v", err)
		return
	}
	defer stop(name, p)
	for _, outcome := range []string{"commit", "rollback"} {
		t := p.BeginTransaction()
		m := &rmq.Message{Topic: topic, Body: []byte("tx-" + outcome)}
		if _, err := p.SendWithTransaction(context.Background(), m, t); err != nil {
			s.rec.fail("transaction: send tx-%s: %v", outcome, err)
			continue
		}
		// The SDK logs a failed end and returns nil: what is received tells.
		if outcome == "commit" {
			_ = t.Commit()
		} else {
			_ = t.RollBack()
		}
	}
	deliveries := multiset{}
	for w := untilQuiet(time.Now().Add(60 * time.Second)); w.more(deliveries.total() >= 2); {
		for _, m := range s.receive(name, c, 16, invisible) {
			deliveries.add(delivery(m))
			if err := c.Ack(context.Background(), m); err != nil {
				fmt.Printf("transaction: ack %s: %v\n", delivery(m), err)
			}
		}
	}
	mu.Lock()
	fmt.Printf("transaction: checked back %s\n", checked)
	s.rec.check("transaction tx-orphan checked back by the restarted producer", checked["tx-orphan"] > 0)
	mu.Unlock()
	s.rec.expect("transaction deliveries", counts("tx-commit#1", "tx-orphan#1"), deliveries)
}

// runOrphan runs producer A in a process of its own, which exits after the send.
func runOrphan(s *stack, topic string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := exec.Command(exe, "orphan", s.proxy, topic, "tx-orphan", filepath.Join(s.logDir, "orphan")).CombinedOutput()
	fmt.Printf("transaction: producer A: %s", out)
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	s.rec.fact("transaction producer A sent tx-orphan and exited")
	return nil
}

// orphan is producer A's process: one transactional message sent, never ended; the process
// exits with the producer still open, as a crash would leave it. The exit status is 0 when
// the send succeeded.
func orphan(proxy, topic, body, logDir string) int {
	s, err := newStack(proxy, "", logDir)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	p, err := s.producer(topic, nil)
	if err != nil {
		fmt.Printf("producer: %v\n", err)
		return 1
	}
	receipts, err := p.SendWithTransaction(context.Background(), &rmq.Message{Topic: topic, Body: []byte(body)},
		p.BeginTransaction())
	if err != nil {
		fmt.Printf("send: %v\n", err)
		return 1
	}
	fmt.Printf("sent %s as %s, exiting without ending it\n", body, receipts[0].MessageID)
	return 0
}
