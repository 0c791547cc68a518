package stellar

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainbase"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainkey"
	"github.com/mpcsigner/mpcsigner/chains/internal/txtext"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// info names Stellar and the networks Sign knows, the default first; passphrases are their
// network passphrases, which the signature payload hashes.
var (
	info        = chainbase.New("stellar", []protocol.Scheme{protocol.SchemeEd25519}, "public", "testnet")
	passphrases = map[string]string{
		"public":  "Public Global Stellar Network ; September 2015",
		"testnet": "Test SDF Network ; September 2015",
	}
)

// Chain is Stellar: StrKey account ids and base64 XDR transaction envelopes (see the package
// doc).
func Chain() chains.Chain { return chain{info} }

type chain struct{ chainbase.Info }

func (c chain) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if _, err := chainbase.Check(c, scheme, network); err != nil {
		return "", err
	}
	return Address(pub)
}

// Address is the StrKey account id (G...) of an ed25519 public key.
func Address(pub []byte) (string, error) {
	if err := chainkey.CheckEd25519("stellar", pub); err != nil {
		return "", err
	}
	return strKey(pub), nil
}

// Sign signs a base64 XDR v1 envelope with no signatures whose source account is the key,
// and returns the envelope with the key's DecoratedSignature.
func (c chain) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	network, err := chainbase.Check(c, s.Scheme(), req.Network)
	if err != nil {
		return nil, err
	}
	pub := s.PublicKey()
	if err := chainkey.CheckEd25519("stellar", pub); err != nil {
		return nil, err
	}
	env, err := decodeText(req.Transaction)
	if err != nil {
		return nil, err
	}
	if env.Signatures != 0 {
		return nil, chains.Invalid("stellar: the envelope already has %d signatures; send it with none", env.Signatures)
	}
	if env.SourceAccount != [KeySize]byte(pub) {
		return nil, chains.Invalid("stellar: the transaction's source account %s is not the key's %s", strKey(env.SourceAccount[:]), strKey(pub))
	}
	payload := SignaturePayload(passphrases[network], env.Transaction)
	sig, err := s.SignDigest(ctx, payload)
	if err != nil {
		return nil, fmt.Errorf("stellar: signing: %w", err)
	}
	if err := chainkey.VerifyEd25519("stellar", pub, payload[:], sig.Sig); err != nil {
		return nil, err
	}
	return &chains.Signed{
		Transaction: base64.StdEncoding.EncodeToString(SignedEnvelope(env.Transaction, pub, sig.Sig)),
		TxID:        hex.EncodeToString(payload[:]),
		Signature:   hex.EncodeToString(sig.Sig),
	}, nil
}

// decodeText decodes the base64 text of an envelope.
func decodeText(text string) (*Envelope, error) {
	b, err := txtext.Base64("stellar", "an XDR transaction envelope", text)
	if err != nil {
		return nil, err
	}
	return DecodeEnvelope(b)
}

// SignaturePayload is the hash a key signs for a transaction on a network, which is also the
// transaction's hash: sha256 of the XDR TransactionSignaturePayload, that is
// sha256(passphrase) || ENVELOPE_TYPE_TX || the Transaction's XDR.
func SignaturePayload(passphrase string, tx []byte) [32]byte {
	networkID := sha256.Sum256([]byte(passphrase))
	h := sha256.New()
	h.Write(networkID[:])
	h.Write(binary.BigEndian.AppendUint32(nil, envelopeTypeTx))
	h.Write(tx)
	return [32]byte(h.Sum(nil))
}

// SignedEnvelope is the TransactionEnvelope of tx with one DecoratedSignature: the last four
// bytes of the key as its hint, then the signature. pub and sig must be KeySize and
// SignatureSize bytes, as Sign checks.
func SignedEnvelope(tx, pub, sig []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, envelopeTypeTx)
	out = append(out, tx...)
	out = binary.BigEndian.AppendUint32(out, 1)
	out = append(out, pub[KeySize-4:]...)
	out = binary.BigEndian.AppendUint32(out, SignatureSize)
	return append(out, sig...)
}
