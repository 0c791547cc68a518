package solana

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/base58"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

func TestBase58Vectors(t *testing.T) {
	// From draft-msporny-base58-03, section 5 (test vectors): btcutil's encoder, which the
	// package uses, is exactly the Bitcoin-alphabet base58 Solana uses.
	for in, want := range map[string]string{
		"Hello World!": "2NEpo7TZRRrLZSi2U",
		"The quick brown fox jumps over the lazy dog.": "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z",
		"\x00\x00\x28\x7f\xb4\xcd":                     "11233QC4",
		"":                                             "",
	} {
		if got := base58.Encode([]byte(in)); got != want {
			t.Errorf("base58.Encode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAddressVectors(t *testing.T) {
	for _, c := range []struct{ pubHex, want, source string }{
		{strings.Repeat("00", 32), "11111111111111111111111111111111", "the System Program id"},
		{"0102030405060102030405060102030405060102030405060102030405060101", "4wBqpZM9msxygzsdeLPq6Zw3LoiAxJk3GjtKPpqkcsi", "solana-go v1.14.0 keys_test.go TestPublicKeyFromBytes"},
	} {
		pub, _ := hex.DecodeString(c.pubHex)
		got, err := Chain().Address(protocol.SchemeEd25519, pub, "")
		if err != nil || got != c.want {
			t.Errorf("%s: Address = %q, %v; want %q", c.source, got, err, c.want)
		}
	}
	chaintest.AddressRefusals(t, Chain(), make([]byte, 32), "localnet")
}

func TestSign(t *testing.T) {
	s := chaintest.Ed25519("solana")
	me := [KeySize]byte(s.PublicKey())
	other := testKey("co-signer")
	cases := []struct {
		name    string
		msg     testMessage
		slot    int
		network string
		hasID   bool
	}{
		{"legacy, fee payer", transfer(false, me), 0, "", true},
		{"v0, fee payer", transfer(true, me), 0, "devnet", true},
		{"legacy, second signer", transfer(false, other, me), 1, "mainnet-beta", false},
		{"v0, second signer", transfer(true, other, me), 1, "testnet", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: c.msg.base64(), Network: c.network})
			if err != nil {
				t.Fatal(err)
			}
			wire, err := base64.StdEncoding.DecodeString(signed.Transaction)
			if err != nil {
				t.Fatal(err)
			}
			msg := c.msg.encode()
			n := len(c.msg.keys[:c.msg.header[0]])
			prefix := 1 // a compact-u16 under 128 is one byte
			if !bytes.Equal(wire[prefix+SignatureSize*n:], msg) {
				t.Fatal("the signed transaction's message differs from the unsigned one's")
			}
			sig := wire[prefix+SignatureSize*c.slot : prefix+SignatureSize*(c.slot+1)]
			if !ed25519.Verify(s.PublicKey(), msg, sig) {
				t.Fatal("the signature does not verify over the message")
			}
			for i := range n {
				if i != c.slot && !bytes.Equal(wire[prefix+SignatureSize*i:prefix+SignatureSize*(i+1)], make([]byte, SignatureSize)) {
					t.Fatalf("slot %d changed", i)
				}
			}
			if signed.Signature != hex.EncodeToString(sig) {
				t.Fatalf("Signature = %s, want the slot's %x", signed.Signature, sig)
			}
			if wantID := base58.Encode(sig); c.hasID && signed.TxID != wantID || !c.hasID && signed.TxID != "" {
				t.Fatalf("TxID = %q (fee payer signed: %v)", signed.TxID, c.hasID)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	s := chaintest.Ed25519("solana")
	me := [KeySize]byte(s.PublicKey())
	good := transfer(false, me)

	notSigner := good
	notSigner.keys = [][KeySize]byte{testKey("payer"), me, {}}
	notSigner.header = [3]byte{1, 0, 1}

	filled := good.wire()
	filled[1] = 1 // a byte of slot 0

	twoSlots := append([]byte{2}, make([]byte, SignatureSize)...)
	twoSlots = append(twoSlots, good.wire()[1:]...)

	v1 := good
	v1.v0 = true
	v1Wire := good.wire()
	v1Wire = append(v1Wire[:1+SignatureSize], append([]byte{versionPrefix | 1}, v1Wire[1+SignatureSize:]...)...)

	tooBig := bytes.Repeat([]byte{'A'}, 4*(MaxTransactionBytes/3+1))

	for name, text := range map[string]string{
		"key is not in the transaction":       transfer(false, testKey("someone else")).base64(),
		"key is an account but not a signer":  notSigner.base64(),
		"key's slot is already filled":        base64.StdEncoding.EncodeToString(filled),
		"garbage":                             base64.StdEncoding.EncodeToString([]byte("garbage that is not a transaction")),
		"empty":                               "",
		"trailing bytes":                      base64.StdEncoding.EncodeToString(append(good.wire(), 0)),
		"truncated":                           base64.StdEncoding.EncodeToString(good.wire()[:100]),
		"more slots than required signatures": base64.StdEncoding.EncodeToString(twoSlots),
		"message version 1":                   base64.StdEncoding.EncodeToString(v1Wire),
		"not base64":                          "!!!!",
		"unpadded base64":                     strings.TrimRight(good.base64(), "="),
		"larger than a packet":                string(tooBig),
		"larger than any transaction text":    strings.Repeat("A", chains.MaxTransactionBytes+4),
	} {
		t.Run(name, func(t *testing.T) { chaintest.SignRefused(t, Chain(), s, chains.SignRequest{Transaction: text}) })
	}
	t.Run("unknown network", func(t *testing.T) {
		chaintest.SignRefused(t, Chain(), s, chains.SignRequest{Transaction: good.base64(), Network: "localnet"}, "no network")
	})
	t.Run("secp256k1 key", func(t *testing.T) {
		chaintest.SignRefused(t, Chain(), chaintest.Secp256k1("solana"), chains.SignRequest{Transaction: good.base64()}, "does not use")
	})
	t.Run("tampered signature", func(t *testing.T) {
		chaintest.SignTampered(t, Chain(), chaintest.Ed25519("solana"), chains.SignRequest{Transaction: good.base64()})
	})
}
