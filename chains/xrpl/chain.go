package xrpl

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Name is the chain's name in the API and the CLI.
const Name = "xrpl"

// Hash prefixes (rippled include/xrpl/protocol/HashPrefix.h).
var (
	prefixTxSign = []byte{'S', 'T', 'X', 0} // single-signing data
	prefixTxID   = []byte{'T', 'X', 'N', 0} // transaction id
)

// Chain returns the XRP Ledger.
func Chain() chains.Chain { return chain{} }

type chain struct{}

func (chain) Name() string { return Name }

func (chain) Schemes() []protocol.Scheme {
	return []protocol.Scheme{protocol.SchemeECDSASecp256k1}
}

// Networks are the XRP Ledger's mainnet and public test networks; addresses and signing are
// the same on all of them.
func (chain) Networks() []string { return []string{"mainnet", "testnet", "devnet"} }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if err := chains.CheckScheme(c, scheme); err != nil {
		return "", err
	}
	if _, err := chains.CheckNetwork(c, network); err != nil {
		return "", err
	}
	if _, err := parseKey(pub); err != nil {
		return "", err
	}
	return encodeAddress(accountID(pub)), nil
}

// Sign signs a transaction whose Account and SigningPubKey are the key's (see the package doc).
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if err := chains.CheckScheme(c, s.Scheme()); err != nil {
		return nil, err
	}
	if _, err := chains.CheckNetwork(c, req.Network); err != nil {
		return nil, err
	}
	pub := s.PublicKey()
	key, err := parseKey(pub)
	if err != nil {
		return nil, err
	}
	tx, fields, err := decodeRequest(req.Transaction)
	if err != nil {
		return nil, err
	}
	if err := checkSigner(fields, pub); err != nil {
		return nil, err
	}
	digest := sha512Half(prefixTxSign, tx)
	sig, err := s.SignDigest(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("xrpl: signing: %w", err)
	}
	der, err := derSignature(key, digest, sig.Sig)
	if err != nil {
		return nil, err
	}
	signed := insertSignature(tx, fields, der)
	id := sha512Half(prefixTxID, signed)
	return &chains.Signed{
		Transaction: strings.ToUpper(hex.EncodeToString(signed)),
		TxID:        strings.ToUpper(hex.EncodeToString(id[:])),
		Signature:   strings.ToUpper(hex.EncodeToString(der)),
	}, nil
}

// decodeRequest decodes the hex text of a transaction and walks it.
func decodeRequest(text string) ([]byte, []topField, error) {
	if len(text) > chains.MaxTransactionBytes {
		return nil, nil, chains.Invalid("xrpl: transaction is %d characters, more than the %d allowed", len(text), chains.MaxTransactionBytes)
	}
	tx, err := hex.DecodeString(text)
	if err != nil {
		return nil, nil, chains.Invalid("xrpl: transaction is not hex of the binary format: %v", err)
	}
	fields, err := parseTransaction(tx)
	if err != nil {
		return nil, nil, err
	}
	return tx, fields, nil
}

// checkSigner checks that the transaction is one and that the key signs it alone: Account is
// the key's account and SigningPubKey the key.
func checkSigner(fields []topField, pub []byte) error {
	var txType, account, signingKey []byte
	for _, f := range fields {
		switch f.id {
		case fieldTransactionType:
			txType = f.value
		case fieldAccount:
			account = f.value
		case fieldSigningPubKey:
			signingKey = f.value
		}
	}
	ours := accountID(pub)
	switch {
	case txType == nil:
		return chains.Invalid("xrpl: no TransactionType: not a transaction")
	case account == nil:
		return chains.Invalid("xrpl: no Account")
	case !bytes.Equal(account, ours):
		return chains.Invalid("xrpl: Account is %s, not this key's account %s", encodeAddress(account), encodeAddress(ours))
	case len(signingKey) == 0:
		return chains.Invalid("xrpl: SigningPubKey is empty (multi-signing), want this key %X", pub)
	case !bytes.Equal(signingKey, pub):
		return chains.Invalid("xrpl: SigningPubKey is %X, not this key %X", signingKey, pub)
	}
	return nil
}

// insertSignature returns tx with TxnSignature (a 1-byte-length blob: DER is at most 72
// bytes) before the first top-level field that sorts after it.
func insertSignature(tx []byte, fields []topField, der []byte) []byte {
	at := len(tx)
	for _, f := range fields {
		if fieldTxnSignature.before(f.id) {
			at = f.start
			break
		}
	}
	field := append([]byte{byte(fieldTxnSignature.typ<<4 | fieldTxnSignature.nth), byte(len(der))}, der...)
	out := make([]byte, 0, len(tx)+len(field))
	out = append(out, tx[:at]...)
	out = append(out, field...)
	return append(out, tx[at:]...)
}

// sha512Half is the first half of SHA-512 of prefix || data, the ledger's hash.
func sha512Half(prefix, data []byte) [32]byte {
	h := sha512.New()
	h.Write(prefix)
	h.Write(data)
	return [32]byte(h.Sum(nil)[:32])
}
