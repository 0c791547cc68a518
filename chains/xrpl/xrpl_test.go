package xrpl

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// TestAddressVectors checks addresses against published ones.
func TestAddressVectors(t *testing.T) {
	for _, v := range []struct{ source, pub, want string }{
		// XRPLF/xrpl.js packages/ripple-keypairs/test/fixtures/api.json, secp256k1 keypair
		// (also xrpl4j's KeyPair tests).
		{"ripple-keypairs", "030D58EB48B4420B1F7B9DF55087E0E29FEF0E8468F9A6825B01CA2C361042D435", "rU6K7V3Po4snVhBBaU29sesqs2qTQJWDw1"},
		// xrpl.org submit method reference, sign-and-submit response: SigningPubKey and Account.
		{"xrpl.org submit", "03AB40A0490F9B7ED8DF29D246BF2D6269820A0EE7742ACDD457BEA7C7D0931EDB", "rf1BiGeXwwQoi8Z2ueFYTEXSwuJYfV2Jpn"},
	} {
		t.Run(v.source, func(t *testing.T) {
			for _, network := range []string{"", "testnet"} {
				got, err := Chain().Address(protocol.SchemeECDSASecp256k1, chaintest.MustHex(t, v.pub), network)
				if err != nil {
					t.Fatal(err)
				}
				if got != v.want {
					t.Fatalf("address %s, want %s", got, v.want)
				}
			}
		})
	}
}

func TestAddressRefusals(t *testing.T) {
	pub := chaintest.Secp256k1("xrpl").PublicKey()
	_, err := Chain().Address(protocol.SchemeEd25519, make([]byte, 32), "")
	chaintest.WantInvalid(t, err, "does not use ed25519 keys")
	_, err = Chain().Address(protocol.SchemeECDSASecp256k1, append([]byte{0xed}, pub[1:]...), "")
	chaintest.WantInvalid(t, err, "want a 33-byte compressed")
	_, err = Chain().Address(protocol.SchemeECDSASecp256k1, pub, "altnet")
	chaintest.WantInvalid(t, err, "no network")
}

// TestLedgerVector takes a transaction signed by rippled (xrpl.org, submit method reference,
// sign-and-submit response), removes its TxnSignature, and checks that this package's
// signing hash is what rippled's signature verifies over, that inserting the signature
// gives back rippled's blob, and that the id is the documented hash.
func TestLedgerVector(t *testing.T) {
	const (
		blob = "1200002280000000240000016861D4838D7EA4C6800000000000000000000000000055534400000000004B4E9C06F24296074F7BC48F92A97916C6DC5EA9684000000000002710732103AB40A0490F9B7ED8DF29D246BF2D6269820A0EE7742ACDD457BEA7C7D0931EDB7446304402200E5C2DD81FDF0BE9AB2A8D797885ED49E804DBF28E806604D878756410CA98B102203349581946B0DDA06B36B35DBC20EDA27552C1F167BCF5C6ECFF49C6A46F858081144B4E9C06F24296074F7BC48F92A97916C6DC5EA983143E9D4A2B8AA0780F682D136F7A56D6724EF53754"
		sig  = "304402200E5C2DD81FDF0BE9AB2A8D797885ED49E804DBF28E806604D878756410CA98B102203349581946B0DDA06B36B35DBC20EDA27552C1F167BCF5C6ECFF49C6A46F8580"
		pub  = "03AB40A0490F9B7ED8DF29D246BF2D6269820A0EE7742ACDD457BEA7C7D0931EDB"
		hash = "4D5D90890F8D49519E4151938601EF3D0B30B16CD6A519D9C99102C9FA77F7E0"
	)
	field := "7446" + sig
	if !strings.Contains(blob, field) {
		t.Fatal("vector has no TxnSignature")
	}
	unsigned := chaintest.MustHex(t, strings.Replace(blob, field, "", 1))
	fields, err := parseTransaction(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSigner(fields, chaintest.MustHex(t, pub)); err != nil {
		t.Fatal(err)
	}
	libsecp256k1VerifyDER(t, chaintest.MustHex(t, pub), sha512Half(prefixTxSign, unsigned), chaintest.MustHex(t, sig))
	signed := insertSignature(unsigned, fields, chaintest.MustHex(t, sig))
	if got := strings.ToUpper(hex.EncodeToString(signed)); got != blob {
		t.Fatalf("signed blob\n%s, want\n%s", got, blob)
	}
	if id := sha512Half(prefixTxID, signed); strings.ToUpper(hex.EncodeToString(id[:])) != hash {
		t.Fatalf("id %X, want %s", id, hash)
	}
}

// TestSign signs a Payment with nested objects, a path set and an issued-currency amount, and
// checks the blob, the signature (with libsecp256k1 over SHA-512Half computed here) and the id.
func TestSign(t *testing.T) {
	s := chaintest.Secp256k1("xrpl")
	pub := s.PublicKey()
	account := accountID(pub)
	tx := payment(account, pub)
	signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: hex.EncodeToString(tx), Network: "testnet"})
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.Sum512(append([]byte("STX\x00"), tx...))
	var digest [32]byte
	copy(digest[:], h[:32])
	der := chaintest.MustHex(t, signed.Signature)
	libsecp256k1VerifyDER(t, pub, digest, der)
	before, after := paymentFields(account, pub)
	want := chaintest.Cat(append(append(before, chaintest.Cat(hTxnSignature, vl(der))), after...)...)
	got := chaintest.MustHex(t, signed.Transaction)
	if !bytes.Equal(got, want) {
		t.Fatalf("signed blob\n%X, want TxnSignature after SigningPubKey:\n%X", got, want)
	}
	if signed.Transaction != strings.ToUpper(signed.Transaction) || signed.Signature != strings.ToUpper(signed.Signature) {
		t.Fatal("blob and signature are not upper-case hex")
	}
	id := sha512.Sum512(append([]byte("TXN\x00"), got...))
	if signed.TxID != strings.ToUpper(hex.EncodeToString(id[:32])) {
		t.Fatalf("TxID %s, want SHA-512Half of TXN\\0 and the blob", signed.TxID)
	}
}

