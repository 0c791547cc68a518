package enclave

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/derive"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// chainCodeID names a chain code without revealing it, so hosts can compare parties' copies.
func chainCodeID(cc []byte) string {
	if len(cc) == 0 {
		return ""
	}
	h := sha256.Sum256(append([]byte("mpcsigner/v1 chain code id\x00"), cc...))
	return hex.EncodeToString(h[:8])
}

// newChainCode builds this party's side of a chain-code run for a key that has none yet. Every
// holder takes part, so that every holder ends with the same code.
func (e *Enclave) newChainCode(eng protocol.Engine, args *wire.PrepareArgs, nonce []byte) (protocol.Run, error) {
	if _, ok := eng.(protocol.Deriver); !ok {
		return nil, fmt.Errorf("%s keys have no non-hardened derivation: %w", args.Scheme, errBadRequest)
	}
	rec, err := e.keys.resolve(args.KeyID)
	if err != nil {
		return nil, err
	}
	switch {
	case rec.Info.Scheme != args.Scheme:
		return nil, fmt.Errorf("key %s is %s, not %s: %w", args.KeyID, rec.Info.Scheme, args.Scheme, errBadRequest)
	case !slices.Equal(rec.Info.Parties, args.Parties):
		return nil, fmt.Errorf("a chain code is drawn by every holder of key %s (%v), got %v: %w", args.KeyID, rec.Info.Parties, args.Parties, errBadRequest)
	case rec.ChainCode != nil:
		return nil, fmt.Errorf("key %s already has a chain code (%s): %w", args.KeyID, chainCodeID(rec.ChainCode), errConflict)
	case args.Digest != "" || args.Message != "" || args.Label != "" || args.Threshold != 0 || args.Reshare != nil || args.Import != nil || args.Path != "" || args.Epoch != 0:
		return nil, fmt.Errorf("a chain-code run takes only the key and its parties: %w", errBadRequest)
	}
	return derive.NewChainCodeRun(e.cfg.Identity.Party, args.Parties, nonce)
}

