package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/seal"
)

// Limits of a Hosted store. Package enclave checks that protocol/hostsvc's limits are above
// them, so everything a Hosted store writes, its host can keep and hand back.
const (
	// MaxHostedState bounds the whole store's encoding (every name and value, with a few bytes
	// each): a write that would make it larger fails with ErrTooLarge.
	MaxHostedState = 256 << 20
	// MaxHostedLog bounds the log the host keeps (a snapshot and the records after it), as
	// counted by the store: a write that would grow it further, because compaction keeps
	// failing, fails with ErrHostLog.
	MaxHostedLog = 1<<30 - 1<<20
	// maxRecordPlain bounds one record's encoding: any valid Batch, with room for its per-op
	// overhead. A batch of very many tiny operations can exceed it and fails with ErrTooLarge.
	maxRecordPlain = MaxBatchLen + 8<<20
	// maxSnapshotPlain bounds a snapshot's encoding: the state and the codec's header.
	maxSnapshotPlain = MaxHostedState + codecHeaderLen
	// MaxHostedEntry is the largest sealed body a Hosted store hands its log (a snapshot
	// carries its 32-byte chain head in front).
	MaxHostedEntry = max(maxRecordPlain, maxSnapshotPlain) + 32 + seal.Overhead
	// logEntryCost is what the store counts per log entry beyond its body: more than the
	// host's framing of an entry, so the count errs on the large side.
	logEntryCost = 64
)

// Errors of a Hosted store, besides the package's others.
var (
	// ErrHostLog means the host did not acknowledge a write, or its log is full. The write may
	// still take effect: see Hosted.
	ErrHostLog = errors.New("the host did not acknowledge the write")
	// ErrLogRefused means the log the host served fails verification: a record or snapshot
	// that does not open, or a chain that does not continue. Nothing of it was applied.
	ErrLogRefused = errors.New("the host's log fails verification")
)

// SealedLog keeps a Hosted store's sealed entries outside the enclave: in production the host
// (package enclave adapts protocol/hostsvc's client), in tests an in-memory double. It is
// untrusted: Hosted checks everything Load returns.
type SealedLog interface {
	// Load returns the log's entries in order: possibly a snapshot, then records.
	Load(ctx context.Context) ([]LogEntry, error)
	// Append adds record seq and returns only once it is durable. Repeating the last append
	// with the same body must succeed without adding it twice.
	Append(ctx context.Context, seq uint64, sealed []byte) error
	// Compact replaces the whole log, atomically, by a snapshot at seq, the last record's.
	Compact(ctx context.Context, seq uint64, sealed []byte) error
	// Close releases the log.
	Close() error
}

// LogEntry is one sealed entry of a SealedLog.
type LogEntry struct {
	Snapshot bool
	Seq      uint64
	Sealed   []byte
}

// HostedOptions tune a Hosted store; the zero value uses the defaults.
type HostedOptions struct {
	// CommitTimeout bounds how long a write waits for the host's acknowledgement (default 30s).
	CommitTimeout time.Duration
	// CompactAfter is how many bytes of records may follow the snapshot before the store
	// compacts; it compacts when they exceed both this and the snapshot's size, so the log
	// stays within about twice the state (default 4 MiB).
	CompactAfter int64
	// Logger receives compaction and acknowledgement warnings (default: discard).
	Logger *slog.Logger
}

