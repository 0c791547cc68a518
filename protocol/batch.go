package protocol

// A batch runs K signing runs of one key and one signer set as a single Run, so that each
// protocol round crosses the network as one bundled payload instead of K: it is for amortizing
// the per-request cost (envelopes, relays, session set-up) when many digests are signed at once.
//
// A batch must never deliver one sub-run's payload to another sub-run, and must never let one
// sub-run's result stand for another's: part i of every bundle goes to sub-run i and to no
// other, and Signatures[i] is sub-run i's own signature. It holds no secret itself; each
// sub-run wipes its own when it ends.
//
// Bundle format (every integer big-endian):
//
//	offset  size  field
//	0       1     version, 0x01
//	1       2     K = number of parts, 1..MaxBatch
//	3       4     L1 = length of part 1, at least 1
//	7       L1    part 1 (sub-run 1's payload)
//	...           (L, part) for parts 2..K, then nothing: trailing bytes are refused
//
// A whole bundle is at most maxBundleSize bytes.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// MaxBatch is the most signing runs one batch bundles.
const MaxBatch = 64

// ErrBatchEnded is returned by Start and Handle once the batch has ended (it has a result,
// failed or was aborted). A payload that arrives after the end is not a fault of the batch.
var ErrBatchEnded = errors.New("protocol: batch has ended")

const (
	bundleVersion    = 0x01
	bundleHeaderSize = 3 // version and count
	partHeaderSize   = 4 // length of one part
	// maxBundleSize bounds a bundle, read or written: room for MaxBatch payloads of every
	// engine's usual size, and a bound on what one peer can make a receiver hold.
	maxBundleSize = 16 << 20
)

// errBatchAborted is the cause reported when Abort is called with a nil error.
var errBatchAborted = errors.New("aborted")

// batch is the Run NewBatch returns.
//
// Concurrency: mu guards everything below it. One drain goroutine per sub-run is always ready
// to take that sub-run's Outgoing (so no sub-run ever blocks) and appends it to the sub-run's
// queue; once every queue holds a payload, their heads become one bundle in the batch's queue.
// The pump goroutine is the only reader of the bundle queue and the only sender on done once
// it runs; it delivers the result after the bundles queued before it, unless Abort hurries it.
// No sub-run is ever called with mu held: a sub-run's own locks may be waiting for its
// Outgoing to be taken, which needs mu.
type batch struct {
	runs []Run

	outgoing chan Outgoing // unbuffered
	done     chan Result   // capacity 1, sent to once
	wake     chan struct{} // capacity 1: the pump has something to look at

	mu      sync.Mutex
	started bool
	ended   bool
	hurry   bool    // Abort: deliver the result without draining the bundles
	result  *Result // set when the batch ends; delivered by the pump
	queues  [][]Outgoing
	bundles []Outgoing
	emitted int          // bundles made so far, for messages
	sigs    []*Signature // sigs[i] is sub-run i's, once it has succeeded
	left    int          // sub-runs without a result yet
}

var _ Run = (*batch)(nil)

// NewBatch wraps 1..MaxBatch signing runs of the same protocol among the same parties (one
// key, one signer set, a different digest and session nonce each) into one Run that bundles
// their payloads round by round and ends with Result.Signatures in the runs' order. Every
// signer must build its batch from the same requests in the same order. NewBatch takes
// ownership of the runs: the caller must not use them afterwards.
func NewBatch(runs []Run) (Run, error) {
	switch {
	case len(runs) == 0:
		return nil, errors.New("protocol: a batch needs at least one run")
	case len(runs) > MaxBatch:
		return nil, fmt.Errorf("protocol: a batch of %d runs (at most %d)", len(runs), MaxBatch)
	}
	for i, r := range runs {
		if r == nil {
			return nil, fmt.Errorf("protocol: run %d of the batch is nil", i)
		}
	}
	return &batch{
		runs:     slices.Clone(runs),
		outgoing: make(chan Outgoing),
		done:     make(chan Result, 1),
		wake:     make(chan struct{}, 1),
		queues:   make([][]Outgoing, len(runs)),
		sigs:     make([]*Signature, len(runs)),
		left:     len(runs),
	}, nil
}

