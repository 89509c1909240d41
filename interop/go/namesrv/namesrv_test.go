// Package namesrv checks that the official Go client (rocketmq-client-go/v2) works against
// our name server: brokers are registered by the test (REGISTER_BROKER frames written by
// hand, connections kept open), then the client's public APIs look routes up. Fake brokers
// listen on the registered addresses so that producer and consumer calls prove the client
// parsed the right broker addresses and queue counts from the route.
package namesrv

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"rmq/interop/harness"
)

const cluster = "GoCluster"

func TestMain(m *testing.M) {
	rlog.SetLogLevel("fatal")
	os.Exit(m.Run())
}

// env is one name server with broker-a (master + slave) and broker-b registered, each
// backed by a FakeBroker listening on its registered address.
type env struct {
	ns             *harness.Server
	a0, a1, b0     *harness.SimBroker
	fakeA0, fakeA1 *harness.FakeBroker
	fakeB0         *harness.FakeBroker
	resolver       primitive.NsResolver
}

func setup(t *testing.T) *env {
	t.Helper()
	ns := harness.StartNamesrv(t)
	e := &env{ns: ns, resolver: primitive.NewPassthroughResolver([]string{ns.Addr})}
	var err error
	for _, f := range []**harness.FakeBroker{&e.fakeA0, &e.fakeA1, &e.fakeB0} {
		if *f, err = harness.StartFakeBroker(); err != nil {
			t.Fatal(err)
		}
		fb := *f
		t.Cleanup(fb.Close)
	}
	e.a0 = (&harness.SimBroker{Cluster: cluster, Name: "broker-a", ID: 0, Addr: e.fakeA0.Addr(), HaAddr: "127.0.0.1:1"}).
		Topic("GoTopicShared", 4, 4, harness.PermRW).
		Topic("GoTopicA", 8, 8, harness.PermRW).
		Topic("TBW102", 8, 8, harness.PermRW|harness.PermInherit)
	e.a1 = (&harness.SimBroker{Cluster: cluster, Name: "broker-a", ID: 1, Addr: e.fakeA1.Addr(), HaAddr: "127.0.0.1:2"}).
		Topic("GoTopicShared", 4, 4, harness.PermRW).
		Topic("GoTopicA", 8, 8, harness.PermRW).
		Topic("TBW102", 8, 8, harness.PermRW|harness.PermInherit)
	e.b0 = (&harness.SimBroker{Cluster: cluster, Name: "broker-b", ID: 0, Addr: e.fakeB0.Addr(), HaAddr: "127.0.0.1:3"}).
		Topic("GoTopicShared", 2, 2, harness.PermRW).
		Topic("GoTopicB", 3, 3, harness.PermRW).
		Topic("GoTopicReadOnly", 4, 4, harness.PermRead)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, b := range []*harness.SimBroker{e.a0, e.a1, e.b0} {
		if err := b.MustRegister(ctx, ns.Addr); err != nil {
			t.Fatal(err)
		}
		bb := b
		t.Cleanup(bb.Close)
	}
	return e
}

