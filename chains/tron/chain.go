package tron

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Name is the chain's name in the API and the CLI.
const Name = "tron"

// Chain returns TRON.
func Chain() chains.Chain { return chain{} }

type chain struct{}

func (chain) Name() string { return Name }

func (chain) Schemes() []protocol.Scheme {
	return []protocol.Scheme{protocol.SchemeECDSASecp256k1}
}

// Networks are TRON's mainnet and its public testnets; addresses and signatures are the same
// on all of them.
func (chain) Networks() []string { return []string{"mainnet", "shasta", "nile"} }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if err := chains.CheckScheme(c, scheme); err != nil {
		return "", err
	}
	if _, err := chains.CheckNetwork(c, network); err != nil {
		return "", err
	}
	key, err := parseKey(pub)
	if err != nil {
		return "", err
	}
	return encodeAddress(addressBytes(key)), nil
}

// Sign signs an unsigned Transaction whose contract the key owns (see the package doc).
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if err := chains.CheckScheme(c, s.Scheme()); err != nil {
		return nil, err
	}
	if _, err := chains.CheckNetwork(c, req.Network); err != nil {
		return nil, err
	}
	key, err := parseKey(s.PublicKey())
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