// TestSignRefusals checks that transactions the key must not sign, or that the walker cannot
// frame exactly, are refused before anything is signed.
func TestSignRefusals(t *testing.T) {
	s := chaintest.Secp256k1("xrpl")
	pub := s.PublicKey()
	account := accountID(pub)
	other := chaintest.Secp256k1("someone else").PublicKey()
	good := payment(account, pub)
	head := chaintest.Cat(hTransactionType, []byte{0, 0}, hSigningPubKey, vl(pub), hAccount, vl(account))
	deep := func(n int) []byte {
		return chaintest.Cat(head, bytes.Repeat([]byte{0xe2}, n), bytes.Repeat(objectEndByte, n))
	}
	for _, tc := range []struct {
		name string
		tx   []byte
		want string
	}{
		{"another account", payment(accountID(other), pub), "not this key's account"},
		{"another signing key", payment(account, other), "not this key"},
		{"multi-signing", payment(account, nil), "SigningPubKey is empty"},
		{"no signing key", chaintest.Cat(hTransactionType, []byte{0, 0}, hAccount, vl(account)), "SigningPubKey is empty"},
		{"no account", chaintest.Cat(hTransactionType, []byte{0, 0}, hSigningPubKey, vl(pub)), "no Account"},
		{"no transaction type", chaintest.Cat(hSigningPubKey, vl(pub), hAccount, vl(account)), "no TransactionType"},
		{"already signed", chaintest.Cat(head[:38], hTxnSignature, vl([]byte{0x30}), head[38:]), "already signed"},
		{"signers", chaintest.Cat(head, []byte{0xf3}, arrayEndByte), "Signers"},
		{"out of order", chaintest.Cat(hAccount, vl(account), hTransactionType, []byte{0, 0}), "canonical order"},
		{"repeated field", chaintest.Cat(head[:3], head[:3], head[3:]), "canonical order"},
		{"long-form field code", chaintest.Cat(head[:3], []byte{0x70, 0x03}, vl(pub), head[38:]), "field code 3 written in the long form"},
		{"long-form type code", chaintest.Cat(head[:3], []byte{0x03, 0x07}, vl(pub), head[38:]), "type code 7 written in the long form"},
		{"unknown type code", chaintest.Cat(head, []byte{0x91}, make([]byte, 12)), "unknown type code 9"},
		{"xchain bridge", chaintest.Cat(head, []byte{0x01, 0x19}), "XChainBridge"},
		{"trailing byte", append(append([]byte(nil), good...), 0x00), "needs 1 bytes, 0 left"},
		{"truncated", good[:len(good)-3], "needs 20 bytes"},
		{"object without end", chaintest.Cat(head, []byte{0xe2}, hFlags, []byte{0, 0, 0, 1}), "object has no end marker"},
		{"object end at top", chaintest.Cat(head, objectEndByte), "object end marker outside"},
		{"array end in object", chaintest.Cat(head, arrayEndByte), "array end marker inside"},
		{"array without end", chaintest.Cat(head, hMemos, hMemo, objectEndByte), "array has no end marker"},
		{"array of non-objects", chaintest.Cat(head, hMemos, hFlags, []byte{0, 0, 0, 1}, arrayEndByte), "is not an object"},
		{"bad length prefix", chaintest.Cat(head[:3], hSigningPubKey, []byte{0xff}, pub), "invalid length prefix"},
		{"short account id", chaintest.Cat(head[:38], hAccount, vl(account[:19])), "account id of 19 bytes"},
		{"ragged vector256", chaintest.Cat(head, []byte{0x03, 0x13}, vl(make([]byte, 31))), "not a multiple of 32"},
		{"empty path", chaintest.Cat(head, hPaths, []byte{0xff}), "empty path"},
		{"unknown path flag", chaintest.Cat(head, hPaths, []byte{0x02}), "unknown flags"},
		{"MPT issue", chaintest.Cat(head, []byte{0x03, 0x18}, account, append(make([]byte, 19), 1), []byte{0, 0, 0, 1}), "MPT issues"},
		{"truncated issue", chaintest.Cat(head, []byte{0x03, 0x18}, account), "issue issuer needs 20 bytes"},
		{"too deep", deep(11), "nesting deeper than 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chaintest.SignRefused(t, Chain(), s, chains.SignRequest{Transaction: hex.EncodeToString(tc.tx)}, tc.want)
		})
	}
	if _, err := parseTransaction(deep(10)); err != nil {
		t.Fatalf("10 levels of nesting refused: %v", err)
	}
	for _, tc := range []struct{ name, tx, network, want string }{
		{"not hex", "12zz", "", "not hex"},
		{"too long", strings.Repeat("0", chains.MaxTransactionBytes+2), "", "more than"},
		{"unknown network", hex.EncodeToString(good), "mainnet-beta", "no network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chaintest.SignRefused(t, Chain(), s, chains.SignRequest{Transaction: tc.tx, Network: tc.network}, tc.want)
		})
	}
}