// setChainCode records a key's chain code, synced; a key never gets a second one.
func (k *keyring) setChainCode(id string, cc []byte) (*wire.KeyInfo, error) {
	if len(cc) != derive.ChainCodeSize {
		return nil, fmt.Errorf("a chain code of %d bytes", len(cc))
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	rec, err := k.resolve(id)
	if err != nil {
		return nil, err
	}
	if rec.ChainCode != nil {
		return nil, fmt.Errorf("key %s already has a chain code: %w", id, errConflict)
	}
	rec.ChainCode = cc
	rec.Info = rec.describe()
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	b := store.NewBatch()
	b.Put(prefixKey+id, raw)
	if err := k.st.Apply(b); err != nil {
		return nil, err
	}
	info := rec.Info
	return &info, nil
}

// derivation turns a request's path into the derivation a signing uses, with the key's own
// chain code: the host names a path, never a chain code.
func (e *Enclave) derivation(eng protocol.Engine, rec *keyRecord, pathText string) (*protocol.Derivation, error) {
	if _, ok := eng.(protocol.Deriver); !ok {
		return nil, fmt.Errorf("%s keys have no non-hardened derivation: %w", rec.Info.Scheme, errBadRequest)
	}
	path, err := derive.ParsePath(pathText)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	if rec.ChainCode == nil {
		return nil, fmt.Errorf("key %s has no chain code yet, so nothing can be derived from it: %w", rec.Info.ID, errNotReady)
	}
	d := &protocol.Derivation{Path: path}
	copy(d.ChainCode[:], rec.ChainCode)
	return d, nil
}

// deriveKey answers keys.derive: the child public key, and the xpub when asked.
func (e *Enclave) deriveKey(args *wire.DeriveArgs) (*wire.DeriveReply, error) {
	rec, err := e.keys.resolve(args.Key)
	if err != nil {
		return nil, err
	}
	eng := e.engines[rec.Info.Scheme]
	d, err := e.derivation(eng, rec, args.Path)
	if err != nil {
		return nil, err
	}
	defer clear(d.ChainCode[:])
	pub, err := hex.DecodeString(rec.Info.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key %s: stored public key is damaged", rec.Info.ID)
	}
	child, err := eng.(protocol.Deriver).DerivePublicKey(pub, *d)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	out := &wire.DeriveReply{PublicKey: hex.EncodeToString(child), Path: derive.FormatPath(d.Path)}
	if args.XPub != "" {
		net, err := xpubNetwork(args.XPub)
		if err != nil {
			return nil, err
		}
		if out.XPub, err = derive.XPub(pub, d.ChainCode, d.Path, net); err != nil {
			return nil, fmt.Errorf("%v: %w", err, errBadRequest)
		}
		e.log.Info("extended public key exported", "key_id", rec.Info.ID, "path", out.Path, "network", args.XPub)
	}
	return out, nil
}

func xpubNetwork(s string) (derive.Network, error) {
	switch s {
	case "mainnet":
		return derive.Mainnet, nil
	case "testnet":
		return derive.Testnet, nil
	}
	return 0, fmt.Errorf("xpub network %q is not mainnet or testnet: %w", truncateString(s, 40), errBadRequest)
}

// chainCodeCarrier carries a key's chain code from the dealers of a reshare to its new
// parties, beside the engine's run: a new party must derive the same children as the old ones.
// Its payloads are tagged so the engine never sees them; the engine's are passed on behind a
// tag byte. A new party takes the code only when every dealer sent the same one (or none did),
// so one dishonest dealer cannot swap it without being noticed.
type chainCodeCarrier struct {
	inner     protocol.Run
	self      protocol.PartyID
	dealers   []protocol.PartyID
	receivers []protocol.PartyID
	own       []byte // this party's chain code when it deals, else nil

	out  chan protocol.Outgoing
	done chan protocol.Result

	mu  sync.Mutex
	got map[protocol.PartyID][]byte
}

const (
	tagEngine    byte = 0
	tagChainCode byte = 1
)

// errChainCodeMismatch: dealers sent different chain codes (or some sent none).
var errChainCodeMismatch = errors.New("the dealers sent different chain codes")

func newChainCodeCarrier(inner protocol.Run, self protocol.PartyID, ra *wire.ReshareArgs, own []byte) *chainCodeCarrier {
	c := &chainCodeCarrier{
		inner: inner, self: self, dealers: ra.OldParties, receivers: ra.NewParties, own: own,
		out: make(chan protocol.Outgoing, inboxSize), done: make(chan protocol.Result, 1),
		got: map[protocol.PartyID][]byte{},
	}
	if own != nil && slices.Contains(ra.NewParties, self) {
		c.got[self] = own
	}
	return c
}

func (c *chainCodeCarrier) Start() error {
	if c.own != nil {
		var to []protocol.PartyID
		for _, p := range c.receivers {
			if p != c.self {
				to = append(to, p)
			}
		}
		if len(to) > 0 {
			c.out <- protocol.Outgoing{To: to, Payload: append([]byte{tagChainCode}, c.own...)}
		}
	}
	go c.forward()
	return c.inner.Start()
}

// forward passes the engine's payloads on, tagged, and its result once checked.
func (c *chainCodeCarrier) forward() {
	for {
		select {
		case o := <-c.inner.Outgoing():
			o.Payload = append([]byte{tagEngine}, o.Payload...)
			c.out <- o
		case res := <-c.inner.Done():
			c.drain()
			if res.Err == nil && res.Keygen != nil && res.Keygen.Share != nil {
				if err := c.check(); err != nil {
					res = protocol.Result{Err: err}
				}
			}
			c.done <- res
			return
		}
	}
}

// drain passes on what the engine emitted before it ended.
func (c *chainCodeCarrier) drain() {
	for {
		select {
		case o := <-c.inner.Outgoing():
			o.Payload = append([]byte{tagEngine}, o.Payload...)
			c.out <- o
		default:
			return
		}
	}
}

// check: every dealer sent the same chain code, or none did.
func (c *chainCodeCarrier) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first []byte
	for i, p := range c.dealers {
		cc := c.got[p]
		if i == 0 {
			first = cc
			continue
		}
		if (cc == nil) != (first == nil) || string(cc) != string(first) {
			return &protocol.Error{Task: "reshare", Cause: errChainCodeMismatch}
		}
	}
	return nil
}

// chainCode is what the dealers sent (nil: the key has none), once the run succeeded.
func (c *chainCodeCarrier) chainCode() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.dealers) == 0 {
		return nil
	}
	return c.got[c.dealers[0]]
}

func (c *chainCodeCarrier) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	if len(payload) == 0 {
		return &protocol.Error{Task: "reshare", Culprits: []protocol.PartyID{from}, Cause: errors.New("an empty payload")}
	}
	switch payload[0] {
	case tagEngine:
		return c.inner.Handle(from, broadcast, payload[1:])
	case tagChainCode:
		if broadcast || !slices.Contains(c.dealers, from) || !slices.Contains(c.receivers, c.self) || len(payload) != 1+derive.ChainCodeSize {
			return &protocol.Error{Task: "reshare", Culprits: []protocol.PartyID{from}, Cause: errors.New("a chain code from a party that does not deal, or malformed")}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, dup := c.got[from]; dup {
			return &protocol.Error{Task: "reshare", Culprits: []protocol.PartyID{from}, Cause: errors.New("a second chain code")}
		}
		c.got[from] = slices.Clone(payload[1:])
		return nil
	}
	return &protocol.Error{Task: "reshare", Culprits: []protocol.PartyID{from}, Cause: fmt.Errorf("unknown payload tag %d", payload[0])}
}

func (c *chainCodeCarrier) Outgoing() <-chan protocol.Outgoing { return c.out }
func (c *chainCodeCarrier) Done() <-chan protocol.Result       { return c.done }
func (c *chainCodeCarrier) Abort(err error)                    { c.inner.Abort(err) }
