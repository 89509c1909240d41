package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"
)

// TopicConfig is one entry of a broker's topic table as it registers it.
type TopicConfig struct {
	TopicName       string `json:"topicName"`
	ReadQueueNums   int    `json:"readQueueNums"`
	WriteQueueNums  int    `json:"writeQueueNums"`
	Perm            int    `json:"perm"`
	TopicFilterType string `json:"topicFilterType"`
	TopicSysFlag    int    `json:"topicSysFlag"`
	Order           bool   `json:"order"`
}

// DataVersion is the broker's topic-table version.
type DataVersion struct {
	Counter   int64 `json:"counter"`
	Timestamp int64 `json:"timestamp"`
}

// Permission bits.
const (
	PermRead    = 4
	PermWrite   = 2
	PermInherit = 1
	PermRW      = PermRead | PermWrite
)

// SimBroker registers with a name server the way a 4.9 Java broker does, over its own
// connection (kept open: name servers drop a broker when that connection closes).
// Nothing needs to listen on Addr unless a client is expected to connect (see FakeBroker).
type SimBroker struct {
	Cluster, Name string
	ID            int64
	Addr, HaAddr  string
	Topics        []TopicConfig
	Version       DataVersion
	conn          *Conn
}

// Topic appends a topic (read/write queue counts and permission).
func (b *SimBroker) Topic(name string, readQ, writeQ, perm int) *SimBroker {
	b.Topics = append(b.Topics, TopicConfig{TopicName: name, ReadQueueNums: readQ, WriteQueueNums: writeQ,
		Perm: perm, TopicFilterType: "SINGLE_TAG"})
	return b
}

// RegisterBody builds the uncompressed RegisterBrokerBody JSON.
func (b *SimBroker) RegisterBody() ([]byte, error) {
	table := map[string]TopicConfig{}
	for _, t := range b.Topics {
		table[t.TopicName] = t
	}
	body := map[string]any{
		"filterServerList": []string{},
		"topicConfigSerializeWrapper": map[string]any{
			"dataVersion":      b.Version,
			"topicConfigTable": table,
		},
	}
	return json.Marshal(body)
}

func (b *SimBroker) connect(ctx context.Context, nsAddr string) (*Conn, error) {
	if b.conn == nil {
		c, err := Dial(ctx, nsAddr)
		if err != nil {
			return nil, err
		}
		b.conn = c
	}
	return b.conn, nil
}

// Register sends REGISTER_BROKER (103) and returns the response.
func (b *SimBroker) Register(ctx context.Context, nsAddr string) (*Command, error) {
	if b.Version.Counter == 0 {
		b.Version = DataVersion{Counter: 1, Timestamp: 1718000000000}
	}
	body, err := b.RegisterBody()
	if err != nil {
		return nil, err
	}
	c, err := b.connect(ctx, nsAddr)
	if err != nil {
		return nil, err
	}
	ext := map[string]string{
		"brokerName":   b.Name,
		"brokerAddr":   b.Addr,
		"clusterName":  b.Cluster,
		"haServerAddr": b.HaAddr,
		"brokerId":     strconv.FormatInt(b.ID, 10),
		"compressed":   "false",
		"bodyCrc32":    strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)&0x7FFFFFFF), 10),
	}
	return c.Invoke(ctx, CodeRegisterBroker, ext, body)
}

// MustRegister registers and fails unless the answer is SUCCESS.
func (b *SimBroker) MustRegister(ctx context.Context, nsAddr string) error {
	r, err := b.Register(ctx, nsAddr)
	if err != nil {
		return fmt.Errorf("register %s/%d: %w", b.Name, b.ID, err)
	}
	if r.Code != ResSuccess {
		return fmt.Errorf("register %s/%d answered %s", b.Name, b.ID, r)
	}
	return nil
}

// Close closes the registering connection.
func (b *SimBroker) Close() {
	if b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
}
