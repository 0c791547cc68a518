package cosmos

import (
	"encoding/base64"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// The helpers below build the protobuf messages of a Cosmos transaction field by field, with
// chaintest's protobuf writers, the way the SDK's generated code lays them out (fields in
// number order).

func pbString(num protowire.Number, v string) []byte { return chaintest.PBBytes(num, []byte(v)) }

// anyOf is a google.protobuf.Any.
func anyOf(typeURL string, value []byte) []byte {
	return chaintest.Cat(pbString(1, typeURL), chaintest.PBBytes(2, value))
}

// pubKeyAny is the Any of a /cosmos.crypto.secp256k1.PubKey.
func pubKeyAny(key []byte) []byte { return anyOf(secp256k1PubKeyType, chaintest.PBBytes(1, key)) }

// modeSingle is a ModeInfo{single: {mode}}.
func modeSingle(mode uint64) []byte { return chaintest.PBBytes(1, chaintest.PBVarint(1, mode)) }

// signerInfo is a SignerInfo with a public key Any, a mode info and a sequence.
func signerInfo(keyAny, mode []byte, sequence uint64) []byte {
	return chaintest.Cat(chaintest.PBBytes(1, keyAny), chaintest.PBBytes(2, mode), chaintest.PBVarint(3, sequence))
}

// fee is a Fee of 5000uatom and 200000 gas.
var fee = chaintest.Cat(chaintest.PBBytes(1, chaintest.Cat(pbString(1, "uatom"), pbString(2, "5000"))), chaintest.PBVarint(2, 200000))

// authInfo is an AuthInfo with the given signer infos and the fee above.
func authInfo(infos ...[]byte) []byte {
	var b []byte
	for _, info := range infos {
		b = append(b, chaintest.PBBytes(1, info)...)
	}
	return append(b, chaintest.PBBytes(2, fee)...)
}

// body is a TxBody with one MsgSend and a memo.
var body = chaintest.Cat(
	chaintest.PBBytes(1, anyOf("/cosmos.bank.v1beta1.MsgSend", chaintest.Cat(
		pbString(1, "cosmos1w34k53py5v5xyluazqpq65agyajavep2rflq6h"),
		pbString(2, "cosmos1sl48sj2jjed7enrv3lzzplr9wc2f5js5tzjph8"),
		chaintest.PBBytes(3, chaintest.Cat(pbString(1, "uatom"), pbString(2, "1000"))),
	))),
	pbString(2, "mpcsigner test"),
)

// signDocBytes is a canonical SignDoc.
func signDocBytes(auth []byte, chainID string, account uint64) []byte {
	b := chaintest.Cat(chaintest.PBBytes(1, body), chaintest.PBBytes(2, auth), pbString(3, chainID))
	if account != 0 {
		b = append(b, chaintest.PBVarint(4, account)...)
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
