// Package protocoltest holds test doubles for the protocol seam. It is imported only by tests
// and must never be used by a daemon.
package protocoltest

import (
	"fmt"
	"sync"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// InterceptEngine wraps an engine so that every payload its runs emit passes through
// OnOutgoing, which may record it or rewrite it (a party that misbehaves).
type InterceptEngine struct {
	protocol.Engine
	OnOutgoing func(protocol.Outgoing) protocol.Outgoing
}

// Keygen implements protocol.Engine.
func (e InterceptEngine) Keygen(p protocol.KeygenParams) (protocol.Run, error) {
	r, err := e.Engine.Keygen(p)
	if err != nil {
		return nil, err
	}
	return e.wrap(r), nil
}

// Sign implements protocol.Engine.
func (e InterceptEngine) Sign(p protocol.SignParams) (protocol.Run, error) {
	r, err := e.Engine.Sign(p)
	if err != nil {
		return nil, err
	}
	return e.wrap(r), nil
}

// Reshare implements protocol.Resharer by the wrapped engine's, which must have one.
func (e InterceptEngine) Reshare(p protocol.ReshareParams) (protocol.Run, error) {
	rs, ok := e.Engine.(protocol.Resharer)
	if !ok {
		return nil, fmt.Errorf("%s keys cannot be reshared", e.Scheme())
	}
	r, err := rs.Reshare(p)
	if err != nil {
		return nil, err
	}
	return e.wrap(r), nil
}

// DerivePublicKey implements protocol.Deriver by the wrapped engine's, which must have one.
func (e InterceptEngine) DerivePublicKey(pub []byte, d protocol.Derivation) ([]byte, error) {
	dv, ok := e.Engine.(protocol.Deriver)
	if !ok {
		return nil, fmt.Errorf("%s keys have no derivation", e.Scheme())
	}
	return dv.DerivePublicKey(pub, d)
}

// Presign implements protocol.Presigner by the wrapped engine's, which must have one. The
// online runs of its presignatures are intercepted too.
func (e InterceptEngine) Presign(p protocol.PresignParams) (protocol.Run, error) {
	pre, ok := e.Engine.(protocol.Presigner)
	if !ok {
		return nil, fmt.Errorf("%s keys have no presignatures", e.Scheme())
	}
	r, err := pre.Presign(p)
	if err != nil {
		return nil, err
	}
	return e.wrap(r), nil
}

// interceptedPresignature wraps the online run of a presignature.
type interceptedPresignature struct {
	protocol.Presignature
	e InterceptEngine
}

func (p interceptedPresignature) Sign(in protocol.SignInput) (protocol.Run, error) {
	r, err := p.Presignature.Sign(in)
	if err != nil {
		return nil, err
	}
	return p.e.wrap(r), nil
}

func (e InterceptEngine) wrap(r protocol.Run) protocol.Run {
	ir := &interceptedRun{Run: r, out: make(chan protocol.Outgoing, 64), done: make(chan protocol.Result, 1)}
	go func() {
		for {
			select {
			case o := <-r.Outgoing():
				ir.out <- e.OnOutgoing(o)
			case res := <-r.Done():
				if res.Presignature != nil {
					res.Presignature = interceptedPresignature{Presignature: res.Presignature, e: e}
				}
				ir.done <- res
				return
			}
		}
	}()
	return ir
}

// interceptedRun is a Run whose Outgoing and Done pass through the interceptor.
type interceptedRun struct {
	protocol.Run
	out  chan protocol.Outgoing
	done chan protocol.Result
}

func (r *interceptedRun) Outgoing() <-chan protocol.Outgoing { return r.out }
func (r *interceptedRun) Done() <-chan protocol.Result       { return r.done }

// Recorder keeps every protocol payload it sees, so a test can show that none of them crosses
// an untrusted component in the clear.
type Recorder struct {
	mu       sync.Mutex
	payloads [][]byte
}

// Engine wraps e so that the recorder sees every payload its runs emit.
func (r *Recorder) Engine(e protocol.Engine) protocol.Engine {
	return InterceptEngine{Engine: e, OnOutgoing: r.record}
}

func (r *Recorder) record(o protocol.Outgoing) protocol.Outgoing {
	r.mu.Lock()
	r.payloads = append(r.payloads, append([]byte(nil), o.Payload...))
	r.mu.Unlock()
	return o
}

// Payloads returns what was recorded so far.
func (r *Recorder) Payloads() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.payloads...)
}

// Windows returns n-byte slices spread evenly over b (all of b if it is shorter), for tests
// that look for any part of a secret in bytes an untrusted component saw.
func Windows(b []byte, n int) [][]byte {
	if len(b) <= n {
		return [][]byte{b}
	}
	var out [][]byte
	step := max((len(b)-n)/16, 1)
	for i := 0; i+n <= len(b); i += step {
		out = append(out, b[i:i+n])
	}
	return out
}
