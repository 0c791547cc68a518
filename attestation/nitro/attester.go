package nitro

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/hf/nsm"
	"github.com/hf/nsm/request"

	"github.com/mpcsigner/mpcsigner/attestation"
)

// ErrNoNSM means there is no Nitro Security Module device: the process is not running inside a
// Nitro Enclave, so it cannot attest.
var ErrNoNSM = errors.New("no Nitro Security Module: not running in a Nitro Enclave")

// Attester asks the Nitro Security Module (/dev/nsm) for attestation documents. It only works
// inside a Nitro Enclave; elsewhere Attest returns ErrNoNSM. The zero value is ready to use.
type Attester struct{}

var _ attestation.Attester = (*Attester)(nil)

// Kind returns attestation.KindNitro.
func (*Attester) Kind() string { return attestation.KindNitro }

// Attest returns an NSM-signed document over publicKey, userData and nonce (each at most 1024
// bytes; empty ones are attested as null). The NSM request is a single ioctl that cannot be
// interrupted, so ctx is only checked before it is sent.
func (*Attester) Attest(ctx context.Context, publicKey, userData, nonce []byte) ([]byte, error) {
	if err := attestation.CheckFields(publicKey, userData, nonce); err != nil {
		return nil, fmt.Errorf("nitro attest: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nitro attest: %w", err)
	}
	session, err := nsm.OpenDefaultSession()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("nitro attest: %w (%v)", ErrNoNSM, err)
		}
		return nil, fmt.Errorf("nitro attest: open Nitro Security Module: %w", err)
	}
	defer session.Close()
	res, err := session.Send(&request.Attestation{
		PublicKey: emptyAsNil(publicKey),
		UserData:  emptyAsNil(userData),
		Nonce:     emptyAsNil(nonce),
	})
	if err != nil {
		return nil, fmt.Errorf("nitro attest: NSM request: %w", err)
	}
	if res.Error != "" {
		return nil, fmt.Errorf("nitro attest: NSM refused the request: %s", res.Error)
	}
	if res.Attestation == nil || len(res.Attestation.Document) == 0 {
		return nil, errors.New("nitro attest: NSM returned no attestation document")
	}
	doc := res.Attestation.Document
	if len(doc) > attestation.MaxDocumentSize {
		return nil, fmt.Errorf("nitro attest: NSM returned a %d-byte document, more than the %d a verifier reads", len(doc), attestation.MaxDocumentSize)
	}
	// The response buffer is pooled by the nsm package; hand out our own copy.
	return bytes.Clone(doc), nil
}

// emptyAsNil makes an empty argument absent (null) rather than an empty byte string.
func emptyAsNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