// Hosted is a Store whose durable copy lives on an untrusted host: an enclave without a disk
// (AWS Nitro) keeps its state across restarts with it.
//
// The enclave holds the state in memory. Each write seals its operations (AES-256-GCM under
// the data key) as one record bound to its sequence number and to the hash chain of every
// record before it, hands it to the SealedLog, and makes it visible only once the log has
// acknowledged it durably, so what other code reads has always reached the host's disk first
// (trust rule 4, with the host as the disk). Concurrent writes are grouped into one record.
// When the records after the last snapshot outgrow it, the store seals a snapshot of its whole
// state and has the log replace itself by it.
//
// On open it loads the whole log and checks every seal and the chain from the snapshot (or
// from the first record) to the end before it applies anything: a log with an entry that does
// not open, a gap, a reordering or a spliced-in entry is refused with ErrLogRefused (or
// ErrWrongKey when the very first entry does not open) and nothing of it is used.
//
// # Rollback
//
// What the host cannot be stopped from doing is serving an older prefix of the log: the state
// as of some earlier write, complete and correctly sealed. Every check above passes on a prefix.
// A rolled-back enclave has lost whatever it recorded after that point: slashing-protection
// records (it would sign an attestation or block it already refused, or that conflicts with one
// it signed), a key's deletion or an eth2 key's disabling (the key signs again, for instance a
// validator migrated to another signer, which is how double votes happen), pre-parameters
// already consumed. Nothing else in the enclave notices: its identity and shares are still
// there. One party's rollback alone cannot make the cluster sign (t parties must agree), so
// rollback turns "no set of hosts can make the enclaves break their rules" into "t colluding
// hosts can, by each rolling its enclave back" — for the rules whose state lives in the store.
//
// Preventing it needs a high-water mark the host cannot roll back with the log: the latest
// (sequence number, chain head) kept outside the host — in a KMS-held monotonic counter, or by
// the quorum (each enclave sending its head to its peers over their attested channels, and
// refusing to sign after a restart until t peers confirm it has not fallen behind what they
// last saw). This store does not implement that defense; Head exposes the (sequence number,
// chain head) pair such a defense would attest.
//
// # Acknowledgements
//
// A write the host did not acknowledge (timeout, lost connection, host refused) fails with
// ErrHostLog, but the host may have stored it: the next write first sends that record again
// (the host accepts a repeat without storing it twice) and, once it is acknowledged, applies
// it. So a failed write may take effect later, as a write interrupted by a crash may: nothing
// is visible before it is durable, which is what callers rely on. If the host keeps refusing
// it (its log no longer ends where this store's does), every write fails until the enclave
// restarts and reloads the log.
type Hosted struct {
	log  SealedLog
	aead *seal.AEAD
	opts HostedOptions

	// queue holds writes waiting for a group commit.
	qmu   sync.Mutex
	queue []*pendingWrite

	// commitMu is held by the one writer (the group leader) talking to the log; it guards the
	// fields below it.
	commitMu      sync.Mutex
	logBytes      int64 // the log's size as the store counts it
	sinceSnapshot int64 // bytes of records after the last snapshot
	snapshotBytes int64
	compactAt     int64 // sinceSnapshot at which to try compacting again after a failure
	doubt         *sealedRecord

	// mu guards the state readers see.
	mu         sync.RWMutex
	closed     bool
	data       map[string][]byte
	stateBytes int64
	seq        uint64
	head       [32]byte
}

var _ Store = (*Hosted)(nil)

// pendingWrite is one write waiting for its group's commit.
type pendingWrite struct {
	ops  []op
	done chan error
}

// sealedRecord is a record sealed for the log, with what applying it does.
type sealedRecord struct {
	seq    uint64
	sealed []byte
	head   [32]byte // the chain head after it
	ops    []op
	delta  int64 // its change to stateBytes
	writes []*pendingWrite
}

// OpenHosted loads, checks and replays log under key (seal.KeySize bytes). An empty log starts
// a new store, whose first record (empty) is written at once so that a later open can tell a
// wrong key from a fresh start.
func OpenHosted(ctx context.Context, log SealedLog, key []byte, opts HostedOptions) (*Hosted, error) {
	aead, err := seal.NewAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("store: open the host-backed store: %w", err)
	}
	if log == nil {
		return nil, errors.New("store: open the host-backed store: no sealed log")
	}
	if opts.CommitTimeout <= 0 {
		opts.CommitTimeout = 30 * time.Second
	}
	if opts.CompactAfter <= 0 {
		opts.CompactAfter = 4 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Hosted{log: log, aead: aead, opts: opts, data: map[string][]byte{}}
	entries, err := log.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: load the host-backed store's log: %w", err)
	}
	if len(entries) == 0 {
		err = h.create(ctx)
	} else {
		err = h.replay(entries)
	}
	if err != nil {
		return nil, err
	}
	h.opts.Logger.Info("host-backed store open", "seq", h.seq, "records", len(entries), "log_bytes", h.logBytes)
	return h, nil
}

// create writes the first, empty record of a new store.
func (h *Hosted) create(ctx context.Context) error {
	r := h.seal(nil, 0)
	if err := h.log.Append(ctx, r.seq, r.sealed); err != nil {
		return fmt.Errorf("store: create the host-backed store (record 1): %w: %w", err, ErrHostLog)
	}
	return h.install(r)
}

