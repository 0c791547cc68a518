package cosmos

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains"
)

// The helpers below build the protobuf messages of a Cosmos transaction field by field, with
// protowire, the way the SDK's generated code lays them out (fields in number order).

func pbBytes(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func pbString(num protowire.Number, v string) []byte { return pbBytes(num, []byte(v)) }

func pbVarint(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// anyOf is a google.protobuf.Any.
func anyOf(typeURL string, value []byte) []byte {
	return cat(pbString(1, typeURL), pbBytes(2, value))
}

// pubKeyAny is the Any of a /cosmos.crypto.secp256k1.PubKey.
func pubKeyAny(key []byte) []byte { return anyOf(secp256k1PubKeyType, pbBytes(1, key)) }

// modeSingle is a ModeInfo{single: {mode}}.
func modeSingle(mode uint64) []byte { return pbBytes(1, pbVarint(1, mode)) }

// signerInfo is a SignerInfo with a public key Any, a mode info and a sequence.
func signerInfo(keyAny, mode []byte, sequence uint64) []byte {
	return cat(pbBytes(1, keyAny), pbBytes(2, mode), pbVarint(3, sequence))
}

// fee is a Fee of 5000uatom and 200000 gas.
var fee = cat(pbBytes(1, cat(pbString(1, "uatom"), pbString(2, "5000"))), pbVarint(2, 200000))

// authInfo is an AuthInfo with the given signer infos and the fee above.
func authInfo(infos ...[]byte) []byte {
	var b []byte
	for _, info := range infos {
		b = append(b, pbBytes(1, info)...)
	}
	return append(b, pbBytes(2, fee)...)
}

// body is a TxBody with one MsgSend and a memo.
var body = cat(
	pbBytes(1, anyOf("/cosmos.bank.v1beta1.MsgSend", cat(
		pbString(1, "cosmos1w34k53py5v5xyluazqpq65agyajavep2rflq6h"),
		pbString(2, "cosmos1sl48sj2jjed7enrv3lzzplr9wc2f5js5tzjph8"),
		pbBytes(3, cat(pbString(1, "uatom"), pbString(2, "1000"))),
	))),
	pbString(2, "mpcsigner test"),
)

// signDocBytes is a canonical SignDoc.
func signDocBytes(auth []byte, chainID string, account uint64) []byte {
	b := cat(pbBytes(1, body), pbBytes(2, auth), pbString(3, chainID))
	if account != 0 {
		b = append(b, pbVarint(4, account)...)
	}
	return b
}

// directSignDoc is the SignDoc of body signed by key alone, in SIGN_MODE_DIRECT.
func directSignDoc(key []byte) []byte {
	return signDocBytes(authInfo(signerInfo(pubKeyAny(key), modeSingle(signModeDirect), 7)), "cosmoshub-4", 12345)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// libsecp256k1Verify checks a 64-byte r||s signature with go-ethereum's binding of
// libsecp256k1 (cgo), an implementation independent of the btcec code the package uses. It
// refuses high-s signatures, as the Cosmos SDK does.
func libsecp256k1Verify(t *testing.T, pub []byte, digest [32]byte, sig []byte) {
	t.Helper()
	if !crypto.VerifySignature(pub, digest[:], sig) {
		t.Fatalf("libsecp256k1: signature %x does not verify (or is high-s) under %x", sig, pub)
	}
}

// wantInvalid asserts that err wraps chains.ErrInvalid and mentions want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want an error containing %q", want)
	}
	if !errors.Is(err, chains.ErrInvalid) {
		t.Fatalf("error %q does not wrap chains.ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
}
