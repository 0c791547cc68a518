// Package resharetest holds the reshare scenarios every Shamir-share engine's tests run
// (refresh, committee change, a dealer that cheats, parameters refused), so that the engines
// are held to the same behaviour. Each engine's reshare_test.go calls them with its own keygen
// helper and an independent signature verifier. It is imported only by tests and must never
// be used by a daemon.
package resharetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/reshare"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// Engine is an engine that reshares.
type Engine interface {
	protocol.Engine
	protocol.Resharer
}

// Suite is what the scenarios need of an engine.
type Suite[S, P any] struct {
	Engine     Engine
	Group      reshare.Group[S, P] // the engine's group, to rewrite payloads as a cheating dealer would
	MaxParties int
	// Keygen returns the public key and the shares of a t-of-n key of parties 1..n, made by
	// the engine's own keygen (it may be cached: the scenarios never modify what it returns).
	Keygen func(t testing.TB, n, threshold int) (publicKey []byte, shares map[protocol.PartyID][]byte)
	// Verify checks a signature over digest (as the engine signs SignParams.Digest) with an
	// implementation independent of the engine.
	Verify func(publicKey []byte, digest [32]byte, sig []byte) bool
	// Secret returns the encoded secret of a share, to tell that a refresh changed it.
	Secret func(t testing.TB, share []byte) []byte
	// Index returns the engine's x-coordinate of party p in a sharing among parties.
	Index func(parties []protocol.PartyID, p protocol.PartyID) uint16
}

// Key is a public key and its holders' shares.
type Key struct {
	PublicKey []byte
	Threshold int
	Shares    map[protocol.PartyID][]byte
}

// Plan is one reshare, the same at every participant.
type Plan struct {
	Old          []protocol.PartyID
	OldThreshold int
	New          []protocol.PartyID
	NewThreshold int
}

