package enclave

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/flynn/noise"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// channelPair wires two channel sets through a relay the test controls.
type channelPair struct {
	a, b      *channelSet
	mu        sync.Mutex
	held      []heldFrame // frames in flight until flush
	delivered map[protocol.PartyID][][]byte
	errs      []error
}

type heldFrame struct {
	from, to protocol.PartyID
	data     []byte
}

func newChannelPair(t *testing.T, bStatic *noise.DHKey) *channelPair {
	cp, _ := newChannelPairLearned(t, bStatic)
	return cp
}

// newChannelPairLearned also returns the map of keys each side has learned, so a test can
// withhold one.
func newChannelPairLearned(t *testing.T, bStatic *noise.DHKey) (*channelPair, map[protocol.PartyID][]byte) {
	t.Helper()
	ka, err := generateStatic()
	if err != nil {
		t.Fatal(err)
	}
	kb, err := generateStatic()
	if err != nil {
		t.Fatal(err)
	}
	// Each side has learned the other's attested key: b's is the one it should hold, even
	// when the test makes b hold another (bStatic).
	learned := map[protocol.PartyID][]byte{1: ka.Public, 2: kb.Public}
	if bStatic != nil {
		kb = *bStatic
	}
	cp := &channelPair{delivered: map[protocol.PartyID][][]byte{}}
	cp.a = newChannelSet(1, "c", ka, []protocol.PartyID{1, 2}, cp.hooks(1, ka.Public, learned))
	cp.b = newChannelSet(2, "c", kb, []protocol.PartyID{1, 2}, cp.hooks(2, kb.Public, learned))
	return cp, learned
}

// hooks stand in for attestation: a party's "document" is just the key it claims, and a
// document is accepted when it names the key learned for that party and the key the
// handshake authenticated.
func (cp *channelPair) hooks(self protocol.PartyID, static []byte, learned map[protocol.PartyID][]byte) channelHooks {
	return channelHooks{
		peerKey: func(p protocol.PartyID) []byte {
			cp.mu.Lock()
			defer cp.mu.Unlock()
			return learned[p]
		},
		ownDocument: func() ([]byte, error) { return bytes.Clone(static), nil },
		checkPeer: func(p protocol.PartyID, doc, authenticated []byte) error {
			cp.mu.Lock()
			defer cp.mu.Unlock()
			if !bytes.Equal(doc, learned[p]) || !bytes.Equal(doc, authenticated) {
				return errWrongStatic
			}
			return nil
		},
		send:    func(to protocol.PartyID, d []byte) error { return cp.route(self, to, d) },
		deliver: func(from protocol.PartyID, pt []byte) error { return cp.got(self, pt) },
	}
}

func (cp *channelPair) route(from, to protocol.PartyID, data []byte) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.held = append(cp.held, heldFrame{from, to, bytes.Clone(data)})
	return nil
}

func (cp *channelPair) deliver(f heldFrame) {
	dst := cp.a
	if f.to == 2 {
		dst = cp.b
	}
	if err := dst.Receive(f.from, f.data); err != nil {
		cp.mu.Lock()
		cp.errs = append(cp.errs, err)
		cp.mu.Unlock()
	}
}

func (cp *channelPair) got(at protocol.PartyID, pt []byte) error {
	cp.mu.Lock()
	cp.delivered[at] = append(cp.delivered[at], bytes.Clone(pt))
	cp.mu.Unlock()
	return nil
}

func (cp *channelPair) lastErr() error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if len(cp.errs) == 0 {
		return nil
	}
	return cp.errs[len(cp.errs)-1]
}

// syncPair returns a pair whose relay holds every frame until flush.
func syncPair(t *testing.T, bStatic *noise.DHKey) *channelPair {
	return newChannelPair(t, bStatic)
}

// flush delivers everything in flight, including what deliveries produce, in order.
func (cp *channelPair) flush() {
	for {
		cp.mu.Lock()
		frames := cp.held
		cp.held = nil
		cp.mu.Unlock()
		if len(frames) == 0 {
			return
		}
		for _, f := range frames {
			cp.deliver(f)
		}
	}
}

