package aptos

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/sha3"

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

	// ed25519Scheme is the authentication key scheme byte of a single Ed25519 key, and also
	// TransactionAuthenticator::Ed25519's variant index.
	ed25519Scheme = 0x00
	// userTransaction is Transaction::UserTransaction's variant index, hashed into the id.
	userTransaction = 0x00
)

// networks are Aptos's networks, the default first, with the chain id each requires; devnet
// (-1) changes its chain id at every reset, so it takes any id but mainnet's and testnet's.
var networks = []struct {
	name    string
	chainID int
}{{"mainnet", 1}, {"testnet", 2}, {"devnet", -1}, {"localnet", 4}}

var (
	rawTransactionPrefix = sha3.Sum256([]byte("APTOS::RawTransaction"))
	transactionPrefix    = sha3.Sum256([]byte("APTOS::Transaction"))
)

// info names Aptos and its networks, in the order of networks.
var info = chainbase.New("aptos", []protocol.Scheme{protocol.SchemeEd25519}, networkNames()...)

// networkNames lists the names of networks, in order.
func networkNames() []string {
	out := make([]string, len(networks))
	for i, n := range networks {
		out[i] = n.name
	}
	return out
}

// Chain is Aptos: single-Ed25519 account addresses, hex BCS RawTransactions (see the package
// doc).
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

// Address is the address of the account whose authentication key is the single Ed25519 key
// pub: sha3-256(pub || 0x00), as long as the key was never rotated.
func Address(pub []byte) ([AddressSize]byte, error) {
	if err := chainkey.CheckEd25519("aptos", pub); err != nil {
		return [AddressSize]byte{}, err
	}
	return sha3.Sum256(append(append([]byte(nil), pub...), ed25519Scheme)), nil
}

// Sign signs a hex BCS RawTransaction whose sender is the key's address and returns the hex
// BCS SignedTransaction with an Ed25519 authenticator.
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
	tx, err := DecodeRawTransaction(raw)
	if err != nil {
		return nil, err
	}
	if tx.Sender != addr {
		return nil, chains.Invalid("aptos: the transaction's sender 0x%x is not the key's address 0x%x", tx.Sender, addr)
	}
	if err := checkChainID(req.Network, tx.ChainID); err != nil {
		return nil, err
	}
	msg := SigningMessage(raw)
	sig, err := s.SignMessage(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("aptos: signing: %w", err)
	}
	if err := chainkey.VerifyEd25519("aptos", pub, msg, sig.Sig); err != nil {
		return nil, err
	}
	signed := SignedTransaction(raw, pub, sig.Sig)
	hash := TransactionHash(signed)
	return &chains.Signed{
		Transaction: "0x" + hex.EncodeToString(signed),
		TxID:        "0x" + hex.EncodeToString(hash[:]),
		Signature:   hex.EncodeToString(sig.Sig),
	}, nil
}

// decodeText decodes the hex text of a transaction, with or without a 0x prefix.
func decodeText(text string) ([]byte, error) {
	return txtext.Hex("aptos", "a BCS RawTransaction", strings.TrimPrefix(text, "0x"))
}

// checkChainID refuses a transaction for another network than the one named (a known one);
// with no network named, the transaction's own chain id stands.
func checkChainID(network string, id uint8) error {
	for _, n := range networks {
		if n.name != network {
			continue
		}
		devnetOK := n.chainID == -1 && id != 1 && id != 2
		if int(id) != n.chainID && !devnetOK {
			return chains.Invalid("aptos: the transaction's chain id %d is not %s's", id, network)
		}
	}
	return nil
}

// SigningMessage is what an Ed25519 key signs for a RawTransaction: the sha3-256 of
// "APTOS::RawTransaction" (the domain separator), then the BCS bytes.
func SigningMessage(raw []byte) []byte {
	return append(append([]byte(nil), rawTransactionPrefix[:]...), raw...)
}

// SignedTransaction is the BCS SignedTransaction: the RawTransaction, then
// TransactionAuthenticator::Ed25519 { public_key, signature }, each a length-prefixed byte
// string. pub and sig must be KeySize and SignatureSize bytes, as Sign checks.
func SignedTransaction(raw, pub, sig []byte) []byte {
	out := append([]byte(nil), raw...)
	out = append(out, ed25519Scheme, KeySize)
	out = append(out, pub...)
	out = append(out, SignatureSize)
	return append(out, sig...)
}

// TransactionHash is the hash explorers show for a signed user transaction:
// sha3-256(sha3-256("APTOS::Transaction") || 0x00 || signed), 0x00 being
// Transaction::UserTransaction.
func TransactionHash(signed []byte) [32]byte {
	h := sha3.New256()
	h.Write(transactionPrefix[:])
	h.Write([]byte{userTransaction})
	h.Write(signed)
	return [32]byte(h.Sum(nil))
}
