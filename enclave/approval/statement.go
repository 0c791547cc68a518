package approval

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Operations that need a quorum of approvals.
const (
	OpBackupExport  = "backup.export"  // export a key's shares encrypted to recipients
	OpBackupRestore = "backup.restore" // restore a key from a backup
	OpKeyRefresh    = "key.refresh"    // new shares for the same parties and threshold
	OpKeyReshare    = "key.reshare"    // a committee change: other parties or threshold
)

// Operations lists the operations a statement may name.
var Operations = []string{OpBackupExport, OpBackupRestore, OpKeyRefresh, OpKeyReshare}

// Suggested parameter names, so that every caller spells the same thing the same way. Values are
// text; lists are comma separated in ascending order (parties) or in the order the operation
// uses them (recipients), since the enclave compares them exactly.
const (
	ParamNewParties   = "new_parties"   // e.g. "1,2,3,4"
	ParamNewThreshold = "new_threshold" // e.g. "3"
	ParamRecipients   = "recipients"    // e.g. "age1...,age1..."
)

// Limits on statements.
const (
	MaxStatementBytes = 64 << 10 // a statement's JSON
	MaxParams         = 16
	MaxParamValue     = 2048 // bytes of one parameter's value
	MaxClusterLen     = 128
	// MaxValidityLimit is the longest validity any policy may allow, so no ledger has to keep a
	// nonce for longer.
	MaxValidityLimit = 30 * 24 * time.Hour
)

const approvalDomain = "mpcsigner approval v1\n"

var (
	// A cluster id as rosters name clusters, in printable ASCII without spaces.
	clusterPattern = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
	// A key id, as the enclave makes them: the immutable name of one key (labels can move).
	keyIDPattern     = regexp.MustCompile(`^[0-9a-f]{32}$`)
	paramNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
	// Values are printable ASCII, so what an approver reads is what is signed.
	paramValuePattern = regexp.MustCompile(`^[\x20-\x7e]+$`) // and at most MaxParamValue bytes
	noncePattern      = regexp.MustCompile(`^[0-9a-f]{32}$`)
	digestPattern     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Statement describes one lifecycle operation that operators approve. It carries no secret.
type Statement struct {
	Operation string // one of Operations
	Cluster   string // the roster's cluster_id
	KeyID     string // the key's id (32 lowercase hex digits)
	// Params are the operation's other inputs, compared exactly (see the Param constants).
	Params map[string]string
	// Nonce makes the statement single use: 32 lowercase hex digits from NewNonce.
	Nonce string
	// NotAfter is the last moment the statement may be acted on (UTC, whole seconds).
	NotAfter time.Time
}

// NewNonce returns a fresh random nonce for a statement.
func NewNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go 1.24 and later)
	return hex.EncodeToString(b)
}

// CheckNonce returns nil if nonce has the syntax of a statement nonce, else an error wrapping
// ErrMalformed.
func CheckNonce(nonce string) error {
	if err := checkNonce(nonce); err != nil {
		return fmt.Errorf("%w: %w", err, ErrMalformed)
	}
	return nil
}

func checkNonce(nonce string) error {
	if !noncePattern.MatchString(nonce) {
		return fmt.Errorf("nonce %q is not 32 lowercase hex digits", truncate(nonce))
	}
	return nil
}

// Validate checks every field's syntax. Errors wrap ErrMalformed and name the field.
func (s Statement) Validate() error {
	var errs []error
	if !slices.Contains(Operations, s.Operation) {
		errs = append(errs, fmt.Errorf("operation %q is not one of %v", truncate(s.Operation), Operations))
	}
	if !clusterPattern.MatchString(s.Cluster) {
		errs = append(errs, fmt.Errorf("cluster %q: want 1 to %d printable ASCII characters without spaces", truncate(s.Cluster), MaxClusterLen))
	}
	if !keyIDPattern.MatchString(s.KeyID) {
		errs = append(errs, fmt.Errorf("key_id %q is not a key id (32 lowercase hex digits; a label is not accepted)", truncate(s.KeyID)))
	}
	errs = append(errs, checkParams(s.Params)...)
	if err := checkNonce(s.Nonce); err != nil {
		errs = append(errs, err)
	}
	if s.NotAfter.Unix() <= 0 || s.NotAfter.Year() > 9999 || !s.NotAfter.Equal(s.NotAfter.Truncate(time.Second)) {
		errs = append(errs, errors.New("not_after must be a time between 1970 and 9999 in whole seconds"))
	}
	return joinMalformed("statement", errs)
}

// joinMalformed reports every problem found in what, on one line, wrapping ErrMalformed.
func joinMalformed(what string, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return fmt.Errorf("%s: %s: %w", what, strings.Join(msgs, "; "), ErrMalformed)
}

func checkParams(params map[string]string) []error {
	var errs []error
	if len(params) > MaxParams {
		errs = append(errs, fmt.Errorf("%d params exceed the limit of %d", len(params), MaxParams))
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if !paramNamePattern.MatchString(k) {
			errs = append(errs, fmt.Errorf("param name %q: want 1 to 64 of a-z, 0-9, '_', '.', '-', starting with a letter", truncate(k)))
			continue
		}
		if v := params[k]; len(v) > MaxParamValue || !paramValuePattern.MatchString(v) {
			errs = append(errs, fmt.Errorf("param %s: the value must be 1 to %d printable ASCII characters", k, MaxParamValue))
		}
	}
	return errs
}