func nonce(t testing.TB) []byte {
	b := make([]byte, reshare.NonceSize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Params returns participant self's parameters for plan over key k.
func Params(k Key, plan Plan, self protocol.PartyID, sessionNonce []byte) protocol.ReshareParams {
	p := protocol.ReshareParams{
		Self:       self,
		OldParties: plan.Old, OldThreshold: plan.OldThreshold,
		NewParties: plan.New, NewThreshold: plan.NewThreshold,
		PublicKey:    k.PublicKey,
		SessionNonce: sessionNonce,
	}
	if slices.Contains(plan.Old, self) {
		p.Share = k.Shares[self]
	}
	return p
}

// Runs returns every participant's reshare run.
func (s Suite[S, P]) Runs(t testing.TB, k Key, plan Plan) map[protocol.PartyID]protocol.Run {
	t.Helper()
	n := nonce(t)
	runs := make(map[protocol.PartyID]protocol.Run)
	for _, q := range (protocol.ReshareParams{OldParties: plan.Old, NewParties: plan.New}).Participants() {
		r, err := s.Engine.Reshare(Params(k, plan, q, n))
		if err != nil {
			t.Fatalf("Reshare(%s): %v", q, err)
		}
		runs[q] = r
	}
	return runs
}

// Reshare runs plan over k and checks that every participant succeeded: every new party with
// a share of the same public key that the engine accepts, every old-only party with the
// public key and no share. It returns the new key.
func (s Suite[S, P]) Reshare(t testing.TB, k Key, plan Plan) Key {
	t.Helper()
	results := protocoltest.Execute(t, s.Runs(t, k, plan), nil)
	out := Key{PublicKey: k.PublicKey, Threshold: plan.NewThreshold, Shares: make(map[protocol.PartyID][]byte)}
	for q, res := range results {
		if res.Err != nil || res.Keygen == nil {
			t.Fatalf("reshare %+v: %s: %+v", plan, q, res)
		}
		if !bytes.Equal(res.Keygen.PublicKey, k.PublicKey) {
			t.Fatalf("reshare %+v: %s reports public key %x, want %x", plan, q, res.Keygen.PublicKey, k.PublicKey)
		}
		if !slices.Contains(plan.New, q) {
			if res.Keygen.Share != nil {
				t.Fatalf("reshare %+v: old-only %s was given a share", plan, q)
			}
			continue
		}
		if res.Keygen.Share == nil {
			t.Fatalf("reshare %+v: new party %s got no share", plan, q)
		}
		pk, err := s.Engine.PublicKey(res.Keygen.Share)
		if err != nil || !bytes.Equal(pk, k.PublicKey) {
			t.Fatalf("reshare %+v: the engine reads public key %x (%v) from %s's new share, want %x", plan, pk, err, q, k.PublicKey)
		}
		out.Shares[q] = res.Keygen.Share
	}
	if len(out.Shares) != len(plan.New) {
		t.Fatalf("reshare %+v: %d new shares, want %d", plan, len(out.Shares), len(plan.New))
	}
	return out
}

// Sign signs digest with signers' shares, checks that they all produced one signature and
// that the independent verifier accepts it, and returns it.
func (s Suite[S, P]) Sign(t testing.TB, k Key, signers []protocol.PartyID, digest [32]byte) []byte {
	t.Helper()
	results := protocoltest.Execute(t, s.signRuns(t, k.Shares, signers, digest), nil)
	var sig []byte
	for q, res := range results {
		if res.Err != nil || res.Signature == nil {
			t.Fatalf("sign with %v: %s: %+v", signers, q, res)
		}
		if sig == nil {
			sig = res.Signature.Bytes()
		}
		if !bytes.Equal(sig, res.Signature.Bytes()) {
			t.Fatalf("sign with %v: the signers produced different signatures", signers)
		}
	}
	if !s.Verify(k.PublicKey, digest, sig) {
		t.Fatalf("sign with %v: the independent verifier refuses the signature", signers)
	}
	return sig
}

func (s Suite[S, P]) signRuns(t testing.TB, shares map[protocol.PartyID][]byte, signers []protocol.PartyID, digest [32]byte) map[protocol.PartyID]protocol.Run {
	t.Helper()
	n := nonce(t)
	runs := make(map[protocol.PartyID]protocol.Run, len(signers))
	for _, q := range signers {
		r, err := s.Engine.Sign(protocol.SignParams{Self: q, Signers: signers, Share: shares[q], Digest: digest, SessionNonce: n})
		if err != nil {
			t.Fatalf("Sign(%s): %v", q, err)
		}
		runs[q] = r
	}
	return runs
}

// SignEverySet signs with every threshold-sized set of k's holders.
func (s Suite[S, P]) SignEverySet(t testing.TB, k Key, label string) {
	t.Helper()
	holders := make([]protocol.PartyID, 0, len(k.Shares))
	for q := range k.Shares {
		holders = append(holders, q)
	}
	slices.Sort(holders)
	for _, signers := range Combinations(holders, k.Threshold) {
		s.Sign(t, k, signers, protocoltest.DigestOf(fmt.Sprintf("%s %v", label, signers)))
	}
}

// Combinations returns every k-subset of ps, in lexicographic order.
func Combinations(ps []protocol.PartyID, k int) [][]protocol.PartyID {
	if k == 0 {
		return [][]protocol.PartyID{nil}
	}
	var out [][]protocol.PartyID
	for i := 0; i+k <= len(ps); i++ {
		for _, rest := range Combinations(ps[i+1:], k-1) {
			out = append(out, append([]protocol.PartyID{ps[i]}, rest...))
		}
	}
	return out
}

func (s Suite[S, P]) key(t testing.TB, n, threshold int) Key {
	t.Helper()
	pk, shares := s.Keygen(t, n, threshold)
	return Key{PublicKey: pk, Threshold: threshold, Shares: shares}
}

// Refresh reshares a 2-of-3 key to the same parties and threshold: the shares change, the
// public key does not, every pair of new shares signs, and an old share mixed with a new one
// does not make a signature that verifies.
func Refresh[S, P any](t *testing.T, s Suite[S, P]) {
	old := s.key(t, 3, 2)
	plan := Plan{Old: protocoltest.IDs(2, 3), OldThreshold: 2, New: protocoltest.IDs(1, 2, 3), NewThreshold: 2}
	fresh := s.Reshare(t, old, plan)
	for q, b := range fresh.Shares {
		if bytes.Equal(s.Secret(t, b), s.Secret(t, old.Shares[q])) {
			t.Errorf("%s's secret share is unchanged by the refresh", q)
		}
	}
	s.SignEverySet(t, fresh, "refreshed")

	mixed := map[protocol.PartyID][]byte{1: old.Shares[1], 2: fresh.Shares[2]}
	signers := protocoltest.IDs(1, 2)
	digest := protocoltest.DigestOf("old and new shares together")
	results := protocoltest.ExecuteFor(t, s.signRuns(t, mixed, signers, digest), nil, signers[:1])
	for q, res := range results {
		if res.Err == nil && res.Signature != nil && s.Verify(old.PublicKey, digest, res.Signature.Bytes()) {
			t.Fatalf("%s: an old share and a new share together made a valid signature", q)
		}
	}
}

// CommitteeChange moves a 2-of-3 key of {1,2,3} to 3-of-5 {1..5} (dealt by 1 and 3; 2, 4 and
// 5 join without a share), then to 2-of-3 {2,4,5} (dealt by 1, 4 and 5; 1 leaves), signing
// with every allowed signer set after each step.
func CommitteeChange[S, P any](t *testing.T, s Suite[S, P]) (threeOfFive, twoOfThree Key) {
	k := s.key(t, 3, 2)
	threeOfFive = s.Reshare(t, k, Plan{Old: protocoltest.IDs(1, 3), OldThreshold: 2, New: protocoltest.IDs(1, 2, 3, 4, 5), NewThreshold: 3})
	s.SignEverySet(t, threeOfFive, "3-of-5")
	two := protocoltest.IDs(4, 5)
	if _, err := s.Engine.Sign(protocol.SignParams{Self: 4, Signers: two, Share: threeOfFive.Shares[4], SessionNonce: nonce(t)}); err == nil {
		t.Error("a 3-of-5 share signs with 2 signers")
	}
	twoOfThree = s.Reshare(t, threeOfFive, Plan{Old: protocoltest.IDs(1, 4, 5), OldThreshold: 3, New: protocoltest.IDs(2, 4, 5), NewThreshold: 2})
	s.SignEverySet(t, twoOfThree, "2-of-3 {2,4,5}")
	return threeOfFive, twoOfThree
}

// Rewrite returns a tamper that applies edit to the payloads of kind from dealer to victim.
func Rewrite[S, P any](g reshare.Group[S, P], maxParties int, dealer, victim protocol.PartyID, kind byte, edit func(m *reshare.Message[S, P])) protocoltest.Tamper {
	return func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		if from != dealer || to != victim || len(payload) < 2 || payload[1] != kind {
			return payload
		}
		m, err := reshare.Decode(g, maxParties, payload)
		if err != nil {
			panic(fmt.Sprintf("a payload of %s does not decode: %v", from, err))
		}
		edit(m)
		return m.Encode(g)
	}
}

// chain applies tampers in turn.
func chain(ts ...protocoltest.Tamper) protocoltest.Tamper {
	return func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
		for _, t := range ts {
			if payload = t(from, to, broadcast, payload); payload == nil {
				return nil
			}
		}
		return payload
	}
}