// replay checks every entry and, only if all of them hold, installs the state they make.
func (h *Hosted) replay(entries []LogEntry) error {
	data := map[string][]byte{}
	var seq uint64
	var head [32]byte
	var logBytes, sinceSnapshot, snapshotBytes int64
	for i, e := range entries {
		var err error
		switch {
		case e.Snapshot && i > 0:
			err = fmt.Errorf("snapshot %d is entry %d of the log: only the first may be a snapshot", e.Seq, i+1)
		case e.Snapshot:
			data, head, err = h.openSnapshot(e)
			snapshotBytes = int64(len(e.Sealed))
		case e.Seq != seq+1:
			err = fmt.Errorf("record %d follows %d", e.Seq, seq)
		default:
			err = h.replayRecord(data, e, head)
			head = nextHead(e.Seq, head, e.Sealed)
			sinceSnapshot += int64(len(e.Sealed))
		}
		if err != nil {
			return h.refuse(i, len(entries), e, err)
		}
		seq = e.Seq
		logBytes += int64(len(e.Sealed)) + logEntryCost
	}
	h.data, h.seq, h.head = data, seq, head
	h.logBytes, h.sinceSnapshot, h.snapshotBytes = logBytes, sinceSnapshot, snapshotBytes
	for k, v := range data {
		h.stateBytes += int64(entryOverhead + len(k) + len(v))
	}
	return nil
}

// refuse reports entry i of n failing verification: ErrWrongKey if it is the first entry and
// does not open (this enclave's data key is not the log's), else ErrLogRefused.
func (h *Hosted) refuse(i, n int, e LogEntry, err error) error {
	kind := "record"
	if e.Snapshot {
		kind = "snapshot"
	}
	if i == 0 && errors.Is(err, seal.ErrUnseal) {
		return fmt.Errorf("store: the host's log does not open under this enclave's data key (its first entry, %s %d, fails): "+
			"the log was sealed under a different key (check the sealer), or is not this enclave's, or was altered; nothing was applied: %w",
			kind, e.Seq, ErrWrongKey)
	}
	return fmt.Errorf("store: the host's log fails verification at %s %d (entry %d of %d): %v; "+
		"nothing of it was applied; a host that serves this log is faulty or hostile: restore the host's copy or treat the party as lost: %w",
		kind, e.Seq, i+1, n, err, ErrLogRefused)
}

// openSnapshot opens a snapshot entry and returns the state and chain head it holds.
func (h *Hosted) openSnapshot(e LogEntry) (map[string][]byte, [32]byte, error) {
	var head [32]byte
	if len(e.Sealed) < len(head) {
		return nil, head, fmt.Errorf("a %d-byte snapshot is shorter than its chain head", len(e.Sealed))
	}
	copy(head[:], e.Sealed)
	plain, err := h.aead.Open(e.Sealed[len(head):], snapshotAAD(e.Seq, head))
	if err != nil {
		return nil, head, err
	}
	defer clear(plain)
	data, err := decodeSnapshot(plain)
	return data, head, err
}

// replayRecord opens record e, which must follow head, and applies it to data.
func (h *Hosted) replayRecord(data map[string][]byte, e LogEntry, head [32]byte) error {
	plain, err := h.aead.Open(e.Sealed, recordAAD(e.Seq, head))
	if err != nil {
		return err
	}
	defer clear(plain)
	ops, err := decodeRecord(plain)
	if err != nil {
		return err
	}
	applyOps(data, ops)
	return nil
}

// applyOps applies ops to data in order, copying values.
func applyOps(data map[string][]byte, ops []op) {
	for _, o := range ops {
		if o.delete {
			delete(data, o.key)
		} else {
			data[o.key] = copyValue(o.value)
		}
	}
}

// Head returns the sequence number of the last durable record and the chain head after it:
// what a rollback defense would have peers or a KMS-held counter attest (see Hosted).
func (h *Hosted) Head() (seq uint64, head [32]byte) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.seq, h.head
}

// Get implements Store.
func (h *Hosted) Get(key string) ([]byte, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return nil, closedErr("get")
	}
	v, ok := h.data[key]
	if !ok {
		return nil, notFound(key)
	}
	return copyValue(v), nil
}

// List implements Store.
func (h *Hosted) List(prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return nil, closedErr("list")
	}
	keys := []string{}
	for k := range h.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

// Put implements Store.
func (h *Hosted) Put(key string, value []byte) error {
	if err := validatePut(key, value); err != nil {
		return err
	}
	return h.commit("put", []op{{key: key, value: copyValue(value)}})
}

