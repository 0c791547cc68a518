package approval

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Limits on approvals.
const (
	MaxApprovalBytes = 1024 // one approval's JSON (a valid one is about 280 bytes)
	// MaxApprovals bounds how many approvals one check verifies, and DecodeApprovals reads.
	MaxApprovals = 64
	// MaxApprovalsBytes bounds the input of DecodeApprovals.
	MaxApprovalsBytes = MaxApprovals * (MaxApprovalBytes + 2)
)

// Approval is one operator's signature over a statement's canonical bytes. It carries no secret.
type Approval struct {
	// Operator is the approver's name; it must be the configured name of PublicKey.
	Operator  string
	PublicKey ed25519.PublicKey
	// Statement is the approved statement's Digest.
	Statement string
	Signature []byte
}

// Sign approves s as the operator name with key. Only the operator CLI calls it.
func Sign(key ed25519.PrivateKey, name string, s Statement) (Approval, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Approval{}, fmt.Errorf("operator key is %d bytes, want an Ed25519 private key of %d", len(key), ed25519.PrivateKeySize)
	}
	if err := CheckName(name); err != nil {
		return Approval{}, err
	}
	msg, err := s.CanonicalBytes()
	if err != nil {
		return Approval{}, err
	}
	digest, err := s.Digest()
	if err != nil {
		return Approval{}, err
	}
	return Approval{
		Operator:  name,
		PublicKey: key.Public().(ed25519.PublicKey),
		Statement: digest,
		Signature: ed25519.Sign(key, msg),
	}, nil
}

// Validate checks the approval's syntax (not its signature: Policy.Check does that). Errors wrap
// ErrMalformed.
func (a Approval) Validate() error {
	var errs []error
	if err := CheckName(a.Operator); err != nil {
		errs = append(errs, errors.New("operator: not a valid operator name"))
	}
	if len(a.PublicKey) != ed25519.PublicKeySize {
		errs = append(errs, fmt.Errorf("public_key is %d bytes, want %d", len(a.PublicKey), ed25519.PublicKeySize))
	}
	if !digestPattern.MatchString(a.Statement) {
		errs = append(errs, errors.New("statement_sha256 is not 64 lowercase hex digits"))
	}
	if len(a.Signature) != ed25519.SignatureSize {
		errs = append(errs, fmt.Errorf("signature is %d bytes, want %d", len(a.Signature), ed25519.SignatureSize))
	}
	return joinMalformed("approval", errs)
}

// approvalJSON is an approval on the wire.
type approvalJSON struct {
	Version   int    `json:"version"`
	Operator  string `json:"operator"`
	PublicKey string `json:"public_key"`
	Statement string `json:"statement_sha256"`
	Signature string `json:"signature"`
}

var approvalFields = []string{"version", "operator", "public_key", "statement_sha256", "signature"}

// MarshalJSON writes the approval in the format of the package documentation; it refuses an
// invalid one.
func (a Approval) MarshalJSON() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(approvalJSON{
		Version: 1, Operator: a.Operator, Statement: a.Statement,
		PublicKey: base64.StdEncoding.EncodeToString(a.PublicKey),
		Signature: base64.StdEncoding.EncodeToString(a.Signature),
	})
}

// UnmarshalJSON decodes one approval strictly (see DecodeApproval).
func (a *Approval) UnmarshalJSON(b []byte) error {
	var w approvalJSON
	if err := decodeStrict(b, MaxApprovalBytes, approvalFields, &w); err != nil {
		return fmt.Errorf("approval: %w", err)
	}
	if w.Version != 1 {
		return fmt.Errorf("approval: version %d is not supported (want 1): %w", w.Version, ErrMalformed)
	}
	out := Approval{Operator: w.Operator, Statement: w.Statement}
	var err error
	if out.PublicKey, err = decodeBase64("public_key", w.PublicKey, ed25519.PublicKeySize); err != nil {
		return fmt.Errorf("approval: %w", err)
	}
	if out.Signature, err = decodeBase64("signature", w.Signature, ed25519.SignatureSize); err != nil {
		return fmt.Errorf("approval: %w", err)
	}
	if err := out.Validate(); err != nil {
		return err
	}
	*a = out
	return nil
}

// DecodeApproval decodes one approval's JSON: at most MaxApprovalBytes, version 1, no unknown,
// duplicate or differently cased keys, nothing after the object. Errors wrap ErrMalformed.
func DecodeApproval(b []byte) (Approval, error) {
	var a Approval
	if err := a.UnmarshalJSON(b); err != nil {
		return Approval{}, err
	}
	return a, nil
}

// DecodeApprovals decodes a JSON array of approvals, or approvals one after another (the lines
// 'mpcsigner operator approve' prints, concatenated): at most MaxApprovals of them in at most
// MaxApprovalsBytes. Errors wrap ErrMalformed and say which approval was wrong.
func DecodeApprovals(b []byte) ([]Approval, error) {
	if len(b) > MaxApprovalsBytes {
		return nil, fmt.Errorf("approvals: %d bytes exceeds the limit of %d: %w", len(b), MaxApprovalsBytes, ErrMalformed)
	}
	raws, err := splitApprovals(b)
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, fmt.Errorf("approvals: none found: %w", ErrMalformed)
	}
	out := make([]Approval, len(raws))
	for i, raw := range raws {
		if err := out[i].UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("approval #%d: %w", i+1, err)
		}
	}
	return out, nil
}

// splitApprovals returns the raw objects of an array or of a sequence of objects.
func splitApprovals(b []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(b)
	var raws []json.RawMessage
	if len(trimmed) > 0 && trimmed[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		if err := dec.Decode(&raws); err != nil {
			return nil, fmt.Errorf("approvals: %v: %w", err, ErrMalformed)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("approvals: trailing data after the array: %w", ErrMalformed)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("approvals: approval #%d: %v: %w", len(raws)+1, err, ErrMalformed)
			}
			raws = append(raws, raw)
			if len(raws) > MaxApprovals {
				break
			}
		}
		// More stops at a stray '}' or ']' too: only the end of the input is a clean end.
		if _, err := dec.Token(); err != io.EOF && len(raws) <= MaxApprovals {
			return nil, fmt.Errorf("approvals: unexpected data after approval #%d: %w", len(raws), ErrMalformed)
		}
	}
	if len(raws) > MaxApprovals {
		return nil, fmt.Errorf("approvals: more than %d: %w", MaxApprovals, ErrMalformed)
	}
	return raws, nil
}
