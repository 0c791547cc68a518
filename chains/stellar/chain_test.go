package stellar

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

func TestAddressVector(t *testing.T) {
	// go-stellar-sdk v0.7.3 strkey/encode_test.go (TestEncode, "AccountID").
	pub, _ := hex.DecodeString("363eaa3867841fbad0f4ed88c779e4fe66e56a2470dc98c0ec9c073d05c7b103")
	const want = "GA3D5KRYM6CB7OWQ6TWYRR3Z4T7GNZLKERYNZGGA5SOAOPIFY6YQHES5"
	for _, network := range []string{"", "public", "testnet"} {
		if got, err := Chain().Address(protocol.SchemeEd25519, pub, network); err != nil || got != want {
			t.Errorf("network %q: Address = %q, %v; want %q", network, got, err, want)
		}
	}
	chaintest.AddressRefusals(t, Chain(), pub, "futurenet")
}

// hashHexEnvelope and its hash on testnet are from go-stellar-sdk v0.7.3
// txnbuild/transaction_test.go (TestHashHex): a CREATE_ACCOUNT signed by the source.
const (
	hashHexEnvelope = "AAAAAgAAAADg3G3hclysZlFitS+s5zWyiiJD5B0STWy5LXCj6i5yxQAAAGQAIiCNAAAAGgAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAACE4N7avBtJL576CIWTzGCbGPvSlVfMQAOjcYbSsSF2VAAAAAAF9eEAAAAAAAAAAAHqLnLFAAAAQB7MjKIwNEOTIjbEeV+QIjaQp/ZpV5qpbkbDaU54gkfdTOFOUxZq66lTS5FOfP5fmPIVD8InQ00Usy2SmzFC/wc="
	hashHexTestnet  = "1b3905ba8c3c0ecc68ae812f2d77f27c697195e8daf568740fc0f5662f65f759"
)

// TestSignaturePayloadVector checks the payload (the transaction hash) against the SDK's, and
// that the SDK's signature in the envelope verifies over it under the source account's key.
func TestSignaturePayloadVector(t *testing.T) {
	b, _ := base64.StdEncoding.DecodeString(hashHexEnvelope)
	env, err := DecodeEnvelope(b)
	if err != nil {
		t.Fatal(err)
	}
	payload := SignaturePayload(passphrases["testnet"], env.Transaction)
	if got := hex.EncodeToString(payload[:]); got != hashHexTestnet {
		t.Fatalf("payload %s, want %s", got, hashHexTestnet)
	}
	sig := b[len(b)-SignatureSize:]
	if env.Signatures != 1 || !ed25519.Verify(env.SourceAccount[:], payload[:], sig) {
		t.Fatal("the SDK's signature does not verify over the payload")
	}
}

func TestSign(t *testing.T) {
	s := chaintest.Ed25519("stellar")
	me := [KeySize]byte(s.PublicKey())
	id := uint64(0xfeed)
	for _, c := range []struct {
		name, network, passphrase string
		tx                        testTx
	}{
		{"public by default", "", "Public Global Stellar Network ; September 2015", testTx{source: me, nOps: 1, ops: payment(me)}},
		{"testnet", "testnet", "Test SDF Network ; September 2015", testTx{source: me, nOps: 1, ops: payment(me)}},
		{"muxed source, Soroban", "public", "Public Global Stellar Network ; September 2015", sorobanTx(me, &id)},
	} {
		t.Run(c.name, func(t *testing.T) {
			signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: c.tx.base64(), Network: c.network})
			if err != nil {
				t.Fatal(err)
			}
			got, err := base64.StdEncoding.DecodeString(signed.Transaction)
			if err != nil {
				t.Fatal(err)
			}
			tx := c.tx.encode()
			want := &xdrWriter{}
			want.u32(2).raw(tx).u32(1).raw(me[KeySize-4:]).u32(64)
			if !bytes.HasPrefix(got, *want) || len(got) != len(*want)+SignatureSize {
				t.Fatalf("signed envelope is not the transaction with one decorated signature: %x", got)
			}
			network := sha256.Sum256([]byte(c.passphrase))
			payload := sha256.Sum256(append(binary.BigEndian.AppendUint32(network[:], 2), tx...))
			sig := got[len(*want):]
			if !ed25519.Verify(me[:], payload[:], sig) {
				t.Fatal("the signature does not verify over the signature payload")
			}
			if signed.TxID != hex.EncodeToString(payload[:]) || signed.Signature != hex.EncodeToString(sig) {
				t.Fatalf("TxID %s, Signature %s", signed.TxID, signed.Signature)
			}
			if env, err := DecodeEnvelope(got); err != nil || env.Signatures != 1 {
				t.Fatalf("the signed envelope does not decode with one signature: %v", err)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	s := chaintest.Ed25519("stellar")
	me := [KeySize]byte(s.PublicKey())
	mine := testTx{source: me, nOps: 1, ops: payment(me)}
	theirs := testTx{source: sha256.Sum256([]byte("someone else")), nOps: 1, ops: payment(me)}
	signedOnce, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: mine.base64()})
	if err != nil {
		t.Fatal(err)
	}
	feeBump := append(binary.BigEndian.AppendUint32(nil, 5), mine.envelope()[4:]...)
	v0 := append(binary.BigEndian.AppendUint32(nil, 0), mine.envelope()[4:]...)
	for name, req := range map[string]chains.SignRequest{
		"source is another account": {Transaction: theirs.base64()},
		"already signed":            {Transaction: signedOnce.Transaction},
		"unknown network":           {Transaction: mine.base64(), Network: "futurenet"},
		"fee-bump envelope":         {Transaction: base64.StdEncoding.EncodeToString(feeBump)},
		"v0 envelope":               {Transaction: base64.StdEncoding.EncodeToString(v0)},
		"garbage":                   {Transaction: base64.StdEncoding.EncodeToString([]byte("garbage!"))},
		"empty":                     {Transaction: ""},
		"trailing bytes":            {Transaction: base64.StdEncoding.EncodeToString(append(mine.envelope(), 0, 0, 0, 0))},
		"not base64":                {Transaction: "!!!!"},
		"larger than any text":      {Transaction: strings.Repeat("A", chains.MaxTransactionBytes+4)},
	} {
		t.Run(name, func(t *testing.T) { chaintest.SignRefused(t, Chain(), s, req) })
	}
	t.Run("secp256k1 key", func(t *testing.T) {
		chaintest.SignRefused(t, Chain(), chaintest.Secp256k1("stellar"), chains.SignRequest{Transaction: mine.base64()}, "does not use")
	})
	t.Run("tampered signature", func(t *testing.T) {
		chaintest.SignTampered(t, Chain(), chaintest.Ed25519("stellar"), chains.SignRequest{Transaction: mine.base64()})
	})
}