// Delete implements Store.
func (h *Hosted) Delete(key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	return h.commit("delete", []op{{key: key, delete: true}})
}

// Apply implements Store.
func (h *Hosted) Apply(b *Batch) error {
	if err := b.validate(); err != nil {
		return err
	}
	var ops []op
	if b != nil {
		ops = slices.Clone(b.ops)
	}
	if n := encodedLen(ops); n > maxRecordPlain {
		return fmt.Errorf("store: batch of %d operations encodes to %d bytes, over %d: split it into smaller batches: %w",
			len(ops), n, maxRecordPlain, ErrTooLarge)
	}
	return h.commit("apply", ops)
}

// Close implements Store. A write waiting for the host fails.
func (h *Hosted) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return closedErr("close")
	}
	h.closed = true
	h.data = nil
	h.mu.Unlock()
	if err := h.log.Close(); err != nil {
		return fmt.Errorf("store: close the host-backed store's log: %w", err)
	}
	return nil
}

// commit queues ops and returns once the group holding them is durable and visible (or failed).
// The first writer to get commitMu leads: it writes every queued write as one record.
func (h *Hosted) commit(opName string, ops []op) error {
	if err := h.checkOpen(opName); err != nil {
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	w := &pendingWrite{ops: ops, done: make(chan error, 1)}
	h.qmu.Lock()
	h.queue = append(h.queue, w)
	h.qmu.Unlock()

	h.commitMu.Lock()
	defer h.commitMu.Unlock()
	for {
		select {
		case err := <-w.done:
			return err
		default:
		}
		h.lead()
	}
}

func (h *Hosted) checkOpen(opName string) error {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return closedErr(opName)
	}
	return nil
}

// lead commits the writes at the head of the queue as one record; commitMu is held.
func (h *Hosted) lead() {
	writes, ops, delta, refused := h.takeGroup()
	for _, r := range refused {
		r.w.done <- r.err
	}
	if len(writes) == 0 {
		return
	}
	err := h.resolveDoubt()
	if err == nil {
		err = h.checkLogRoom(encodedLen(ops))
	}
	if err != nil {
		finish(writes, err)
		return
	}
	r := h.seal(ops, delta)
	r.writes = writes
	h.write(r)
	h.maybeCompact()
}

// refusal is a queued write that cannot be committed, and why.
type refusal struct {
	w   *pendingWrite
	err error
}

// takeGroup takes queued writes, in order, while their record stays within maxRecordPlain,
// and returns them with their ops and their change to the state's size. A write that would
// make the state larger than MaxHostedState is refused on its own.
func (h *Hosted) takeGroup() (writes []*pendingWrite, ops []op, delta int64, refused []refusal) {
	h.qmu.Lock()
	defer h.qmu.Unlock()
	sizes := map[string]int64{} // the size each touched record will have, -1 for absent
	h.mu.RLock()
	defer h.mu.RUnlock()
	size, state := codecHeaderLen, h.stateBytes
	taken := 0
	for _, w := range h.queue {
		n := encodedLen(w.ops) - codecHeaderLen
		if len(writes) > 0 && size+n > maxRecordPlain {
			break
		}
		taken++
		trial := maps.Clone(sizes)
		d := h.sizeDelta(trial, w.ops)
		if state+d > MaxHostedState {
			refused = append(refused, refusal{w, fmt.Errorf("store: the write would grow the host-backed store past %d bytes: %w", MaxHostedState, ErrTooLarge)})
			continue
		}
		sizes = trial
		writes, ops, delta, size, state = append(writes, w), append(ops, w.ops...), delta+d, size+n, state+d
	}
	h.queue = h.queue[taken:]
	return writes, ops, delta, refused
}

// sizeDelta is how ops change the state's size, given the sizes earlier writes of the group
// leave (which it updates); h.mu is held.
func (h *Hosted) sizeDelta(sizes map[string]int64, ops []op) int64 {
	var d int64
	for _, o := range ops {
		old, ok := sizes[o.key]
		if !ok {
			old = -1
			if v, present := h.data[o.key]; present {
				old = int64(entryOverhead + len(o.key) + len(v))
			}
		}
		next := int64(-1)
		if !o.delete {
			next = int64(entryOverhead + len(o.key) + len(o.value))
		}
		d += max(next, 0) - max(old, 0)
		sizes[o.key] = next
	}
	return d
}

