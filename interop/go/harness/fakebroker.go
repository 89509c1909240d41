package harness

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FakeBroker is a TCP server speaking just enough of the broker protocol for an official
// client to complete route-dependent calls: sends succeed, heartbeats succeed, the consumer
// list of a group is empty (so consumers pull nothing), anything else answers SUCCESS.
// It records every request so tests can check which broker a client chose and what it sent.
type FakeBroker struct {
	ln       net.Listener
	mu       sync.Mutex
	requests []Command
	offset   atomic.Int64
	closed   atomic.Bool
	conns    sync.Map
}

// StartFakeBroker listens on 127.0.0.1:0.
func StartFakeBroker() (*FakeBroker, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &FakeBroker{ln: ln}
	go f.accept()
	return f, nil
}

// Addr is the HOST:PORT to register as this broker's address.
func (f *FakeBroker) Addr() string { return f.ln.Addr().String() }

// Requests returns a copy of every request received so far.
func (f *FakeBroker) Requests() []Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Command(nil), f.requests...)
}

// WaitFor polls until a received request satisfies match, or timeout.
func (f *FakeBroker) WaitFor(timeout time.Duration, match func(Command) bool) (Command, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range f.Requests() {
			if match(r) {
				return r, true
			}
		}
		if time.Now().After(deadline) {
			return Command{}, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close stops listening and drops connections.
func (f *FakeBroker) Close() {
	f.closed.Store(true)
	f.ln.Close()
	f.conns.Range(func(k, _ any) bool {
		k.(net.Conn).Close()
		return true
	})
}

func (f *FakeBroker) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.conns.Store(c, struct{}{})
		go f.serve(c)
	}
}

func (f *FakeBroker) serve(c net.Conn) {
	defer func() {
		f.conns.Delete(c)
		c.Close()
	}()
	var wmu sync.Mutex
	for {
		req, err := ReadFrame(c)
		if err != nil {
			return
		}
		if req.IsResponse() {
			continue
		}
		f.mu.Lock()
		f.requests = append(f.requests, *req)
		f.mu.Unlock()
		if req.IsOneway() {
			continue
		}
		resp := f.answer(req)
		resp.Opaque = req.Opaque
		resp.Flag = flagResponse
		resp.Language = "JAVA"
		resp.Version = VersionV4_9_8
		frame, err := Encode(resp)
		if err != nil {
			return
		}
		wmu.Lock()
		_, err = c.Write(frame)
		wmu.Unlock()
		if err != nil {
			return
		}
	}
}

func (f *FakeBroker) answer(req *Command) *Command {
	switch req.Code {
	case CodeSendMessage, CodeSendMessageV2:
		q := req.ExtFields["queueId"]
		if q == "" {
			q = req.ExtFields["e"] // V2 short key
		}
		off := f.offset.Add(1) - 1
		return &Command{Code: ResSuccess, ExtFields: map[string]string{
			"msgId":       fmt.Sprintf("7F00000100002A9F%016X", off),
			"queueId":     q,
			"queueOffset": strconv.FormatInt(off, 10),
			"MSG_REGION":  "DefaultRegion",
			"TRACE_ON":    "true",
		}}
	case CodeGetConsumerListByGroup:
		return &Command{Code: ResSuccess, Body: []byte(`{"consumerIdList":[]}`)}
	default:
		return &Command{Code: ResSuccess}
	}
}
