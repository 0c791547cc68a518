package bench

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
)

// Driver is one way of making signatures: a front door of a cluster or an in-process baseline.
type Driver interface {
	// Name names the driver in reports: "native", "eth2", "eth1", "pkcs11", "single-key",
	// "softhsm".
	Name() string
	// NewWorker gives worker id of count its own connection or session. It is called before
	// the clock starts; an error aborts the step.
	NewWorker(ctx context.Context, id, count int) (Worker, error)
	// Close releases what the driver holds. Workers are closed first.
	Close() error
}

// Worker makes signatures one at a time; the runner gives each worker its own goroutine.
type Worker interface {
	// Sign makes one signature over a fresh message and returns what verifying it needs. An
	// error should be (or wrap) a *KindError so that the report can count it by kind.
	Sign(ctx context.Context) (Signed, error)
	Close() error
}

// Signed is one signature as received, with what an independent verifier needs.
type Signed struct {
	Scheme string // ecdsa-secp256k1, ecdsa-p256, ed25519, bip340 or bls12-381
	// PublicKey is the key the signature must verify under, as the cluster published it when
	// the key was listed (not as the signing answer claims): see Verify for the encodings.
	PublicKey []byte
	// Message is what was signed: the 32-byte digest for ECDSA and BIP340, the message for
	// Ed25519, the signing root for BLS.
	Message   []byte
	Signature []byte
	// RecoveryID, when set, is an ECDSA secp256k1 recovery id the answer carried; Verify checks
	// that it recovers the public key.
	RecoveryID *int
}

// ErrInvalid marks an answer or file that this package refuses to decode: a malformed
// response from the cluster, a /proc entry it cannot parse.
var ErrInvalid = errors.New("bench: invalid input")

// KindError gives an error its kind in the report: "http 503", "rpc -32000",
// "CKR_DEVICE_ERROR", ...
type KindError struct {
	Kind string
	Err  error
}

// Error leads with the kind unless the cause already names it (a CKR code usually does).
func (e *KindError) Error() string {
	msg := e.Err.Error()
	if strings.Contains(msg, e.Kind) {
		return msg
	}
	return e.Kind + ": " + msg
}
func (e *KindError) Unwrap() error { return e.Err }

// Error kinds that the runner itself assigns.
const (
	KindVerify      = "verify"       // the signature did not verify
	KindTimeout     = "timeout"      // the request's deadline passed
	KindTransport   = "transport"    // no answer: connection refused, reset, ...
	KindBadResponse = "bad response" // an answer this package refuses (ErrInvalid)
	KindOther       = "other"
)

// Kind returns the kind an error is counted under.
func Kind(err error) string {
	var ke *KindError
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ke):
		return ke.Kind
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, ErrInvalid):
		return KindBadResponse
	case errors.As(err, &ue), errors.As(err, &ne):
		return KindTransport
	}
	return KindOther
}
