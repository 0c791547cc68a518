package approval

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// MaxOperators bounds a policy's operators.
	MaxOperators = 32
	// DefaultMaxValidity is how far ahead a statement's NotAfter may be when a policy does not
	// say: long enough to collect approvals across time zones, short enough that an approval
	// that was never used does not linger.
	DefaultMaxValidity = 72 * time.Hour
)

// Config is the approval policy as it appears in an enclave's YAML configuration:
//
//	approvals:
//	  operators:
//	    - mpcsigner-operator-v1 alice 2025-01-02T03:04:05Z MCow... 3q2+...
//	    - mpcsigner-operator-v1 bob 2025-01-02T03:05:00Z Zm9v... YmFy...
//	  quorum: 2
//	  max_validity: 72h
//
// Operators are certificate texts, pasted inline as 'mpcsigner operator keygen' or 'mpcsigner
// operator cert' print them; file paths are not accepted, because the configuration file is part
// of what an enclave measures, and a path would let whoever controls the file system change who
// approves. An empty Config (no operators, quorum 0) means approvals are not required: for
// development only, and the enclave says so loudly.
type Config struct {
	Operators []string `yaml:"operators,omitempty"`
	Quorum    int      `yaml:"quorum,omitempty"`
	// MaxValidity is how far ahead of the enclave's clock a statement's NotAfter may be
	// (default DefaultMaxValidity, at most MaxValidityLimit).
	MaxValidity time.Duration `yaml:"max_validity,omitempty"`
}

// Validate checks the configuration (Policy does the same and returns the policy).
func (c Config) Validate() error {
	_, err := c.Policy()
	return err
}

// Policy parses the certificates and checks the configuration. It names every problem found:
// an entry that is not a certificate, duplicate names or keys, a quorum that is not between 1
// and the number of operators, a validity out of range.
func (c Config) Policy() (*Policy, error) {
	var errs []error
	p := &Policy{Quorum: c.Quorum, MaxValidity: c.MaxValidity}
	for i, text := range c.Operators {
		cert, err := ParseCertificate(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("operators[%d]: %w", i, err))
			continue
		}
		p.Operators = append(p.Operators, cert)
	}
	if len(errs) == 0 {
		errs = p.problems()
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("approval policy: %w", errors.Join(errs...))
	}
	return p, nil
}

// Policy says which operators may approve lifecycle operations and how many of them must. A
// Policy with no operators and quorum 0 requires no approvals (development). Its methods do not
// modify it and are safe for concurrent use.
type Policy struct {
	Operators []Certificate
	Quorum    int
	// MaxValidity is how far ahead a statement's NotAfter may be; 0 means DefaultMaxValidity.
	MaxValidity time.Duration
}

// Required reports whether approvals are required: false for a nil or empty policy.
func (p *Policy) Required() bool { return p != nil && (len(p.Operators) > 0 || p.Quorum != 0) }

// Validate checks a policy built by hand; Config.Policy returns only valid ones.
func (p *Policy) Validate() error {
	if errs := p.problems(); len(errs) > 0 {
		return fmt.Errorf("approval policy: %w", errors.Join(errs...))
	}
	return nil
}

func (p *Policy) problems() []error {
	if !p.Required() {
		return nil
	}
	var errs []error
	n := len(p.Operators)
	if n > MaxOperators {
		errs = append(errs, fmt.Errorf("operators: %d exceed the limit of %d", n, MaxOperators))
	}
	if p.Quorum < 1 || p.Quorum > n {
		errs = append(errs, fmt.Errorf("quorum: %d is not between 1 and the %d operators", p.Quorum, n))
	}
	if p.MaxValidity < 0 || p.MaxValidity > MaxValidityLimit {
		errs = append(errs, fmt.Errorf("max_validity: %s is not between 0 (the default, %s) and %s", p.MaxValidity, DefaultMaxValidity, MaxValidityLimit))
	}
	for i, c := range p.Operators {
		if err := CheckName(c.Name); err != nil {
			errs = append(errs, fmt.Errorf("operators[%d]: %w", i, err))
		}
		if err := checkPublicKey(c.PublicKey); err != nil {
			errs = append(errs, fmt.Errorf("operators[%d] (%s): %w", i, c.Name, err))
		}
		for j, o := range p.Operators[:i] {
			if o.Name == c.Name {
				errs = append(errs, fmt.Errorf("operators[%d] and operators[%d] are both named %s: names must be unique", j, i, c.Name))
			}
			if bytes.Equal(o.PublicKey, c.PublicKey) {
				errs = append(errs, fmt.Errorf("operators[%d] (%s) and operators[%d] (%s) have the same key %s: one person's key must count once", j, o.Name, i, c.Name, c.Fingerprint()))
			}
		}
	}
	return errs
}

// maxValidity is MaxValidity or its default.
func (p *Policy) maxValidity() time.Duration {
	if p.MaxValidity == 0 {
		return DefaultMaxValidity
	}
	return p.MaxValidity
}

// String describes the policy for logs: who approves and how many must.
func (p *Policy) String() string {
	if !p.Required() {
		return "approvals NOT required: any host can start backup export, restore, refresh and reshare (development only)"
	}
	names := make([]string, len(p.Operators))
	for i, c := range p.Operators {
		names[i] = c.Name + " (" + c.Fingerprint() + ")"
	}
	return fmt.Sprintf("%d of %d operators must approve: %s", p.Quorum, len(p.Operators), strings.Join(names, ", "))
}

