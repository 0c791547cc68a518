package cosmos

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// TestAddressVectors checks addresses against published ones.
func TestAddressVectors(t *testing.T) {
	for _, v := range []struct {
		source, pub, network, want string
	}{
		// Zondax/ledger-cosmos-go user_app_test.go and ledger-cosmos-js: the Ledger test mnemonic's m/44'/118'/0'/0/0.
		{"ledger-cosmos-go", "034fef9cd7c4c63588d3b03feb5281b9d232cba34d6f3d71aee59211ffbfe1fe87", "cosmos", "cosmos1w34k53py5v5xyluazqpq65agyajavep2rflq6h"},
		{"default network", "034fef9cd7c4c63588d3b03feb5281b9d232cba34d6f3d71aee59211ffbfe1fe87", "", "cosmos1w34k53py5v5xyluazqpq65agyajavep2rflq6h"},
		// Zondax/ledger-cosmos-js tests/basic.spec.js: the same key with the Terra prefix.
		{"ledger-cosmos-js terra", "034fef9cd7c4c63588d3b03feb5281b9d232cba34d6f3d71aee59211ffbfe1fe87", "terra", "terra1w34k53py5v5xyluazqpq65agyajavep29d9qch"},
		// fetchai/fetchd x/did/spec/testing.md, first test account.
		{"fetchd", "03dfd0a469806d66a23c7c948f55c129467d6d0974a222ef6e24a538fa6882f3d7", "cosmos", "cosmos1sl48sj2jjed7enrv3lzzplr9wc2f5js5tzjph8"},
	} {
		t.Run(v.source, func(t *testing.T) {
			pub, _ := hex.DecodeString(v.pub)
			got, err := Chain().Address(protocol.SchemeECDSASecp256k1, pub, v.network)
			if err != nil {
				t.Fatal(err)
			}
			if got != v.want {
				t.Fatalf("address %s, want %s", got, v.want)
			}
		})
	}
}

func TestAddressRefusals(t *testing.T) {
	pub := chaintest.Secp256k1("cosmos").PublicKey()
	for _, tc := range []struct {
		name    string
		scheme  protocol.Scheme
		pub     []byte
		network string
		want    string
	}{
		{"ed25519 key", protocol.SchemeEd25519, make([]byte, 32), "", "does not use ed25519 keys"},
		{"uncompressed key", protocol.SchemeECDSASecp256k1, append([]byte{4}, make([]byte, 64)...), "", "want a 33-byte compressed"},
		{"not on the curve", protocol.SchemeECDSASecp256k1, append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...), "", "not a secp256k1 point"},
		{"upper-case prefix", protocol.SchemeECDSASecp256k1, pub, "Cosmos", "upper case"},
		{"space in prefix", protocol.SchemeECDSASecp256k1, pub, "cos mos", "outside"},
		{"long prefix", protocol.SchemeECDSASecp256k1, pub, strings.Repeat("a", 52), "longer than 51"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Chain().Address(tc.scheme, tc.pub, tc.network)
			chaintest.WantInvalid(t, err, tc.want)
		})
	}
	if _, err := Chain().Address(protocol.SchemeECDSASecp256k1, pub, strings.Repeat("a", 51)); err != nil {
		t.Fatalf("51-character prefix refused: %v", err)
	}
}

// TestSign signs a SignDoc and checks the TxRaw field by field, the signature with
// libsecp256k1 over SHA-256 of the SignDoc, and the id.
func TestSign(t *testing.T) {
	s := chaintest.Secp256k1("cosmos")
	doc := directSignDoc(s.PublicKey())
	signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: b64(doc), Network: "osmo"})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := base64.StdEncoding.DecodeString(signed.Transaction)
	if err != nil {
		t.Fatal(err)
	}
	gotBody, gotAuth, sigs := splitTxRaw(t, tx)
	if !bytes.Equal(gotBody, body) || !bytes.Equal(gotAuth, authInfo(signerInfo(pubKeyAny(s.PublicKey()), modeSingle(signModeDirect), 7))) {
		t.Fatal("TxRaw body or auth info differ from the SignDoc's")
	}
	if len(sigs) != 1 {
		t.Fatalf("TxRaw has %d signatures, want 1", len(sigs))
	}
	libsecp256k1Verify(t, s.PublicKey(), sha256.Sum256(doc), sigs[0])
	if signed.Signature != hex.EncodeToString(sigs[0]) {
		t.Fatalf("Signature %s, want the TxRaw's %x", signed.Signature, sigs[0])
	}
	id := sha256.Sum256(tx)
	if signed.TxID != strings.ToUpper(hex.EncodeToString(id[:])) {
		t.Fatalf("TxID %s, want upper-case SHA-256 of the TxRaw", signed.TxID)
	}
}

// splitTxRaw reads a TxRaw with protowire directly, refusing anything but fields 1, 2, 3.
func splitTxRaw(t *testing.T, tx []byte) (bodyBytes, authBytes []byte, sigs [][]byte) {
	t.Helper()
	for len(tx) > 0 {
		num, typ, n := protowire.ConsumeTag(tx)
		if n < 0 || typ != protowire.BytesType {
			t.Fatalf("TxRaw: bad tag")
		}
		tx = tx[n:]
		v, n := protowire.ConsumeBytes(tx)
		if n < 0 {
			t.Fatalf("TxRaw: bad field %d", num)
		}
		tx = tx[n:]
		switch num {
		case 1:
			bodyBytes = v
		case 2:
			authBytes = v
		case 3:
			sigs = append(sigs, v)
		default:
			t.Fatalf("TxRaw: unexpected field %d", num)
		}
	}
	return bodyBytes, authBytes, sigs
}