// CanonicalBytes is what operators sign (see the package documentation). It fails, wrapping
// ErrMalformed, if the statement is not valid.
func (s Statement) CanonicalBytes() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(approvalDomain)
	field := func(name, value string) {
		fmt.Fprintf(&b, "%s %d:%s\n", name, len(value), value)
	}
	field("operation", s.Operation)
	field("cluster", s.Cluster)
	field("key_id", s.KeyID)
	fmt.Fprintf(&b, "params %d\n", len(s.Params))
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		v := s.Params[k]
		fmt.Fprintf(&b, "param %d:%s %d:%s\n", len(k), k, len(v), v)
	}
	field("nonce", s.Nonce)
	fmt.Fprintf(&b, "not_after %d\n", s.NotAfter.Unix())
	return []byte(b.String()), nil
}

// Digest is the SHA-256 of the canonical bytes in lowercase hex: a public name for the
// statement that approvals carry.
func (s Statement) Digest() (string, error) {
	msg, err := s.CanonicalBytes()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(msg)
	return hex.EncodeToString(sum[:]), nil
}

// ErrMismatch means a statement does not describe the operation it was presented for.
var ErrMismatch = errors.New("the statement does not describe this operation")

// Match returns nil if s describes the same operation as want: the same operation, cluster,
// key id and params. want's Nonce and NotAfter are ignored. An enclave builds want from the
// request it is asked to carry out, never from the statement. Errors wrap ErrMismatch and name
// the first field that differs.
func (s Statement) Match(want Statement) error {
	differ := func(field, got, w string) error {
		return fmt.Errorf("%s is %q in the statement but %q in the request: %w", field, truncate(got), truncate(w), ErrMismatch)
	}
	switch {
	case s.Operation != want.Operation:
		return differ("operation", s.Operation, want.Operation)
	case s.Cluster != want.Cluster:
		return differ("cluster", s.Cluster, want.Cluster)
	case s.KeyID != want.KeyID:
		return differ("key_id", s.KeyID, want.KeyID)
	}
	names := append(slices.Collect(maps.Keys(s.Params)), slices.Collect(maps.Keys(want.Params))...)
	slices.Sort(names)
	names = slices.Compact(names)
	for _, k := range names {
		got, inStmt := s.Params[k]
		w, inWant := want.Params[k]
		switch {
		case !inWant:
			return fmt.Errorf("param %s is in the statement but not in the request: %w", truncate(k), ErrMismatch)
		case !inStmt:
			return fmt.Errorf("param %s is in the request but not in the statement: %w", truncate(k), ErrMismatch)
		case got != w:
			return differ("param "+truncate(k), got, w)
		}
	}
	return nil
}

// String summarises the statement on one line for logs (it holds nothing secret).
func (s Statement) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of key %s in cluster %s", s.Operation, s.KeyID, s.Cluster)
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		fmt.Fprintf(&b, " %s=%s", k, strconv.Quote(truncate(s.Params[k])))
	}
	fmt.Fprintf(&b, " (nonce %s, valid until %s)", s.Nonce, s.NotAfter.UTC().Format(time.RFC3339))
	return b.String()
}

// statementJSON is a statement on the wire; field order is the order they are written in.
type statementJSON struct {
	Version   int               `json:"version"`
	Operation string            `json:"operation"`
	Cluster   string            `json:"cluster"`
	KeyID     string            `json:"key_id"`
	Params    map[string]string `json:"params,omitempty"`
	Nonce     string            `json:"nonce"`
	NotAfter  string            `json:"not_after"`
}

var statementFields = []string{"version", "operation", "cluster", "key_id", "params", "nonce", "not_after"}

// MarshalJSON writes the statement in the format of the package documentation. It refuses an
// invalid statement, so nothing this package writes fails to decode.
func (s Statement) MarshalJSON() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(statementJSON{
		Version: 1, Operation: s.Operation, Cluster: s.Cluster, KeyID: s.KeyID,
		Params: s.Params, Nonce: s.Nonce, NotAfter: s.NotAfter.UTC().Format(time.RFC3339),
	})
}

// UnmarshalJSON decodes a statement strictly (see DecodeStatement), so a statement inside any
// request is checked as it arrives.
func (s *Statement) UnmarshalJSON(b []byte) error {
	var w statementJSON
	if err := decodeStrict(b, MaxStatementBytes, statementFields, &w); err != nil {
		return fmt.Errorf("statement: %w", err)
	}
	if w.Version != 1 {
		return fmt.Errorf("statement: version %d is not supported (want 1): %w", w.Version, ErrMalformed)
	}
	notAfter, err := time.Parse(time.RFC3339, w.NotAfter)
	if err != nil || notAfter.UTC().Format(time.RFC3339) != w.NotAfter {
		return fmt.Errorf("statement: not_after %q is not an RFC 3339 UTC time in whole seconds, e.g. 2025-01-02T03:04:05Z: %w", truncate(w.NotAfter), ErrMalformed)
	}
	out := Statement{Operation: w.Operation, Cluster: w.Cluster, KeyID: w.KeyID, Params: w.Params, Nonce: w.Nonce, NotAfter: notAfter}
	if len(out.Params) == 0 {
		out.Params = nil
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*s = out
	return nil
}

// DecodeStatement decodes one statement's JSON: at most MaxStatementBytes, version 1, no unknown,
// duplicate or differently cased keys, nothing after the object, every field valid. Errors wrap
// ErrMalformed.
func DecodeStatement(b []byte) (Statement, error) {
	var s Statement
	if err := s.UnmarshalJSON(b); err != nil {
		return Statement{}, err
	}
	return s, nil
}
