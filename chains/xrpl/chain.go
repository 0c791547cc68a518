package xrpl

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainbase"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainkey"
	"github.com/mpcsigner/mpcsigner/chains/internal/txtext"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Name is the chain's name in the API and the CLI.
const Name = "xrpl"

// Hash prefixes (rippled include/xrpl/protocol/HashPrefix.h).
var (
	prefixTxSign = []byte{'S', 'T', 'X', 0} // single-signing data
	prefixTxID   = []byte{'T', 'X', 'N', 0} // transaction id
)

// info's networks are the XRP Ledger's mainnet and public test networks; addresses and
// signing are the same on all of them.
var info = chainbase.New(Name, []protocol.Scheme{protocol.SchemeECDSASecp256k1}, "mainnet", "testnet", "devnet")

// Chain returns the XRP Ledger.
func Chain() chains.Chain { return chain{info} }

type chain struct{ chainbase.Info }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if _, err := chainbase.Check(c, scheme, network); err != nil {
		return "", err
	}
	if _, err := chainkey.ParseSecp256k1(Name, pub); err != nil {
		return "", err
	}
	return encodeAddress(accountID(pub)), nil
}

// Sign signs a transaction whose Account and SigningPubKey are the key's (see the package doc).
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if _, err := chainbase.Check(c, s.Scheme(), req.Network); err != nil {
		return nil, err
	}
	pub := s.PublicKey()
	key, err := chainkey.ParseSecp256k1(Name, pub)
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
	// The ledger accepts only fully canonical signatures: low s, in the DER TxnSignature holds.
	parsed, err := chainkey.VerifySecp256k1(Name, key, digest, sig.Sig)
	if err != nil {
		return nil, err
	}
	der := parsed.Serialize()
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
	tx, err := txtext.Hex("xrpl", "the binary format", text)
	if err != nil {
		return nil, nil, err
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
