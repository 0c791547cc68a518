package tron

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainbase"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainkey"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Name is the chain's name in the API and the CLI.
const Name = "tron"

// info's networks are TRON's mainnet and its public testnets; addresses and signatures are
// the same on all of them.
var info = chainbase.New(Name, []protocol.Scheme{protocol.SchemeECDSASecp256k1}, "mainnet", "shasta", "nile")

// Chain returns TRON.
func Chain() chains.Chain { return chain{info} }

type chain struct{ chainbase.Info }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if _, err := chainbase.Check(c, scheme, network); err != nil {
		return "", err
	}
	key, err := chainkey.ParseSecp256k1(Name, pub)
	if err != nil {
		return "", err
	}
	return encodeAddress(addressBytes(key)), nil
}

// Sign signs an unsigned Transaction whose contract the key owns (see the package doc).
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if _, err := chainbase.Check(c, s.Scheme(), req.Network); err != nil {
		return nil, err
	}
	key, err := chainkey.ParseSecp256k1(Name, s.PublicKey())
	if err != nil {
		return nil, err
	}
	tx, err := decodeRequest(req.Transaction)
	if err != nil {
		return nil, err
	}
	if addr := addressBytes(key); !bytes.Equal(tx.owner, addr) {
		return nil, chains.Invalid("tron: the contract's owner_address is %s, not this key's address %s", encodeAddress(tx.owner), encodeAddress(addr))
	}
	txid := sha256.Sum256(tx.raw)
	sig, err := s.SignDigest(ctx, txid)
	if err != nil {
		return nil, fmt.Errorf("tron: signing: %w", err)
	}
	rsv, err := signatureBytes(key, txid, sig)
	if err != nil {
		return nil, err
	}
	return &chains.Signed{
		Transaction: hex.EncodeToString(encodeSigned(tx.raw, rsv)),
		TxID:        hex.EncodeToString(txid[:]),
		Signature:   hex.EncodeToString(rsv),
	}, nil
}
