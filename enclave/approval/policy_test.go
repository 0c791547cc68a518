package approval

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestCheckQuorum2of3 is the brief's table: which sets of approvals reach a quorum of 2 of 3.
func TestCheckQuorum2of3(t *testing.T) {
	p := policy2of3(t)
	alice, bob, carol, mallory := team(t)
	stmt := fixture()
	other := func(change func(*Statement)) Statement {
		s := fixture()
		change(&s)
		return s
	}
	otherKey := other(func(s *Statement) { s.KeyID = strings.Repeat("e", 32) })
	otherParams := other(func(s *Statement) { s.Params[ParamNewThreshold] = "2" })
	otherOp := other(func(s *Statement) { s.Operation = OpBackupExport })
	otherCluster := other(func(s *Statement) { s.Cluster = "staging" })
	otherNonce := other(func(s *Statement) { s.Nonce = NewNonce() })
	// bob signed another statement, and the approval claims this statement's digest.
	forged := mustSign(t, bob, otherKey)
	forged.Statement = mustSign(t, bob, stmt).Statement
	renamed := mustSign(t, alice, stmt)
	renamed.Operator = "carol"

	cases := []struct {
		name      string
		approvals []Approval
		reason    string // "" means the quorum is reached
	}{
		{"alice and bob", []Approval{mustSign(t, alice, stmt), mustSign(t, bob, stmt)}, ""},
		{"bob and carol", []Approval{mustSign(t, bob, stmt), mustSign(t, carol, stmt)}, ""},
		{"all three", []Approval{mustSign(t, carol, stmt), mustSign(t, alice, stmt), mustSign(t, bob, stmt)}, ""},
		{"two and a stranger", []Approval{mustSign(t, mallory, stmt), mustSign(t, alice, stmt), mustSign(t, carol, stmt)}, ""},
		{"alice alone", []Approval{mustSign(t, alice, stmt)}, ""},
		{"none", nil, ""},
		{"bob over another key id", []Approval{mustSign(t, alice, stmt), mustSign(t, bob, otherKey)}, "different statement"},
		{"bob over other params", []Approval{mustSign(t, alice, stmt), mustSign(t, bob, otherParams)}, "different statement"},
		{"bob over another operation", []Approval{mustSign(t, alice, stmt), mustSign(t, bob, otherOp)}, "different statement"},
		{"bob over another cluster", []Approval{mustSign(t, alice, stmt), mustSign(t, bob, otherCluster)}, "different statement"},
		{"bob over another nonce", []Approval{mustSign(t, alice, stmt), mustSign(t, bob, otherNonce)}, "different statement"},
		{"bob's signature over another statement", []Approval{mustSign(t, alice, stmt), forged}, "signature does not verify"},
		{"an unconfigured key", []Approval{mustSign(t, alice, stmt), mustSign(t, mallory, stmt)}, "not a configured operator"},
		{"alice twice", []Approval{mustSign(t, alice, stmt), mustSign(t, alice, stmt)}, "duplicate"},
		{"alice under carol's name", []Approval{mustSign(t, bob, stmt), renamed}, `names operator "carol"`},
	}
	for _, tc := range cases {
		err := p.Check(stmt, tc.approvals, now)
		want := tc.reason
		if tc.name == "alice alone" || tc.name == "none" {
			want = "short"
		}
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: Check = %v; want the quorum reached", tc.name, err)
		case want == "":
		case !errors.Is(err, ErrNoQuorum):
			t.Errorf("%s: Check = %v; want ErrNoQuorum", tc.name, err)
		default:
			var qe *QuorumError
			if !errors.As(err, &qe) || qe.Need != 2 {
				t.Fatalf("%s: %v is not a QuorumError needing 2", tc.name, err)
			}
			valid := len(tc.approvals) - len(qe.Rejected)
			if qe.Valid != valid || !strings.Contains(err.Error(), map[int]string{0: "0 of 2", 1: "1 of 2"}[valid]) {
				t.Errorf("%s: %q does not say %d of 2", tc.name, err, valid)
			}
			if want != "short" && !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q does not say why: %q", tc.name, err, want)
			}
			for _, a := range tc.approvals {
				if sig := base64.StdEncoding.EncodeToString(a.Signature); strings.Contains(err.Error(), sig) {
					t.Errorf("%s: the error echoes a signature", tc.name)
				}
			}
		}
	}
}

