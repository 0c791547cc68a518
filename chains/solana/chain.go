package solana

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// networks are Solana's public clusters, the default first. The signed bytes do not depend
// on them.
var networks = []string{"mainnet-beta", "devnet", "testnet"}

// Chain is Solana: base58 addresses and base64 wire transactions (see the package doc).
func Chain() chains.Chain { return chain{} }

type chain struct{}

func (chain) Name() string               { return "solana" }
func (chain) Schemes() []protocol.Scheme { return []protocol.Scheme{protocol.SchemeEd25519} }
func (chain) Networks() []string         { return append([]string(nil), networks...) }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if err := chains.CheckScheme(c, scheme); err != nil {
		return "", err
	}
	if _, err := chains.CheckNetwork(c, network); err != nil {
		return "", err
	}
	return Address(pub)
}

// Address is the Solana address of an Ed25519 public key: its base58 encoding.
func Address(pub []byte) (string, error) {
	if len(pub) != KeySize {
		return "", chains.Invalid("solana: public key is %d bytes, want %d", len(pub), KeySize)
	}
	return base58(pub), nil
}

// Sign signs the message of a base64 wire transaction with s, whose key must be one of the
// transaction's signers and whose signature slot must still be empty.
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if err := chains.CheckScheme(c, s.Scheme()); err != nil {
		return nil, err
	}
	if _, err := chains.CheckNetwork(c, req.Network); err != nil {
		return nil, err
	}
	pub := s.PublicKey()
	if len(pub) != KeySize {
		return nil, chains.Invalid("solana: public key is %d bytes, want %d", len(pub), KeySize)
	}
	tx, err := decodeText(req.Transaction)
	if err != nil {
		return nil, err
	}
	slot, ok := tx.SignerIndex([KeySize]byte(pub))
	if !ok {
		return nil, chains.Invalid("solana: the key's address %s is not one of the transaction's %d signers", base58(pub), tx.Header.NumRequiredSignatures)
	}
	if tx.Signatures[slot] != ([SignatureSize]byte{}) {
		return nil, chains.Invalid("solana: signature slot %d of the key's address %s is already filled", slot, base58(pub))
	}
	sig, err := signMessage(ctx, s, pub, tx.Message)
	if err != nil {
		return nil, err
	}
	tx.Signatures[slot] = sig
	return &chains.Signed{
		Transaction: base64.StdEncoding.EncodeToString(tx.Encode()),
		TxID:        txID(tx),
		Signature:   hex.EncodeToString(sig[:]),
	}, nil
}

// decodeText decodes the base64 text of a wire transaction.
func decodeText(text string) (*Transaction, error) {
	if len(text) > chains.MaxTransactionBytes {
		return nil, chains.Invalid("solana: transaction text is %d bytes, more than %d", len(text), chains.MaxTransactionBytes)
	}
	wire, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil {
		return nil, chains.Invalid("solana: transaction is not standard padded base64: %v", err)
	}
	return DecodeTransaction(wire)
}

// signMessage has s sign msg and returns the signature only if it verifies under pub, so
// that a misbehaving signer produces an error, never a transaction the chain would refuse.
func signMessage(ctx context.Context, s chains.Signer, pub, msg []byte) ([SignatureSize]byte, error) {
	sig, err := s.SignMessage(ctx, msg)
	if err != nil {
		return [SignatureSize]byte{}, fmt.Errorf("solana: signing: %w", err)
	}
	if len(sig.Sig) != SignatureSize || !ed25519.Verify(pub, msg, sig.Sig) {
		return [SignatureSize]byte{}, errors.New("solana: the signer's signature does not verify under the key")
	}
	return [SignatureSize]byte(sig.Sig), nil
}

// txID is the base58 of the first signature, or "" while that slot is empty: until the fee
// payer signs, the transaction has no id.
func txID(tx *Transaction) string {
	if tx.Signatures[0] == ([SignatureSize]byte{}) {
		return ""
	}
	return base58(tx.Signatures[0][:])
}
