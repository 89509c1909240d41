// Package harness holds reusable helpers for interop tests: starting servers on ephemeral
// ports, a minimal RocketMQ remoting codec and connection, a simulated broker that registers
// with a name server, and a fake broker that answers the official clients.
package harness

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Request codes and response codes used by the tests (values from Apache RocketMQ).
const (
	CodeSendMessage            = 10
	CodeHeartBeat              = 34
	CodeUnregisterClient       = 35
	CodeGetConsumerListByGroup = 38
	CodeSendMessageV2          = 310
	CodePutKVConfig            = 100
	CodeGetKVConfig            = 101
	CodeDeleteKVConfig         = 102
	CodeRegisterBroker         = 103
	CodeUnregisterBroker       = 104
	CodeGetRouteInfoByTopic    = 105
	CodeGetBrokerClusterInfo   = 106
	CodeGetAllTopicList        = 206

	ResSuccess       = 0
	ResTopicNotExist = 17
	ResQueryNotFound = 22

	// VersionV4_9_8 is the protocol version a 4.9.8 Java broker sends.
	VersionV4_9_8 = 409
	// VersionGoClient is what the Go client sends (V4_5_2): routes come back in fastjson's legacy encoding.
	VersionGoClient = 317

	flagResponse = 1
	flagOneway   = 2
	maxFrame     = 16 << 20
)

// Command is a remoting command (request or response). Body travels after the header.
type Command struct {
	Code      int               `json:"code"`
	Language  string            `json:"language"`
	Version   int               `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int               `json:"flag"`
	Remark    string            `json:"remark,omitempty"`
	ExtFields map[string]string `json:"extFields,omitempty"`
	Body      []byte            `json:"-"`
}

// IsResponse reports whether the response bit is set.
func (c *Command) IsResponse() bool { return c.Flag&flagResponse != 0 }

// IsOneway reports whether the oneway bit is set.
func (c *Command) IsOneway() bool { return c.Flag&flagOneway != 0 }

// Encode writes the frame: total length, header word (type 0 = JSON | header length), header, body.
func Encode(c *Command) ([]byte, error) {
	header, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	total := 4 + len(header) + len(c.Body)
	buf := make([]byte, 8, 4+total)
	binary.BigEndian.PutUint32(buf[0:4], uint32(total))
	binary.BigEndian.PutUint32(buf[4:8], uint32(len(header))&0x00FFFFFF)
	buf = append(buf, header...)
	buf = append(buf, c.Body...)
	return buf, nil
}

// ReadFrame reads one frame and decodes its header (JSON or the ROCKETMQ binary form).
// A JSON header whose extFields values are not all strings is an error: the official Go
// client unmarshals them into map[string]string and would fail the same way.
func ReadFrame(r io.Reader) (*Command, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, err
	}
	total := int(binary.BigEndian.Uint32(lenBuf[:]))
	if total < 4 || total > maxFrame {
		return nil, fmt.Errorf("bad frame length %d", total)
	}
	frame := make([]byte, total)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	word := binary.BigEndian.Uint32(frame[0:4])
	serType := byte(word >> 24)
	hlen := int(word & 0x00FFFFFF)
	if 4+hlen > total {
		return nil, fmt.Errorf("header length %d exceeds frame %d", hlen, total)
	}
	header := frame[4 : 4+hlen]
	var c *Command
	var err error
	switch serType {
	case 0:
		c, err = decodeJSONHeader(header)
	case 1:
		c, err = decodeBinaryHeader(header)
	default:
		err = fmt.Errorf("unknown serialize type %d", serType)
	}
	if err != nil {
		return nil, err
	}
	if total > 4+hlen {
		c.Body = frame[4+hlen:]
	}
	return c, nil
}

func decodeJSONHeader(h []byte) (*Command, error) {
	var c Command
	if err := json.Unmarshal(h, &c); err != nil {
		return nil, fmt.Errorf("header is not what the Go client can decode (%v): %s", err, h)
	}
	return &c, nil
}

var languages = []string{"JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP", "OMS", "RUST", "NODE_JS"}

func decodeBinaryHeader(h []byte) (*Command, error) {
	if len(h) < 21 {
		return nil, errors.New("binary header shorter than 21 bytes")
	}
	c := &Command{
		Code:    int(int16(binary.BigEndian.Uint16(h[0:2]))),
		Version: int(int16(binary.BigEndian.Uint16(h[3:5]))),
		Opaque:  int32(binary.BigEndian.Uint32(h[5:9])),
		Flag:    int(int32(binary.BigEndian.Uint32(h[9:13]))),
	}
	if int(h[2]) < len(languages) {
		c.Language = languages[h[2]]
	}
	p := 13
	rlen := int(binary.BigEndian.Uint32(h[p : p+4]))
	p += 4
	if p+rlen+4 > len(h) {
		return nil, errors.New("binary header: remark overruns")
	}
	c.Remark = string(h[p : p+rlen])
	p += rlen
	elen := int(binary.BigEndian.Uint32(h[p : p+4]))
	p += 4
	if p+elen > len(h) {
		return nil, errors.New("binary header: extFields overrun")
	}
	end := p + elen
	if elen > 0 {
		c.ExtFields = map[string]string{}
	}
	for p < end {
		if p+2 > end {
			return nil, errors.New("binary header: truncated key length")
		}
		kl := int(binary.BigEndian.Uint16(h[p : p+2]))
		p += 2
		if p+kl+4 > end {
			return nil, errors.New("binary header: truncated key")
		}
		k := string(h[p : p+kl])
		p += kl
		vl := int(binary.BigEndian.Uint32(h[p : p+4]))
		p += 4
		if p+vl > end {
			return nil, errors.New("binary header: truncated value")
		}
		c.ExtFields[k] = string(h[p : p+vl])
		p += vl
	}
	return c, nil
}

// Conn is one TCP connection to a remoting server, used synchronously: one request at a time.
// Requests the server sends to us on this connection are ignored.
type Conn struct {
	mu     sync.Mutex
	conn   net.Conn
	opaque int32
	// Version is put in every request; VersionV4_9_8 unless changed.
	Version int
}

// Dial connects to addr.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Conn{conn: c, Version: VersionV4_9_8}, nil
}

// Invoke sends a request and waits for the response with the same opaque.
func (c *Conn) Invoke(ctx context.Context, code int, ext map[string]string, body []byte) (*Command, error) {
	return c.InvokeVersion(ctx, code, c.Version, ext, body)
}

// InvokeVersion is Invoke with an explicit protocol version.
func (c *Conn) InvokeVersion(ctx context.Context, code, version int, ext map[string]string, body []byte) (*Command, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opaque++
	req := &Command{Code: code, Language: "JAVA", Version: version, Opaque: c.opaque, ExtFields: ext, Body: body}
	frame, err := Encode(req)
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	_ = c.conn.SetDeadline(deadline)
	defer c.conn.SetDeadline(time.Time{})
	if _, err := c.conn.Write(frame); err != nil {
		return nil, err
	}
	for {
		resp, err := ReadFrame(c.conn)
		if err != nil {
			return nil, fmt.Errorf("request code %d: %w", code, err)
		}
		if resp.IsResponse() && resp.Opaque == req.Opaque {
			return resp, nil
		}
	}
}

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// String renders a command for error messages.
func (c *Command) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "code=%d remark=%q ext=%v", c.Code, c.Remark, c.ExtFields)
	if len(c.Body) > 0 {
		body := string(c.Body)
		if len(body) > 600 {
			body = body[:600] + "..."
		}
		fmt.Fprintf(&b, " body=%s", body)
	}
	return b.String()
}
