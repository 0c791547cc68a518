package enclave

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/flynn/noise"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// Party channels: Noise IK (25519, ChaChaPoly, BLAKE2s) between two enclaves, carried by the
// hosts as opaque Relay data. Each direction is its own channel: the sender is always the
// initiator, so two enclaves that start talking at once never race over who initiates.
//
// Relay data formats (all integers big-endian):
//
//	handshake init:     0x01 | channel id (8) | Noise IK message 1
//	handshake response: 0x02 | channel id (8) | Noise IK message 2
//	transport:          0x03 | channel id (8) | counter (8) | ChaChaPoly ciphertext of an Envelope
//	reset:              0x04 | channel id (8)   (unauthenticated: "I know no such channel")
//
// The prologue binds the cluster, both party ids and the channel id, so a relay cannot splice
// one channel's handshake into another. Each handshake message carries its sender's current
// attestation document as its (encrypted) payload: a side accepts the other only if that
// document verifies, is bound to the party it claims to be, and attests exactly the static key
// the handshake authenticated. The initiator learns the responder's static key beforehand, from
// an attested identity document its host fetched (IK needs it), and the document in the
// response must attest that same key. Transport messages carry their own counter as the
// AEAD nonce, with the 17-byte header as associated data, and the receiver keeps a sliding
// replay window, so a relay may drop or reorder messages but never replay one. A reset only
// makes the sender renegotiate: a lying relay can deny service, as it always can, but learns
// and changes nothing.
const (
	chanInit     = 0x01
	chanResponse = 0x02
	chanData     = 0x03
	chanReset    = 0x04

	chanHeaderLen     = 1 + 8
	dataHeaderLen     = chanHeaderLen + 8
	handshakeTimeout  = 5 * time.Second
	handshakeAttempts = 6
	// keyWait is how often a channel waiting for a peer's attested key looks again.
	keyWait           = 500 * time.Millisecond
	keyAttempts       = 20
	maxPendingPerPeer = 4096
	inboundPerPeer    = 4
	replayWindowBits  = 1024
)

var (
	errUnknownPeer    = errors.New("unknown peer party")
	errBadChannelData = errors.New("malformed channel data")
	errReplay         = errors.New("replayed or too old channel message")
	errWrongStatic    = errors.New("peer's static key does not match its attested key")
	errNoPeerKey      = errors.New("no attested key known for this peer yet")
)

var cipherSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)

// channelSet holds this enclave's channels to and from every peer.
type channelSet struct {
	self      protocol.PartyID
	clusterID string
	static    noise.DHKey
	peers     []protocol.PartyID
	// peerKey returns the attested static key learned for a peer, or nil.
	peerKey func(protocol.PartyID) []byte
	// ownDocument returns this enclave's current attestation document.
	ownDocument func() ([]byte, error)
	// checkPeer verifies a peer's document and that it attests static for that party.
	checkPeer func(peer protocol.PartyID, document, static []byte) error
	// send hands Relay data for a peer to the host. It may block briefly (a frame write).
	send func(to protocol.PartyID, data []byte) error
	// deliver receives an authenticated plaintext from a peer; its error is Receive's.
	deliver func(from protocol.PartyID, plaintext []byte) error

	mu  sync.Mutex
	out map[protocol.PartyID]*outChannel
	in  map[protocol.PartyID][]*inChannel
}

type outChannel struct {
	mu sync.Mutex
	id [8]byte
	hs *noise.HandshakeState // non-nil until the response arrives
	// attempts counts handshakes started since the channel last worked.
	attempts int
	// awaitingKey: messages are queued until the peer's attested key is known (from its host,
	// or from the peer's own handshake, which carries its document).
	awaitingKey bool
	// peerStatic is the attested key this channel's handshake was addressed to.
	peerStatic []byte
	cipher     noise.Cipher
	counter    uint64
	pending    [][]byte
}

type inChannel struct {
	mu     sync.Mutex
	id     [8]byte
	cipher noise.Cipher
	window replayWindow
}

// channelHooks connects a channelSet to the enclave's identity and its host.
type channelHooks struct {
	peerKey     func(protocol.PartyID) []byte
	ownDocument func() ([]byte, error)
	checkPeer   func(peer protocol.PartyID, document, static []byte) error
	send        func(to protocol.PartyID, data []byte) error
	deliver     func(from protocol.PartyID, plaintext []byte) error
}

