package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/enclave/seal"
)

// memLog is the host side of a Hosted store in memory, with the semantics of
// protocol/hostsvc's FileLog (a repeat of the last append acknowledged, writes that do not
// continue the log refused), and switches that make it misbehave.
type memLog struct {
	mu      sync.Mutex
	entries []LogEntry
	closed  bool

	down        bool // refuse every write
	loseAcks    int  // store the next n appends but report failure (the acknowledgement is lost)
	failCompact bool
	compactions int
}

var (
	errMemLogDown = errors.New("memLog: host unavailable")
	errLostAck    = errors.New("memLog: connection lost before the acknowledgement")
)

func (m *memLog) Load(context.Context) ([]LogEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return cloneEntries(m.entries), nil
}

func cloneEntries(entries []LogEntry) []LogEntry {
	out := make([]LogEntry, len(entries))
	for i, e := range entries {
		out[i] = LogEntry{Snapshot: e.Snapshot, Seq: e.Seq, Sealed: bytes.Clone(e.Sealed)}
	}
	return out
}

func (m *memLog) last() LogEntry {
	if len(m.entries) == 0 {
		return LogEntry{}
	}
	return m.entries[len(m.entries)-1]
}

func (m *memLog) Append(_ context.Context, seq uint64, sealed []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.down {
		return errMemLogDown
	}
	if last := m.last(); len(m.entries) > 0 && !last.Snapshot && last.Seq == seq && bytes.Equal(last.Sealed, sealed) {
		return nil
	}
	if seq != m.last().Seq+1 {
		return fmt.Errorf("memLog: append of %d after %d: conflict", seq, m.last().Seq)
	}
	m.entries = append(m.entries, LogEntry{Seq: seq, Sealed: bytes.Clone(sealed)})
	if m.loseAcks > 0 {
		m.loseAcks--
		return errLostAck
	}
	return nil
}

func (m *memLog) Compact(_ context.Context, seq uint64, sealed []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.down || m.failCompact {
		return errMemLogDown
	}
	if len(m.entries) == 0 || m.last().Seq != seq {
		return fmt.Errorf("memLog: compaction at %d, log ends at %d: conflict", seq, m.last().Seq)
	}
	m.entries = []LogEntry{{Snapshot: true, Seq: seq, Sealed: bytes.Clone(sealed)}}
	m.compactions++
	return nil
}

func (m *memLog) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// reopened is a new memLog holding what m holds, as a restarted host serves it.
func (m *memLog) reopened() *memLog {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &memLog{entries: cloneEntries(m.entries)}
}

func (m *memLog) set(entries []LogEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = entries
}

