package cosmos

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Name is the chain's name in the API and the CLI.
const Name = "cosmos"

// Chain returns the Cosmos SDK chain.
func Chain() chains.Chain { return chain{} }

type chain struct{}

func (chain) Name() string { return Name }

func (chain) Schemes() []protocol.Scheme {
	return []protocol.Scheme{protocol.SchemeECDSASecp256k1}
}

// Networks lists common bech32 prefixes, DefaultPrefix first. Address and Sign accept any
// valid prefix, not only these (see the package doc).
func (chain) Networks() []string { return append([]string(nil), commonPrefixes...) }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if err := chains.CheckScheme(c, scheme); err != nil {
		return "", err
	}
	prefix, err := prefixFor(network)
	if err != nil {
		return "", err
	}
	if _, err := parseKey(pub); err != nil {
		return "", err
	}
	return encodeAddress(prefix, pub)
}

// Sign signs a SIGN_MODE_DIRECT SignDoc (see the package doc). The network is checked but does
// not change what is signed: the SignDoc names its chain.
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if err := chains.CheckScheme(c, s.Scheme()); err != nil {
		return nil, err
	}
	if _, err := prefixFor(req.Network); err != nil {
		return nil, err
	}
	pub := s.PublicKey()
	key, err := parseKey(pub)
	if err != nil {
		return nil, err
	}
	doc, signBytes, err := decodeRequest(req.Transaction)
	if err != nil {
		return nil, err
	}
	if err := checkSigner(doc.authInfoBytes, pub); err != nil {
		return nil, err
	}
	digest := sha256.Sum256(signBytes)
	sig, err := s.SignDigest(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("cosmos: signing: %w", err)
	}
	if err := verify(key, digest, sig.Sig); err != nil {
		return nil, err
	}
	tx := doc.txRaw(sig.Sig)
	id := sha256.Sum256(tx)
	return &chains.Signed{
		Transaction: base64.StdEncoding.EncodeToString(tx),
		TxID:        strings.ToUpper(hex.EncodeToString(id[:])),
		Signature:   hex.EncodeToString(sig.Sig),
	}, nil
}