func TestChannelDeliversInOrderAfterHandshake(t *testing.T) {
	cp := syncPair(t, nil)
	for _, m := range []string{"one", "two", "three"} {
		if err := cp.a.Send(2, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	cp.flush()
	if err := cp.lastErr(); err != nil {
		t.Fatal(err)
	}
	got := cp.delivered[2]
	if len(got) != 3 || string(got[0]) != "one" || string(got[2]) != "three" {
		t.Fatalf("delivered %q", got)
	}
	// Reordered data still opens: the counter travels with each message.
	for _, m := range []string{"four", "five"} {
		if err := cp.a.Send(2, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	cp.mu.Lock()
	cp.held[0], cp.held[1] = cp.held[1], cp.held[0]
	cp.mu.Unlock()
	cp.flush()
	if n := len(cp.delivered[2]); n != 5 || cp.lastErr() != nil {
		t.Fatalf("after reordering: %d delivered, error %v", n, cp.lastErr())
	}
}

func TestChannelRefusesReplayAndTampering(t *testing.T) {
	cp := syncPair(t, nil)
	if err := cp.a.Send(2, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	cp.flush()
	if err := cp.a.Send(2, []byte("pay 1")); err != nil {
		t.Fatal(err)
	}
	cp.mu.Lock()
	frame := cp.held[0]
	cp.mu.Unlock()
	cp.flush()

	if err := cp.b.Receive(1, frame.data); !errors.Is(err, errReplay) {
		t.Errorf("replayed data: got %v, want errReplay", err)
	}
	for i := 1; i < len(frame.data); i++ {
		tampered := bytes.Clone(frame.data)
		tampered[i] ^= 0x01
		if err := cp.b.Receive(1, tampered); err == nil {
			t.Fatalf("data with byte %d flipped was accepted", i)
		}
	}
	if n := len(cp.delivered[2]); n != 2 {
		t.Fatalf("%d messages delivered, want exactly the 2 genuine ones", n)
	}
}

func TestChannelRefusesAnUnpinnedStaticKey(t *testing.T) {
	impostor, err := generateStatic()
	if err != nil {
		t.Fatal(err)
	}
	// b holds a key other than the one pinned for party 2: a's handshake to it fails (b cannot
	// read a message meant for the pinned key), and b's own handshake to a is refused by a.
	cp := syncPair(t, &impostor)
	if err := cp.b.Send(1, []byte("let me in")); err != nil {
		t.Fatal(err)
	}
	cp.flush()
	if err := cp.lastErr(); !errors.Is(err, errWrongStatic) {
		t.Fatalf("got %v, want errWrongStatic", err)
	}
	if err := cp.a.Send(2, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	cp.flush()
	if len(cp.delivered[1]) != 0 || len(cp.delivered[2]) != 0 {
		t.Fatal("a message crossed a channel with an unpinned key")
	}
}

func TestChannelRenegotiatesAfterPeerRestart(t *testing.T) {
	cp := syncPair(t, nil)
	if err := cp.a.Send(2, []byte("before")); err != nil {
		t.Fatal(err)
	}
	cp.flush()
	// b restarts: it forgets its inbound channels, keeping its identity.
	old := cp.b
	cp.b = newChannelSet(2, "c", old.static, old.peers, channelHooks{peerKey: old.peerKey, ownDocument: old.ownDocument, checkPeer: old.checkPeer, send: old.send, deliver: old.deliver})
	if err := cp.a.Send(2, []byte("lost")); err != nil {
		t.Fatal(err)
	}
	cp.flush() // b answers with a reset; a drops its channel
	if err := cp.a.Send(2, []byte("after")); err != nil {
		t.Fatal(err)
	}
	cp.flush()
	got := cp.delivered[2]
	if len(got) != 2 || string(got[1]) != "after" {
		t.Fatalf("delivered %q, want [before after]", got)
	}
}

// A message to a peer whose attested key is not known yet waits for it, and goes out once the
// key is learned.
func TestChannelWaitsForThePeersKey(t *testing.T) {
	cp, learned := newChannelPairLearned(t, nil)
	cp.mu.Lock()
	bKey := learned[2]
	delete(learned, 2)
	cp.mu.Unlock()
	if err := cp.a.Send(2, []byte("early")); err != nil {
		t.Fatalf("a send before the key is known must wait, not fail: %v", err)
	}
	cp.flush()
	if len(cp.delivered[2]) != 0 {
		t.Fatal("delivered without a handshake")
	}
	cp.mu.Lock()
	learned[2] = bKey
	cp.mu.Unlock()
	cp.a.keyLearned(2)
	cp.flush()
	if got := cp.delivered[2]; len(got) != 1 || string(got[0]) != "early" {
		t.Fatalf("after the key was learned: delivered %q", got)
	}
}

func TestReplayWindow(t *testing.T) {
	var w replayWindow
	for _, n := range []uint64{1, 3, 2, 5000, 4990} {
		if !w.check(n) {
			t.Fatalf("fresh counter %d refused", n)
		}
		w.accept(n)
	}
	for _, n := range []uint64{0, 1, 3, 5000, 4990, 5000 - replayWindowBits} {
		if w.check(n) {
			t.Errorf("counter %d accepted again", n)
		}
	}
	if !w.check(4999) || !w.check(5001) {
		t.Error("unused counters inside the window refused")
	}
}

// FuzzChannelReceive feeds arbitrary relay data, as a hostile host could, to an enclave's
// channel layer: it must never panic and never deliver anything it did not authenticate.
func FuzzChannelReceive(f *testing.F) {
	seed := syncPair(&testing.T{}, nil)
	_ = seed.a.Send(2, []byte("seed"))
	seed.mu.Lock()
	for _, h := range seed.held {
		f.Add(h.data)
	}
	seed.mu.Unlock()
	seed.flush()
	_ = seed.a.Send(2, []byte("data"))
	seed.mu.Lock()
	for _, h := range seed.held {
		f.Add(h.data)
	}
	seed.mu.Unlock()
	f.Add([]byte{chanReset, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		cp := syncPair(t, nil)
		for _, from := range []protocol.PartyID{1, 2, 3} {
			_ = cp.b.Receive(from, data)
		}
		cp.flush()
		if len(cp.delivered[2]) != 0 {
			t.Fatalf("unauthenticated data %x was delivered", data)
		}
	})
}
