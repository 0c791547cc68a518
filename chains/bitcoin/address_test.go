package bitcoin

import (
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// Key-path-only taproot outputs: BIP341's wallet test vectors ("scriptPubKey"[0], the one
// entry with no script tree) and BIP86's three test addresses (bitcoin/bips
// bip-0341/wallet-test-vectors.json, bip-0086.mediawiki).
var taprootKeyPathVectors = []struct {
	source, internalKey, outputKey, scriptPubKey, address string
}{
	{"BIP341 scriptPubKey[0]",
		"d6889cb081036e0faefa3a35157ad71086b123b2b144b649798b494c300a961d",
		"53a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343",
		"512053a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343",
		"bc1p2wsldez5mud2yam29q22wgfh9439spgduvct83k3pm50fcxa5dps59h4z5"},
	{"BIP86 m/86'/0'/0'/0/0",
		"cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115",
		"a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
		"5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
		"bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"},
	{"BIP86 m/86'/0'/0'/0/1",
		"83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145",
		"a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb",
		"5120a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb",
		"bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh"},
	{"BIP86 m/86'/0'/0'/1/0",
		"399f1b2f4393f29a18c937859c5dd8a77350103157eb880f02e8c08214277cef",
		"882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc",
		"5120882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc",
		"bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7"},
}

func TestTaprootKeyPathVectors(t *testing.T) {
	for _, v := range taprootKeyPathVectors {
		t.Run(v.source, func(t *testing.T) {
			q, err := TaprootOutputKey(chaintest.MustHex(t, v.internalKey))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(q) != v.outputKey {
				t.Fatalf("output key %x, want %s", q, v.outputKey)
			}
			spk, err := P2TRScript(q)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(spk) != v.scriptPubKey {
				t.Fatalf("scriptPubKey %x, want %s", spk, v.scriptPubKey)
			}
			addr, err := P2TRAddress(Mainnet, q)
			if err != nil {
				t.Fatal(err)
			}
			if addr != v.address {
				t.Fatalf("address %s, want %s", addr, v.address)
			}
		})
	}
}

// TestP2WPKHAddress checks BIP173's example: the key 0279be66...1798 (the generator) whose
// hash160 is 751e76e8...3bd6 is bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 on mainnet and
// tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx on testnet (bitcoin/bips bip-0173.mediawiki).
// Signet shares testnet's prefix; regtest's bcrt is checked by decoding with btcutil.
func TestP2WPKHAddress(t *testing.T) {
	pub := chaintest.MustHex(t, "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
	spk, err := P2WPKHScript(pub)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(spk); got != "0014751e76e8199196d454941c45d1b3a323f1433bd6" {
		t.Fatalf("script %s", got)
	}
	for net, want := range map[*Network]string{
		Mainnet: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
		Testnet: "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
		Signet:  "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
	} {
		if got, err := P2WPKHAddress(net, pub); err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", net.Name(), got, err, want)
		}
	}
	addr, err := P2WPKHAddress(Regtest, pub)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := btcutil.DecodeAddress(addr, Regtest.Params())
	if err != nil || addr[:5] != "bcrt1" || hex.EncodeToString(decoded.ScriptAddress()) != "751e76e8199196d454941c45d1b3a323f1433bd6" {
		t.Fatalf("regtest address %s decodes to %v, %v", addr, decoded, err)
	}
}

func TestAddressRefusals(t *testing.T) {
	uncompressed := chaintest.MustHex(t, "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")
	notOnCurve := append([]byte{0x02}, make([]byte, 32)...)
	for name, pub := range map[string][]byte{"uncompressed": uncompressed, "32 bytes": uncompressed[1:33], "not on the curve": notOnCurve, "empty": nil} {
		t.Run("ECDSA key "+name, func(t *testing.T) {
			_, err := P2WPKHAddress(Mainnet, pub)
			chaintest.WantInvalid(t, err, "public key")
			_, err = P2WPKHScript(pub)
			chaintest.WantInvalid(t, err, "public key")
			_, err = WPKHDescriptor(pub, nil)
			chaintest.WantInvalid(t, err, "public key")
		})
	}
	for name, key := range map[string][]byte{"33 bytes": uncompressed[:33], "not on the curve": make([]byte, 32), "empty": nil} {
		t.Run("x-only key "+name, func(t *testing.T) {
			_, err := P2TRAddress(Mainnet, key)
			chaintest.WantInvalid(t, err, "output key")
			_, err = TaprootOutputKey(key)
			chaintest.WantInvalid(t, err, "internal key")
			_, err = TRDescriptor(key, nil)
			chaintest.WantInvalid(t, err, "internal key")
		})
	}
}

func TestChainAddress(t *testing.T) {
	c := Bitcoin()
	if got := c.Networks(); len(got) != 4 || got[0] != "mainnet" {
		t.Fatalf("networks %v", got)
	}
	ec, tap := chaintest.Secp256k1("addr"), chaintest.BIP340("addr")
	for _, network := range []string{"", "mainnet", "testnet", "signet", "regtest"} {
		net, err := c.Network(network)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Address(protocol.SchemeECDSASecp256k1, ec.PublicKey(), network)
		want, _ := P2WPKHAddress(net, ec.PublicKey())
		if err != nil || got != want {
			t.Errorf("%q P2WPKH: %s, %v; want %s", network, got, err, want)
		}
		got, err = c.Address(protocol.SchemeBIP340, tap.PublicKey(), network)
		want, _ = P2TRAddress(net, tap.PublicKey())
		if err != nil || got != want {
			t.Errorf("%q P2TR: %s, %v; want %s", network, got, err, want)
		}
	}
	_, err := c.Address(protocol.SchemeEd25519, make([]byte, 32), "")
	chaintest.WantInvalid(t, err, "does not use")
	_, err = c.Address(protocol.SchemeECDSASecp256k1, ec.PublicKey(), "testnet4")
	chaintest.WantInvalid(t, err, "no network")
}
