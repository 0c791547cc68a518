// Package protocoltest holds test doubles for the protocol seam. It is imported only by tests
// and must never be used by a daemon.
package protocoltest

import (
	"sync"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Recorder keeps every protocol payload the runs of a RecordingEngine emit, so a test can show
// that none of them crosses an untrusted component in the clear.
type Recorder struct {
	mu       sync.Mutex
	payloads [][]byte
}

// Payloads returns what was recorded so far.
func (r *Recorder) Payloads() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.payloads...)
}

func (r *Recorder) add(p []byte) {
	r.mu.Lock()
	r.payloads = append(r.payloads, append([]byte(nil), p...))
	r.mu.Unlock()
}

// RecordingEngine wraps an engine and records what its runs emit.
type RecordingEngine struct {
	protocol.Engine
	Rec *Recorder
}

// Keygen implements protocol.Engine.
func (e RecordingEngine) Keygen(p protocol.KeygenParams) (protocol.Run, error) {
	r, err := e.Engine.Keygen(p)
	if err != nil {
		return nil, err
	}
	return e.wrap(r), nil
}

// Sign implements protocol.Engine.
func (e RecordingEngine) Sign(p protocol.SignParams) (protocol.Run, error) {
	r, err := e.Engine.Sign(p)
	if err != nil {
		return nil, err
	}
	return e.wrap(r), nil
}

func (e RecordingEngine) wrap(r protocol.Run) protocol.Run {
	rr := &recordingRun{Run: r, out: make(chan protocol.Outgoing, 64), done: make(chan protocol.Result, 1)}
	go func() {
		for {
			select {
			case o := <-r.Outgoing():
				e.Rec.add(o.Payload)
				rr.out <- o
			case res := <-r.Done():
				rr.done <- res
				return
			}
		}
	}()
	return rr
}

// recordingRun is a Run whose Outgoing and Done pass through the recorder.
type recordingRun struct {
	protocol.Run
	out  chan protocol.Outgoing
	done chan protocol.Result
}

func (r *recordingRun) Outgoing() <-chan protocol.Outgoing { return r.out }
func (r *recordingRun) Done() <-chan protocol.Result       { return r.done }
