// Package attestation lets an enclave prove what code it runs and which key it holds, and lets
// its peers check that proof. An Attester makes a document over a public key and user data; a
// Verifier checks a document against a Policy (trusted roots, expected measurements, freshness)
// and returns what it attests.
//
// Implementations: nitro (AWS Nitro Enclaves: the NSM device, our own COSE_Sign1 verifier),
// sevsnp (AMD SEV-SNP reports through go-sev-guest) and sim (a test CA issuing documents in
// exactly the Nitro format, so tests run the production Nitro verifier with only the root
// changed).
//
// A Verifier must never accept a document it could not check completely, and never panic on
// any input. An Attester must only ever be driven by the enclave itself: what it attests to is
// the enclave's choice, never the host's.
package attestation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kinds of attestation, as configuration names them.
const (
	KindNitro  = "nitro"
	KindSEVSNP = "sevsnp"
	KindSim    = "sim"
)

// MaxDocumentSize bounds every document a Verifier reads.
const MaxDocumentSize = 32 << 10

// Attester produces attestation documents inside an enclave.
type Attester interface {
	// Kind names the implementation (KindNitro, ...).
	Kind() string
	// Attest returns a document binding publicKey, userData and nonce to this enclave's
	// measurements. Each may be empty; none is longer than 1024 bytes.
	Attest(ctx context.Context, publicKey, userData, nonce []byte) ([]byte, error)
}

// Verifier checks documents.
type Verifier interface {
	// Kind names the implementation.
	Kind() string
	// Verify checks doc completely at time now and returns what it attests.
	Verify(doc []byte, now time.Time) (*Document, error)
}

// Document is what a verified attestation says.
type Document struct {
	Kind      string
	ModuleID  string
	Timestamp time.Time
	// Measurements are the platform's measurement registers: PCR index to value for Nitro and
	// sim; for SEV-SNP index 0 holds the launch MEASUREMENT.
	Measurements map[int][]byte
	PublicKey    []byte
	UserData     []byte
	Nonce        []byte
	// NotAfter is when the document stops being good: its signing certificate's expiry for
	// Nitro and sim, the timestamp plus the policy's MaxAge for SEV-SNP. Re-attest before then.
	NotAfter time.Time
}

// Policy is what a Verifier accepts.
type Policy struct {
	// Measurements lists the registers that must hold exactly these values (for Nitro: PCR0,
	// PCR1, PCR2, optionally PCR8). A register not listed is not checked. Verifiers refuse an
	// empty policy: they must pin some measurement (sevsnp: or an ID or author key in SEVSNP,
	// which vouches for the measurement through the guest's signed ID block, as PCR8 does on
	// Nitro).
	Measurements map[int][]byte
	// MaxAge is how old a document may be (default 10 minutes).
	MaxAge time.Duration
	// ClockSkew is how far in the future a timestamp may be (default 1 minute).
	ClockSkew time.Duration
	// SEVSNP is what an SEV-SNP report must show besides its launch measurement (TCB, ID and
	// author keys, VMPL, guest policy). Only the sevsnp verifier reads it.
	SEVSNP SEVSNPPolicy
}

// Errors a Verifier reports; each is wrapped with what exactly was wrong.
var (
	// ErrMalformed: the document does not decode (or is too large, or truncated).
	ErrMalformed = errors.New("attestation document malformed")
	// ErrSignature: the document's signature does not verify under its certificate.
	ErrSignature = errors.New("attestation signature invalid")
	// ErrChain: the certificate chain does not lead to a trusted root, or a certificate is
	// expired, not yet valid, or of an unacceptable kind (e.g. a P-521 leaf).
	ErrChain = errors.New("attestation certificate chain untrusted")
	// ErrMeasurement: a measurement differs from the policy, or the document is from a
	// debug-mode enclave, or the platform is not one the policy allows (an SEV-SNP firmware
	// TCB below the minimum, an ID key not in the allow-list, another VMPL or guest policy).
	ErrMeasurement = errors.New("attestation measurement not allowed")
	// ErrStale: the document is older than the policy's MaxAge, or from the future.
	ErrStale = errors.New("attestation document stale")
	// ErrBinding: the document is genuine but attests another key or other user data than
	// the one presented with it.
	ErrBinding = errors.New("attestation binding mismatch")
)

// MaxField is the largest public key, user data or nonce an Attester takes.
const MaxField = 1024

// CheckFields enforces the Attester contract on its arguments; every implementation calls it
// before it touches its device.
func CheckFields(publicKey, userData, nonce []byte) error {
	for _, f := range []struct {
		name  string
		value []byte
	}{{"public_key", publicKey}, {"user_data", userData}, {"nonce", nonce}} {
		if len(f.value) > MaxField {
			return fmt.Errorf("%s is %d bytes, more than the %d an attestation carries", f.name, len(f.value), MaxField)
		}
	}
	return nil
}
