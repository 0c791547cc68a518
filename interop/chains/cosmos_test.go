package chains

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	bankv1beta1 "cosmossdk.io/api/cosmos/bank/v1beta1"
	basev1beta1 "cosmossdk.io/api/cosmos/base/v1beta1"
	secp256k1v1 "cosmossdk.io/api/cosmos/crypto/secp256k1"
	signingv1beta1 "cosmossdk.io/api/cosmos/tx/signing/v1beta1"
	txv1beta1 "cosmossdk.io/api/cosmos/tx/v1beta1"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	decdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // the Cosmos SDK's address hash
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// TestCosmosTronXRPL runs the secp256k1 chains' interop tests against one devnet and one
// threshold ECDSA key: a distributed key generation is the slow part, and the three chains
// use the same kind of key.
func TestCosmosTronXRPL(t *testing.T) {
	d := harness.Start(t)
	key := d.CreateKey(t, "ecdsa-secp256k1", "secp256k1-chains")
	pub, err := hex.DecodeString(key.PublicKey)
	if err != nil || len(pub) != 33 {
		t.Fatalf("key %s: public key %q is not a 33-byte compressed key", key.ID, key.PublicKey)
	}
	t.Run("Cosmos", func(t *testing.T) { testCosmos(t, d, key.ID, pub) })
	t.Run("Tron", func(t *testing.T) { testTron(t, d, key.ID, pub) })
	t.Run("XRPL", func(t *testing.T) { testXRPL(t, d, key.ID, pub) })
}

// testCosmos builds a MsgSend with the Cosmos SDK's own protos (cosmossdk.io/api), has the
// devnet sign its SignDoc, decodes the TxRaw with the protos, rebuilds the SignDoc from the
// decoded parts as a node does, and verifies the signature with
// github.com/decred/dcrd/dcrec/secp256k1/v4, the library the SDK's secp256k1 keys verify
// with (crypto/keys/secp256k1), refusing high-s as the SDK does. cosmossdk.io/api has the
// protos only, no address code, so the address is checked against the SDK's documented rule
// (bech32 of RIPEMD-160(SHA-256(key))) computed here.
func testCosmos(t *testing.T, d *harness.Devnet, keyID string, pub []byte) {
	// The address rule computed here, checked first against a published address
	// (Zondax/ledger-cosmos-go: the Ledger test mnemonic's first key).
	ledgerKey, _ := hex.DecodeString("034fef9cd7c4c63588d3b03feb5281b9d232cba34d6f3d71aee59211ffbfe1fe87")
	if got := cosmosAddress("cosmos", ledgerKey); got != "cosmos1w34k53py5v5xyluazqpq65agyajavep2rflq6h" {
		t.Fatalf("the test's own address code is wrong: %s", got)
	}
	addr := apiAddress(t, d, keyID, "cosmos", "")
	if want := cosmosAddress("cosmos", pub); addr != want {
		t.Fatalf("API address %s, want %s", addr, want)
	}
	if got, want := apiAddress(t, d, keyID, "cosmos", "osmo"), cosmosAddress("osmo", pub); got != want {
		t.Fatalf("API osmo address %s, want %s", got, want)
	}

	const chainID, accountNumber = "cosmoshub-4", 42
	body := mustMarshal(t, &txv1beta1.TxBody{
		Messages: []*anypb.Any{cosmosAny(t, &bankv1beta1.MsgSend{
			FromAddress: addr,
			ToAddress:   "cosmos1sl48sj2jjed7enrv3lzzplr9wc2f5js5tzjph8",
			Amount:      []*basev1beta1.Coin{{Denom: "uatom", Amount: "1000"}},
		})},
		Memo: "mpcsigner interop",
	})
	authInfo := mustMarshal(t, cosmosAuthInfo(t, pub))
	doc := mustMarshal(t, &txv1beta1.SignDoc{BodyBytes: body, AuthInfoBytes: authInfo, ChainId: chainID, AccountNumber: accountNumber})
	signed := apiSignWithID(t, d, keyID, "cosmos", "", base64.StdEncoding.EncodeToString(doc))

	txBytes, err := base64.StdEncoding.DecodeString(signed.Transaction)
	if err != nil {
		t.Fatalf("signed transaction is not base64: %v", err)
	}
	var raw txv1beta1.TxRaw
	if err := proto.Unmarshal(txBytes, &raw); err != nil {
		t.Fatalf("TxRaw does not decode: %v", err)
	}
	if len(raw.Signatures) != 1 || hex.EncodeToString(raw.Signatures[0]) != signed.Signature {
		t.Fatalf("TxRaw has signatures %x, want the one the API reported (%s)", raw.Signatures, signed.Signature)
	}
	var gotBody txv1beta1.TxBody
	var gotAuth txv1beta1.AuthInfo
	if err := proto.Unmarshal(raw.BodyBytes, &gotBody); err != nil || gotBody.Memo != "mpcsigner interop" {
		t.Fatalf("TxRaw body does not decode to ours: %v", err)
	}
	if err := proto.Unmarshal(raw.AuthInfoBytes, &gotAuth); err != nil || len(gotAuth.SignerInfos) != 1 {
		t.Fatalf("TxRaw auth info does not decode to ours: %v", err)
	}
	// What a node verifies: the SignDoc rebuilt from the transaction and the chain's state.
	signBytes := mustMarshal(t, &txv1beta1.SignDoc{BodyBytes: raw.BodyBytes, AuthInfoBytes: raw.AuthInfoBytes, ChainId: chainID, AccountNumber: accountNumber})
	cosmosVerify(t, pub, sha256.Sum256(signBytes), raw.Signatures[0])
	id := sha256.Sum256(txBytes)
	if signed.TxID != strings.ToUpper(hex.EncodeToString(id[:])) {
		t.Fatalf("txid %s, want upper-case SHA-256 of the TxRaw", signed.TxID)
	}

	// A SignDoc whose signer is another key is refused, not signed.
	other := append([]byte{2}, bytes.Repeat([]byte{0x11}, 32)...)
	foreign := mustMarshal(t, &txv1beta1.SignDoc{BodyBytes: body, AuthInfoBytes: mustMarshal(t, cosmosAuthInfo(t, other)), ChainId: chainID, AccountNumber: accountNumber})
	if status := apiSignStatus(t, d, keyID, "cosmos", "", base64.StdEncoding.EncodeToString(foreign)); status != http.StatusBadRequest {
		t.Fatalf("signing for another key: status %d, want 400", status)
	}
}

