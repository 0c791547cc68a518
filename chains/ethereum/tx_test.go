package ethereum

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/google/go-cmp/cmp"
	"github.com/holiman/uint256"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// The example of the EIP-155 text. (The signing hash is the one of the current EIP text; the
// original issue #155 printed another, wrong, value.)
const (
	eip155Key         = "0x4646464646464646464646464646464646464646464646464646464646464646"
	eip155Args        = `{"from":"0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F","to":"0x3535353535353535353535353535353535353535","nonce":"0x9","gasPrice":"0x4a817c800","gas":"0x5208","value":"0xde0b6b3a7640000"}`
	eip155SigningData = "0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080"
	eip155SigningHash = "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
	eip155SignedTx    = "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
)

var mainnet = big.NewInt(1)

// mustTx parses args and builds the transaction for chainID.
func mustTx(t testing.TB, args string, chainID *big.Int) (*TxArgs, *types.Transaction) {
	t.Helper()
	a, err := ParseTxArgs([]byte(args))
	if err != nil {
		t.Fatalf("ParseTxArgs: %v", err)
	}
	tx, err := a.Transaction(chainID)
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	return a, tx
}

// TestEIP155Vector reproduces the EIP-155 example from the JSON-RPC object a client would
// send: the signing data (RLP-encoded here without core/types), the signing hash and the
// signed transaction.
func TestEIP155Vector(t *testing.T) {
	a, tx := mustTx(t, eip155Args, mainnet)
	signingData, err := rlp.EncodeToBytes([]any{
		tx.Nonce(), tx.GasPrice(), tx.Gas(), tx.To(), tx.Value(), tx.Data(), mainnet, uint(0), uint(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{
		"signing data": hexutil.Encode(signingData),
		"signing hash": types.LatestSignerForChainID(mainnet).Hash(tx).Hex(),
		"keccak":       hexutil.Encode(crypto.Keccak256(signingData)),
	}
	want := map[string]string{"signing data": eip155SigningData, "signing hash": eip155SigningHash, "keccak": eip155SigningHash}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}

	k := fixedKeySigner(t, eip155Key)
	signed, err := SignTransaction(context.Background(), a.From, tx, mainnet, k.sign)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(eip155SignedTx, hexutil.Encode(raw)); diff != "" {
		t.Fatalf("signed transaction (-want +got):\n%s", diff)
	}
	v, _, _ := signed.RawSignatureValues()
	if v.Uint64() != 37 {
		t.Errorf("v = %d, the EIP says 37", v)
	}

	decoded, err := DecodeRawTransaction(hexutil.MustDecode(eip155SignedTx))
	if err != nil {
		t.Fatal(err)
	}
	sender, err := types.Sender(types.LatestSignerForChainID(mainnet), decoded)
	if err != nil {
		t.Fatal(err)
	}
	if sender != a.From {
		t.Errorf("sender %s, want %s", sender, a.From)
	}
}

// TestEIP1559Vector builds a dynamic-fee transaction with an access list, recomputes its
// signing hash from the EIP-1559 formula keccak256(0x02 || rlp([...])) without core/types,
// signs it with a known key, checks the signature with btcec and types.Sender, and round-trips
// the raw encoding through DecodeRawTransaction.
func TestEIP1559Vector(t *testing.T) {
	k := fixedKeySigner(t, eip155Key)
	args := `{"from":"0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F","to":"0x3535353535353535353535353535353535353535",
		"nonce":"0x2a","gas":"0x7a120","maxFeePerGas":"0x4a817c800","maxPriorityFeePerGas":"0x3b9aca00",
		"value":"0xde0b6b3a7640000","input":"0xa9059cbb","chainId":"0x1",
		"accessList":[{"address":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","storageKeys":["0x0000000000000000000000000000000000000000000000000000000000000001"]}]}`
	a, tx := mustTx(t, args, mainnet)
	if tx.Type() != types.DynamicFeeTxType {
		t.Fatalf("type %d, want 2", tx.Type())
	}
	payload, err := rlp.EncodeToBytes([]any{
		mainnet, uint64(42), big.NewInt(1e9), big.NewInt(20e9), uint64(500000),
		common.HexToAddress("0x3535353535353535353535353535353535353535"), big.NewInt(1e18), hexutil.MustDecode("0xa9059cbb"),
		[]any{[]any{common.HexToAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), []common.Hash{common.BigToHash(big.NewInt(1))}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	digest := crypto.Keccak256(append([]byte{types.DynamicFeeTxType}, payload...))
	if diff := cmp.Diff(hexutil.Encode(digest), types.LatestSignerForChainID(mainnet).Hash(tx).Hex()); diff != "" {
		t.Fatalf("signing hash (-formula +core/types):\n%s", diff)
	}

	signed, err := SignTransaction(context.Background(), a.From, tx, mainnet, k.sign)
	if err != nil {
		t.Fatal(err)
	}
	btcecVerify(t, k.compressed(), digest, rsvOf(signed))
	raw, err := signed.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != types.DynamicFeeTxType {
		t.Fatalf("raw transaction starts with %#x, want the type byte 0x02", raw[0])
	}
	decoded, err := DecodeRawTransaction(raw)
	if err != nil {
		t.Fatal(err)
	}
	reencoded, err := decoded.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, reencoded) {
		t.Fatalf("raw encoding does not round-trip:\n%x\n%x", raw, reencoded)
	}
	sender, err := types.Sender(types.NewLondonSigner(mainnet), decoded)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k.addr, sender); diff != "" {
		t.Errorf("sender (-want +got):\n%s", diff)
	}
	if decoded.Hash() != signed.Hash() {
		t.Errorf("transaction hash changed through decoding")
	}
}

// rsvOf returns a signed transaction's R||S||recovery id, with the recovery id taken out of
// V by the EIP-155 or EIP-2718 rule.
func rsvOf(tx *types.Transaction) []byte {
	v, r, s := tx.RawSignatureValues()
	recID := v.Uint64()
	if tx.Type() == types.LegacyTxType {
		recID = (recID - 35) % 2
	}
	out := make([]byte, 65)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:64])
	out[64] = byte(recID)
	return out
}

// signedAuthorizationJSON returns an EIP-7702 authorization signed by a fresh key, as JSON.
func signedAuthorizationJSON(t testing.TB) (string, common.Address) {
	t.Helper()
	authority := newKeySigner(t)
	auth, err := types.SignSetCode(authority.key, types.SetCodeAuthorization{
		ChainID: *uint256.NewInt(1), Address: common.HexToAddress("0x00000000000000000000000000000000000000aa"), Nonce: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(auth)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), authority.addr
}

// blobHash is a versioned hash with the KZG version byte.
const blobHash = "0x01b0a4cdd5f55589f5c5b4d46c76704bb6ce95c0a8c09f77f197a57808dded28"

// TestSignTransactionAllTypes signs one transaction of each type 0 to 4, built from the
// JSON-RPC object, with a random key; checks the type, the sender as nodes recover it, the
// signature with btcec, and the raw round trip.
func TestSignTransactionAllTypes(t *testing.T) {
	k := newKeySigner(t)
	auth, authority := signedAuthorizationJSON(t)
	from := `"from":"` + k.addr.Hex() + `","nonce":"0x0","gas":"0x186a0",`
	tests := []struct {
		name string
		args string
		want uint8
	}{
		{"legacy", `{` + from + `"to":"0x3535353535353535353535353535353535353535","gasPrice":"0x3b9aca00","value":"0x1"}`, types.LegacyTxType},
		{"legacy contract creation", `{` + from + `"gasPrice":"0x3b9aca00","data":"0x6001600055"}`, types.LegacyTxType},
		{"access list", `{` + from + `"to":"0x3535353535353535353535353535353535353535","gasPrice":"0x3b9aca00","accessList":[]}`, types.AccessListTxType},
		{"dynamic fee", `{` + from + `"to":"0x3535353535353535353535353535353535353535","maxFeePerGas":"0x77359400","maxPriorityFeePerGas":"0x1","chainId":"0x1","type":"0x2"}`, types.DynamicFeeTxType},
		{"dynamic fee, data and input equal", `{` + from + `"maxFeePerGas":"0x1","maxPriorityFeePerGas":"0x0","data":"0x00","input":"0x00"}`, types.DynamicFeeTxType},
		{"blob", `{` + from + `"to":"0x3535353535353535353535353535353535353535","maxFeePerGas":"0x77359400","maxPriorityFeePerGas":"0x1","maxFeePerBlobGas":"0x3","blobVersionedHashes":["` + blobHash + `"]}`, types.BlobTxType},
		{"set code", `{` + from + `"to":"` + k.addr.Hex() + `","maxFeePerGas":"0x77359400","maxPriorityFeePerGas":"0x1","authorizationList":[` + auth + `]}`, types.SetCodeTxType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, tx := mustTx(t, tc.args, mainnet)
			if tx.Type() != tc.want {
				t.Fatalf("type %d, want %d", tx.Type(), tc.want)
			}
			signed, err := SignTransaction(context.Background(), a.From, tx, mainnet, k.sign)
			if err != nil {
				t.Fatal(err)
			}
			signer := types.LatestSignerForChainID(mainnet)
			sender, err := types.Sender(signer, signed)
			if err != nil {
				t.Fatal(err)
			}
			if sender != k.addr {
				t.Fatalf("sender %s, want %s", sender, k.addr)
			}
			btcecVerify(t, k.compressed(), signer.Hash(tx).Bytes(), rsvOf(signed))
			raw, err := signed.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := DecodeRawTransaction(raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(signed.Hash(), decoded.Hash()); diff != "" {
				t.Errorf("hash after decoding (-want +got):\n%s", diff)
			}
			if tc.want == types.SetCodeTxType {
				got, err := decoded.SetCodeAuthorizations()[0].Authority()
				if err != nil || got != authority {
					t.Errorf("authorization signed by %s (%v), want %s", got, err, authority)
				}
			}
		})
	}
}

// TestSignTransactionRefuses covers refusals before and after signing.
func TestSignTransactionRefuses(t *testing.T) {
	k := newKeySigner(t)
	other := newKeySigner(t)
	_, dyn := mustTx(t, `{"from":"`+k.addr.Hex()+`","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1"}`, big.NewInt(5))
	_, legacy := mustTx(t, `{"from":"`+k.addr.Hex()+`","nonce":"0x0","gas":"0x5208","gasPrice":"0x2"}`, big.NewInt(5))
	tests := []struct {
		name    string
		tx      *types.Transaction
		chainID *big.Int
		sign    SignFunc
		want    error
		msg     string
	}{
		{"typed tx for another chain", dyn, mainnet, k.sign, ErrChainID, "chain id"},
		{"no chain id", legacy, nil, k.sign, ErrInvalid, "chain id"},
		{"zero chain id", legacy, new(big.Int), k.sign, ErrInvalid, "chain id"},
		{"no transaction", nil, mainnet, k.sign, ErrInvalid, "transaction: missing"},
		{"signer uses another key", legacy, big.NewInt(5), func(ctx context.Context, _ common.Address, d [32]byte) ([65]byte, error) {
			return other.sign(ctx, other.addr, d)
		}, ErrSignature, "recovers to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := k.calls
			signed, err := SignTransaction(context.Background(), k.addr, tc.tx, tc.chainID, tc.sign)
			if signed != nil || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got (%v, %v), want an error wrapping %q containing %q", signed, err, tc.want, tc.msg)
			}
			if errors.Is(err, ErrInvalid) && k.calls != before {
				t.Errorf("signed before refusing the input")
			}
		})
	}
}

