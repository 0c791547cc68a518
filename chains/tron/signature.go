package tron

import (
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainkey"
)

// signatureBytes checks the signer's answer and returns r || s || v as TRON writes it. Nodes
// recover the signer's address from the signature, so beyond verifying it the recovery id
// must be 0 or 1 and recover this key. A failure means the signer misbehaved, not that the
// input was wrong, so the errors wrap chains.ErrSignature, not chains.ErrInvalid.
func signatureBytes(key *btcec.PublicKey, digest [32]byte, sig chains.Signature) ([]byte, error) {
	if _, err := chainkey.VerifySecp256k1(Name, key, digest, sig.Sig); err != nil {
		return nil, err
	}
	if sig.RecoveryID != 0 && sig.RecoveryID != 1 {
		return nil, fmt.Errorf("tron: signer returned recovery id %d, want 0 or 1: %w", sig.RecoveryID, chains.ErrSignature)
	}
	compact := append([]byte{27 + 4 + byte(sig.RecoveryID)}, sig.Sig...) // btcec's form: compressed-key header, r, s
	got, _, err := ecdsa.RecoverCompact(compact, digest[:])
	if err != nil || !got.IsEqual(key) {
		return nil, fmt.Errorf("tron: signer's recovery id %d does not recover the key: %w", sig.RecoveryID, chains.ErrSignature)
	}
	return append(append([]byte(nil), sig.Sig...), byte(sig.RecoveryID)), nil
}