// cosmosAuthInfo is an AuthInfo with pub as its one SIGN_MODE_DIRECT signer.
func cosmosAuthInfo(t *testing.T, pub []byte) *txv1beta1.AuthInfo {
	return &txv1beta1.AuthInfo{
		SignerInfos: []*txv1beta1.SignerInfo{{
			PublicKey: cosmosAny(t, &secp256k1v1.PubKey{Key: pub}),
			ModeInfo: &txv1beta1.ModeInfo{Sum: &txv1beta1.ModeInfo_Single_{
				Single: &txv1beta1.ModeInfo_Single{Mode: signingv1beta1.SignMode_SIGN_MODE_DIRECT},
			}},
			Sequence: 3,
		}},
		Fee: &txv1beta1.Fee{Amount: []*basev1beta1.Coin{{Denom: "uatom", Amount: "5000"}}, GasLimit: 200000},
	}
}

// cosmosAny packs m as the SDK does: type URL "/" + full name (no type.googleapis.com host).
func cosmosAny(t *testing.T, m proto.Message) *anypb.Any {
	return &anypb.Any{TypeUrl: "/" + string(m.ProtoReflect().Descriptor().FullName()), Value: mustMarshal(t, m)}
}

// mustMarshal is the deterministic protobuf encoding the SDK uses for sign bytes.
func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cosmosVerify verifies a 64-byte r||s signature as the SDK's secp256k1.PubKey.VerifySignature
// does: decred's ECDSA over the SHA-256 digest, s in the lower half.
func cosmosVerify(t *testing.T, pub []byte, digest [32]byte, sig []byte) {
	t.Helper()
	key, err := secp256k1.ParsePubKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 64 {
		t.Fatalf("signature is %d bytes, want 64", len(sig))
	}
	var r, s secp256k1.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) {
		t.Fatalf("signature %x: r or s not below the group order", sig)
	}
	if s.IsOverHalfOrder() {
		t.Fatalf("signature %x has a high s, which the SDK refuses", sig)
	}
	if !decdsa.NewSignature(&r, &s).Verify(digest[:], key) {
		t.Fatalf("decred secp256k1: signature %x does not verify", sig)
	}
}

// cosmosAddress is the SDK's account address: bech32(prefix, RIPEMD-160(SHA-256(key))).
func cosmosAddress(prefix string, pub []byte) string {
	sum := sha256.Sum256(pub)
	h := ripemd160.New()
	h.Write(sum[:])
	return bech32Encode(prefix, h.Sum(nil))
}

// bech32Encode is BIP-173's bech32 of data (8-bit bytes regrouped into 5-bit groups), written
// from the BIP's reference description so that it shares no code with the product.
func bech32Encode(hrp string, data []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	var values []byte
	acc, bits := 0, 0
	for _, b := range data {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			values = append(values, byte(acc>>bits&31))
		}
	}
	if bits > 0 {
		values = append(values, byte(acc<<(5-bits)&31))
	}
	polymod := func(v []byte) int {
		gen := []int{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
		chk := 1
		for _, x := range v {
			top := chk >> 25
			chk = (chk&0x1ffffff)<<5 ^ int(x)
			for i := range 5 {
				if top>>i&1 == 1 {
					chk ^= gen[i]
				}
			}
		}
		return chk
	}
	var expanded []byte
	for _, c := range []byte(hrp) {
		expanded = append(expanded, c>>5)
	}
	expanded = append(expanded, 0)
	for _, c := range []byte(hrp) {
		expanded = append(expanded, c&31)
	}
	mod := polymod(append(append(expanded, values...), 0, 0, 0, 0, 0, 0)) ^ 1
	out := []byte(hrp + "1")
	for _, v := range values {
		out = append(out, charset[v])
	}
	for i := range 6 {
		out = append(out, charset[mod>>(5*(5-i))&31])
	}
	return string(out)
}
