package enclave

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// attestedIdentity makes this enclave's attestation document and checks its peers'. The
// document always covers this enclave's own static key and its own binding; nothing the host
// sends can change what it attests.
type attestedIdentity struct {
	self     protocol.PartyID
	static   []byte
	roster   *Roster
	attester attestation.Attester
	verifier attestation.Verifier
	// refresh is how old our document may get before we make a new one; it stays well inside
	// the peers' maximum age.
	refresh time.Duration
	now     func() time.Time

	mu    sync.Mutex
	doc   []byte
	made  time.Time
	peers map[protocol.PartyID]learnedPeer
}

type learnedPeer struct {
	key      []byte
	notAfter time.Time
}

// own returns a current document, re-attesting when the cached one is due.
func (a *attestedIdentity) own(ctx context.Context) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.doc != nil && a.now().Sub(a.made) < a.refresh {
		return a.doc, nil
	}
	doc, err := a.attester.Attest(ctx, a.static, a.roster.IdentityUserData(a.self), nil)
	if err != nil {
		return nil, fmt.Errorf("attesting this enclave (%s): %w", a.attester.Kind(), err)
	}
	a.doc, a.made = doc, a.now()
	return doc, nil
}

// check verifies peer p's document and that it attests static as p's key in this cluster.
func (a *attestedIdentity) check(p protocol.PartyID, document, static []byte) (*attestation.Document, error) {
	d, err := a.verifier.Verify(document, a.now())
	if err != nil {
		return nil, fmt.Errorf("%s's attestation: %w", p, err)
	}
	if !bytes.Equal(d.UserData, a.roster.IdentityUserData(p)) {
		return nil, fmt.Errorf("%s's attestation is bound to another party, cluster or epoch: %w", p, attestation.ErrBinding)
	}
	if static != nil && !bytes.Equal(d.PublicKey, static) {
		return nil, fmt.Errorf("%s's attestation covers another key than the one it used: %w", p, errors.Join(attestation.ErrBinding, errWrongStatic))
	}
	if len(d.PublicKey) != 32 {
		return nil, fmt.Errorf("%s's attestation covers a %d-byte key, not a Noise static key: %w", p, len(d.PublicKey), attestation.ErrBinding)
	}
	return d, nil
}

// learn records the key a verified document attests for p. It reports whether the key changed
// (the peer has a new identity, so channels to it must be renegotiated).
func (a *attestedIdentity) learn(p protocol.PartyID, d *attestation.Document) (changed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, had := a.peers[p]
	a.peers[p] = learnedPeer{key: bytes.Clone(d.PublicKey), notAfter: d.NotAfter}
	return had && !bytes.Equal(old.key, d.PublicKey)
}

// key returns the attested static key learned for p, or nil.
func (a *attestedIdentity) key(p protocol.PartyID) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.peers[p].key
}