var refreshPlan = Plan{Old: protocoltest.IDs(1, 2), OldThreshold: 2, New: protocoltest.IDs(1, 2, 3), NewThreshold: 2}

// WrongSubshare has dealer 1 send party 3 a subshare off by one: party 3 names 1.
func WrongSubshare[S, P any](t *testing.T, s Suite[S, P]) {
	g := s.Group
	tamper := Rewrite(g, s.MaxParties, 1, 3, reshare.KindSubshare, func(m *reshare.Message[S, P]) {
		m.Subshare = g.Add(m.Subshare, g.Small(1))
	})
	results := protocoltest.ExecuteFor(t, s.Runs(t, s.key(t, 3, 2), refreshPlan), tamper, protocoltest.IDs(3))
	pe := protocoltest.WantCulprits(t, results[3], 1)
	if !strings.Contains(pe.Error(), "does not match its commitments") {
		t.Errorf("error %q does not say the subshare does not match", pe)
	}
}

// WrongConstant has dealer 1 show party 2 (an old party) commitments whose constant term is
// not λ_1·X_1: party 2 names 1.
func WrongConstant[S, P any](t *testing.T, s Suite[S, P]) {
	g := s.Group
	tamper := Rewrite(g, s.MaxParties, 1, 2, reshare.KindDealing, func(m *reshare.Message[S, P]) {
		m.Commitments[0] = g.AddPoints(m.Commitments[0], g.BaseMul(g.Small(1)))
	})
	results := protocoltest.ExecuteFor(t, s.Runs(t, s.key(t, 3, 2), refreshPlan), tamper, protocoltest.IDs(2))
	protocoltest.WantCulprits(t, results[2], 1)
}