func newChannelSet(self protocol.PartyID, clusterID string, static noise.DHKey, peers []protocol.PartyID, h channelHooks) *channelSet {
	return &channelSet{
		self: self, clusterID: clusterID, static: static, peers: peers,
		peerKey: h.peerKey, ownDocument: h.ownDocument, checkPeer: h.checkPeer,
		send: h.send, deliver: h.deliver,
		out: map[protocol.PartyID]*outChannel{},
		in:  map[protocol.PartyID][]*inChannel{},
	}
}

func generateStatic() (noise.DHKey, error) { return cipherSuite.GenerateKeypair(rand.Reader) }

func (c *channelSet) prologue(initiator, responder protocol.PartyID, id [8]byte) []byte {
	var b bytes.Buffer
	b.WriteString("mpcsigner/v1 party channel\x00")
	b.WriteString(c.clusterID)
	b.WriteByte(0)
	_ = binary.Write(&b, binary.BigEndian, uint16(initiator))
	_ = binary.Write(&b, binary.BigEndian, uint16(responder))
	b.Write(id[:])
	return b.Bytes()
}

func (c *channelSet) isPeer(p protocol.PartyID) bool {
	return p != c.self && slices.Contains(c.peers, p)
}

// Send encrypts plaintext for peer `to`, negotiating a channel first if there is none.
func (c *channelSet) Send(to protocol.PartyID, plaintext []byte) error {
	if !c.isPeer(to) {
		return fmt.Errorf("sending to %s: %w", to, errUnknownPeer)
	}
	oc := c.outbound(to)
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.hs != nil || oc.awaitingKey {
		if len(oc.pending) >= maxPendingPerPeer {
			return fmt.Errorf("sending to %s: %d messages wait for a handshake that has not completed", to, len(oc.pending))
		}
		oc.pending = append(oc.pending, bytes.Clone(plaintext))
		return nil
	}
	return c.sendData(to, oc, plaintext)
}

// outbound returns the channel to peer, starting a handshake when there is none.
func (c *channelSet) outbound(peer protocol.PartyID) *outChannel {
	c.mu.Lock()
	oc, ok := c.out[peer]
	if !ok {
		oc = &outChannel{}
		c.out[peer] = oc
	}
	c.mu.Unlock()
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.hs == nil && oc.cipher == nil && !oc.awaitingKey {
		// A failed initiate leaves the channel empty; the next Send tries again.
		_ = c.initiate(peer, oc)
	}
	return oc
}

// keyLearned starts the handshake a channel was holding for peer's key.
func (c *channelSet) keyLearned(peer protocol.PartyID) {
	c.mu.Lock()
	oc := c.out[peer]
	c.mu.Unlock()
	if oc == nil {
		return
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.awaitingKey {
		_ = c.initiate(peer, oc)
	}
}

// retryKey looks again for the key a channel is waiting for.
func (c *channelSet) retryKey(peer protocol.PartyID, oc *outChannel) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.awaitingKey {
		_ = c.initiate(peer, oc)
	}
}

// initiate starts (or restarts) the handshake on oc. oc.mu is held.
func (c *channelSet) initiate(peer protocol.PartyID, oc *outChannel) error {
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	peerStatic := c.peerKey(peer)
	if peerStatic == nil {
		return c.awaitKey(peer, oc)
	}
	if oc.awaitingKey {
		oc.awaitingKey, oc.attempts = false, 0
	}
	doc, err := c.ownDocument()
	if err != nil {
		return fmt.Errorf("handshake with %s: %w", peer, err)
	}
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite,
		Random:        rand.Reader,
		Pattern:       noise.HandshakeIK,
		Initiator:     true,
		Prologue:      c.prologue(c.self, peer, id),
		StaticKeypair: c.static,
		PeerStatic:    peerStatic,
	})
	if err != nil {
		return fmt.Errorf("starting handshake with %s: %w", peer, err)
	}
	msg, _, _, err := hs.WriteMessage(nil, doc)
	if err != nil {
		return fmt.Errorf("starting handshake with %s: %w", peer, err)
	}
	oc.id, oc.hs, oc.peerStatic, oc.cipher, oc.counter = id, hs, peerStatic, nil, 0
	oc.attempts++
	// If no answer comes (the message was lost or refused), try again, keeping what is queued:
	// the protocol itself would wait for the peer forever.
	time.AfterFunc(handshakeTimeout, func() { c.retry(peer, oc, id) })
	return c.send(peer, frameChannel(chanInit, id, msg))
}

