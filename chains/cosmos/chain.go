package cosmos

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainbase"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainkey"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Name is the chain's name in the API and the CLI.
const Name = "cosmos"

// info's networks are common bech32 prefixes, DefaultPrefix first. Address and Sign accept any
// valid prefix, not only these (see the package doc), so they check the network with
// prefixFor, not chainbase.Check.
var info = chainbase.New(Name, []protocol.Scheme{protocol.SchemeECDSASecp256k1}, commonPrefixes...)

// Chain returns the Cosmos SDK chain.
func Chain() chains.Chain { return chain{info} }

type chain struct{ chainbase.Info }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if err := chains.CheckScheme(c, scheme); err != nil {
		return "", err
	}
	prefix, err := prefixFor(network)
	if err != nil {
		return "", err
	}
	if _, err := chainkey.ParseSecp256k1(Name, pub); err != nil {
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
	key, err := chainkey.ParseSecp256k1(Name, pub)
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
	// Checked as the SDK checks it before it is returned, low s included: the SDK refuses the
	// malleable high-s twin.
	if _, err := chainkey.VerifySecp256k1(Name, key, digest, sig.Sig); err != nil {
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
