// Command grpcgo runs issue 14's scenarios with the official Go v5 SDK
// (github.com/apache/rocketmq-clients/golang/v5) through one gRPC proxy and writes what the
// client saw, one fact per line, sorted, so run.sh can check each stack and compare Apache's
// proxy with rmq's. Every scenario uses its own topic and group and they run at the same
// time, which keeps a stack's run about as long as its slowest scenario (the dead-letter one).
//
// Usage:
//
//	grpcgo PROXY PREFIX OUT LOGDIR    the scenarios; topics and groups made by run.sh
//	grpcgo orphan PROXY TOPIC BODY LOGDIR
//	                                  sends one transactional message and exits without
//	                                  ending it (the producer that "crashed", see transaction.go)
//
// The topics PREFIX{Normal,Fifo,Delay,Tx,Dlq,Refuse} must exist with their message types, the group
// PREFIXFifoGroup must consume orderly and PREFIXDlqGroup must allow one retry.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) == 6 && os.Args[1] == "orphan" {
		os.Exit(orphan(os.Args[2], os.Args[3], os.Args[4], os.Args[5]))
	}
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: grpcgo PROXY PREFIX OUT LOGDIR | grpcgo orphan PROXY TOPIC BODY LOGDIR")
		os.Exit(2)
	}
	s, err := newStack(os.Args[1], os.Args[2], os.Args[4])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	scenarios := []struct {
		name string
		run  func(*stack)
	}{
		{"normal", normal},
		{"fifo", fifo},
		{"delay", delay},
		{"transaction", transaction},
		{"dlq", deadLetters},
		{"refusals", refusals},
	}
	began := time.Now()
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		wg.Add(1)
		go func(name string, run func(*stack)) {
			defer wg.Done()
			start := time.Now()
			run(s)
			fmt.Printf("scenario %s took %.1f s\n", name, time.Since(start).Seconds())
		}(sc.name, sc.run)
	}
	wg.Wait()
	facts, failures := s.rec.result()
	out := strings.Join(facts, "\n") + "\n"
	if err := os.WriteFile(os.Args[3], []byte(out), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Print(out)
	for _, f := range failures {
		fmt.Println("FAIL grpc-go: " + f)
	}
	fmt.Printf("scenarios took %.1f s\n", time.Since(began).Seconds())
	if len(failures) > 0 {
		os.Exit(1)
	}
}

// recorder collects the facts and failures of scenarios running at the same time.
type recorder struct {
	mu       sync.Mutex
	facts    []string
	failures []string
}

// fact records one line of what the client saw.
func (r *recorder) fact(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.facts = append(r.facts, fmt.Sprintf(format, args...))
}

// fail records an expectation that did not hold.
func (r *recorder) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// check records a yes/no fact and fails unless it is yes.
func (r *recorder) check(what string, ok bool) {
	r.fact("%s %t", what, ok)
	if !ok {
		r.fail("%s: false", what)
	}
}

// expect records a multiset as a fact and fails unless it equals the expected one.
func (r *recorder) expect(what string, want, got multiset) {
	r.fact("%s %s", what, got)
	if want.String() != got.String() {
		r.fail("%s: got %s, expected %s", what, got, want)
	}
}

// result returns the facts sorted, and the failures.
func (r *recorder) result() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sort.Strings(r.facts)
	return r.facts, r.failures
}

// multiset counts deliveries (body#attempt) or bodies, so a duplicate or a loss shows.
type multiset map[string]int

// add counts one more of key.
func (m multiset) add(key string) { m[key]++ }

// total is the number of elements counted.
func (m multiset) total() int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// String is {key=count, ...} in key order: the form facts use.
func (m multiset) String() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// counts builds the expected multiset of keys each counted once.
func counts(keys ...string) multiset {
	m := multiset{}
	for _, k := range keys {
		m.add(k)
	}
	return m
}

// quietWatch ends a receive loop: at its deadline, or 3 s after the expected deliveries are
// all in, so that a duplicate or a redelivery that must not come has time to show.
type quietWatch struct{ deadline, quiet time.Time }

// untilQuiet starts a quietWatch that gives up at deadline.
func untilQuiet(deadline time.Time) *quietWatch { return &quietWatch{deadline: deadline} }

// more says whether to receive again; expected says whether every expected delivery is in.
func (w *quietWatch) more(expected bool) bool {
	now := time.Now()
	if w.quiet.IsZero() && expected {
		w.quiet = now.Add(3 * time.Second)
	}
	if !w.quiet.IsZero() && now.After(w.quiet) {
		return false
	}
	return now.Before(w.deadline)
}
