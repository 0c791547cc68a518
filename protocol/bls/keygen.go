package bls

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// keygenRun is one party's side of a Joint-Feldman DKG, or of the import of an existing key.
//
// Round 1 (Start): draw f_self of degree t-1, broadcast its commitments, send f_self(j) to
// every other party j. On receipt (Handle): check every dealer's share against its
// commitments. Once every dealer checks out: x_self = Σ_i f_i(self), PK = Σ_i C_i,0 and
// PK_m = Σ_k m^k·(Σ_i C_i,k).
//
// An import is the same run with a single dealer: only the dealer deals, its polynomial's
// constant term is the imported secret x (so C_0 = x·G1, which every party checks against the
// expected public key), and the sums above have one term. The dealer has nothing to wait for
// and ends as soon as it has dealt.
type keygenRun struct {
	core
	threshold int
	nonce     []byte
	rng       io.Reader
	imp       *importing // nil for a DKG

	// Guarded by core.mu.
	own      []*blst.P1Affine // own commitments; nil if this party does not deal
	ownShare *blst.Scalar     // f_self(self); secret
	dealers  map[protocol.PartyID]*dealing
	checked  int // dealers whose share checked out
}

// importing is what a run importing a key knows about the import.
type importing struct {
	dealer    protocol.PartyID
	publicKey *blst.P1Affine // the expected group key, x·G1
	secret    *blst.Scalar   // x, at the dealer until it has dealt; secret
}

// dealing is what one other party dealt to this one.
type dealing struct {
	commitments []*blst.P1Affine
	share       *blst.Scalar // secret
	seen        map[byte][sha256.Size]byte
	checked     bool
}

var _ protocol.Run = (*keygenRun)(nil)

func newKeygen(p protocol.KeygenParams, rng io.Reader) (*keygenRun, error) {
	if len(p.SessionNonce) != nonceSize {
		return nil, fmt.Errorf("bls: session nonce of %d bytes (want %d)", len(p.SessionNonce), nonceSize)
	}
	if len(p.PreParams) != 0 {
		return nil, errors.New("bls: keygen takes no pre-params")
	}
	parties := slices.Clone(p.Parties)
	slices.Sort(parties)
	if err := protocol.CheckCluster(parties, p.Threshold, p.Self, maxParties); err != nil {
		return nil, fmt.Errorf("bls: keygen: %w", err)
	}
	var imp *importing
	if p.Import != nil {
		var err error
		if imp, err = newImporting(p.Import, p.Self, parties); err != nil {
			return nil, fmt.Errorf("bls: import: %w", err)
		}
	}
	r := &keygenRun{
		core:      newCore("keygen", p.Self, parties),
		threshold: p.Threshold,
		nonce:     slices.Clone(p.SessionNonce),
		rng:       rng,
		imp:       imp,
		dealers:   make(map[protocol.PartyID]*dealing, len(parties)-1),
	}
	for _, q := range parties {
		if q != p.Self && (imp == nil || q == imp.dealer) {
			r.dealers[q] = &dealing{seen: make(map[byte][sha256.Size]byte, 2)}
		}
	}
	r.Release = r.wipe
	return r, nil
}

