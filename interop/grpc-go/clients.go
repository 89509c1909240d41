package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
	"github.com/apache/rocketmq-clients/golang/v5/pkg/zaplog"
	v2 "github.com/apache/rocketmq-clients/golang/v5/protocol/v2"
)

const (
	// invisible is how long a received message stays hidden: short, so redeliveries come
	// soon (run.sh lowers both proxies' floor, minInvisibleTimeMillsForRecv, to 1 s), yet long
	// enough for an ack to arrive in time on a machine loaded by a full CI run (interop/grpc
	// saw acks after 2-3 s find their handle expired there).
	invisible = 4 * time.Second
	// requestTimeout is the SDK's timeout for every request (3 s by default). A receive's
	// deadline is await plus this, and both proxies long-poll for that minus half of this
	// (at least 5 s): the rest is the margin for the answer to reach the SDK in time. With the
	// default 1.5 s, Apache's proxy on this loaded machine now and then answered after the
	// SDK had given up; the messages it had popped then came back with one attempt more.
	requestTimeout = 6 * time.Second
	// await is the SDK's long-polling wait: a receive's deadline is 8 s, its poll 5 s.
	await = 2 * time.Second
)

// stack is one gRPC proxy under test: its address, the run's topic prefix, where the SDK logs
// and the facts being recorded.
type stack struct {
	proxy  string
	prefix string
	logDir string
	rec    *recorder
	// errors counts receive errors other than "no new message", per scenario; they are
	// printed (a proxy that refuses now and then is worth seeing), not facts.
	errMu  sync.Mutex
	errors map[string]int
}

// newStack prepares the clients' logging under logDir (the SDK logs to ~/logs and
// /tmp/rocketmq-logger.log otherwise). Called once per process.
func newStack(proxy, prefix, logDir string) (*stack, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	logger := zaplog.New(zaplog.WithFileName(filepath.Join(logDir, "grpc.log")))
	// The SDK's client manager opens its connections with NewRpcClient(target) and no
	// options, so its default gRPC logger writes /tmp/rocketmq-logger.log: give it ours.
	base := rmq.NewRpcClient
	rmq.NewRpcClient = func(target string, opts ...rmq.RpcClientOption) (rmq.RpcClient, error) {
		return base(target, append(opts, rmq.WithRpcClientConnOption(rmq.WithZapLogger(logger)))...)
	}
	return &stack{
		proxy:  proxy,
		prefix: prefix,
		logDir: logDir,
		rec:    &recorder{},
		errors: map[string]int{},
	}, nil
}

// config is the SDK configuration for the proxy (TLS, as the SDK defaults to; no credentials).
func (s *stack) config(group string) *rmq.Config {
	return &rmq.Config{Endpoint: s.proxy, ConsumerGroup: group, Credentials: &credentials.SessionCredentials{}}
}

// clientFunc makes the SDK's clients wait requestTimeout for an answer (WithQueryRouteTimeout
// sets the timeout of every request, despite its name).
func (s *stack) clientFunc() rmq.NewClientFunc {
	return func(c *rmq.Config, opts ...rmq.ClientOption) (rmq.Client, error) {
		return rmq.NewClient(c, append(opts, rmq.WithQueryRouteTimeout(requestTimeout))...)
	}
}

// producer starts a producer announcing topic, with checker when not nil.
func (s *stack) producer(topic string, checker *rmq.TransactionChecker) (rmq.Producer, error) {
	opts := []rmq.ProducerOption{rmq.WithTopics(topic), rmq.WithClientFunc(s.clientFunc())}
	if checker != nil {
		opts = append(opts, rmq.WithTransactionChecker(checker))
	}
	p, err := rmq.NewProducer(s.config(""), opts...)
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// consumer starts a SimpleConsumer of group on every tag of topic.
func (s *stack) consumer(group, topic string) (rmq.SimpleConsumer, error) {
	c, err := rmq.NewSimpleConsumer(s.config(group),
		rmq.WithAwaitDuration(await),
		rmq.WithSubscriptionExpressions(map[string]*rmq.FilterExpression{topic: rmq.SUB_ALL}),
		rmq.WithClientFuncForSimpleConsumer(s.clientFunc()))
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	return c, nil
}

// receive is one long poll of c: the messages it brought, none when the proxy found no new
// message. Other errors (e.g. Apache's proxy before it has the consumer's settings, or a
// deadline) are counted for scenario and end in a short pause, then no messages.
func (s *stack) receive(scenario string, c rmq.SimpleConsumer, max int32, hide time.Duration) []*rmq.MessageView {
	msgs, err := c.Receive(context.Background(), max, hide)
	if err == nil {
		return msgs
	}
	var status *rmq.ErrRpcStatus
	if errors.As(err, &status) && status.GetCode() == int32(v2.Code_MESSAGE_NOT_FOUND) {
		return nil
	}
	s.errMu.Lock()
	s.errors[scenario]++
	n := s.errors[scenario]
	s.errMu.Unlock()
	fmt.Printf("%s: receive error %d: %v\n", scenario, n, err)
	time.Sleep(500 * time.Millisecond)
	return nil
}

// stop stops a client, logging a failure to stop (nothing the scenarios assert).
func stop(scenario string, client interface{ GracefulStop() error }) {
	if err := client.GracefulStop(); err != nil {
		fmt.Printf("%s: stop: %v\n", scenario, err)
	}
}

// delivery is the multiset key of one delivery: body#attempt.
func delivery(m *rmq.MessageView) string {
	return fmt.Sprintf("%s#%d", m.GetBody(), m.GetDeliveryAttempt())
}

// retry calls f every second until it succeeds or the deadline passes; the last error then.
func retry(deadline time.Time, f func() error) error {
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Second)
	}
}
