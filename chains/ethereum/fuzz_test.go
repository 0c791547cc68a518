package ethereum

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/google/go-cmp/cmp"
)

// FuzzParseTxArgs checks that ParseTxArgs never panics, that every refusal wraps
// ErrInvalid, and that accepted args re-encode (encoding/json) to an object that parses to
// the same args and builds the same transaction, or is refused the same way.
func FuzzParseTxArgs(f *testing.F) {
	for _, s := range txArgsSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseTxArgs(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		again := reparseTxArgs(t, a)
		if diff := cmp.Diff(a, again, cmpBig); diff != "" {
			t.Fatalf("args changed through re-encoding (-first +second):\n%s\ninput: %s", diff, b)
		}
		tx1, err1 := a.Transaction(mainnet)
		tx2, err2 := again.Transaction(mainnet)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Transaction: %v, then %v", err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrInvalid) {
				t.Fatalf("Transaction refusal does not wrap ErrInvalid: %v", err1)
			}
			return
		}
		signer := types.LatestSignerForChainID(mainnet)
		if signer.Hash(tx1) != signer.Hash(tx2) {
			t.Fatalf("signing hash changed through re-encoding; input: %s", b)
		}
	})
}

// reparseTxArgs marshals args with encoding/json and parses them again.
func reparseTxArgs(t *testing.T, a *TxArgs) *TxArgs {
	t.Helper()
	enc, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("accepted args do not marshal: %v", err)
	}
	again, err := ParseTxArgs(enc)
	if err != nil {
		t.Fatalf("re-encoded args refused: %v\n%s", err, enc)
	}
	return again
}

// txArgsSeeds are the objects of the tests, valid and refused.
func txArgsSeeds(t testing.TB) []string {
	auth, _ := signedAuthorizationJSON(t)
	const from = `"from":"0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f","nonce":"0x0","gas":"0x5208"`
	return []string{
		eip155Args,
		`{` + from + `,"maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","accessList":[{"address":"0x3535353535353535353535353535353535353535","storageKeys":["` + blobHash + `"]}],"chainId":"0x1","type":"0x2"}`,
		`{` + from + `,"to":"0x3535353535353535353535353535353535353535","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","maxFeePerBlobGas":"0x1","blobVersionedHashes":["` + blobHash + `"]}`,
		`{` + from + `,"to":"0x3535353535353535353535353535353535353535","maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","authorizationList":[` + auth + `]}`,
		`{` + from + `,"gasPrice":"0x1","data":"0x00","input":"0x00","value":"0xff"}`,
		`{"from":"0x9D8A62f656a8d1615C1294fd71e9CFb3E4855A4F"}`,
		`{` + from + `,"gasPrice":"0x01"}`,
		`{` + from + `,"gas":"0x1"}`,
		`{`, `null`, `[]`, `{"from":null}`,
	}
}

// FuzzDecodeRawTransaction checks that DecodeRawTransaction never panics, that every
// refusal wraps ErrInvalid, and that an accepted transaction re-encodes to exactly the
// input (the decoder takes canonical encodings only).
func FuzzDecodeRawTransaction(f *testing.F) {
	f.Add(hexutil.MustDecode(eip155SignedTx))
	k := newKeySigner(f)
	for _, s := range txArgsSeeds(f)[:5] {
		a, err := ParseTxArgs([]byte(s))
		if err != nil {
			f.Fatal(err)
		}
		a.From = k.addr
		tx, err := a.Transaction(mainnet)
		if err != nil {
			f.Fatal(err)
		}
		signed, err := SignTransaction(context.Background(), k.addr, tx, mainnet, k.sign)
		if err != nil {
			f.Fatal(err)
		}
		for _, t := range []*types.Transaction{tx, signed} {
			raw, err := t.MarshalBinary()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	f.Add([]byte{0x02})
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeRawTransaction(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		raw, err := tx.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted transaction does not encode: %v", err)
		}
		if !bytes.Equal(raw, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, raw)
		}
		// Hashing and sender recovery must not panic either (the sender may well be invalid).
		chainID := tx.ChainId()
		if chainID.Sign() <= 0 {
			chainID = big.NewInt(1)
		}
		_ = types.LatestSignerForChainID(chainID).Hash(tx)
		_, _ = types.Sender(types.LatestSignerForChainID(chainID), tx)
	})
}

// FuzzParseTypedData checks that ParseTypedData never panics, that every refusal wraps
// ErrInvalid, and that an accepted document re-encodes (encoding/json) to one that is
// accepted with the same digest.
func FuzzParseTypedData(f *testing.F) {
	f.Add([]byte(mailJSON))
	for _, s := range []string{
		typedDoc(`{"name":"v","type":"uint8[2][]"}`, `[[1,2],[3,4]]`),
		typedDoc(`{"name":"v","type":"int8"}`, `-128`),
		typedDoc(`{"name":"v","type":"bytes"}`, `"0x00ff"`),
		typedDoc(`{"name":"v","type":"bytes32"}`, `"`+blobHash+`"`),
		typedDoc(`{"name":"v","type":"address[]"}`, `["0x3535353535353535353535353535353535353535"]`),
		typedDoc(`{"name":"v","type":"string"},{"name":"w","type":"bool"}`, `"x","w":true`),
		`{"types":{"EIP712Domain":[{"name":"chainId","type":"uint256"}],"A":[{"name":"b","type":"B[]"}],"B":[{"name":"a","type":"A[]"}]},"primaryType":"A","domain":{"chainId":"0x1"},"message":{"b":[{"a":[]}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := ParseTypedData(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		digest, err := TypedDataDigest(td)
		if err != nil {
			t.Fatalf("accepted document has no digest: %v", err)
		}
		enc, err := json.Marshal(td)
		if err != nil {
			t.Fatalf("accepted document does not marshal: %v", err)
		}
		again, err := ParseTypedData(enc)
		if err != nil {
			t.Fatalf("re-encoded document refused: %v\n%s", err, enc)
		}
		digest2, err := TypedDataDigest(again)
		if err != nil || digest2 != digest {
			t.Fatalf("digest changed through re-encoding (%v)\nin:  %s\nout: %s", err, b, enc)
		}
	})
}