func (b *batch) String() string { return fmt.Sprintf("batch of %d signing runs", len(b.runs)) }

// Outgoing implements Run: one bundle per round, in order.
func (b *batch) Outgoing() <-chan Outgoing { return b.outgoing }

// Done implements Run.
func (b *batch) Done() <-chan Result { return b.done }

// Start implements Run: it starts every sub-run. If one fails to start, the batch fails with
// its error and the others are aborted.
func (b *batch) Start() error {
	b.mu.Lock()
	switch {
	case b.ended:
		b.mu.Unlock()
		return ErrBatchEnded
	case b.started:
		b.mu.Unlock()
		return errors.New("protocol: batch already started")
	}
	b.started = true
	go b.pump()
	for i := range b.runs {
		go b.drain(i)
	}
	b.mu.Unlock()

	if i, err := b.eachRun(func(i int) error { return b.runs[i].Start() }); err != nil {
		return b.fail(subError(i, len(b.runs), err))
	}
	return nil
}

// Handle implements Run: it splits a bundle from a peer and hands part i to sub-run i. A
// bundle that is malformed or holds the wrong number of parts fails the batch, blaming from.
func (b *batch) Handle(from PartyID, broadcast bool, payload []byte) error {
	b.mu.Lock()
	switch {
	case b.ended:
		b.mu.Unlock()
		return ErrBatchEnded
	case !b.started:
		b.mu.Unlock()
		return b.fail(batchErrorf(nil, "payload from %s before Start", from))
	}
	b.mu.Unlock()

	parts, err := decodeBundle(payload, len(b.runs))
	if err != nil {
		return b.fail(batchErrorf([]PartyID{from}, "malformed bundle from %s: %v", from, err))
	}
	if i, err := b.eachRun(func(i int) error { return b.runs[i].Handle(from, broadcast, parts[i]) }); err != nil {
		return b.handleFailed(i, err)
	}
	return nil
}

// eachRun calls f for every sub-run, several at a time: a sub-run may do a round's work in its
// Start or Handle (tss-lib and the FROST engines do), and calling one after another would put a
// whole batch's arithmetic on one core while the other signers wait for its bundle. It
// returns the first failing sub-run by index, and its error.
func (b *batch) eachRun(f func(i int) error) (int, error) {
	errs := make([]error, len(b.runs))
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range b.runs {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return i, err
		}
	}
	return 0, nil
}

// handleFailed deals with an error from sub-run i's Handle. A *Error is a failure of the run
// and fails the batch now. Any other error may only say that the sub-run has already ended
// (a late or repeated payload, no fault of anyone); if the sub-run failed, its Done reports
// the failure and the drain fails the batch with it.
func (b *batch) handleFailed(i int, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return b.fail(subError(i, len(b.runs), err))
	}
	return fmt.Errorf("run %d of the batch: %w", i, err)
}

// Abort implements Run: it ends the batch with err unless it has ended, aborts every sub-run
// and makes Done yield at once, dropping bundles not yet taken from Outgoing.
func (b *batch) Abort(err error) {
	var pe *Error
	if !errors.As(err, &pe) || pe == nil {
		cause := err
		if cause == nil {
			cause = errBatchAborted
		}
		pe = &Error{Task: "sign", Cause: cause}
	}
	b.mu.Lock()
	first := !b.ended
	if first {
		b.endLocked(Result{Err: pe})
	}
	b.hurry = true
	b.signal()
	b.mu.Unlock()
	if first {
		b.abortRuns(pe)
	}
}

// fail ends the batch with err unless it has already ended, aborts the sub-runs, and returns
// err.
func (b *batch) fail(err error) error {
	b.mu.Lock()
	first := !b.ended
	if first {
		b.endLocked(Result{Err: err})
	}
	b.mu.Unlock()
	if first {
		b.abortRuns(err)
	}
	return err
}

// abortRuns aborts every sub-run (those that have ended ignore it). Called without mu.
func (b *batch) abortRuns(err error) {
	for _, r := range b.runs {
		r.Abort(err)
	}
}

