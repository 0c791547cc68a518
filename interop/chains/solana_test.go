package chains

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/gagliardetto/solana-go"
	computebudget "github.com/gagliardetto/solana-go/programs/compute-budget"
	"github.com/gagliardetto/solana-go/programs/memo"
	"github.com/gagliardetto/solana-go/programs/system"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// TestSolanaAptosSuiStellar runs the Ed25519 chains' interop tests against one devnet and one
// threshold Ed25519 key: starting a devnet and a distributed key generation are the slow
// parts, and the four chains use the same kind of key. (The helpers the four share are at
// the end of this file.)
func TestSolanaAptosSuiStellar(t *testing.T) {
	d := harness.Start(t)
	key := d.CreateKey(t, "ed25519", "ed25519-chains")
	pub, err := hex.DecodeString(key.PublicKey)
	if err != nil || len(pub) != 32 {
		t.Fatalf("key %s: public key %q is not a 32-byte Ed25519 key", key.ID, key.PublicKey)
	}
	t.Run("Solana", func(t *testing.T) { testSolana(t, d, key.ID, pub) })
	t.Run("Aptos", func(t *testing.T) { testAptos(t, d, key.ID, pub) })
	t.Run("Sui", func(t *testing.T) { testSui(t, d, key.ID, pub) })
	t.Run("Stellar", func(t *testing.T) { testStellar(t, d, key.ID, pub) })
}

// testSolana builds transactions with solana-go (a legacy one the key pays for, and a v0 one
// with an address lookup table where the key is the second signer), has the devnet sign
// them, and checks them with solana-go's own decoding and Transaction.VerifySignatures.
func testSolana(t *testing.T, d *harness.Devnet, keyID string, pub []byte) {
	me := solana.PublicKeyFromBytes(pub)
	for _, network := range []string{"", "devnet"} {
		if addr := apiAddress(t, d, keyID, "solana", network); addr != me.String() {
			t.Fatalf("API address on %q: %s, want solana-go's %s", network, addr, me)
		}
	}
	recipient := solana.NewWallet().PublicKey()
	blockhash := solana.HashFromBytes(bytes.Repeat([]byte{7}, 32))

	t.Run("legacy, fee payer", func(t *testing.T) {
		tx, err := solana.NewTransaction([]solana.Instruction{
			computebudget.NewSetComputeUnitPriceInstruction(1000).Build(),
			system.NewTransferInstruction(1_000_000, me, recipient).Build(),
			memo.NewMemoInstruction([]byte("mpcsigner interop"), me).Build(),
		}, blockhash, solana.TransactionPayer(me))
		if err != nil {
			t.Fatal(err)
		}
		unsigned := solanaBase64(t, tx)
		signed := apiSign(t, d, keyID, "solana", "", unsigned)
		got, err := solana.TransactionFromBase64(signed.Transaction)
		if err != nil {
			t.Fatalf("solana-go cannot decode the signed transaction: %v", err)
		}
		if err := got.VerifySignatures(); err != nil {
			t.Fatalf("solana-go: %v", err)
		}
		if signed.TxID != got.Signatures[0].String() || signed.Signature != hex.EncodeToString(got.Signatures[0][:]) {
			t.Fatalf("txid %s, signature %s; the transaction's signature is %s", signed.TxID, signed.Signature, got.Signatures[0])
		}
		sameMessage(t, tx, got)
		if status := apiSignStatus(t, d, keyID, "solana", "", signed.Transaction); status != http.StatusBadRequest {
			t.Fatalf("signing an already signed transaction: status %d, want 400", status)
		}
	})

	t.Run("v0 with a lookup table, second signer", func(t *testing.T) {
		payer := solana.NewWallet().PrivateKey
		table := solana.NewWallet().PublicKey()
		tx, err := solana.NewTransaction([]solana.Instruction{
			system.NewTransferInstruction(5_000, me, recipient).Build(),
		}, blockhash, solana.TransactionPayer(payer.PublicKey()),
			solana.TransactionAddressTables(map[solana.PublicKey]solana.PublicKeySlice{table: {recipient}}))
		if err != nil {
			t.Fatal(err)
		}
		if !tx.Message.IsVersioned() || len(tx.Message.AddressTableLookups) != 1 {
			t.Fatalf("solana-go built no v0 message with a lookup: %v", tx.Message.GetVersion())
		}
		signed := apiSign(t, d, keyID, "solana", "mainnet-beta", solanaBase64(t, tx))
		if signed.TxID != "" {
			t.Fatalf("txid %q before the fee payer signed", signed.TxID)
		}
		got, err := solana.TransactionFromBase64(signed.Transaction)
		if err != nil {
			t.Fatalf("solana-go cannot decode the signed transaction: %v", err)
		}
		sameMessage(t, tx, got)
		// The fee payer signs with solana-go; then every signature must verify.
		if _, err := got.PartialSign(func(k solana.PublicKey) *solana.PrivateKey {
			if k.Equals(payer.PublicKey()) {
				return &payer
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := got.VerifySignatures(); err != nil {
			t.Fatalf("solana-go: %v", err)
		}
	})

	t.Run("refused: the key does not sign", func(t *testing.T) {
		other := solana.NewWallet().PublicKey()
		tx, err := solana.NewTransaction([]solana.Instruction{
			system.NewTransferInstruction(1, other, recipient).Build(),
		}, blockhash, solana.TransactionPayer(other))
		if err != nil {
			t.Fatal(err)
		}
		if status := apiSignStatus(t, d, keyID, "solana", "", solanaBase64(t, tx)); status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", status)
		}
	})
}

// solanaBase64 is the unsigned wire transaction as solana-go serializes it (zero-filled
// signature slots), in base64.
func solanaBase64(t *testing.T, tx *solana.Transaction) string {
	t.Helper()
	s, err := tx.ToBase64()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sameMessage requires that signing left the message as it was.
func sameMessage(t *testing.T, want, got *solana.Transaction) {
	t.Helper()
	a, err := want.Message.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, err := got.Message.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the signed transaction's message differs from the unsigned one's")
	}
}
