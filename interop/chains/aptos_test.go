package chains

import (
	"bytes"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/aptos-labs/aptos-go-sdk"
	"github.com/aptos-labs/aptos-go-sdk/bcs"
	"github.com/aptos-labs/aptos-go-sdk/crypto"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// testAptos builds RawTransactions with aptos-go-sdk (an APT transfer, a coin transfer with
// nested type arguments, a script, an orderless V1 payload), has the devnet sign them, and
// checks each with the SDK: it deserializes the BCS SignedTransaction, requires it to be the
// SDK's own SignedTransaction for that authenticator, verifies it with
// SignedTransaction.Verify, and compares the id with SignedTransaction.Hash.
func testAptos(t *testing.T, d *harness.Devnet, keyID string, pub []byte) {
	var key crypto.Ed25519PublicKey
	if err := key.FromBytes(pub); err != nil {
		t.Fatal(err)
	}
	var me aptos.AccountAddress
	me.FromAuthKey(key.AuthKey())
	for _, network := range []string{"", "testnet"} {
		if addr := apiAddress(t, d, keyID, "aptos", network); addr != me.StringLong() {
			t.Fatalf("API address on %q: %s, want aptos-go-sdk's %s", network, addr, me.StringLong())
		}
	}
	var dest aptos.AccountAddress
	dest[31] = 0x77

	transfer, err := aptos.CoinTransferPayload(nil, dest, 1000)
	if err != nil {
		t.Fatal(err)
	}
	coinType := aptos.TypeTag{Value: &aptos.StructTag{
		Address: aptos.AccountOne, Module: "coin_wrapper", Name: "Wrapped",
		TypeParams: []aptos.TypeTag{{Value: &aptos.VectorTag{TypeParam: aptos.TypeTag{Value: &aptos.U8Tag{}}}}},
	}}
	transferCoins, err := aptos.CoinTransferPayload(&coinType, dest, 5)
	if err != nil {
		t.Fatal(err)
	}
	nonce := uint64(0xfeedbeef)
	payloads := map[string]aptos.TransactionPayloadImpl{
		"APT transfer":           transfer,
		"coin with nested types": transferCoins,
		"script with arguments":  &aptos.Script{Code: []byte{0xa1, 0x1c, 0xeb, 0x0b}, ArgTypes: []aptos.TypeTag{{Value: &aptos.U64Tag{}}}, Args: []aptos.ScriptArgument{{Variant: aptos.ScriptArgumentU64, Value: uint64(9)}, {Variant: aptos.ScriptArgumentAddress, Value: dest}, {Variant: aptos.ScriptArgumentBool, Value: true}}},
		"orderless entry function": &aptos.TransactionInnerPayload{Payload: &aptos.TransactionInnerPayloadV1{
			Executable:  aptos.TransactionExecutable{Inner: transfer},
			ExtraConfig: aptos.TransactionExtraConfig{Inner: &aptos.TransactionExtraConfigV1{ReplayProtectionNonce: &nonce}},
		}},
	}
	for name, payload := range payloads {
		t.Run(name, func(t *testing.T) {
			raw, rawHex := aptosRaw(t, me, payload, 2)
			signed := apiSign(t, d, keyID, "aptos", "testnet", rawHex)
			b, err := hex.DecodeString(strings.TrimPrefix(signed.Transaction, "0x"))
			if err != nil {
				t.Fatal(err)
			}
			var got aptos.SignedTransaction
			if err := bcs.Deserialize(&got, b); err != nil {
				t.Fatalf("aptos-go-sdk cannot deserialize the signed transaction: %v", err)
			}
			if got.Transaction.Sender != me || got.Authenticator.Variant != aptos.TransactionAuthenticatorEd25519 {
				t.Fatalf("sender %s, authenticator variant %d", got.Transaction.Sender.StringLong(), got.Authenticator.Variant)
			}
			// The SDK's own SignedTransaction of the RawTransaction it built, with the devnet's
			// authenticator, must be exactly the devnet's bytes, verify, and hash to the txid.
			// (It is rebuilt from the original rather than taken from the decoding because the
			// SDK's decoder drops a V1 payload's optional extra config, as in the orderless case.)
			mine := &aptos.SignedTransaction{Transaction: raw, Authenticator: got.Authenticator}
			if again, err := bcs.Serialize(mine); err != nil || !bytes.Equal(again, b) {
				t.Fatalf("the devnet's signed transaction is not the SDK's for the same authenticator (%v)", err)
			}
			if err := mine.Verify(); err != nil {
				t.Fatalf("aptos-go-sdk: %v", err)
			}
			hash, err := mine.Hash()
			if err != nil {
				t.Fatal(err)
			}
			if signed.TxID != hash {
				t.Fatalf("txid %s, aptos-go-sdk's hash %s", signed.TxID, hash)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		if _, other := aptosRaw(t, dest, transfer, 1); apiSignStatus(t, d, keyID, "aptos", "", other) != http.StatusBadRequest {
			t.Fatal("another sender: not refused with 400")
		}
		if _, testnet := aptosRaw(t, me, transfer, 2); apiSignStatus(t, d, keyID, "aptos", "mainnet", testnet) != http.StatusBadRequest {
			t.Fatal("a testnet transaction signed for mainnet: not refused with 400")
		}
	})
}

// aptosRaw is a RawTransaction and the hex of its BCS as aptos-go-sdk serializes it.
func aptosRaw(t *testing.T, sender aptos.AccountAddress, payload aptos.TransactionPayloadImpl, chainID uint8) (*aptos.RawTransaction, string) {
	t.Helper()
	raw := &aptos.RawTransaction{
		Sender:                     sender,
		SequenceNumber:             12,
		Payload:                    aptos.TransactionPayload{Payload: payload},
		MaxGasAmount:               2000,
		GasUnitPrice:               100,
		ExpirationTimestampSeconds: 1_900_000_000,
		ChainId:                    chainID,
	}
	b, err := bcs.Serialize(raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, "0x" + hex.EncodeToString(b)
}