func openTestHosted(t testing.TB, log SealedLog, key []byte, opts HostedOptions) *Hosted {
	t.Helper()
	h, err := OpenHosted(t.Context(), log, key, opts)
	if err != nil {
		t.Fatalf("OpenHosted: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestHostedConformance(t *testing.T) {
	runConformance(t, func(t *testing.T) Store { return openTestHosted(t, &memLog{}, testKey(1), HostedOptions{}) })
}

// TestHostedConformanceCompacting runs the suite with compaction after every few bytes, so the
// suite's writes also go through snapshots.
func TestHostedConformanceCompacting(t *testing.T) {
	runConformance(t, func(t *testing.T) Store {
		return openTestHosted(t, &memLog{}, testKey(1), HostedOptions{CompactAfter: 64})
	})
}

// fillStore writes a known history and returns the state it leaves.
func fillStore(t *testing.T, s Store) map[string]string {
	t.Helper()
	want := map[string]string{}
	for i := range 40 {
		k := fmt.Sprintf("shares/%02d", i%13)
		v := strings.Repeat(fmt.Sprint(i), 1+i%7)
		mustPut(t, s, k, v)
		want[k] = v
		if i%5 == 4 {
			b := NewBatch()
			b.Delete(k)
			b.Put("batch/"+k, []byte(v))
			if err := s.Apply(b); err != nil {
				t.Fatal(err)
			}
			delete(want, k)
			want["batch/"+k] = v
		}
	}
	return want
}

func wantState(t *testing.T, s Store, want map[string]string) {
	t.Helper()
	keys, err := s.List("")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range keys {
		v, err := s.Get(k)
		if err != nil {
			t.Fatal(err)
		}
		got[k] = string(v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("state (-want +got):\n%s", diff)
	}
}

func TestHostedReopenKeepsState(t *testing.T) {
	for _, compactAfter := range []int64{0, 100} {
		t.Run(fmt.Sprintf("compact after %d", compactAfter), func(t *testing.T) {
			log := &memLog{}
			s := openTestHosted(t, log, testKey(1), HostedOptions{CompactAfter: compactAfter})
			want := fillStore(t, s)
			seq, head := s.Head()
			closeStore(t, s)
			if compactAfter != 0 && log.compactions == 0 {
				t.Fatal("no compaction happened")
			}
			again := openTestHosted(t, log.reopened(), testKey(1), HostedOptions{CompactAfter: compactAfter})
			wantState(t, again, want)
			if s2, h2 := again.Head(); s2 != seq || h2 != head {
				t.Fatalf("Head after reopening = %d %x, want %d %x", s2, h2, seq, head)
			}
			mustPut(t, again, "after", "reopen")
		})
	}
}

// TestHostedChainContinuesAcrossCompaction: the chain head after a write does not depend on
// whether the log was compacted before it, so a high-water mark can name it.
func TestHostedChainContinuesAcrossCompaction(t *testing.T) {
	log := &memLog{}
	s := openTestHosted(t, log, testKey(1), HostedOptions{CompactAfter: 1 << 30})
	fillStore(t, s)
	seq, head := s.Head()
	if seq != 1+40+8 {
		t.Fatalf("seq = %d after the first record and 48 writes", seq)
	}
	// Compact behind the store's back, as it would itself.
	body := append(head[:], s.aead.Seal(encodeSnapshot(s.data), snapshotAAD(seq, head))...)
	if err := log.Compact(t.Context(), seq, body); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "after", "compaction")
	wantHead := nextHead(seq+1, head, log.last().Sealed)
	if gotSeq, got := s.Head(); gotSeq != seq+1 || got != wantHead {
		t.Fatal("the chain does not continue across the snapshot")
	}
	again := openTestHosted(t, log.reopened(), testKey(1), HostedOptions{})
	if gotSeq, got := again.Head(); gotSeq != seq+1 || got != wantHead {
		t.Fatal("reopening from the snapshot gives another chain head")
	}
}

func TestHostedNoPlaintextInTheLog(t *testing.T) {
	const marker = "PLAINTEXT-MARKER-3b7c"
	log := &memLog{}
	s := openTestHosted(t, log, testKey(1), HostedOptions{CompactAfter: 10})
	mustPut(t, s, "shares/marked", strings.Repeat(marker, 10))
	mustPut(t, s, "another", "value")
	for _, e := range log.entries {
		if bytes.Contains(e.Sealed, []byte(marker)) || bytes.Contains(e.Sealed, []byte("shares/marked")) {
			t.Fatal("a value or a record name is in the log in the clear")
		}
	}
}

func TestHostedRefusesAlteredLogs(t *testing.T) {
	log := &memLog{}
	s := openTestHosted(t, log, testKey(1), HostedOptions{CompactAfter: 1 << 30})
	fillStore(t, s)
	closeStore(t, s)
	good := cloneEntries(log.entries)

	compacted := &memLog{entries: cloneEntries(good)}
	cs := openTestHosted(t, compacted, testKey(1), HostedOptions{CompactAfter: 1})
	mustPut(t, cs, "x", "y") // compacts
	mustPut(t, cs, "z", "w")
	closeStore(t, cs)
	if !compacted.entries[0].Snapshot || len(compacted.entries) != 2 {
		t.Fatalf("compaction did not leave a snapshot and a record: %d entries", len(compacted.entries))
	}
	snapLog := cloneEntries(compacted.entries)

	flip := func(entries []LogEntry, i, at int) []LogEntry {
		out := cloneEntries(entries)
		out[i].Sealed[at] ^= 1
		return out
	}
	cases := []struct {
		name    string
		entries []LogEntry
		want    error
	}{
		{"a flipped byte in a middle record", flip(good, 5, 20), ErrLogRefused},
		{"a flipped byte in the last record", flip(good, len(good)-1, 20), ErrLogRefused},
		{"the first record flipped", flip(good, 0, 3), ErrWrongKey},
		{"a record missing", append(cloneEntries(good[:4]), cloneEntries(good[5:])...), ErrLogRefused},
		{"two records swapped", swapped(good, 3, 4), ErrLogRefused},
		{"a record renumbered to close a gap", renumbered(good, 4), ErrLogRefused},
		{"a record repeated", append(cloneEntries(good[:4]), cloneEntries(good[3:])...), ErrLogRefused},
		{"the snapshot's head altered", flip(snapLog, 0, 0), ErrWrongKey},
		{"the snapshot's body flipped", flip(snapLog, 0, 40), ErrWrongKey},
		{"the record after the snapshot flipped", flip(snapLog, 1, 30), ErrLogRefused},
		{"a record from before the snapshot after it", []LogEntry{snapLog[0], good[len(good)-1]}, ErrLogRefused},
		{"a snapshot in the middle", []LogEntry{good[0], snapLog[0]}, ErrLogRefused},
		{"a truncated record", truncated(good, 2), ErrLogRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenHosted(t.Context(), &memLog{entries: tc.entries}, testKey(1), HostedOptions{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("OpenHosted = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), "nothing") {
				t.Errorf("the error does not say nothing was applied: %v", err)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		_, err := OpenHosted(t.Context(), &memLog{entries: cloneEntries(good)}, testKey(2), HostedOptions{})
		if !errors.Is(err, ErrWrongKey) {
			t.Fatalf("OpenHosted with another key = %v, want ErrWrongKey", err)
		}
	})
	t.Run("bad key size", func(t *testing.T) {
		if _, err := OpenHosted(t.Context(), &memLog{}, make([]byte, 16), HostedOptions{}); !errors.Is(err, seal.ErrKeySize) {
			t.Fatalf("OpenHosted with a 16-byte key = %v", err)
		}
	})
}

func swapped(entries []LogEntry, i, j int) []LogEntry {
	out := cloneEntries(entries)
	out[i].Sealed, out[j].Sealed = out[j].Sealed, out[i].Sealed
	return out
}

// renumbered drops record i and numbers the rest down by one, so the sequence has no gap.
func renumbered(entries []LogEntry, i int) []LogEntry {
	out := append(cloneEntries(entries[:i]), cloneEntries(entries[i+1:])...)
	for j := i; j < len(out); j++ {
		out[j].Seq--
	}
	return out
}

func truncated(entries []LogEntry, i int) []LogEntry {
	out := cloneEntries(entries)
	out[i].Sealed = out[i].Sealed[:len(out[i].Sealed)-1]
	return out
}

// TestHostedRollbackToAPrefixIsNotDetected shows the limit the type's comment describes: a
// host that serves an older prefix of the log makes the enclave start from that older state,
// and only the sequence number (Head) tells. A rollback defense would compare it with a
// high-water mark kept outside the host.
func TestHostedRollbackToAPrefixIsNotDetected(t *testing.T) {
	log := &memLog{}
	s := openTestHosted(t, log, testKey(1), HostedOptions{CompactAfter: 1 << 30})
	mustPut(t, s, "slashing/last-attestation", "epoch 10")
	olderSeq, _ := s.Head()
	older := log.reopened()
	mustPut(t, s, "slashing/last-attestation", "epoch 11")
	latestSeq, _ := s.Head()
	closeStore(t, s)

	rolledBack := openTestHosted(t, older, testKey(1), HostedOptions{})
	wantValue(t, rolledBack, "slashing/last-attestation", "epoch 10")
	if seq, _ := rolledBack.Head(); seq != olderSeq || seq >= latestSeq {
		t.Fatalf("Head after a rollback = %d; the older state's is %d, the latest %d", seq, olderSeq, latestSeq)
	}
}

func TestHostedUnacknowledgedWrites(t *testing.T) {
	t.Run("host down: nothing visible, nothing lost once it is back", func(t *testing.T) {
		log := &memLog{}
		s := openTestHosted(t, log, testKey(1), HostedOptions{})
		mustPut(t, s, "a", "1")
		log.down = true
		if err := s.Put("b", []byte("2")); !errors.Is(err, ErrHostLog) {
			t.Fatalf("Put with the host down = %v, want ErrHostLog", err)
		}
		wantAbsent(t, s, "b")
		if err := s.Put("c", []byte("3")); !errors.Is(err, ErrHostLog) {
			t.Fatalf("second Put with the host down = %v, want ErrHostLog", err)
		}
		log.down = false
		mustPut(t, s, "d", "4")
		// "b" was sent again first and is now durable and visible; "c" never reached the
		// host (the record in doubt went first) and is not.
		wantState(t, s, map[string]string{"a": "1", "b": "2", "d": "4"})
		closeStore(t, s)
		wantState(t, openTestHosted(t, log.reopened(), testKey(1), HostedOptions{}), map[string]string{"a": "1", "b": "2", "d": "4"})
	})
	t.Run("acknowledgement lost: the record is sent again and kept once", func(t *testing.T) {
		log := &memLog{}
		s := openTestHosted(t, log, testKey(1), HostedOptions{})
		log.loseAcks = 1
		if err := s.Put("b", []byte("2")); !errors.Is(err, ErrHostLog) {
			t.Fatalf("Put whose acknowledgement is lost = %v, want ErrHostLog", err)
		}
		wantAbsent(t, s, "b")
		mustPut(t, s, "c", "3")
		wantState(t, s, map[string]string{"b": "2", "c": "3"})
		if n := len(log.entries); n != 3 {
			t.Fatalf("the log holds %d entries, want 3 (first record, b, c)", n)
		}
		closeStore(t, s)
		wantState(t, openTestHosted(t, log.reopened(), testKey(1), HostedOptions{}), map[string]string{"b": "2", "c": "3"})
	})
	t.Run("the host's log went elsewhere: every write fails", func(t *testing.T) {
		log := &memLog{}
		s := openTestHosted(t, log, testKey(1), HostedOptions{})
		mustPut(t, s, "a", "1")
		log.set(cloneEntries(log.entries[:1])) // the host serves an older log now
		for range 2 {
			if err := s.Put("c", []byte("3")); !errors.Is(err, ErrHostLog) {
				t.Fatalf("Put = %v, want ErrHostLog", err)
			}
		}
	})
	t.Run("compaction failing is not a write failing", func(t *testing.T) {
		log := &memLog{failCompact: true}
		s := openTestHosted(t, log, testKey(1), HostedOptions{CompactAfter: 10})
		want := fillStore(t, s)
		if log.compactions != 0 {
			t.Fatal("compacted although the host refuses")
		}
		log.failCompact = false
		mustPut(t, s, "more", strings.Repeat("x", 100))
		want["more"] = strings.Repeat("x", 100)
		if log.compactions == 0 {
			t.Fatal("no compaction once the host accepts again")
		}
		closeStore(t, s)
		wantState(t, openTestHosted(t, log.reopened(), testKey(1), HostedOptions{}), want)
	})
}

// TestHostedGroupsConcurrentWrites checks that concurrent writers share records and that
// every write is durable when its call returns.
func TestHostedGroupsConcurrentWrites(t *testing.T) {
	log := &slowLog{memLog: &memLog{}, gate: make(chan struct{})}
	s := openTestHosted(t, log, testKey(1), HostedOptions{})
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			key := fmt.Sprintf("w/%d", i)
			if err := s.Put(key, []byte(key)); err != nil {
				errs <- err
				return
			}
			// Durable before visible: the log has it by the time Put returns.
			if !log.holds(key) {
				errs <- fmt.Errorf("%s returned before its record reached the log", key)
			}
		})
	}
	// One writer leads and waits at the gate with its own record; let the others queue.
	waitQueued(t, s, writers-1)
	close(log.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(log.entries) - 1; n != 2 {
		t.Fatalf("%d writers made %d records, want 2: the first writer's, then one for the seven that waited", writers, n)
	}
	closeStore(t, s)
	again := openTestHosted(t, log.reopened(), testKey(1), HostedOptions{})
	keys, err := again.List("w/")
	if err != nil || len(keys) != writers {
		t.Fatalf("after reopening: %v, %d keys", err, len(keys))
	}
}

// waitQueued waits until n writes wait in s's queue.
func waitQueued(t *testing.T, s *Hosted, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.qmu.Lock()
		queued := len(s.queue)
		s.qmu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", queued, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slowLog holds every append after the first until gate closes, so writers pile up, and
// remembers what each record holds.
type slowLog struct {
	*memLog
	gate chan struct{}
	seen sync.Map // record name -> true once appended
}

func (s *slowLog) Append(ctx context.Context, seq uint64, sealed []byte) error {
	if seq > 1 {
		<-s.gate
	}
	if err := s.memLog.Append(ctx, seq, sealed); err != nil {
		return err
	}
	aead, _ := seal.NewAEAD(testKey(1))
	s.memLog.mu.Lock()
	defer s.memLog.mu.Unlock()
	var head [32]byte
	for _, e := range s.memLog.entries {
		if e.Seq == seq {
			plain, err := aead.Open(e.Sealed, recordAAD(seq, head))
			if err != nil {
				return err
			}
			ops, err := decodeRecord(plain)
			if err != nil {
				return err
			}
			for _, o := range ops {
				s.seen.Store(o.key, true)
			}
		}
		head = nextHead(e.Seq, head, e.Sealed)
	}
	return nil
}

func (s *slowLog) holds(key string) bool {
	_, ok := s.seen.Load(key)
	return ok
}

func TestHostedClosedInterruptsNothingDurable(t *testing.T) {
	log := &memLog{}
	s := openTestHosted(t, log, testKey(1), HostedOptions{})
	mustPut(t, s, "a", "1")
	closeStore(t, s)
	if !log.closed {
		t.Fatal("Close did not close the log")
	}
	if err := s.Put("b", []byte("2")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close = %v", err)
	}
}

func TestHostedStateLimit(t *testing.T) {
	s := openTestHosted(t, &memLog{}, testKey(1), HostedOptions{CompactAfter: 1 << 30})
	big := make([]byte, MaxValueLen)
	n := 0
	var err error
	for ; n < MaxHostedState/MaxValueLen+2; n++ {
		if err = s.Put(fmt.Sprintf("big/%02d", n), big); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("after %d values of %d bytes: %v, want ErrTooLarge", n, MaxValueLen, err)
	}
	// Replacing a value with a smaller one still works at the limit.
	mustPut(t, s, "big/00", "small")
}

func TestHostedCodecs(t *testing.T) {
	ops := []op{{key: "a", value: []byte("1")}, {key: "b", delete: true}, {key: "c", value: []byte{}}}
	got, err := decodeRecord(encodeRecord(ops))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ops, got, cmp.AllowUnexported(op{})); diff != "" {
		t.Fatalf("record (-want +got):\n%s", diff)
	}
	data := map[string][]byte{"b": []byte("2"), "a": {}, "c": []byte("3")}
	back, err := decodeSnapshot(encodeSnapshot(data))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(data, back); diff != "" {
		t.Fatalf("snapshot (-want +got):\n%s", diff)
	}
	bad := map[string][]byte{
		"empty":           nil,
		"version 2":       {2, 0, 0, 0, 0},
		"count too large": {1, 0, 0, 0, 9},
		"trailing":        append(encodeRecord(ops), 0),
		"unknown op":      {1, 0, 0, 0, 1, 3, 0, 1, 'a'},
		"bad key":         {1, 0, 0, 0, 1, 2, 0, 1, 0},
		"empty key":       {1, 0, 0, 0, 1, 2, 0, 0},
		"short value":     {1, 0, 0, 0, 1, 1, 0, 1, 'a', 0, 0, 0, 5, 'x'},
	}
	for name, b := range bad {
		if _, err := decodeRecord(b); !errors.Is(err, errCodec) {
			t.Errorf("record %s: %v, want errCodec", name, err)
		}
	}
	unsorted := []byte{1, 0, 0, 0, 2, 0, 1, 'b', 0, 0, 0, 0, 0, 1, 'a', 0, 0, 0, 0}
	duplicate := []byte{1, 0, 0, 0, 2, 0, 1, 'a', 0, 0, 0, 0, 0, 1, 'a', 0, 0, 0, 0}
	for name, b := range map[string][]byte{"unsorted": unsorted, "duplicate": duplicate, "trailing": append(encodeSnapshot(data), 1)} {
		if _, err := decodeSnapshot(b); !errors.Is(err, errCodec) {
			t.Errorf("snapshot %s: %v, want errCodec", name, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord([]op{{key: "a", value: []byte("1")}, {key: "b", delete: true}}))
	f.Add(encodeRecord(nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		ops, err := decodeRecord(in)
		if err != nil {
			if !errors.Is(err, errCodec) {
				t.Fatalf("error %v does not wrap errCodec", err)
			}
			return
		}
		if out := encodeRecord(ops); !bytes.Equal(out, in) {
			t.Fatalf("%x re-encodes as %x", in, out)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(encodeSnapshot(map[string][]byte{"a": []byte("1"), "b": nil}))
	f.Fuzz(func(t *testing.T, in []byte) {
		data, err := decodeSnapshot(in)
		if err != nil {
			if !errors.Is(err, errCodec) {
				t.Fatalf("error %v does not wrap errCodec", err)
			}
			return
		}
		if out := encodeSnapshot(data); !bytes.Equal(out, in) {
			t.Fatalf("%x re-encodes as %x", in, out)
		}
	})
}