// Equivocation has dealer 1 show party 3 other commitments than everyone else, with a subshare
// that matches them, so that every check party 3 can make alone passes: the transcript digests
// differ and every participant fails without a share.
func Equivocation[S, P any](t *testing.T, s Suite[S, P]) {
	g := s.Group
	plan := refreshPlan
	delta := g.Small(7)
	last := plan.NewThreshold - 1
	x := g.Small(s.Index(plan.New, 3))
	xPow := g.Small(1)
	for range last {
		xPow = g.Mul(xPow, x)
	}
	tamper := chain(
		Rewrite(g, s.MaxParties, 1, 3, reshare.KindDealing, func(m *reshare.Message[S, P]) {
			m.Commitments[last] = g.AddPoints(m.Commitments[last], g.BaseMul(delta))
		}),
		Rewrite(g, s.MaxParties, 1, 3, reshare.KindSubshare, func(m *reshare.Message[S, P]) {
			m.Subshare = g.Add(m.Subshare, g.Mul(delta, xPow))
		}),
	)
	results := protocoltest.Execute(t, s.Runs(t, s.key(t, 3, 2), plan), tamper)
	for q, res := range results {
		if res.Err == nil || res.Keygen != nil {
			t.Fatalf("%s: the run succeeded (%+v) although dealer 1 equivocated", q, res)
		}
		pe := protocoltest.ProtoErr(t, res.Err)
		if len(pe.Culprits) != 0 || pe.Round != 2 {
			t.Errorf("%s: %v: want a round-2 failure that blames nobody", q, pe)
		}
	}
}

// Binding has a payload of dealer 1 to party 3 carry another session nonce, then another
// sender: party 3 refuses it and names 1.
func Binding[S, P any](t *testing.T, s Suite[S, P]) {
	for name, edit := range map[string]func([]byte){
		"another session": func(b []byte) { b[2] ^= 1 },
		"another sender":  func(b []byte) { b[2+reshare.NonceSize+1] = 2 },
	} {
		t.Run(name, func(t *testing.T) {
			tamper := func(from, to protocol.PartyID, broadcast bool, payload []byte) []byte {
				if from == 1 && to == 3 && len(payload) > reshare.HeaderSize && payload[1] == reshare.KindSubshare {
					edit(payload)
				}
				return payload
			}
			results := protocoltest.ExecuteFor(t, s.Runs(t, s.key(t, 3, 2), refreshPlan), tamper, protocoltest.IDs(3))
			protocoltest.WantCulprits(t, results[3], 1)
		})
	}
}