// endLocked records the outcome and hands it to the pump (or straight to Done if the batch
// never started, so there is no pump).
func (b *batch) endLocked(res Result) {
	b.ended = true
	for i := range b.queues {
		clear(b.queues[i])
		b.queues[i] = nil
	}
	if !b.started {
		b.done <- res // capacity 1, sent to once
		return
	}
	b.result = &res
	b.signal()
}

func (b *batch) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// drain takes sub-run i's payloads and result as soon as it emits them, until its result.
// After the batch has ended it keeps taking them, and drops them, so that the sub-run can end.
func (b *batch) drain(i int) {
	r := b.runs[i]
	for {
		select {
		case o := <-r.Outgoing():
			if err := b.collect(i, o); err != nil {
				b.fail(err)
			}
		case res := <-r.Done():
			if err := b.finish(i, res); err != nil {
				b.fail(err)
			}
			return
		}
	}
}

// collect queues a payload of sub-run i and makes every bundle that is complete.
func (b *batch) collect(i int, o Outgoing) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return nil
	}
	b.queues[i] = append(b.queues[i], o)
	return b.bundleLocked()
}

// finish records sub-run i's result; the last success ends the batch with every signature.
func (b *batch) finish(i int, res Result) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return nil
	}
	switch {
	case res.Err != nil:
		return subError(i, len(b.runs), res.Err)
	case res.Signature == nil:
		return batchErrorf(nil, "run %d of the batch ended without a signature", i)
	}
	b.sigs[i] = res.Signature
	b.left--
	if err := b.checkShapesLocked(); err != nil {
		return err
	}
	if b.left == 0 {
		b.endLocked(Result{Signatures: slices.Clone(b.sigs)})
	}
	return nil
}

// bundleLocked turns the heads of the sub-runs' queues into bundles while every queue has one,
// checking that the sub-runs agree on where each payload goes.
func (b *batch) bundleLocked() error {
	for !slices.ContainsFunc(b.queues, func(q []Outgoing) bool { return len(q) == 0 }) {
		heads := make([]Outgoing, len(b.queues))
		for i := range b.queues {
			heads[i] = b.queues[i][0]
			b.queues[i][0] = Outgoing{}
			b.queues[i] = b.queues[i][1:]
		}
		bundle, err := b.makeBundle(heads)
		if err != nil {
			return err
		}
		b.bundles = append(b.bundles, bundle)
		b.emitted++
		b.signal()
	}
	return b.checkShapesLocked()
}

// makeBundle bundles the sub-runs' payloads of one position, which must go to the same place.
func (b *batch) makeBundle(heads []Outgoing) (Outgoing, error) {
	first := heads[0]
	want := sortedParties(first.To)
	size := bundleHeaderSize
	parts := make([][]byte, len(heads))
	for i, o := range heads {
		switch {
		case o.Broadcast != first.Broadcast || !slices.Equal(sortedParties(o.To), want):
			return Outgoing{}, batchErrorf(nil, "payload %d of run %d goes to %s, but run 0's goes to %s: the runs of a batch must be the same protocol among the same parties",
				b.emitted, i, destination(o), destination(first))
		case len(o.Payload) == 0:
			return Outgoing{}, batchErrorf(nil, "run %d of the batch emitted an empty payload", i)
		}
		size += partHeaderSize + len(o.Payload)
		if size > maxBundleSize {
			return Outgoing{}, batchErrorf(nil, "bundle %d exceeds %d bytes: the batch of %d runs is too large for this protocol", b.emitted, maxBundleSize, len(heads))
		}
		parts[i] = o.Payload
	}
	return Outgoing{To: slices.Clone(first.To), Broadcast: first.Broadcast, Payload: encodeBundle(parts)}, nil
}

// checkShapesLocked fails the batch when a sub-run has ended with every payload it emitted
// bundled while another has emitted more: the runs did not follow the same protocol.
func (b *batch) checkShapesLocked() error {
	ahead := slices.IndexFunc(b.queues, func(q []Outgoing) bool { return len(q) > 0 })
	if ahead < 0 {
		return nil
	}
	for i, q := range b.queues {
		if b.sigs[i] != nil && len(q) == 0 {
			return batchErrorf(nil, "run %d of the batch emitted more payloads than run %d, which has ended: the runs of a batch must be the same protocol among the same parties", ahead, i)
		}
	}
	return nil
}

