// Package broker runs the official Go client (rocketmq-client-go v2.1.2) against our name
// server + broker: sync/async/one-way and batch sends, keys and properties, tag subscription,
// clustering with two consumers, broadcasting, ordered send with an orderly consumer, and a
// consumer restart that must resume from the committed offsets. Every test starts its own
// mqnamesrv + mqbroker on ephemeral ports.
package broker

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"rmq/interop/harness"
)

func TestMain(m *testing.M) {
	rlog.SetLogLevel("error")
	os.Exit(m.Run())
}

var seq int64

func unique(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), atomic.AddInt64(&seq, 1))
}

// stack is one name server + one broker of ours.
type stack struct {
	ns     string
	broker string
	res    primitive.NsResolver
}

func startStack(t *testing.T) *stack {
	t.Helper()
	ns := harness.StartNamesrv(t)
	b := harness.StartBroker(t, ns.Addr)
	return &stack{ns: ns.Addr, broker: b.Addr, res: primitive.NewPassthroughResolver([]string{ns.Addr})}
}

func ctxT(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// createTopic makes a topic with `queues` queues on the broker and waits until the name
// server's route lists them.
func (s *stack) createTopic(t *testing.T, prefix string, queues int) string {
	t.Helper()
	topic := unique(prefix)
	a, err := admin.NewAdmin(admin.WithResolver(s.res))
	if err != nil {
		t.Fatalf("admin.NewAdmin: %v", err)
	}
	defer a.Close()
	if err := a.CreateTopic(ctxT(t), admin.WithTopicCreate(topic), admin.WithBrokerAddrCreate(s.broker),
		admin.WithReadQueueNums(queues), admin.WithWriteQueueNums(queues), admin.WithPerm(6)); err != nil {
		t.Fatalf("CreateTopic(%s): %v", topic, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		mqs, err := a.FetchPublishMessageQueues(ctxT(t), topic)
		if err == nil && len(mqs) == queues {
			return topic
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("route of %s with %d queues not in the name server within 15 s", topic, queues)
	return ""
}

func (s *stack) producer(t *testing.T, opts ...producer.Option) rocketmqProducer {
	t.Helper()
	all := append([]producer.Option{producer.WithNsResolver(s.res), producer.WithGroupName(unique("gpg")),
		producer.WithInstanceName(unique("gprod")), producer.WithRetry(2), producer.WithSendMsgTimeout(5 * time.Second)}, opts...)
	p, err := producer.NewDefaultProducer(all...)
	if err != nil {
		t.Fatalf("NewDefaultProducer: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

type rocketmqProducer interface {
	SendSync(ctx context.Context, mq ...*primitive.Message) (*primitive.SendResult, error)
	SendAsync(ctx context.Context, f func(context.Context, *primitive.SendResult, error), mq ...*primitive.Message) error
	SendOneWay(ctx context.Context, mq ...*primitive.Message) error
}

// collector records what a consumer was given.
type collector struct {
	mu   sync.Mutex
	msgs []*primitive.MessageExt
}

func (c *collector) add(msgs ...*primitive.MessageExt) {
	c.mu.Lock()
	c.msgs = append(c.msgs, msgs...)
	c.mu.Unlock()
}

func (c *collector) snapshot() []*primitive.MessageExt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*primitive.MessageExt(nil), c.msgs...)
}

func (c *collector) bodies() []string {
	var out []string
	for _, m := range c.snapshot() {
		out = append(out, string(m.Body))
	}
	sort.Strings(out)
	return out
}

// await waits until the collector holds at least n messages.
func (c *collector) await(t *testing.T, n int, max time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		if len(c.snapshot()) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: expected %d messages within %s, got %d", what, n, max, len(c.snapshot()))
}

// pushConsumer starts a push consumer (from the first offset) that records into sink.
func (s *stack) pushConsumer(t *testing.T, group, topic, expr string, sink *collector, opts ...consumer.Option) pushConsumerHandle {
	t.Helper()
	all := append([]consumer.Option{consumer.WithNsResolver(s.res), consumer.WithGroupName(group),
		consumer.WithInstance(unique("gcons")), consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset)}, opts...)
	c, err := consumer.NewPushConsumer(all...)
	if err != nil {
		t.Fatalf("NewPushConsumer: %v", err)
	}
	sel := consumer.MessageSelector{Type: consumer.TAG, Expression: expr}
	if err := c.Subscribe(topic, sel, func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		sink.add(msgs...)
		return consumer.ConsumeSuccess, nil
	}); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("consumer Start: %v", err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { _ = c.Shutdown() }) }
	t.Cleanup(stop)
	return pushConsumerHandle{stop: stop}
}

type pushConsumerHandle struct{ stop func() }

func msg(topic, tag, key, body string) *primitive.Message {
	m := primitive.NewMessage(topic, []byte(body))
	if tag != "" {
		m.WithTag(tag)
	}
	if key != "" {
		m.WithKeys([]string{key})
	}
	return m
}

func setOf(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func TestSyncAsyncOnewaySends(t *testing.T) {
	s := startStack(t)
	topic := s.createTopic(t, "GoSendModes", 4)
	p := s.producer(t)
	var want []string
	for i := 0; i < 10; i++ {
		b := "sync-" + strconv.Itoa(i)
		want = append(want, b)
		r, err := p.SendSync(ctxT(t), msg(topic, "s", "k"+strconv.Itoa(i), b))
		if err != nil || r.Status != primitive.SendOK {
			t.Fatalf("SendSync: %v %v", r, err)
		}
		if r.MessageQueue == nil || r.MessageQueue.Topic != topic || r.QueueOffset < 0 || r.OffsetMsgID == "" {
			t.Fatalf("send result lacks queue, offset or offset msg id: %+v", r)
		}
	}
	var wg sync.WaitGroup
	var asyncErr atomic.Value
	for i := 0; i < 10; i++ {
		b := "async-" + strconv.Itoa(i)
		want = append(want, b)
		wg.Add(1)
		err := p.SendAsync(ctxT(t), func(_ context.Context, r *primitive.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				asyncErr.Store(err.Error())
			} else if r.Status != primitive.SendOK {
				asyncErr.Store(fmt.Sprintf("status %v", r.Status))
			}
		}, msg(topic, "a", "", b))
		if err != nil {
			t.Fatalf("SendAsync: %v", err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("async callbacks did not all arrive within 15 s")
	}
	if e := asyncErr.Load(); e != nil {
		t.Fatalf("async send failed: %v", e)
	}
	for i := 0; i < 10; i++ {
		b := "oneway-" + strconv.Itoa(i)
		want = append(want, b)
		if err := p.SendOneWay(ctxT(t), msg(topic, "o", "", b)); err != nil {
			t.Fatalf("SendOneWay: %v", err)
		}
	}
	got := &collector{}
	s.pushConsumer(t, unique("gcg"), topic, "*", got)
	got.await(t, 30, 25*time.Second, "consumer of all send modes")
	time.Sleep(300 * time.Millisecond)
	sort.Strings(want)
	if g := got.bodies(); strings.Join(g, ",") != strings.Join(want, ",") {
		t.Fatalf("consumed %d messages %v, want the 30 sent %v", len(g), g, want)
	}
}

func TestBatchAndProperties(t *testing.T) {
	s := startStack(t)
	topic := s.createTopic(t, "GoBatch", 4)
	p := s.producer(t)
	var batch []*primitive.Message
	for i := 0; i < 8; i++ {
		m := msg(topic, "batchTag", "bk"+strconv.Itoa(i), "batch-"+strconv.Itoa(i))
		m.WithProperty("seq", strconv.Itoa(i))
		batch = append(batch, m)
	}
	r, err := p.SendSync(ctxT(t), batch...)
	if err != nil || r.Status != primitive.SendOK {
		t.Fatalf("batch SendSync: %v %v", r, err)
	}
	single := msg(topic, "single", "sk", "single")
	single.WithProperty("color", "red")
	single.WithProperty("size", "42")
	rs, err := p.SendSync(ctxT(t), single)
	if err != nil || rs.Status != primitive.SendOK {
		t.Fatalf("SendSync: %v %v", rs, err)
	}
	got := &collector{}
	s.pushConsumer(t, unique("gcg"), topic, "*", got)
	got.await(t, 9, 25*time.Second, "consumer of the batch")
	byBody := map[string]*primitive.MessageExt{}
	for _, m := range got.snapshot() {
		byBody[string(m.Body)] = m
	}
	for i := 0; i < 8; i++ {
		m := byBody["batch-"+strconv.Itoa(i)]
		if m == nil {
			t.Fatalf("batch-%d not consumed", i)
		}
		if m.Queue.QueueId != r.MessageQueue.QueueId || m.QueueOffset != r.QueueOffset+int64(i) {
			t.Errorf("batch-%d at q%d@%d, want q%d@%d (one queue, consecutive offsets)", i, m.Queue.QueueId, m.QueueOffset,
				r.MessageQueue.QueueId, r.QueueOffset+int64(i))
		}
		if m.GetTags() != "batchTag" || m.GetKeys() != "bk"+strconv.Itoa(i) || m.GetProperty("seq") != strconv.Itoa(i) {
			t.Errorf("batch-%d: tags %q keys %q seq %q", i, m.GetTags(), m.GetKeys(), m.GetProperty("seq"))
		}
	}
	m := byBody["single"]
	if m.GetTags() != "single" || m.GetKeys() != "sk" || m.GetProperty("color") != "red" || m.GetProperty("size") != "42" {
		t.Errorf("single: tags %q keys %q color %q size %q", m.GetTags(), m.GetKeys(), m.GetProperty("color"), m.GetProperty("size"))
	}
	if m.GetProperty("CLUSTER") != "DefaultCluster" {
		t.Errorf("CLUSTER property %q, want DefaultCluster (added by the broker)", m.GetProperty("CLUSTER"))
	}
	if m.MsgId != rs.MsgID || m.OffsetMsgId != rs.OffsetMsgID {
		t.Errorf("ids: consumed %s/%s, sent %s/%s", m.MsgId, m.OffsetMsgId, rs.MsgID, rs.OffsetMsgID)
	}
}

func TestTagSubscription(t *testing.T) {
	s := startStack(t)
	topic := s.createTopic(t, "GoTags", 4)
	p := s.producer(t)
	want := map[string]bool{}
	for i := 0; i < 30; i++ {
		tag := "tag" + string("ABC"[i%3])
		b := tag + "-" + strconv.Itoa(i)
		if tag != "tagC" {
			want[b] = true
		}
		if _, err := p.SendSync(ctxT(t), msg(topic, tag, "", b)); err != nil {
			t.Fatal(err)
		}
	}
	got := &collector{}
	s.pushConsumer(t, unique("gtg"), topic, "tagA || tagB", got)
	got.await(t, len(want), 25*time.Second, "tagA || tagB consumer")
	time.Sleep(500 * time.Millisecond)
	for _, m := range got.snapshot() {
		if !want[string(m.Body)] {
			t.Errorf("unexpected message %q (tag %q)", m.Body, m.GetTags())
		}
	}
	if n := len(got.snapshot()); n != len(want) {
		t.Errorf("got %d messages, want %d", n, len(want))
	}
}

func TestClusteringTwoConsumers(t *testing.T) {
	s := startStack(t)
	topic := s.createTopic(t, "GoCluster", 4)
	group := unique("gcl")
	a, b := &collector{}, &collector{}
	s.pushConsumer(t, group, topic, "*", a)
	s.pushConsumer(t, group, topic, "*", b)
	// let the broker's NOTIFY_CONSUMER_IDS_CHANGED make both rebalance to 2 + 2 queues
	time.Sleep(3 * time.Second)
	p := s.producer(t)
	var want []string
	for i := 0; i < 100; i++ {
		body := "c-" + strconv.Itoa(i)
		want = append(want, body)
		if _, err := p.SendSync(ctxT(t), msg(topic, "t", "", body)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) && len(a.snapshot())+len(b.snapshot()) < 100 {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	union := setOf(append(a.bodies(), b.bodies()...))
	for _, w := range want {
		if !union[w] {
			t.Errorf("%s consumed by neither consumer", w)
		}
	}
	if len(a.snapshot()) == 0 || len(b.snapshot()) == 0 {
		t.Errorf("both consumers should get some: %d / %d", len(a.snapshot()), len(b.snapshot()))
	}
	if n := len(a.snapshot()) + len(b.snapshot()); n != 100 {
		t.Errorf("%d deliveries for 100 messages (duplicates)", n)
	}
	qa := map[int]bool{}
	for _, m := range a.snapshot() {
		qa[m.Queue.QueueId] = true
	}
	for _, m := range b.snapshot() {
		if qa[m.Queue.QueueId] {
			t.Errorf("queue %d consumed by both consumers", m.Queue.QueueId)
			break
		}
	}
}

func TestBroadcasting(t *testing.T) {
	s := startStack(t)
	topic := s.createTopic(t, "GoBroadcast", 4)
	group := unique("gbc")
	a, b := &collector{}, &collector{}
	s.pushConsumer(t, group, topic, "*", a, consumer.WithConsumerModel(consumer.BroadCasting))
	s.pushConsumer(t, group, topic, "*", b, consumer.WithConsumerModel(consumer.BroadCasting))
	p := s.producer(t)
	var want []string
	for i := 0; i < 40; i++ {
		body := "b-" + strconv.Itoa(i)
		want = append(want, body)
		if _, err := p.SendSync(ctxT(t), msg(topic, "t", "", body)); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(want)
	a.await(t, 40, 25*time.Second, "broadcast consumer A")
	b.await(t, 40, 25*time.Second, "broadcast consumer B")
	if strings.Join(a.bodies(), ",") != strings.Join(want, ",") || strings.Join(b.bodies(), ",") != strings.Join(want, ",") {
		t.Errorf("each broadcasting consumer should get all 40 exactly once: %d and %d", len(a.bodies()), len(b.bodies()))
	}
}

func TestOrderedSendOrderlyConsume(t *testing.T) {
	s := startStack(t)
	topic := s.createTopic(t, "GoOrdered", 4)
	p := s.producer(t, producer.WithQueueSelector(producer.NewHashQueueSelector()))
	got := &collector{}
	s.pushConsumer(t, unique("gor"), topic, "*", got, consumer.WithConsumerOrder(true))
	queueOfKey := map[string]int{}
	for step := 0; step < 10; step++ {
		for order := 0; order < 8; order++ {
			key := "order-" + strconv.Itoa(order)
			m := msg(topic, "o", key, key+":"+strconv.Itoa(step))
			m.WithShardingKey(key)
			r, err := p.SendSync(ctxT(t), m)
			if err != nil {
				t.Fatal(err)
			}
			if q, ok := queueOfKey[key]; ok && q != r.MessageQueue.QueueId {
				t.Fatalf("sharding key %s went to queues %d and %d", key, q, r.MessageQueue.QueueId)
			}
			queueOfKey[key] = r.MessageQueue.QueueId
		}
	}
	got.await(t, 80, 25*time.Second, "orderly consumer")
	next := map[string]int{}
	lastOffset := map[int]int64{}
	for _, m := range got.snapshot() {
		kv := strings.SplitN(string(m.Body), ":", 2)
		stepN, _ := strconv.Atoi(kv[1])
		if stepN != next[kv[0]] {
			t.Fatalf("order of %s broken: got step %d, want %d", kv[0], stepN, next[kv[0]])
		}
		next[kv[0]]++
		if last, ok := lastOffset[m.Queue.QueueId]; ok && last >= m.QueueOffset {
			t.Fatalf("queue %d offsets went back: %d then %d", m.Queue.QueueId, last, m.QueueOffset)
		}
		lastOffset[m.Queue.QueueId] = m.QueueOffset
	}
	if n := len(got.snapshot()); n != 80 {
		t.Errorf("%d deliveries for 80 messages", n)
	}
}

func TestConsumerRestartResumes(t *testing.T) {
	s := startStack(t)
	topic := s.createTopic(t, "GoResume", 4)
	group := unique("grs")
	p := s.producer(t)
	for i := 0; i < 40; i++ {
		if _, err := p.SendSync(ctxT(t), msg(topic, "t", "", "first-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	first := &collector{}
	c1 := s.pushConsumer(t, group, topic, "*", first)
	first.await(t, 40, 25*time.Second, "first consumer")
	// Shutdown persists the consumed offsets (UPDATE_CONSUMER_OFFSET) before it unregisters
	c1.stop()
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < 40; i++ {
		if _, err := p.SendSync(ctxT(t), msg(topic, "t", "", "second-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	second := &collector{}
	s.pushConsumer(t, group, topic, "*", second)
	second.await(t, 40, 25*time.Second, "restarted consumer")
	time.Sleep(time.Second)
	// duplicate window: the first consumer shut down cleanly after consuming everything, so its
	// offsets were committed and nothing of the first batch may come again
	var redelivered []string
	for _, m := range second.snapshot() {
		if strings.HasPrefix(string(m.Body), "first-") {
			redelivered = append(redelivered, string(m.Body))
		}
	}
	if len(redelivered) > 0 {
		t.Errorf("%d committed messages delivered again after the restart: %v", len(redelivered), redelivered)
	}
	if n := len(second.snapshot()); n != 40+len(redelivered) {
		t.Errorf("restarted consumer got %d messages, want 40", n)
	}
}