// seal seals ops as the next record.
func (h *Hosted) seal(ops []op, delta int64) *sealedRecord {
	h.mu.RLock()
	seq, prev := h.seq+1, h.head
	h.mu.RUnlock()
	plain := encodeRecord(ops)
	defer clear(plain)
	sealed := h.aead.Seal(plain, recordAAD(seq, prev))
	return &sealedRecord{seq: seq, sealed: sealed, head: nextHead(seq, prev, sealed), ops: ops, delta: delta}
}

// write hands r to the log and, once acknowledged, makes it visible; if it is not
// acknowledged, r stays in doubt and is sent again before anything else.
func (h *Hosted) write(r *sealedRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.CommitTimeout)
	defer cancel()
	if err := h.log.Append(ctx, r.seq, r.sealed); err != nil {
		h.doubt = r
		h.opts.Logger.Warn("host-backed store: the host did not acknowledge a record; it will be sent again before the next one",
			"seq", r.seq, "err", err)
		finish(r.writes, fmt.Errorf("store: record %d: %w: %w", r.seq, err, ErrHostLog))
		r.writes = nil
		return
	}
	finish(r.writes, h.install(r))
}

// resolveDoubt sends the record whose acknowledgement was lost again and, once acknowledged,
// applies it.
func (h *Hosted) resolveDoubt() error {
	r := h.doubt
	if r == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.CommitTimeout)
	defer cancel()
	if err := h.log.Append(ctx, r.seq, r.sealed); err != nil {
		return fmt.Errorf("store: record %d, which the host has not acknowledged, must reach it first: %w; "+
			"if this persists, restart the enclave to reload its state from the host: %w", r.seq, err, ErrHostLog)
	}
	h.doubt = nil
	h.opts.Logger.Info("host-backed store: the host acknowledged a record sent again; it is now applied", "seq", r.seq)
	return h.install(r)
}

// install makes a durable record visible.
func (h *Hosted) install(r *sealedRecord) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := int64(len(r.sealed))
	h.logBytes += n + logEntryCost
	h.sinceSnapshot += n
	if h.closed {
		return closedErr("commit")
	}
	applyOps(h.data, r.ops)
	h.seq, h.head = r.seq, r.head
	h.stateBytes += r.delta
	return nil
}

// checkLogRoom refuses a record of plainLen bytes that would grow the log past MaxHostedLog.
func (h *Hosted) checkLogRoom(plainLen int) error {
	if h.logBytes+int64(plainLen+seal.Overhead+logEntryCost) > MaxHostedLog {
		return fmt.Errorf("store: the host's log holds %d bytes and compaction has not succeeded; "+
			"check the host's enclave store: %w", h.logBytes, ErrHostLog)
	}
	return nil
}

// compactThreshold is the size of records after which the store compacts.
func (h *Hosted) compactThreshold() int64 {
	return max(h.opts.CompactAfter, h.snapshotBytes)
}

// maybeCompact replaces the log by a snapshot once the records after the last one outgrow
// it. A failure is only logged (the records are durable) and tried again later.
func (h *Hosted) maybeCompact() {
	if h.doubt != nil || h.sinceSnapshot <= max(h.compactThreshold(), h.compactAt) {
		return
	}
	h.mu.RLock()
	if h.closed {
		h.mu.RUnlock()
		return
	}
	seq, head := h.seq, h.head
	plain := encodeSnapshot(h.data)
	h.mu.RUnlock()
	defer clear(plain)
	sealed := h.aead.Seal(plain, snapshotAAD(seq, head))
	body := append(head[:len(head):len(head)], sealed...)
	ctx, cancel := context.WithTimeout(context.Background(), h.opts.CommitTimeout)
	defer cancel()
	if err := h.log.Compact(ctx, seq, body); err != nil {
		h.compactAt = h.sinceSnapshot + h.opts.CompactAfter
		h.opts.Logger.Warn("host-backed store: compaction failed; the log keeps growing until it succeeds",
			"seq", seq, "log_bytes", h.logBytes, "err", err)
		return
	}
	h.snapshotBytes, h.sinceSnapshot, h.compactAt = int64(len(body)), 0, 0
	h.logBytes = int64(len(body)) + logEntryCost
	h.opts.Logger.Info("host-backed store compacted", "seq", seq, "snapshot_bytes", len(body))
}

// finish tells each write how its group ended.
func finish(writes []*pendingWrite, err error) {
	for _, w := range writes {
		w.done <- err
	}
}