// TestSignRefusals checks that transactions the key must not sign, or that no node would
// accept, are refused before anything is signed.
func TestSignRefusals(t *testing.T) {
	s := chaintest.Secp256k1("cosmos")
	pub := s.PublicKey()
	other := chaintest.Secp256k1("someone else").PublicKey()
	direct := modeSingle(signModeDirect)
	ours := signerInfo(pubKeyAny(pub), direct, 7)
	good := directSignDoc(pub)
	for _, tc := range []struct {
		name, tx, network, want string
	}{
		{"another signer", b64(signDocBytes(authInfo(signerInfo(pubKeyAny(other), direct, 7)), "cosmoshub-4", 1)), "", "not this key"},
		{"two signers", b64(signDocBytes(authInfo(ours, signerInfo(pubKeyAny(other), direct, 0)), "cosmoshub-4", 1)), "", "2 signer_infos"},
		{"no signer", b64(signDocBytes(authInfo(), "cosmoshub-4", 1)), "", "0 signer_infos"},
		{"no public key", b64(signDocBytes(authInfo(chaintest.Cat(chaintest.PBBytes(2, direct), chaintest.PBVarint(3, 7))), "cosmoshub-4", 1)), "", "no public_key"},
		{"ed25519 key type", b64(signDocBytes(authInfo(signerInfo(anyOf("/cosmos.crypto.ed25519.PubKey", chaintest.PBBytes(1, pub)), direct, 7)), "c", 1)), "", "want \"/cosmos.crypto.secp256k1.PubKey\""},
		{"amino json mode", b64(signDocBytes(authInfo(signerInfo(pubKeyAny(pub), modeSingle(127), 7)), "c", 1)), "", "sign mode 127"},
		{"no mode", b64(signDocBytes(authInfo(signerInfo(pubKeyAny(pub), nil, 7)), "c", 1)), "", "no single mode"},
		{"multisig mode", b64(signDocBytes(authInfo(signerInfo(pubKeyAny(pub), chaintest.PBBytes(2, nil), 7)), "c", 1)), "", "multisig"},
		{"two public keys", b64(signDocBytes(authInfo(chaintest.Cat(chaintest.PBBytes(1, pubKeyAny(pub)), ours)), "c", 1)), "", "field 1 appears twice"},
		{"unknown AuthInfo field", b64(signDocBytes(append(authInfo(ours), chaintest.PBVarint(9, 1)...), "c", 1)), "", "AuthInfo: unknown field 9"},
		{"explicit zero account number", b64(append(signDocBytes(authInfo(ours), "c", 0), chaintest.PBVarint(4, 0)...)), "", "canonical"},
		{"fields out of order", b64(chaintest.Cat(chaintest.PBBytes(2, authInfo(ours)), chaintest.PBBytes(1, body), pbString(3, "c"))), "", "canonical"},
		{"duplicate body", b64(chaintest.Cat(chaintest.PBBytes(1, body), chaintest.PBBytes(1, body), chaintest.PBBytes(2, authInfo(ours)), pbString(3, "c"))), "", "field 1 appears twice"},
		{"unknown SignDoc field", b64(append(good, chaintest.PBVarint(5, 1)...)), "", "unknown field 5"},
		{"trailing byte", b64(append(good, 0x0a)), "", "field 1"},
		{"group wire type", b64(append(good, 0x2b)), "", "wire type 3"},
		{"non-minimal varint", b64(chaintest.Cat(chaintest.PBBytes(1, body), chaintest.PBBytes(2, authInfo(ours)), pbString(3, "c"), []byte{0x20, 0x81, 0x00})), "", "non-minimal varint"},
		{"no chain id", b64(signDocBytes(authInfo(ours), "", 1)), "", "no chain_id"},
		{"long chain id", b64(signDocBytes(authInfo(ours), strings.Repeat("c", 51), 1)), "", "more than CometBFT's 50"},
		{"bad UTF-8 chain id", b64(signDocBytes(authInfo(ours), "\xff", 1)), "", "not valid UTF-8"},
		{"no body", b64(chaintest.Cat(chaintest.PBBytes(2, authInfo(ours)), pbString(3, "c"))), "", "no body_bytes"},
		{"not base64", "not base64!", "", "base64"},
		{"unpadded base64", strings.TrimRight(b64(good), "="), "", "base64"},
		{"hex instead of base64", hex.EncodeToString(good), "", ""},
		{"empty", "", "", "no body_bytes"},
		{"too long", strings.Repeat("A", chains.MaxTransactionBytes+4), "", "more than"},
		{"bad network", b64(good), "OSMO", "upper case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chaintest.SignRefused(t, Chain(), s, chains.SignRequest{Transaction: tc.tx, Network: tc.network}, tc.want)
		})
	}
}

// TestSignWrongScheme refuses a key of another scheme.
func TestSignWrongScheme(t *testing.T) {
	s := chaintest.Ed25519("cosmos")
	chaintest.SignRefused(t, Chain(), s, chains.SignRequest{Transaction: b64(directSignDoc(make([]byte, 33)))}, "does not use ed25519 keys")
}

// TestSignTampered checks that a wrong signature from the signer is never returned.
func TestSignTampered(t *testing.T) {
	s := chaintest.Secp256k1("cosmos")
	chaintest.SignTampered(t, Chain(), s, chains.SignRequest{Transaction: b64(directSignDoc(s.PublicKey()))})
}

func TestChainShape(t *testing.T) {
	c := Chain()
	if c.Name() != "cosmos" || c.Networks()[0] != DefaultPrefix {
		t.Fatalf("name %q, networks %v", c.Name(), c.Networks())
	}
	if _, err := chains.NewRegistry(c); err != nil {
		t.Fatal(err)
	}
	if err := chains.CheckScheme(c, protocol.SchemeECDSASecp256k1); err != nil {
		t.Fatal(err)
	}
}