// TestDecodeRawTransactionRefuses feeds malformed raw transactions.
func TestDecodeRawTransactionRefuses(t *testing.T) {
	k := newKeySigner(t)
	a, dyn := mustTx(t, `{"from":"`+k.addr.Hex()+`","nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1"}`, mainnet)
	signed, err := SignTransaction(context.Background(), a.From, dyn, mainnet, k.sign)
	if err != nil {
		t.Fatal(err)
	}
	rawDyn, err := signed.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	withSidecar := types.NewTx(&types.BlobTx{
		ChainID: uint256.NewInt(1), GasTipCap: uint256.NewInt(1), GasFeeCap: uint256.NewInt(1), Value: uint256.NewInt(0),
		BlobFeeCap: uint256.NewInt(1), BlobHashes: []common.Hash{common.HexToHash(blobHash)},
		Sidecar: types.NewBlobTxSidecar(types.BlobSidecarVersion0, nil, nil, nil),
	})
	rawSidecar, err := withSidecar.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	legacy := hexutil.MustDecode(eip155SignedTx)
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"oversize", make([]byte, MaxRawTransactionBytes+1), "more than the limit"},
		{"legacy trailing byte", append(bytes.Clone(legacy), 0x00), "1 trailing bytes"},
		{"typed trailing byte", append(bytes.Clone(rawDyn), 0x00), "1 trailing bytes"},
		{"truncated", legacy[:len(legacy)-1], "raw transaction"},
		{"legacy not a list", []byte{0x83, 1, 2, 3}, "not an RLP list"},
		{"empty list", []byte{0xc0}, "raw transaction"},
		{"non-canonical integer", append([]byte{0xf8, 0x6d, 0x81, 0x09}, legacy[3:]...), "non-canonical"},
		{"unknown type", append([]byte{0x05}, rawDyn[1:]...), "transaction type not supported"},
		{"type byte only", []byte{0x02}, "raw transaction"},
		{"bad RLP", []byte{0x02, 0xf8, 0xff}, "raw transaction"},
		{"blob sidecar", rawSidecar, "sidecar"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := DecodeRawTransaction(tc.raw)
			if tx != nil {
				t.Errorf("returned a transaction alongside the error")
			}
			chaintest.WantInvalid(t, err, tc.want)
		})
	}
}