// awaitKey holds the channel's messages until peer's key is known, for a bounded time; then
// it drops them (their sessions fail on their own timeouts). oc.mu is held.
func (c *channelSet) awaitKey(peer protocol.PartyID, oc *outChannel) error {
	if oc.awaitingKey && oc.attempts >= keyAttempts {
		oc.awaitingKey, oc.pending, oc.attempts = false, nil, 0
		return fmt.Errorf("handshake with %s: %w", peer, errNoPeerKey)
	}
	oc.awaitingKey = true
	oc.attempts++
	time.AfterFunc(keyWait, func() { c.retryKey(peer, oc) })
	return nil
}

// retry restarts a handshake that is still unanswered, or gives up after handshakeAttempts and
// drops the queued messages (their sessions then time out or are aborted).
func (c *channelSet) retry(peer protocol.PartyID, oc *outChannel, id [8]byte) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.hs == nil || oc.id != id {
		return
	}
	if oc.attempts >= handshakeAttempts {
		oc.hs, oc.pending, oc.attempts = nil, nil, 0
		return
	}
	_ = c.initiate(peer, oc)
}

func (c *channelSet) sendData(to protocol.PartyID, oc *outChannel, plaintext []byte) error {
	oc.counter++
	hdr := make([]byte, dataHeaderLen, dataHeaderLen+len(plaintext)+16)
	hdr[0] = chanData
	copy(hdr[1:9], oc.id[:])
	binary.BigEndian.PutUint64(hdr[9:17], oc.counter)
	msg := oc.cipher.Encrypt(hdr, oc.counter, hdr, plaintext)
	return c.send(to, msg)
}

// Receive handles Relay data that the host says came from peer `from`. The claim is checked:
// handshakes must prove the pinned static key, and data must open under a channel that did.
func (c *channelSet) Receive(from protocol.PartyID, data []byte) error {
	if !c.isPeer(from) {
		return fmt.Errorf("relay from %s: %w", from, errUnknownPeer)
	}
	if len(data) < chanHeaderLen {
		return fmt.Errorf("relay from %s: %d bytes: %w", from, len(data), errBadChannelData)
	}
	var id [8]byte
	copy(id[:], data[1:9])
	switch data[0] {
	case chanInit:
		return c.respond(from, id, data[chanHeaderLen:])
	case chanResponse:
		return c.complete(from, id, data[chanHeaderLen:])
	case chanData:
		return c.open(from, id, data)
	case chanReset:
		c.reset(from, &id)
		return nil
	}
	return fmt.Errorf("relay from %s: channel message type %d: %w", from, data[0], errBadChannelData)
}

// respond answers a peer's handshake and installs the inbound channel it creates.
func (c *channelSet) respond(from protocol.PartyID, id [8]byte, msg []byte) error {
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite:   cipherSuite,
		Random:        rand.Reader,
		Pattern:       noise.HandshakeIK,
		Initiator:     false,
		Prologue:      c.prologue(from, c.self, id),
		StaticKeypair: c.static,
	})
	if err != nil {
		return err
	}
	peerDoc, _, _, err := hs.ReadMessage(nil, msg)
	if err != nil {
		return fmt.Errorf("handshake from %s: %v: %w", from, err, errBadChannelData)
	}
	if err := c.checkPeer(from, peerDoc, hs.PeerStatic()); err != nil {
		return fmt.Errorf("handshake claiming to be from %s: %w", from, err)
	}
	doc, err := c.ownDocument()
	if err != nil {
		return fmt.Errorf("answering %s: %w", from, err)
	}
	reply, toUs, _, err := hs.WriteMessage(nil, doc)
	if err != nil {
		return fmt.Errorf("handshake from %s: %w", from, err)
	}
	ic := &inChannel{id: id, cipher: toUs.Cipher()}
	c.mu.Lock()
	chans := append(c.in[from], ic)
	if len(chans) > inboundPerPeer {
		chans = chans[len(chans)-inboundPerPeer:]
	}
	c.in[from] = chans
	c.mu.Unlock()
	return c.send(from, frameChannel(chanResponse, id, reply))
}