// newImporting checks the import parameters of party self and copies the secret (at the
// dealer). Its errors never quote the secret.
func newImporting(p *protocol.ImportParams, self protocol.PartyID, parties []protocol.PartyID) (*importing, error) {
	if !slices.Contains(parties, p.Dealer) {
		return nil, fmt.Errorf("the dealer (%s) is not one of the parties", p.Dealer)
	}
	pk, err := decodeG1(p.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	imp := &importing{dealer: p.Dealer, publicKey: pk}
	if self != p.Dealer {
		if len(p.Secret) != 0 {
			return nil, fmt.Errorf("%s is given the secret but %s is the dealer: only the dealer may hold it", self, p.Dealer)
		}
		return imp, nil
	}
	if imp.secret, err = decodeScalar(p.Secret); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if !g1Mul(imp.secret).ToAffine().Equals(pk) {
		imp.secret.Zeroize()
		return nil, errors.New("the secret is not the secret key of the public key")
	}
	return imp, nil
}

// deals reports whether this party deals a polynomial in this run.
func (r *keygenRun) deals() bool { return r.imp == nil || r.imp.dealer == r.Self }

func (r *keygenRun) String() string {
	if r.imp != nil {
		return fmt.Sprintf("bls import run (%s of %v, threshold %d, dealer %s)", r.Self, r.Participants, r.threshold, r.imp.dealer)
	}
	return fmt.Sprintf("bls keygen run (%s of %v, threshold %d)", r.Self, r.Participants, r.threshold)
}

// Start deals this party's polynomial (in an import, only the dealer deals). A party with
// no dealing to wait for (the dealer of an import) ends the run at once.
func (r *keygenRun) Start() error {
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if err := r.BeginLocked(); err != nil {
		return err
	}
	if r.deals() {
		out, err := r.deal()
		if err != nil {
			return r.FailLocked(r.Errorf(1, nil, "dealing: %v", err))
		}
		r.EmitLocked(out...)
	}
	if len(r.dealers) == 0 {
		r.finishLocked()
	}
	return nil
}

// deal draws the secret polynomial (whose constant term is the imported secret in an
// import), keeps its commitments and the own share, and returns the payloads for the others.
// The polynomial, and so the imported secret, is wiped before deal returns.
func (r *keygenRun) deal() ([]protocol.Outgoing, error) {
	coeffs := make([]*blst.Scalar, r.threshold)
	defer func() {
		for _, a := range coeffs {
			if a != nil {
				a.Zeroize()
			}
		}
	}()
	r.own = make([]*blst.P1Affine, r.threshold)
	for k := range coeffs {
		var a *blst.Scalar
		if k == 0 && r.imp != nil {
			a, r.imp.secret = r.imp.secret, nil // wiped with the other coefficients
		} else {
			var err error
			if a, err = randomScalar(r.rng); err != nil {
				return nil, err
			}
		}
		coeffs[k] = a
		r.own[k] = g1Mul(a).ToAffine()
	}
	out := []protocol.Outgoing{{Broadcast: true, Payload: encodeCommitments(r.nonce, r.Self, r.own)}}
	for _, q := range r.Participants {
		s := evalPoly(coeffs, indexScalar(q))
		if q == r.Self {
			r.ownShare = s
			continue
		}
		out = append(out, protocol.Outgoing{To: []protocol.PartyID{q}, Payload: encodeShare(r.nonce, r.Self, q, s)})
		s.Zeroize()
	}
	return out, nil
}

// Handle takes one dealer's commitments or its share for this party.
func (r *keygenRun) Handle(from protocol.PartyID, broadcast bool, payload []byte) error {
	r.Mu.Lock()
	err := r.AdmitLocked(from, payload)
	r.Mu.Unlock()
	if err != nil {
		return err
	}
	m, derr := decodePayload(payload) // outside the lock: subgroup checks cost
	r.Mu.Lock()
	defer r.Mu.Unlock()
	if r.Ended {
		return ErrEnded
	}
	if derr != nil {
		return r.FailLocked(r.Errorf(1, []protocol.PartyID{from}, "malformed payload from %s: %v", from, derr))
	}
	if err := r.acceptLocked(from, broadcast, m, payload); err != nil {
		return r.FailLocked(err)
	}
	if r.checked == len(r.dealers) {
		r.finishLocked()
	}
	return nil
}

// acceptLocked records a decoded payload and checks the dealing once it is complete.
func (r *keygenRun) acceptLocked(from protocol.PartyID, broadcast bool, m *message, payload []byte) error {
	culprit := []protocol.PartyID{from}
	if err := checkEnvelope(&r.core, from, broadcast, m, r.nonce); err != nil {
		return err
	}
	d := r.dealers[from]
	if d == nil { // a participant that is not the dealer of an import
		return r.Errorf(1, culprit, "%s sent a %s payload, but only the dealer (%s) deals in an import", from, kindName(m.kind), r.imp.dealer)
	}
	sum := sha256.Sum256(payload)
	if prev, ok := d.seen[m.kind]; ok {
		if prev == sum {
			return nil // an identical replay
		}
		return r.Errorf(1, culprit, "%s sent two different %s payloads", from, kindName(m.kind))
	}
	switch m.kind {
	case kindCommitments:
		if len(m.commitments) != r.threshold {
			return r.Errorf(1, culprit, "%s sent %d commitments (want %d)", from, len(m.commitments), r.threshold)
		}
		if r.imp != nil && !m.commitments[0].Equals(r.imp.publicKey) {
			return r.Errorf(1, culprit, "the sharing %s dealt is not of the imported key (its constant commitment is not the expected public key)", from)
		}
		d.commitments = m.commitments
	case kindShare:
		if m.to != r.Self {
			return r.Errorf(1, culprit, "%s sent this party a share addressed to %s", from, m.to)
		}
		d.share = m.share
	default:
		return r.Errorf(1, culprit, "%s sent a %s payload, which has no place in keygen", from, kindName(m.kind))
	}
	d.seen[m.kind] = sum
	if d.commitments == nil || d.share == nil {
		return nil
	}
	if !g1Mul(d.share).ToAffine().Equals(evalCommitments(d.commitments, indexScalar(r.Self)).ToAffine()) {
		return r.Errorf(1, culprit, "the share %s sent does not match its commitments", from)
	}
	d.checked = true
	r.checked++
	return nil
}

// finishLocked combines the dealings into this party's share and ends the run.
func (r *keygenRun) finishLocked() {
	s, err := r.combineLocked()
	if err != nil {
		r.FailLocked(&protocol.Error{Task: r.Task, Round: 2, Cause: err})
		return
	}
	defer s.wipe()
	enc, err := s.encode()
	if err != nil {
		r.FailLocked(&protocol.Error{Task: r.Task, Round: 2, Cause: fmt.Errorf("encoding the share: %w", err)})
		return
	}
	r.EndLocked(protocol.Result{Keygen: &protocol.KeygenOutput{PublicKey: s.publicKey.Compress(), Share: enc}})
}

// combineLocked computes the own secret share, the group key and every public share from the
// checked dealings (the own one included, if this party dealt), and checks the result as a
// share is checked when decoded.
func (r *keygenRun) combineLocked() (*share, error) {
	type dealt struct {
		commitments []*blst.P1Affine
		share       *blst.Scalar
	}
	all := make([]dealt, 0, len(r.dealers)+1)
	if r.own != nil {
		all = append(all, dealt{r.own, r.ownShare})
	}
	for _, d := range r.dealers {
		all = append(all, dealt{d.commitments, d.share})
	}
	if len(all) == 0 {
		return nil, errors.New("no dealings") // unreachable: a DKG party deals, an import has a dealer
	}
	x := *all[0].share
	agg := make([]blst.P1, r.threshold) // Σ_i C_i,k
	for k, c := range all[0].commitments {
		agg[k].FromAffine(c)
	}
	for _, d := range all[1:] {
		x = *add(&x, d.share)
		for k, c := range d.commitments {
			agg[k].AddAssign(c)
		}
	}
	aggAffine := make([]*blst.P1Affine, len(agg))
	for k := range agg {
		aggAffine[k] = agg[k].ToAffine()
	}
	s := &share{threshold: r.threshold, parties: r.Participants, self: r.Self, secret: &x, publicKey: aggAffine[0]}
	if !s.secret.Valid() || !s.publicKey.KeyValidate() {
		s.wipe()
		return nil, errors.New("the dealings add up to a zero key")
	}
	if r.imp != nil && !s.publicKey.Equals(r.imp.publicKey) {
		s.wipe()
		return nil, errors.New("the group key is not the imported public key")
	}
	for _, p := range r.Participants {
		s.publicShares = append(s.publicShares, evalCommitments(aggAffine, indexScalar(p)).ToAffine())
	}
	if err := s.check(); err != nil {
		s.wipe()
		return nil, fmt.Errorf("combined share: %w", err)
	}
	return s, nil
}

// wipe zeroizes every secret the run holds; called once, when the run ends.
func (r *keygenRun) wipe() {
	if r.imp != nil && r.imp.secret != nil { // the run ended before the dealer dealt
		r.imp.secret.Zeroize()
		r.imp.secret = nil
	}
	if r.ownShare != nil {
		r.ownShare.Zeroize()
	}
	for _, d := range r.dealers {
		if d.share != nil {
			d.share.Zeroize()
		}
	}
}