// TestSignTampered checks that a wrong signature from the signer is never returned.
func TestSignTampered(t *testing.T) {
	s := chaintest.Secp256k1("xrpl")
	pub := s.PublicKey()
	chaintest.SignTampered(t, Chain(), s, chains.SignRequest{Transaction: hex.EncodeToString(payment(accountID(pub), pub))})
}

func TestSignWrongScheme(t *testing.T) {
	chaintest.SignRefused(t, Chain(), chaintest.Ed25519("xrpl"), chains.SignRequest{Transaction: "12"}, "does not use ed25519 keys")
}

// TestSignEveryType signs a transaction with a field of every type the walker frames, the
// four field-header forms and the three length-prefix sizes, and checks that TxnSignature
// lands between SigningPubKey (7,3) and the blob (7,5) that follows it.
func TestSignEveryType(t *testing.T) {
	s := chaintest.Secp256k1("xrpl")
	pub := s.PublicKey()
	usd := usdAmount(accountID(pub)) // a non-zero issuer: zero would be the MPT marker in an Issue
	mpt := chaintest.Cat([]byte{0x60}, make([]byte, 8), bytes.Repeat([]byte{9}, 24))
	before := chaintest.Cat(
		hTransactionType, []byte{0, 0},
		[]byte{0x20, 0x1b}, []byte{0, 0, 0, 9}, // LastLedgerSequence (2,27): field code in the second byte
		[]byte{0x31}, make([]byte, 8), // UInt64
		[]byte{0x41}, make([]byte, 16), // Hash128
		[]byte{0x51}, make([]byte, 32), // Hash256
		hAmount, mpt, // MPT amount
		hFee, xrpAmount(10),
		hSendMax, usd,
		hSigningPubKey, vl(pub),
	)
	after := chaintest.Cat(
		[]byte{0x75}, []byte{193, 107}, make([]byte, 300), // Blob (7,5), 2-byte length
		[]byte{0x77}, []byte{241, 2, 7}, make([]byte, 13000), // Blob (7,7), 3-byte length
		hAccount, vl(accountID(pub)),
		[]byte{0xe2}, hFlags, []byte{0, 0, 0, 1}, objectEndByte, // object (14,2)
		hMemos, hMemo, objectEndByte, hMemo, hMemoData, vl([]byte{1}), objectEndByte, arrayEndByte,
		[]byte{0x01, 0x10}, []byte{7}, // UInt8 (16,1): type code in the second byte
		[]byte{0x00, 0x10, 0x10}, []byte{7}, // UInt8 (16,16): both codes after a zero byte
		[]byte{0x01, 0x11}, make([]byte, 20), // Hash160
		hPaths, []byte{0x01}, destination, []byte{0x00},
		[]byte{0x01, 0x13}, vl(make([]byte, 64)), // Vector256
		[]byte{0x01, 0x14}, make([]byte, 12), // UInt96
		[]byte{0x01, 0x15}, make([]byte, 24), // Hash192
		[]byte{0x01, 0x16}, make([]byte, 48), // UInt384
		[]byte{0x01, 0x17}, make([]byte, 64), // UInt512
		[]byte{0x01, 0x18}, make([]byte, 20), // Issue: XRP
		[]byte{0x02, 0x18}, usd[8:], // Issue: currency and issuer
		[]byte{0x01, 0x1a}, usd[8:28], // Currency
	)
	tx := chaintest.Cat(before, after)
	signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: hex.EncodeToString(tx)})
	if err != nil {
		t.Fatal(err)
	}
	der := chaintest.MustHex(t, signed.Signature)
	if got, want := chaintest.MustHex(t, signed.Transaction), chaintest.Cat(before, hTxnSignature, vl(der), after); !bytes.Equal(got, want) {
		t.Fatal("TxnSignature is not between SigningPubKey and the next blob")
	}
	h := sha512.Sum512(append([]byte("STX\x00"), tx...))
	libsecp256k1VerifyDER(t, pub, [32]byte(h[:32]), der)
}