// BadParams checks that Reshare refuses bad parameters with an error saying what is wrong.
func BadParams[S, P any](t *testing.T, s Suite[S, P]) {
	k := s.key(t, 3, 2)
	other := s.key(t, 4, 2)
	n := nonce(t)
	good := func(self protocol.PartyID) protocol.ReshareParams { return Params(k, refreshPlan, self, n) }
	many := make([]protocol.PartyID, s.MaxParties+1)
	for i := range many {
		many[i] = protocol.PartyID(i + 1)
	}
	cases := []struct {
		name string
		edit func(p *protocol.ReshareParams)
		want string
	}{
		{"old parties count is not the old threshold", func(p *protocol.ReshareParams) { p.OldThreshold = 3 }, "exactly the old threshold (3)"},
		{"self in neither list", func(p *protocol.ReshareParams) { p.Self, p.Share = 9, nil }, "party 9 is neither an old nor a new party"},
		{"share for a new-only party", func(p *protocol.ReshareParams) { p.Self, p.Share = 3, k.Shares[3] }, "must have a share exactly when it is an old party"},
		{"no share for an old party", func(p *protocol.ReshareParams) { p.Share = nil }, "must have a share exactly when it is an old party"},
		{"share does not decode", func(p *protocol.ReshareParams) { p.Share = []byte(`{"version":1}`) }, "invalid share"},
		{"share of another party", func(p *protocol.ReshareParams) { p.Share = k.Shares[2] }, "the share belongs to party 2, not to party 1"},
		{"share of another key", func(p *protocol.ReshareParams) { p.PublicKey = other.PublicKey }, "the share is of another key"},
		{"old party without a share", func(p *protocol.ReshareParams) { p.OldParties = protocoltest.IDs(1, 4) }, "party 4 is named an old party but holds no share of this key"},
		{"pre-params", func(p *protocol.ReshareParams) { p.PreParams = []byte{1} }, "takes no pre-params"},
		{"new threshold 1", func(p *protocol.ReshareParams) { p.NewThreshold = 1 }, "at least 2 signers"},
		{"new threshold above the new parties", func(p *protocol.ReshareParams) { p.NewThreshold = 4 }, "new threshold 4 must be between 1 and the 3 new parties"},
		{"too many new parties", func(p *protocol.ReshareParams) { p.NewParties = many }, fmt.Sprintf("%d new parties (want 2 to %d)", len(many), s.MaxParties)},
		{"unsorted new parties", func(p *protocol.ReshareParams) { p.NewParties = protocoltest.IDs(3, 2, 1) }, "non-empty ascending list"},
		{"short nonce", func(p *protocol.ReshareParams) { p.SessionNonce = n[:16] }, "session nonce must be 32 bytes"},
		{"no public key", func(p *protocol.ReshareParams) { p.PublicKey = nil }, "public key is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := good(1)
			c.edit(&p)
			r, err := s.Engine.Reshare(p)
			if err == nil {
				r.Abort(nil)
				t.Fatalf("Reshare accepted %s", c.name)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

// Replay feeds party 3 dealer 1's commitments twice, which it ignores, then different
// commitments from the same dealer, for which it names 1.
func Replay[S, P any](t *testing.T, s Suite[S, P]) {
	g := s.Group
	runs := s.Runs(t, s.key(t, 3, 2), refreshPlan)
	defer func() {
		for _, r := range runs {
			r.Abort(nil)
		}
	}()
	dealer, victim := runs[1], runs[3]
	for _, r := range []protocol.Run{dealer, victim} {
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
	}
	var dealing []byte
	for dealing == nil {
		select {
		case o := <-dealer.Outgoing():
			if o.Broadcast && o.Payload[1] == reshare.KindDealing {
				dealing = o.Payload
			}
		case <-time.After(protocoltest.Timeout):
			t.Fatal("dealer 1 sent no commitments")
		}
	}
	for range 2 {
		if err := victim.Handle(1, true, slices.Clone(dealing)); err != nil {
			t.Fatalf("an identical replay was refused: %v", err)
		}
	}
	m, err := reshare.Decode(g, s.MaxParties, dealing)
	if err != nil {
		t.Fatal(err)
	}
	m.Commitments[1] = g.AddPoints(m.Commitments[1], g.BaseMul(g.Small(1)))
	if err := victim.Handle(1, true, m.Encode(g)); err == nil {
		t.Fatal("a second, different dealing was accepted")
	}
	protocoltest.WantCulprits(t, protocoltest.AwaitDone(t, victim), 1)
}