// TestCheckNamesRejections: the error lists each rejected approval by position and operator, and
// the operators that counted.
func TestCheckNamesRejections(t *testing.T) {
	p := policy2of3(t)
	alice, bob, _, mallory := team(t)
	other := fixture()
	other.KeyID = strings.Repeat("e", 32)
	err := p.Check(fixture(), []Approval{mustSign(t, alice, fixture()), mustSign(t, alice, fixture()), mustSign(t, mallory, fixture()), mustSign(t, bob, other)}, now)
	var qe *QuorumError
	if !errors.As(err, &qe) {
		t.Fatalf("Check = %v; want a QuorumError", err)
	}
	if qe.Valid != 1 || len(qe.Approvers) != 1 || qe.Approvers[0] != "alice" {
		t.Errorf("counted %d (%v); want alice only", qe.Valid, qe.Approvers)
	}
	want := []Rejection{
		{Index: 2, Operator: "alice"},
		{Index: 3, Operator: mallory.cert.Fingerprint()},
		{Index: 4, Operator: "bob"},
	}
	if len(qe.Rejected) != len(want) {
		t.Fatalf("rejected %+v", qe.Rejected)
	}
	for i, r := range qe.Rejected {
		if r.Index != want[i].Index || r.Operator != want[i].Operator || r.Reason == "" {
			t.Errorf("rejection %d is %+v; want #%d by %s with a reason", i, r, want[i].Index, want[i].Operator)
		}
	}
	if !strings.Contains(err.Error(), "1 of 2 valid approvals (from alice)") || !strings.Contains(err.Error(), "approval #3 ("+mallory.cert.Fingerprint()+")") {
		t.Errorf("error text %q", err)
	}
}

// TestCheckIndependentApprovals: approvals made with crypto/ed25519 directly over the documented
// canonical bytes, without this package's Sign, are accepted.
func TestCheckIndependentApprovals(t *testing.T) {
	p := policy2of3(t)
	_, bob, carol, _ := team(t)
	digest, _ := fixture().Digest()
	var approvals []Approval
	for _, op := range []operator{bob, carol} {
		approvals = append(approvals, Approval{
			Operator: op.name, PublicKey: op.key.Public().(ed25519.PublicKey), Statement: digest,
			Signature: ed25519.Sign(op.key, []byte(fixtureCanonical)),
		})
	}
	if err := p.Check(fixture(), approvals, now); err != nil {
		t.Fatal(err)
	}
}

func TestCheckValidity(t *testing.T) {
	p := policy2of3(t)
	alice, bob, _, _ := team(t)
	stmt := fixture()
	both := []Approval{mustSign(t, alice, stmt), mustSign(t, bob, stmt)}
	if err := p.Check(stmt, both, stmt.NotAfter); err != nil {
		t.Errorf("at NotAfter itself: %v", err)
	}
	if err := p.Check(stmt, both, stmt.NotAfter.Add(time.Second)); !errors.Is(err, ErrExpired) {
		t.Errorf("a second after NotAfter: %v; want ErrExpired", err)
	}
	if err := p.Check(stmt, both, stmt.NotAfter.Add(-DefaultMaxValidity)); err != nil {
		t.Errorf("exactly the default validity ahead: %v", err)
	}
	if err := p.Check(stmt, both, stmt.NotAfter.Add(-DefaultMaxValidity-time.Second)); !errors.Is(err, ErrValidityTooLong) {
		t.Errorf("beyond the default validity: %v; want ErrValidityTooLong", err)
	}
	short := *p
	short.MaxValidity = time.Minute
	if err := short.Check(stmt, both, now); !errors.Is(err, ErrValidityTooLong) || !strings.Contains(err.Error(), "1m0s") {
		t.Errorf("an hour ahead with max_validity 1m: %v", err)
	}
	bad := stmt
	bad.Nonce = "reused"
	if err := p.Check(bad, both, now); !errors.Is(err, ErrMalformed) {
		t.Errorf("invalid statement: %v; want ErrMalformed", err)
	}
	if err := p.Check(stmt, make([]Approval, MaxApprovals+1), now); !errors.Is(err, ErrMalformed) {
		t.Errorf("too many approvals: %v", err)
	}
}

// TestEmptyPolicyRequiresNothing: with no operators configured, Check and Authorize pass
// whatever they are given and spend no nonce; the description says so plainly.
func TestEmptyPolicyRequiresNothing(t *testing.T) {
	for _, p := range []*Policy{nil, {}} {
		if p.Required() {
			t.Fatal("an empty policy requires approvals")
		}
		if err := p.Check(Statement{}, nil, now); err != nil {
			t.Errorf("Check: %v", err)
		}
		l := NewMemLedger()
		if err := p.Authorize(fixture(), Statement{}, nil, l, now); err != nil || l.Len() != 0 {
			t.Errorf("Authorize: %v, %d nonces used", err, l.Len())
		}
		if !strings.Contains(p.String(), "NOT required") {
			t.Errorf("String() = %q", p.String())
		}
	}
	p, err := Config{}.Policy()
	if err != nil || p.Required() {
		t.Fatalf("empty Config: %v, %+v", err, p)
	}
}

