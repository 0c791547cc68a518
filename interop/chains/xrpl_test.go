package chains

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	binarycodec "github.com/Peersyst/xrpl-go/binary-codec"
	"github.com/Peersyst/xrpl-go/keypairs"
	xrplcrypto "github.com/Peersyst/xrpl-go/pkg/crypto"
	"github.com/Peersyst/xrpl-go/xrpl/hash"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// testXRPL encodes a Payment with xrpl-go's binary codec, has the devnet sign it, decodes the
// signed blob with the codec, verifies TxnSignature with xrpl-go's secp256k1 verifier over the
// codec's own signing encoding, and checks the id with xrpl-go's hash.SignTxBlob and the
// address with keypairs.DeriveClassicAddress. The verifier is called as
// crypto.SECP256K1().Validate, the function keypairs.Validate dispatches to: keypairs.Validate
// itself picks the algorithm from the key's first byte as if it were a private key (00 for
// secp256k1) and so refuses every compressed public key (02 or 03).
func testXRPL(t *testing.T, d *harness.Devnet, keyID string, pub []byte) {
	pubHex := strings.ToUpper(hex.EncodeToString(pub))
	want, err := keypairs.DeriveClassicAddress(pubHex)
	if err != nil {
		t.Fatal(err)
	}
	addr := apiAddress(t, d, keyID, "xrpl", "")
	if addr != want {
		t.Fatalf("API address %s, want xrpl-go's %s", addr, want)
	}

	blob, err := binarycodec.Encode(xrplPayment(addr, pubHex))
	if err != nil {
		t.Fatal(err)
	}
	signed := apiSignWithID(t, d, keyID, "xrpl", "testnet", blob)

	tx, err := binarycodec.Decode(signed.Transaction)
	if err != nil {
		t.Fatalf("xrpl-go cannot decode the signed blob: %v", err)
	}
	if tx["Account"] != addr || tx["SigningPubKey"] != pubHex || tx["TxnSignature"] != signed.Signature {
		t.Fatalf("signed blob decodes to Account %v, SigningPubKey %v, TxnSignature %v", tx["Account"], tx["SigningPubKey"], tx["TxnSignature"])
	}
	id, err := hash.SignTxBlob(signed.Transaction)
	if err != nil || id != signed.TxID {
		t.Fatalf("xrpl-go's hash of the blob is %s (%v), the API's %s", id, err, signed.TxID)
	}
	forSigning, err := binarycodec.EncodeForSigning(tx) // drops TxnSignature, adds "STX\0"
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(forSigning, blob) {
		t.Fatalf("the signed blob without its signature is not the blob submitted:\n%s\n%s", forSigning, blob)
	}
	msg, err := hex.DecodeString(forSigning)
	if err != nil {
		t.Fatal(err)
	}
	if !xrplcrypto.SECP256K1().Validate(string(msg), pubHex, signed.Signature) {
		t.Fatalf("xrpl-go: TxnSignature %s does not verify", signed.Signature)
	}

	// A payment from another account is refused, not signed.
	foreign, err := binarycodec.Encode(xrplPayment("rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe", pubHex))
	if err != nil {
		t.Fatal(err)
	}
	if status := apiSignStatus(t, d, keyID, "xrpl", "", foreign); status != http.StatusBadRequest {
		t.Fatalf("signing another account's payment: status %d, want 400", status)
	}
}

// xrplPayment is an autofilled 1 XRP Payment from account, single-signed by pubHex, with a memo.
func xrplPayment(account, pubHex string) map[string]any {
	return map[string]any{
		"TransactionType":    "Payment",
		"Account":            account,
		"Destination":        "rU6K7V3Po4snVhBBaU29sesqs2qTQJWDw1",
		"Amount":             "1000000",
		"Fee":                "12",
		"Flags":              uint32(0),
		"Sequence":           uint32(7),
		"LastLedgerSequence": uint32(9902014),
		"SigningPubKey":      pubHex,
		"Memos": []any{map[string]any{"Memo": map[string]any{
			"MemoType": hex.EncodeToString([]byte("text/plain")),
			"MemoData": hex.EncodeToString([]byte("mpcsigner interop")),
		}}},
	}
}