// complete finishes our handshake with peer and flushes what waited for it.
func (c *channelSet) complete(from protocol.PartyID, id [8]byte, msg []byte) error {
	c.mu.Lock()
	oc := c.out[from]
	c.mu.Unlock()
	if oc == nil {
		return fmt.Errorf("handshake response from %s for no handshake: %w", from, errBadChannelData)
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.hs == nil || oc.id != id {
		return fmt.Errorf("handshake response from %s for channel %s, which is not pending: %w", from, hex.EncodeToString(id[:]), errBadChannelData)
	}
	// A response that does not decrypt leaves the handshake as it was (noise rolls its state
	// back), so a forged one cannot cancel a genuine one.
	peerDoc, fromUs, _, err := oc.hs.ReadMessage(nil, msg)
	if err != nil {
		return fmt.Errorf("handshake response from %s: %v: %w", from, err, errBadChannelData)
	}
	if err := c.checkPeer(from, peerDoc, oc.peerStatic); err != nil {
		// The peer really answered, with a document we refuse. With neither a handshake nor a
		// cipher, the next Send starts over.
		oc.hs, oc.pending = nil, nil
		return fmt.Errorf("handshake response from %s: %w", from, err)
	}
	oc.cipher = fromUs.Cipher()
	oc.hs, oc.attempts = nil, 0
	pending := oc.pending
	oc.pending = nil
	for _, p := range pending {
		if err := c.sendData(from, oc, p); err != nil {
			return err
		}
	}
	return nil
}

// open decrypts a transport message and delivers it.
func (c *channelSet) open(from protocol.PartyID, id [8]byte, data []byte) error {
	if len(data) < dataHeaderLen+16 {
		return fmt.Errorf("data from %s: %d bytes: %w", from, len(data), errBadChannelData)
	}
	ic := c.inbound(from, id)
	if ic == nil {
		// We restarted, or the channel was evicted: ask the peer to renegotiate.
		_ = c.send(from, frameChannel(chanReset, id, nil))
		return fmt.Errorf("data from %s on unknown channel %s: %w", from, hex.EncodeToString(id[:]), errBadChannelData)
	}
	counter := binary.BigEndian.Uint64(data[9:17])
	ic.mu.Lock()
	if !ic.window.check(counter) {
		ic.mu.Unlock()
		return fmt.Errorf("data from %s, counter %d: %w", from, counter, errReplay)
	}
	plaintext, err := ic.cipher.Decrypt(nil, counter, data[:dataHeaderLen], data[dataHeaderLen:])
	if err != nil {
		ic.mu.Unlock()
		return fmt.Errorf("data from %s does not authenticate: %w", from, errBadChannelData)
	}
	ic.window.accept(counter)
	ic.mu.Unlock()
	return c.deliver(from, plaintext)
}

func (c *channelSet) inbound(from protocol.PartyID, id [8]byte) *inChannel {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ic := range c.in[from] {
		if ic.id == id {
			return ic
		}
	}
	return nil
}

// reset drops the outbound channel to peer (only the one named by id, when id is given), so
// the next Send renegotiates.
func (c *channelSet) reset(peer protocol.PartyID, id *[8]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	oc, ok := c.out[peer]
	if !ok {
		return
	}
	if id != nil {
		oc.mu.Lock()
		match := oc.id == *id && oc.hs == nil
		oc.mu.Unlock()
		if !match {
			return
		}
	}
	delete(c.out, peer)
}

func frameChannel(kind byte, id [8]byte, msg []byte) []byte {
	out := make([]byte, 0, chanHeaderLen+len(msg))
	out = append(out, kind)
	out = append(out, id[:]...)
	return append(out, msg...)
}

// replayWindow accepts each counter at most once, and none more than replayWindowBits behind
// the highest seen.
type replayWindow struct {
	highest uint64
	bits    [replayWindowBits / 64]uint64
}

func (w *replayWindow) check(n uint64) bool {
	if n == 0 {
		return false
	}
	if n > w.highest {
		return true
	}
	if w.highest-n >= replayWindowBits {
		return false
	}
	i := n % replayWindowBits
	return w.bits[i/64]&(1<<(i%64)) == 0
}

func (w *replayWindow) accept(n uint64) {
	if n > w.highest {
		// Clear the slots that the window slides past.
		for k := w.highest + 1; k <= n && k-w.highest <= replayWindowBits; k++ {
			i := k % replayWindowBits
			w.bits[i/64] &^= 1 << (i % 64)
		}
		w.highest = n
	}
	i := n % replayWindowBits
	w.bits[i/64] |= 1 << (i % 64)
}