func (e *env) newAdmin(t *testing.T) admin.Admin {
	t.Helper()
	a, err := admin.NewAdmin(admin.WithResolver(e.resolver))
	if err != nil {
		t.Fatalf("admin.NewAdmin: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

type queueKey struct {
	broker string
	queue  int
}

func queueSet(mqs []*primitive.MessageQueue) map[queueKey]bool {
	s := map[queueKey]bool{}
	for _, mq := range mqs {
		s[queueKey{mq.BrokerName, mq.QueueId}] = true
	}
	return s
}

func expectQueues(brokers map[string]int) map[queueKey]bool {
	s := map[queueKey]bool{}
	for b, n := range brokers {
		for i := 0; i < n; i++ {
			s[queueKey{b, i}] = true
		}
	}
	return s
}

func TestAdminFetchAllTopicList(t *testing.T) {
	e := setup(t)
	list, err := e.newAdmin(t).FetchAllTopicList(ctx(t))
	if err != nil {
		t.Fatalf("FetchAllTopicList: %v", err)
	}
	got := map[string]bool{}
	for _, tp := range list.TopicList {
		got[tp] = true
	}
	for _, want := range []string{"GoTopicShared", "GoTopicA", "GoTopicB", "GoTopicReadOnly", "TBW102"} {
		if !got[want] {
			t.Errorf("topic %s missing from %v", want, list.TopicList)
		}
	}
}

func TestAdminFetchPublishMessageQueues(t *testing.T) {
	e := setup(t)
	a := e.newAdmin(t)
	mqs, err := a.FetchPublishMessageQueues(ctx(t), "GoTopicShared")
	if err != nil {
		t.Fatalf("FetchPublishMessageQueues: %v", err)
	}
	want := expectQueues(map[string]int{"broker-a": 4, "broker-b": 2})
	if got := queueSet(mqs); fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) || len(mqs) != 6 {
		t.Errorf("GoTopicShared queues = %v, want %v", sorted(got), sorted(want))
	}
	for _, mq := range mqs {
		if mq.Topic != "GoTopicShared" {
			t.Errorf("queue with wrong topic: %+v", mq)
		}
	}
	ro, err := a.FetchPublishMessageQueues(ctx(t), "GoTopicReadOnly")
	if err != nil {
		t.Fatalf("FetchPublishMessageQueues(read-only): %v", err)
	}
	if len(ro) != 0 {
		t.Errorf("read-only topic must have no publish queues, got %d", len(ro))
	}
}

func TestAdminTopicNotExist(t *testing.T) {
	e := setup(t)
	mqs, err := e.newAdmin(t).FetchPublishMessageQueues(ctx(t), "NoSuchGoTopic")
	if err == nil {
		t.Fatalf("expected TOPIC_NOT_EXIST, got %d queues", len(mqs))
	}
	if !strings.Contains(strings.ToLower(err.Error()), "not exist") {
		t.Errorf("expected the client's topic-not-exist error, got %v", err)
	}
}

func sorted(s map[queueKey]bool) []string {
	var out []string
	for k := range s {
		out = append(out, k.broker+"#"+strconv.Itoa(k.queue))
	}
	sort.Strings(out)
	return out
}

func newProducer(t *testing.T, e *env) rocketmq.Producer {
	t.Helper()
	p, err := rocketmq.NewProducer(
		producer.WithNsResolver(e.resolver),
		producer.WithGroupName("go-interop-pg"),
		producer.WithInstanceName(fmt.Sprintf("go-interop-producer-%d", time.Now().UnixNano())),
		producer.WithRetry(0),
		producer.WithSendMsgTimeout(3*time.Second),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return p
}

func sendsTo(f *harness.FakeBroker, topic string) []harness.Command {
	var out []harness.Command
	for _, r := range f.Requests() {
		if (r.Code == harness.CodeSendMessage || r.Code == harness.CodeSendMessageV2) &&
			(r.ExtFields["topic"] == topic || r.ExtFields["b"] == topic) {
			out = append(out, r)
		}
	}
	return out
}

func queueIDs(cmds []harness.Command) map[int]bool {
	s := map[int]bool{}
	for _, c := range cmds {
		q := c.ExtFields["queueId"]
		if q == "" {
			q = c.ExtFields["e"]
		}
		n, _ := strconv.Atoi(q)
		s[n] = true
	}
	return s
}

// The producer must connect to the master address from the route and pick queue ids within
// the registered write-queue count.
func TestProducerSendReachesMasterAddressFromRoute(t *testing.T) {
	e := setup(t)
	p := newProducer(t, e)
	for i := 0; i < 8; i++ {
		res, err := p.SendSync(ctx(t), primitive.NewMessage("GoTopicA", []byte(fmt.Sprintf("hello %d", i))))
		if err != nil {
			t.Fatalf("SendSync GoTopicA: %v", err)
		}
		if res.Status != primitive.SendOK || res.MessageQueue.BrokerName != "broker-a" {
			t.Fatalf("unexpected send result: %v", res)
		}
	}
	got := queueIDs(sendsTo(e.fakeA0, "GoTopicA"))
	if len(got) != 8 {
		t.Errorf("8 sends to an 8-queue topic should use queues 0..7, used %v", got)
	}
	for q := range got {
		if q < 0 || q >= 8 {
			t.Errorf("queue id %d out of range", q)
		}
	}
	if n := len(sendsTo(e.fakeA1, "GoTopicA")); n != 0 {
		t.Errorf("producer sent %d messages to the slave address", n)
	}

	for i := 0; i < 12; i++ {
		if _, err := p.SendSync(ctx(t), primitive.NewMessage("GoTopicShared", []byte("x"))); err != nil {
			t.Fatalf("SendSync GoTopicShared: %v", err)
		}
	}
	qa := queueIDs(sendsTo(e.fakeA0, "GoTopicShared"))
	qb := queueIDs(sendsTo(e.fakeB0, "GoTopicShared"))
	if len(qa) != 4 || len(qb) != 2 {
		t.Errorf("12 round-robin sends over 4+2 queues: broker-a used %v, broker-b used %v", qa, qb)
	}
	for q := range qb {
		if q >= 2 {
			t.Errorf("broker-b has 2 write queues, producer used queue %d", q)
		}
	}
}

// A push consumer looks up the route and heartbeats every broker address in it, slaves
// included: proves the client parsed all broker ids and addresses.
func TestPushConsumerHeartbeatsEveryBrokerInRoute(t *testing.T) {
	e := setup(t)
	group := fmt.Sprintf("go-interop-cg-%d", time.Now().UnixNano())
	c, err := rocketmq.NewPushConsumer(
		consumer.WithNsResolver(e.resolver),
		consumer.WithGroupName(group),
		consumer.WithInstance(group),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Subscribe("GoTopicShared", consumer.MessageSelector{}, func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("consumer start: %v", err)
	}
	t.Cleanup(func() { c.Shutdown() })
	for name, f := range map[string]*harness.FakeBroker{"broker-a master": e.fakeA0, "broker-a slave": e.fakeA1, "broker-b master": e.fakeB0} {
		_, ok := f.WaitFor(15*time.Second, func(r harness.Command) bool {
			return r.Code == harness.CodeHeartBeat && strings.Contains(string(r.Body), group) &&
				strings.Contains(string(r.Body), "GoTopicShared")
		})
		if !ok {
			t.Errorf("no consumer heartbeat for group %s reached %s at its registered address", group, name)
		}
	}
}

var brokerAddrsRe = regexp.MustCompile(`"brokerAddrs":\{([^}]*)\}`)

// parseBrokerAddrsLikeGo mimics the Go client's route parser for brokerAddrs: strip the braces,
// split on ',', split each item at the first ':', drop '"' characters, parse the id.
func parseBrokerAddrsLikeGo(inner string) (map[int64]string, error) {
	out := map[int64]string{}
	if inner == "" {
		return out, nil
	}
	for _, item := range strings.Split(inner, ",") {
		i := strings.IndexByte(item, ':')
		if i < 0 {
			return nil, fmt.Errorf("item without ':' %q", item)
		}
		id, err := strconv.ParseInt(strings.ReplaceAll(item[:i], `"`, ""), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("broker id in %q: %v", item, err)
		}
		out[id] = strings.ReplaceAll(item[i+1:], `"`, "")
	}
	return out, nil
}

// The wire form of a route as the Go client receives it (version 317): brokerAddrs must be
// present in every broker data and contain no whitespace, because the Go client splits it as text.
func TestRouteBodyIsSplittableByGoClient(t *testing.T) {
	e := setup(t)
	conn, err := harness.Dial(ctx(t), e.ns.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := conn.InvokeVersion(ctx(t), harness.CodeGetRouteInfoByTopic, harness.VersionGoClient,
		map[string]string{"topic": "GoTopicShared"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != harness.ResSuccess {
		t.Fatalf("route answer: %s", resp)
	}
	body := string(resp.Body)
	if n := strings.Count(body, `"brokerName"`); n < 2 {
		t.Fatalf("expected broker and queue datas in %s", body)
	}
	blocks := brokerAddrsRe.FindAllStringSubmatch(body, -1)
	if len(blocks) != 2 {
		t.Fatalf("want brokerAddrs in each of the 2 broker datas, found %d in %s", len(blocks), body)
	}
	got := map[int64]string{}
	for _, b := range blocks {
		if strings.ContainsAny(b[1], " \t\r\n") {
			t.Errorf("whitespace inside brokerAddrs breaks the Go client: %q", b[1])
		}
		m, err := parseBrokerAddrsLikeGo(b[1])
		if err != nil {
			t.Errorf("Go-style split of %q failed: %v", b[1], err)
		}
		for id, addr := range m {
			if id == 0 && addr != e.fakeA0.Addr() && addr != e.fakeB0.Addr() {
				t.Errorf("unexpected master address %q", addr)
			}
			if id == 1 {
				got[id] = addr
			}
		}
	}
	if got[1] != e.fakeA1.Addr() {
		t.Errorf("slave address = %q, want %q (body %s)", got[1], e.fakeA1.Addr(), body)
	}
	t.Logf("route body seen by the Go client: %s", body)
}

// When the connection that registered a broker closes, its routes disappear for new clients.
func TestBrokerConnectionCloseRemovesRoute(t *testing.T) {
	e := setup(t)
	if _, err := e.newAdmin(t).FetchPublishMessageQueues(ctx(t), "GoTopicB"); err != nil {
		t.Fatalf("GoTopicB must be routable before the close: %v", err)
	}
	e.b0.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// a fresh connection each time: clients cache routes
		conn, err := harness.Dial(ctx(t), e.ns.Addr)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := conn.Invoke(ctx(t), harness.CodeGetRouteInfoByTopic, map[string]string{"topic": "GoTopicB"}, nil)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code == harness.ResTopicNotExist {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GoTopicB still routed 10 s after broker-b's connection closed: %s", resp)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// and the official client now sees only broker-a for the shared topic
	a, err := admin.NewAdmin(admin.WithResolver(e.resolver))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	mqs, err := a.FetchPublishMessageQueues(ctx(t), "GoTopicShared")
	if err != nil {
		t.Fatal(err)
	}
	if want := expectQueues(map[string]int{"broker-a": 4}); fmt.Sprint(sorted(queueSet(mqs))) != fmt.Sprint(sorted(want)) {
		t.Errorf("after broker-b left: queues %v, want %v", sorted(queueSet(mqs)), sorted(want))
	}
}
