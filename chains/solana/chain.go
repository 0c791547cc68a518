package solana

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainbase"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainkey"
	"github.com/mpcsigner/mpcsigner/chains/internal/txtext"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// info names Solana and its public clusters, the default first. The signed bytes do not
// depend on the cluster.
var info = chainbase.New("solana", []protocol.Scheme{protocol.SchemeEd25519}, "mainnet-beta", "devnet", "testnet")

// Chain is Solana: base58 addresses and base64 wire transactions (see the package doc).
func Chain() chains.Chain { return chain{info} }

type chain struct{ chainbase.Info }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if _, err := chainbase.Check(c, scheme, network); err != nil {
		return "", err
	}
	return Address(pub)
}

// Address is the Solana address of an Ed25519 public key: its base58 encoding (Bitcoin's
// alphabet).
func Address(pub []byte) (string, error) {
	if err := chainkey.CheckEd25519("solana", pub); err != nil {
		return "", err
	}
	return base58.Encode(pub), nil
}

// Sign signs the message of a base64 wire transaction with s, whose key must be one of the
// transaction's signers and whose signature slot must still be empty.
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if _, err := chainbase.Check(c, s.Scheme(), req.Network); err != nil {
		return nil, err
	}
	pub := s.PublicKey()
	if err := chainkey.CheckEd25519("solana", pub); err != nil {
		return nil, err
	}
	tx, err := decodeText(req.Transaction)
	if err != nil {
		return nil, err
	}
	slot, ok := tx.SignerIndex([KeySize]byte(pub))
	if !ok {
		return nil, chains.Invalid("solana: the key's address %s is not one of the transaction's %d signers", base58.Encode(pub), tx.Header.NumRequiredSignatures)
	}
	if tx.Signatures[slot] != ([SignatureSize]byte{}) {
		return nil, chains.Invalid("solana: signature slot %d of the key's address %s is already filled", slot, base58.Encode(pub))
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
	wire, err := txtext.Base64("solana", "a wire transaction", text)
	if err != nil {
		return nil, err
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
	if err := chainkey.VerifyEd25519("solana", pub, msg, sig.Sig); err != nil {
		return [SignatureSize]byte{}, err
	}
	return [SignatureSize]byte(sig.Sig), nil
}

// txID is the base58 of the first signature, or "" while that slot is empty: until the fee
// payer signs, the transaction has no id.
func txID(tx *Transaction) string {
	if tx.Signatures[0] == ([SignatureSize]byte{}) {
		return ""
	}
	return base58.Encode(tx.Signatures[0][:])
}
