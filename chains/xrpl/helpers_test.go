package xrpl

import (
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// Field headers of the tests' transactions (type code << 4 | field code, from definitions.json).
var (
	hTransactionType = []byte{0x12}
	hFlags           = []byte{0x22}
	hSequence        = []byte{0x24}
	hAmount          = []byte{0x61}
	hFee             = []byte{0x68}
	hSendMax         = []byte{0x69}
	hSigningPubKey   = []byte{0x73}
	hTxnSignature    = []byte{0x74}
	hAccount         = []byte{0x81}
	hDestination     = []byte{0x83}
	hMemos           = []byte{0xf9}
	hMemo            = []byte{0xea}
	hMemoType        = []byte{0x7c}
	hMemoData        = []byte{0x7d}
	hPaths           = []byte{0x01, 0x12} // type 18 >= 16: field code in the first byte, type after
	objectEndByte    = []byte{0xe1}
	arrayEndByte     = []byte{0xf1}
)

// vl is a variable-length value with its 1-byte length (values here are under 193 bytes).
func vl(v []byte) []byte { return append([]byte{byte(len(v))}, v...) }

// xrpAmount is an Amount of drops XRP: positive bit set, not an issued currency.
func xrpAmount(drops uint64) []byte {
	v := drops | 0x4000000000000000
	return []byte{byte(v >> 56), byte(v >> 48), byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// usdAmount is an issued-currency Amount of 1 USD from issuer.
func usdAmount(issuer []byte) []byte {
	currency := make([]byte, 20)
	copy(currency[12:], "USD")
	return chaintest.Cat([]byte{0xd4, 0x83, 0x8d, 0x7e, 0xa4, 0xc6, 0x80, 0x00}, currency, issuer)
}

// destination is the account the tests pay.
var destination = make([]byte, 20)

// paymentFields are the fields, each header and value, of a Payment from account with
// SigningPubKey pub, in canonical order: the ones before TxnSignature's place, then the rest.
func paymentFields(account, pub []byte) (before, after [][]byte) {
	memo := chaintest.Cat(hMemo, hMemoType, vl([]byte("text/plain")), hMemoData, vl([]byte("mpcsigner")), objectEndByte)
	path := chaintest.Cat([]byte{0x30}, destination, make([]byte, 20), []byte{0xff, 0x01}, destination, []byte{0x00})
	before = [][]byte{
		chaintest.Cat(hTransactionType, []byte{0, 0}),
		chaintest.Cat(hFlags, []byte{0x80, 0, 0, 0}),
		chaintest.Cat(hSequence, []byte{0, 0, 0, 7}),
		chaintest.Cat(hAmount, xrpAmount(1_000_000)),
		chaintest.Cat(hFee, xrpAmount(12)),
		chaintest.Cat(hSendMax, usdAmount(destination)),
		chaintest.Cat(hSigningPubKey, vl(pub)),
	}
	after = [][]byte{
		chaintest.Cat(hAccount, vl(account)),
		chaintest.Cat(hDestination, vl(destination)),
		chaintest.Cat(hMemos, memo, arrayEndByte),
		chaintest.Cat(hPaths, path),
	}
	return before, after
}

// payment is the unsigned Payment of paymentFields.
func payment(account, pub []byte) []byte {
	before, after := paymentFields(account, pub)
	return chaintest.Cat(append(before, after...)...)
}

// libsecp256k1VerifyDER checks a DER signature with encoding/asn1 and go-ethereum's binding of
// libsecp256k1, independently of btcec: the DER must be exactly what asn1 writes for (r, s)
// (so canonical), s must be low, and the signature must verify over digest under pub.
func libsecp256k1VerifyDER(t *testing.T, pub []byte, digest [32]byte, der []byte) {
	t.Helper()
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 {
		t.Fatalf("signature %X is not one DER sequence: %v", der, err)
	}
	again, _ := asn1.Marshal(rs)
	if string(again) != string(der) {
		t.Fatalf("signature %X is not canonical DER (%X)", der, again)
	}
	halfN := new(big.Int).Rsh(btcec.S256().N, 1)
	if rs.S.Cmp(halfN) > 0 {
		t.Fatalf("signature %X has a high s", der)
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	if !crypto.VerifySignature(pub, digest[:], sig) {
		t.Fatalf("libsecp256k1: signature %X does not verify under %X", der, pub)
	}
}
