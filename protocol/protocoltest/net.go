package protocoltest

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Timeout bounds how long Execute waits for runs to end.
const Timeout = 20 * time.Second

// Tamper may rewrite a payload from one party to another; returning nil drops it.
type Tamper func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte

// testNet routes every run's Outgoing to its recipients, each delivery on its own goroutine,
// so that Handle runs concurrently and payloads arrive in any order, and collects the results.
type testNet struct {
	runs    map[protocol.PartyID]protocol.Run
	tamper  Tamper
	mu      sync.Mutex
	results map[protocol.PartyID]protocol.Result
	done    chan protocol.PartyID
	stop    chan struct{}
	wg      sync.WaitGroup
}

// Execute starts every run, routes their payloads (through tamper, when set) and returns their
// results once all have ended.
func Execute(t testing.TB, runs map[protocol.PartyID]protocol.Run, tamper Tamper) map[protocol.PartyID]protocol.Result {
	t.Helper()
	return ExecuteFor(t, runs, tamper, nil)
}

// ExecuteFor is Execute that returns once the runs of wait (every run if wait is empty) have
// ended: a run whose peer failed early waits for it forever, as it would in a cluster until
// the enclave's timeout. It returns the results of the runs that ended.
func ExecuteFor(t testing.TB, runs map[protocol.PartyID]protocol.Run, tamper Tamper, wait []protocol.PartyID) map[protocol.PartyID]protocol.Result {
	t.Helper()
	n := &testNet{
		runs:    runs,
		tamper:  tamper,
		results: make(map[protocol.PartyID]protocol.Result),
		done:    make(chan protocol.PartyID, len(runs)),
		stop:    make(chan struct{}),
	}
	defer n.close()
	// Start every run before routing anything: a payload that reaches a run before its Start
	// is an error.
	for p, r := range runs {
		if err := r.Start(); err != nil {
			t.Fatalf("%s: Start: %v", p, err)
		}
	}
	for p := range runs {
		n.wg.Add(1)
		go n.route(p)
	}
	deadline := time.After(Timeout)
	for {
		n.mu.Lock()
		finished := len(n.results) == len(runs)
		if len(wait) > 0 {
			finished = true
			for _, p := range wait {
				if _, ok := n.results[p]; !ok {
					finished = false
				}
			}
		}
		if finished {
			defer n.mu.Unlock()
			return maps.Clone(n.results)
		}
		n.mu.Unlock()
		select {
		case <-n.done:
		case <-deadline:
			t.Fatalf("runs did not finish within %v", Timeout)
		}
	}
}

func (n *testNet) route(from protocol.PartyID) {
	defer n.wg.Done()
	r := n.runs[from]
	for {
		select {
		case o := <-r.Outgoing():
			n.deliver(from, o)
		case res := <-r.Done():
			n.mu.Lock()
			n.results[from] = res
			n.mu.Unlock()
			n.done <- from
			return
		case <-n.stop:
			return
		}
	}
}

func (n *testNet) deliver(from protocol.PartyID, o protocol.Outgoing) {
	to := o.To
	if o.Broadcast {
		to = nil
		for p := range n.runs {
			if p != from {
				to = append(to, p)
			}
		}
	}
	for _, p := range to {
		payload := slices.Clone(o.Payload)
		if n.tamper != nil {
			if payload = n.tamper(from, p, o.Broadcast, payload); payload == nil {
				continue
			}
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			_ = n.runs[p].Handle(from, o.Broadcast, payload) // errors also show on Done
		}()
	}
}

func (n *testNet) close() {
	close(n.stop)
	for _, r := range n.runs {
		r.Abort(errors.New("test over"))
	}
	n.wg.Wait()
}
