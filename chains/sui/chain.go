package sui

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/base58"
	"golang.org/x/crypto/blake2b"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainbase"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainkey"
	"github.com/mpcsigner/mpcsigner/chains/internal/txtext"
	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// KeySize and SignatureSize are Ed25519's.
	KeySize       = ed25519.PublicKeySize
	SignatureSize = ed25519.SignatureSize

	// ed25519Flag is the signature scheme flag of Ed25519, which prefixes both the key hashed
	// into an address and a serialized signature.
	ed25519Flag = 0x00
)

// transactionIntent is Intent { scope: TransactionData (0), version: V0 (0), app_id: Sui (0) }.
var transactionIntent = [3]byte{0, 0, 0}

// info names Sui and its public networks, the default first. The signed bytes do not depend
// on the network (a ValidDuring expiration names its chain inside the transaction).
var info = chainbase.New("sui", []protocol.Scheme{protocol.SchemeEd25519}, "mainnet", "testnet", "devnet", "localnet")

// Chain is Sui: blake2b addresses and base64 BCS TransactionData (see the package doc).
func Chain() chains.Chain { return chain{info} }

type chain struct{ chainbase.Info }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if _, err := chainbase.Check(c, scheme, network); err != nil {
		return "", err
	}
	addr, err := Address(pub)
	if err != nil {
		return "", err
	}
	return "0x" + hex.EncodeToString(addr[:]), nil
}

// Address is the Sui address of an Ed25519 public key: blake2b-256(0x00 || pub).
func Address(pub []byte) ([AddressSize]byte, error) {
	if err := chainkey.CheckEd25519("sui", pub); err != nil {
		return [AddressSize]byte{}, err
	}
	return blake2b.Sum256(append([]byte{ed25519Flag}, pub...)), nil
}

// Sign signs base64 BCS TransactionData whose sender is the key's address. The signed
// transaction is the same bytes; the signature is the serialized Sui signature in hex.
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if _, err := chainbase.Check(c, s.Scheme(), req.Network); err != nil {
		return nil, err
	}
	pub := s.PublicKey()
	addr, err := Address(pub)
	if err != nil {
		return nil, err
	}
	raw, err := decodeText(req.Transaction)
	if err != nil {
		return nil, err
	}
	tx, err := DecodeTransactionData(raw)
	if err != nil {
		return nil, err
	}
	if tx.Sender != addr {
		return nil, chains.Invalid("sui: the transaction's sender 0x%x is not the key's address 0x%x", tx.Sender, addr)
	}
	digest := SigningDigest(raw)
	sig, err := s.SignDigest(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("sui: signing: %w", err)
	}
	if err := chainkey.VerifyEd25519("sui", pub, digest[:], sig.Sig); err != nil {
		return nil, err
	}
	id := TransactionDigest(raw)
	return &chains.Signed{
		Transaction: req.Transaction,
		TxID:        base58.Encode(id[:]),
		Signature:   hex.EncodeToString(SerializedSignature(sig.Sig, pub)),
	}, nil
}

// decodeText decodes the base64 text of a transaction.
func decodeText(text string) ([]byte, error) {
	return txtext.Base64("sui", "BCS TransactionData", text)
}

// SigningDigest is what an Ed25519 key signs for a transaction: blake2b-256 of the intent
// message, the transaction intent followed by the BCS TransactionData.
func SigningDigest(tx []byte) [32]byte {
	h, _ := blake2b.New256(nil) // only a key longer than 64 bytes is an error
	h.Write(transactionIntent[:])
	h.Write(tx)
	return [32]byte(h.Sum(nil))
}

// TransactionDigest is the transaction's digest as explorers show it (in base58):
// blake2b-256("TransactionData::" || BCS TransactionData).
func TransactionDigest(tx []byte) [32]byte {
	h, _ := blake2b.New256(nil)
	h.Write([]byte("TransactionData::"))
	h.Write(tx)
	return [32]byte(h.Sum(nil))
}

// SerializedSignature is the Sui signature of an Ed25519 key: flag || signature || public key
// (sig and pub must be SignatureSize and KeySize bytes, as Sign checks).
func SerializedSignature(sig, pub []byte) []byte {
	return append(append([]byte{ed25519Flag}, sig...), pub...)
}