// pump feeds the bundles to Outgoing in order and delivers the result once they have been
// taken (or at once after Abort). Only the pump removes bundles from the queue.
func (b *batch) pump() {
	for {
		b.mu.Lock()
		if b.result != nil && (len(b.bundles) == 0 || b.hurry) {
			b.done <- *b.result // capacity 1, sent to once: never blocks
			b.result = nil
			clear(b.bundles)
			b.bundles = nil
			b.mu.Unlock()
			return
		}
		var (
			send chan<- Outgoing
			next Outgoing
		)
		if len(b.bundles) > 0 {
			send, next = b.outgoing, b.bundles[0]
		}
		b.mu.Unlock()

		select {
		case send <- next:
			b.mu.Lock()
			b.bundles[0] = Outgoing{}
			b.bundles = b.bundles[1:]
			b.mu.Unlock()
		case <-b.wake:
		}
	}
}

// subError is sub-run i's failure as the batch's: the same task, round and culprits, with the
// sub-run named in the cause.
func subError(i, k int, err error) *Error {
	var pe *Error
	if !errors.As(err, &pe) || pe == nil {
		return &Error{Task: "sign", Cause: fmt.Errorf("run %d of %d in the batch: %w", i, k, err)}
	}
	return &Error{Task: pe.Task, Round: pe.Round, Culprits: slices.Clone(pe.Culprits), Cause: fmt.Errorf("run %d of %d in the batch: %w", i, k, pe.Cause)}
}

func batchErrorf(culprits []PartyID, format string, args ...any) *Error {
	return &Error{Task: "sign", Culprits: culprits, Cause: fmt.Errorf(format, args...)}
}

func sortedParties(ps []PartyID) []PartyID {
	s := slices.Clone(ps)
	slices.Sort(s)
	return s
}

func destination(o Outgoing) string {
	if o.Broadcast {
		return "everyone (broadcast)"
	}
	return fmt.Sprint(o.To)
}

// encodeBundle encodes parts in the bundle format (see the top of this file). The caller keeps
// the count within 1..MaxBatch, each part non-empty and the whole within maxBundleSize.
func encodeBundle(parts [][]byte) []byte {
	size := bundleHeaderSize
	for _, p := range parts {
		size += partHeaderSize + len(p)
	}
	out := make([]byte, bundleHeaderSize, size)
	out[0] = bundleVersion
	binary.BigEndian.PutUint16(out[1:], uint16(len(parts)))
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}

// decodeBundle decodes a bundle that must hold exactly want parts. The parts alias b.
func decodeBundle(b []byte, want int) ([][]byte, error) {
	switch {
	case len(b) > maxBundleSize:
		return nil, fmt.Errorf("bundle of %d bytes exceeds the %d-byte limit", len(b), maxBundleSize)
	case len(b) < bundleHeaderSize:
		return nil, fmt.Errorf("bundle of %d bytes is shorter than its %d-byte header", len(b), bundleHeaderSize)
	case b[0] != bundleVersion:
		return nil, fmt.Errorf("bundle version %#02x, want %#02x", b[0], bundleVersion)
	}
	if n := int(binary.BigEndian.Uint16(b[1:])); n != want {
		return nil, fmt.Errorf("bundle holds %d parts, want %d", n, want)
	}
	parts := make([][]byte, want)
	rest := b[bundleHeaderSize:]
	for i := range parts {
		if len(rest) < partHeaderSize {
			return nil, fmt.Errorf("bundle ends in the length of part %d", i)
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[partHeaderSize:]
		switch {
		case n == 0:
			return nil, fmt.Errorf("part %d of the bundle is empty", i)
		case uint64(n) > uint64(len(rest)):
			return nil, fmt.Errorf("part %d of the bundle claims %d bytes, but only %d remain", i, n, len(rest))
		}
		parts[i] = rest[:n:n]
		rest = rest[n:]
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("%d trailing bytes after the bundle's %d parts", len(rest), want)
	}
	return parts, nil
}