// TestAuthorize: the statement must match the request and carry a quorum, and acts once; a
// refused request does not spend the nonce.
func TestAuthorize(t *testing.T) {
	p := policy2of3(t)
	alice, bob, _, _ := team(t)
	stmt := fixture()
	want := fixture()
	want.Nonce, want.NotAfter = "", time.Time{}
	both := []Approval{mustSign(t, alice, stmt), mustSign(t, bob, stmt)}
	ledger := NewMemLedger()

	otherReq := want
	otherReq.KeyID = strings.Repeat("e", 32)
	if err := p.Authorize(otherReq, stmt, both, ledger, now); !errors.Is(err, ErrMismatch) {
		t.Fatalf("request for another key: %v; want ErrMismatch", err)
	}
	if err := p.Authorize(want, stmt, both[:1], ledger, now); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("one approval: %v; want ErrNoQuorum", err)
	}
	if err := p.Authorize(want, stmt, both, ledger, stmt.NotAfter.Add(time.Second)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v; want ErrExpired", err)
	}
	if ledger.Len() != 0 {
		t.Fatalf("refused requests spent %d nonces", ledger.Len())
	}
	if err := p.Authorize(want, stmt, both, ledger, now); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := p.Authorize(want, stmt, both, ledger, now); !errors.Is(err, ErrNonceUsed) {
		t.Fatalf("replay: %v; want ErrNonceUsed", err)
	}
	if err := p.Authorize(want, stmt, both, nil, now); err == nil {
		t.Fatal("Authorize without a ledger passed")
	}
}

// TestConfigErrors: every misconfiguration is refused and named.
func TestConfigErrors(t *testing.T) {
	alice, bob, carol, _ := team(t)
	a, b, c := alice.cert.String(), bob.cert.String(), carol.cert.String()
	aliceNamedBob, err := NewCertificate(alice.key, "bob", created)
	if err != nil {
		t.Fatal(err)
	}
	bobNamedBob2, err := NewCertificate(bob.key, "bob2", created)
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(a, " alice ", " alicia ", 1)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"quorum 0", Config{Operators: []string{a, b, c}}, "quorum: 0 is not between 1 and the 3 operators"},
		{"quorum -1", Config{Operators: []string{a, b, c}, Quorum: -1}, "quorum: -1"},
		{"quorum above n", Config{Operators: []string{a, b, c}, Quorum: 4}, "quorum: 4 is not between 1 and the 3 operators"},
		{"quorum without operators", Config{Quorum: 2}, "quorum: 2 is not between 1 and the 0 operators"},
		{"duplicate name", Config{Operators: []string{a, b, aliceNamedBob.String()}, Quorum: 2}, "both named bob"},
		{"duplicate key", Config{Operators: []string{a, b, bobNamedBob2.String()}, Quorum: 2}, "have the same key"},
		{"same certificate twice", Config{Operators: []string{a, b, a}, Quorum: 2}, "both named alice"},
		{"path", Config{Operators: []string{a, "/etc/mpcsigner/bob.cert"}, Quorum: 1}, "operators[1]: not an operator certificate"},
		{"tampered", Config{Operators: []string{tampered, b}, Quorum: 1}, "operators[0]: certificate of alicia: the self-signature does not verify"},
		{"validity too long", Config{Operators: []string{a, b}, Quorum: 1, MaxValidity: 31 * 24 * time.Hour}, "max_validity"},
		{"negative validity", Config{Operators: []string{a, b}, Quorum: 1, MaxValidity: -time.Hour}, "max_validity"},
	}
	for _, tc := range cases {
		p, err := tc.cfg.Policy()
		if err == nil || p != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Policy() = %v; want an error saying %q", tc.name, err, tc.want)
		}
		if tc.cfg.Validate() == nil {
			t.Errorf("%s: Validate passed", tc.name)
		}
	}
	// A hand-built policy is checked the same way before Check uses it.
	bad := &Policy{Operators: []Certificate{alice.cert, alice.cert}, Quorum: 2}
	if err := bad.Check(fixture(), []Approval{mustSign(t, alice, fixture()), mustSign(t, alice, fixture())}, now); err == nil || !strings.Contains(err.Error(), "same key") {
		t.Errorf("Check with a duplicated operator: %v", err)
	}
}

// TestConfigFromYAML: certificate lines go into YAML as plain scalars, unquoted, and decode
// strictly into Config.
func TestConfigFromYAML(t *testing.T) {
	alice, bob, carol, _ := team(t)
	doc := "operators:\n  - " + alice.cert.String() + "\n  - " + bob.cert.String() + "\n  - " + carol.cert.String() +
		"\nquorum: 2\nmax_validity: 24h\n"
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decoding\n%s: %v", doc, err)
	}
	p, err := c.Policy()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Required() || p.Quorum != 2 || len(p.Operators) != 3 || p.MaxValidity != 24*time.Hour || !p.Operators[2].Equal(carol.cert) {
		t.Fatalf("policy %+v", p)
	}
	if s := p.String(); !strings.HasPrefix(s, "2 of 3 operators must approve: alice (SHA256:") {
		t.Errorf("String() = %q", s)
	}
}