// Errors of Check.
var (
	// ErrExpired means the statement's NotAfter has passed.
	ErrExpired = errors.New("statement expired")
	// ErrValidityTooLong means the statement's NotAfter is further ahead than the policy allows.
	ErrValidityTooLong = errors.New("statement valid for longer than the policy allows")
	// ErrNoQuorum means too few configured operators validly approved; see QuorumError.
	ErrNoQuorum = errors.New("quorum of operator approvals not reached")
)

// Rejection says why one approval did not count. It holds no secret.
type Rejection struct {
	Index    int    // 1-based position among the approvals given
	Operator string // the configured name, or the fingerprint of an unknown key
	Reason   string
}

// QuorumError is the result of a check that did not reach the quorum: how many valid approvals
// were found, how many were needed, and why each other approval did not count.
type QuorumError struct {
	Valid     int
	Need      int
	Approvers []string // names of the operators whose approvals counted
	Rejected  []Rejection
}

func (e *QuorumError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d of %d valid approvals", ErrNoQuorum, e.Valid, e.Need)
	if len(e.Approvers) > 0 {
		fmt.Fprintf(&b, " (from %s)", strings.Join(e.Approvers, ", "))
	}
	for _, r := range e.Rejected {
		fmt.Fprintf(&b, "; approval #%d (%s) did not count: %s", r.Index, r.Operator, r.Reason)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNoQuorum) true.
func (e *QuorumError) Is(target error) bool { return target == ErrNoQuorum }

// Check returns nil if at least Quorum distinct configured operators approved exactly stmt, which
// must be valid at now. A policy that requires no approvals returns nil at once, whatever it is
// given. Otherwise: an invalid statement is an error wrapping ErrMalformed, an expired one
// ErrExpired, one whose NotAfter is more than MaxValidity ahead of now ErrValidityTooLong, and
// too few valid approvals a *QuorumError. An approval counts when its key is a configured
// operator's, its name is that operator's, it names this statement's digest, and its signature
// verifies over the canonical bytes; a second approval by the same operator does not count
// again. Check does not use the nonce: Authorize does.
func (p *Policy) Check(stmt Statement, approvals []Approval, now time.Time) error {
	if !p.Required() {
		return nil
	}
	if err := p.Validate(); err != nil {
		return err
	}
	msg, err := stmt.CanonicalBytes()
	if err != nil {
		return err
	}
	digest, err := stmt.Digest()
	if err != nil {
		return err
	}
	if now.After(stmt.NotAfter) {
		return fmt.Errorf("%w at %s (now %s): ask the operators to approve a new statement", ErrExpired,
			stmt.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if ahead := stmt.NotAfter.Sub(now); ahead > p.maxValidity() {
		return fmt.Errorf("%w: not_after is %s ahead, this cluster accepts at most %s", ErrValidityTooLong,
			ahead.Round(time.Second), p.maxValidity())
	}
	if len(approvals) > MaxApprovals {
		return fmt.Errorf("%d approvals exceed the limit of %d: %w", len(approvals), MaxApprovals, ErrMalformed)
	}
	qe := &QuorumError{Need: p.Quorum}
	counted := make([]bool, len(p.Operators))
	for i, a := range approvals {
		who, reason := p.judge(a, msg, digest, counted)
		if reason != "" {
			qe.Rejected = append(qe.Rejected, Rejection{Index: i + 1, Operator: who, Reason: reason})
			continue
		}
		qe.Valid++
		qe.Approvers = append(qe.Approvers, who)
	}
	if qe.Valid >= p.Quorum {
		return nil
	}
	return qe
}

// judge decides whether one approval counts, marking its operator in counted if it does. It
// returns who made it (a name, or a fingerprint for an unknown key) and, if it does not count,
// why.
func (p *Policy) judge(a Approval, msg []byte, digest string, counted []bool) (who, reason string) {
	if len(a.PublicKey) != ed25519.PublicKeySize || len(a.Signature) != ed25519.SignatureSize {
		return "malformed", "public key or signature has the wrong length"
	}
	idx := p.operatorIndex(a.PublicKey)
	if idx < 0 {
		return fingerprint(a.PublicKey), "the key is not a configured operator's"
	}
	op := p.Operators[idx]
	switch {
	case a.Operator != op.Name:
		return op.Name, fmt.Sprintf("it names operator %q, but the key is %s's", truncate(a.Operator), op.Name)
	case a.Statement != digest:
		return op.Name, "it approves a different statement (statement_sha256 differs)"
	case !ed25519.Verify(op.PublicKey, msg, a.Signature):
		return op.Name, "the signature does not verify over this statement"
	case counted[idx]:
		return op.Name, "a duplicate: this operator's approval already counted"
	}
	counted[idx] = true
	return op.Name, ""
}

func (p *Policy) operatorIndex(pub ed25519.PublicKey) int {
	for i, c := range p.Operators {
		if bytes.Equal(c.PublicKey, pub) {
			return i
		}
	}
	return -1
}

// Authorize is what an enclave runs before it takes part in a lifecycle operation: stmt must
// describe the operation the enclave was asked for (want, built from the request: see Match),
// carry a quorum of approvals valid at now (Check), and have a nonce that ledger has not seen.
// The nonce is used last, so a refused request does not spend it. A policy that requires no
// approvals returns nil at once and uses no nonce.
func (p *Policy) Authorize(want, stmt Statement, approvals []Approval, ledger NonceLedger, now time.Time) error {
	if !p.Required() {
		return nil
	}
	if ledger == nil {
		return errors.New("approval policy: no nonce ledger: statements could be replayed")
	}
	if err := stmt.Match(want); err != nil {
		return err
	}
	if err := p.Check(stmt, approvals, now); err != nil {
		return err
	}
	return ledger.Use(stmt.Nonce, stmt.NotAfter)
}
