package bitcoin

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

func TestParsePSBTRefusesBIPInvalidVectors(t *testing.T) {
	for _, set := range [][]psbtVector{bip174Invalid, bip174SignerChecks, bip371Invalid} {
		for _, v := range set {
			t.Run(v.name, func(t *testing.T) {
				_, err := ParsePSBT(chaintest.MustHex(t, v.hex))
				chaintest.WantInvalid(t, err)
				t.Log(err)
			})
		}
	}
}

func TestParsePSBTAcceptsBIPValidVectors(t *testing.T) {
	for _, set := range [][]psbtVector{bip174Valid, bip371Valid} {
		for _, v := range set {
			t.Run(v.name, func(t *testing.T) {
				raw := chaintest.MustHex(t, v.hex)
				pkt, err := ParsePSBT(raw)
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				// What btcd's own parser makes of it must be what ParsePSBT returns.
				ref, err := psbt.NewFromRawBytes(bytes.NewReader(raw), false)
				if err != nil {
					t.Fatalf("btcd refuses a vector ParsePSBT accepts: %v", err)
				}
				if got, want := serialize(t, pkt), serialize(t, ref); !bytes.Equal(got, want) {
					t.Fatalf("ParsePSBT and psbt.NewFromRawBytes disagree:\n got %x\nwant %x", got, want)
				}
				// Its re-serialization must parse again.
				if _, err := ParsePSBT(serialize(t, pkt)); err != nil {
					t.Fatalf("re-serialized PSBT refused: %v", err)
				}
			})
		}
	}
}

func serialize(t testing.TB, pkt *psbt.Packet) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pkt.Serialize(&b); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return b.Bytes()
}

// TestParsePSBTErrorsNameTheField checks the messages of the refusals whose cause the BIP
// names, so that a refusal for the wrong reason does not pass.
func TestParsePSBTErrorsNameTheField(t *testing.T) {
	byName := map[string]string{}
	for _, set := range [][]psbtVector{bip174Invalid, bip174SignerChecks, bip371Invalid} {
		for _, v := range set {
			byName[v.name] = v.hex
		}
	}
	cases := []struct {
		vector    string
		fragments []string
	}{
		{"Network transaction, not PSBT format", []string{"magic"}},
		{"PSBT missing outputs", []string{"output 0"}},
		{"PSBT where one input has a filled scriptSig in the unsigned tx", []string{"PSBT_GLOBAL_UNSIGNED_TX", "scriptSig"}},
		{"PSBT where inputs and outputs are provided but without an unsigned tx", []string{"PSBT_GLOBAL_UNSIGNED_TX is missing"}},
		{"PSBT with duplicate keys in an input", []string{"input 0", "duplicate key"}},
		{"PSBT with invalid global transaction typed key", []string{"global", "PSBT_GLOBAL_UNSIGNED_TX", "key data"}},
		{"PSBT with invalid input witness utxo typed key", []string{"input 0", "PSBT_IN_WITNESS_UTXO", "key data"}},
		{"PSBT with invalid pubkey length for input partial signature typed key", []string{"input 0", "PSBT_IN_PARTIAL_SIG", "key data"}},
		{"PSBT with invalid redeemscript typed key", []string{"PSBT_IN_REDEEM_SCRIPT", "key data"}},
		{"PSBT with invalid witnessscript typed key", []string{"PSBT_IN_WITNESS_SCRIPT", "key data"}},
		{"PSBT with invalid pubkey in input BIP 32 derivation paths typed key", []string{"PSBT_IN_BIP32_DERIVATION", "key data"}},
		{"PSBT with invalid non-witness utxo typed key", []string{"PSBT_IN_NON_WITNESS_UTXO", "key data"}},
		{"PSBT with invalid final scriptsig typed key", []string{"PSBT_IN_FINAL_SCRIPTSIG", "key data"}},
		{"PSBT with invalid final script witness typed key", []string{"PSBT_IN_FINAL_SCRIPTWITNESS", "key data"}},
		{"PSBT with invalid pubkey in output BIP 32 derivation paths typed key", []string{"output", "PSBT_OUT_BIP32_DERIVATION", "key data"}},
		{"PSBT with invalid input sighash type typed key", []string{"PSBT_IN_SIGHASH_TYPE", "key data"}},
		{"PSBT with invalid output redeemScript typed key", []string{"PSBT_OUT_REDEEM_SCRIPT", "key data"}},
		{"PSBT with invalid output witnessScript typed key", []string{"PSBT_OUT_WITNESS_SCRIPT", "key data"}},
		{"PSBT with unsigned tx serialized with witness serialization format", []string{"PSBT_GLOBAL_UNSIGNED_TX"}},
		{"A Witness UTXO is provided for a non-witness input", []string{"input 0", "PSBT_IN_WITNESS_UTXO", "not segwit"}},
		{"redeemScript with non-witness UTXO does not match the scriptPubKey", []string{"input 0", "PSBT_IN_REDEEM_SCRIPT"}},
		{"redeemScript with witness UTXO does not match the scriptPubKey", []string{"input 1", "PSBT_IN_REDEEM_SCRIPT"}},
		{"witnessScript with witness UTXO does not match the redeemScript", []string{"input 1", "PSBT_IN_WITNESS_SCRIPT"}},
		{"PSBT With PSBT_IN_TAP_INTERNAL_KEY key that is too long (incorrectly serialized as compressed DER)", []string{"PSBT_IN_TAP_INTERNAL_KEY", "value is 33 bytes"}},
		{"PSBT With PSBT_IN_TAP_KEY_SIG signature that is too short", []string{"PSBT_IN_TAP_KEY_SIG", "value is 63 bytes"}},
		{"PSBT With PSBT_IN_TAP_KEY_SIG signature that is too long", []string{"PSBT_IN_TAP_KEY_SIG", "value is 66 bytes"}},
		{"PSBT With PSBT_IN_TAP_BIP32_DERIVATION key that is too long (incorrectly serialized as compressed DER)", []string{"PSBT_IN_TAP_BIP32_DERIVATION", "key data is 33 bytes"}},
		{"PSBT With PSBT_OUT_TAP_INTERNAL_KEY key that is too long (incorrectly serialized as compressed DER)", []string{"output 1", "PSBT_OUT_TAP_INTERNAL_KEY"}},
		{"PSBT With PSBT_OUT_TAP_BIP32_DERIVATION key that is too long (incorrectly serialized as compressed DER)", []string{"PSBT_OUT_TAP_BIP32_DERIVATION", "key data is 33 bytes"}},
		{"PSBT With PSBT_IN_TAP_SCRIPT_SIG key that is too long (incorrectly serialized as compressed DER)", []string{"PSBT_IN_TAP_SCRIPT_SIG", "key data is 65 bytes"}},
		{"PSBT With PSBT_IN_TAP_SCRIPT_SIG signature that is too long", []string{"PSBT_IN_TAP_SCRIPT_SIG", "value is 66 bytes"}},
		{"PSBT With PSBT_IN_TAP_SCRIPT_SIG signature that is too short", []string{"PSBT_IN_TAP_SCRIPT_SIG", "value is 63 bytes"}},
		{"PSBT With PSBT_IN_TAP_LEAF_SCRIPT Control block that is too long", []string{"PSBT_IN_TAP_LEAF_SCRIPT", "key data is 98 bytes"}},
		{"PSBT With PSBT_IN_TAP_LEAF_SCRIPT Control block that is too short", []string{"PSBT_IN_TAP_LEAF_SCRIPT", "key data is 96 bytes"}},
	}
	for _, c := range cases {
		t.Run(c.vector, func(t *testing.T) {
			h, ok := byName[c.vector]
			if !ok {
				t.Fatalf("no vector named %q", c.vector)
			}
			_, err := ParsePSBT(chaintest.MustHex(t, h))
			chaintest.WantInvalid(t, err, c.fragments...)
		})
	}
}

// validPSBT is BIP174's valid "PSBT with one P2WSH input of a 2-of-2 multisig ..." vector,
// a base for the hand-made refusals below.
func validPSBT(t *testing.T) []byte {
	t.Helper()
	for _, v := range bip174Valid {
		if strings.HasPrefix(v.name, "PSBT with one P2WSH input of a 2-of-2 multisig") {
			return chaintest.MustHex(t, v.hex)
		}
	}
	t.Fatal("vector missing")
	return nil
}

func TestParsePSBTRefusals(t *testing.T) {
	base := validPSBT(t)
	cases := []struct {
		name      string
		raw       []byte
		fragments []string
	}{
		{"empty", nil, []string{"magic"}},
		{"magic only", psbtMagic, []string{"global", "key"}},
		{"trailing byte", append(append([]byte(nil), base...), 0x00), []string{"after the last output map"}},
		{"truncated", base[:len(base)-1], []string{"output"}},
		{"over the size cap", append(append([]byte(nil), psbtMagic...), make([]byte, MaxPSBTBytes)...), []string{"limit"}},
		{"non-canonical key length", append(append([]byte(nil), psbtMagic...), 0xfd, 0x01, 0x00), []string{"non-canonical"}},
		{"version 2", withGlobal(t, base, []byte{0xfb}, []byte{2, 0, 0, 0}), []string{"PSBT_GLOBAL_VERSION", "version 2"}},
		{"version 2 field", withGlobal(t, base, []byte{0x02}, []byte{2, 0, 0, 0}), []string{"PSBT_GLOBAL_TX_VERSION", "version 2 field"}},
		{"duplicate global unknown", withGlobal(t, withGlobal(t, base, []byte{0x70, 1}, []byte{1}), []byte{0x70, 1}, []byte{2}), []string{"global", "duplicate key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePSBT(c.raw)
			chaintest.WantInvalid(t, err, c.fragments...)
		})
	}
}

// TestParsePSBTBoundsWhatBtcdAllocates: fields whose counts or lengths would make btcd's
// decoders allocate without bound, index out of range or misread are refused by ParsePSBT
// before btcd sees them.
func TestParsePSBTBoundsWhatBtcdAllocates(t *testing.T) {
	x := chaintest.BIP340("k").InternalKey()
	pub := chaintest.Secp256k1("k").PublicKey()
	huge := []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0x08} // CompactSize 2^59
	cases := []struct {
		name      string
		key       []byte
		value     []byte
		fragments []string
	}{
		{"BIP32 derivation without fingerprint", append([]byte{0x06}, pub...), nil,
			[]string{"input 0", "PSBT_IN_BIP32_DERIVATION", "value is 0 bytes"}},
		{"taproot derivation with 2^59 leaf hashes", append([]byte{0x16}, x...), append(append([]byte(nil), huge...), 0, 0, 0, 0),
			[]string{"input 0", "PSBT_IN_TAP_BIP32_DERIVATION", "leaf hash count"}},
		{"final witness with 2^59 items", []byte{0x08}, huge,
			[]string{"input 0", "PSBT_IN_FINAL_SCRIPTWITNESS", "count"}},
		{"previous transaction with 2^32-1 inputs", []byte{0x00}, []byte{2, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff},
			[]string{"input 0", "PSBT_IN_NON_WITNESS_UTXO", "input count"}},
		{"witness_utxo with a wrong script length", []byte{0x01}, append([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0x16}, make([]byte, 23)...),
			[]string{"input 0", "PSBT_IN_WITNESS_UTXO", "bytes after the output"}},
	}
	prev := fundingTx(8, wire.NewTxOut(100_000, []byte{0x51}))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkt := spendPSBT(t, prev, 0)
			pkt.Inputs[0].Unknowns = []*psbt.Unknown{{Key: c.key, Value: c.value}}
			_, err := ParsePSBT(rawPSBT(t, pkt))
			chaintest.WantInvalid(t, err, c.fragments...)
		})
	}

	t.Run("unsigned transaction with 2^32-1 inputs", func(t *testing.T) {
		raw := append(append([]byte(nil), psbtMagic...), 0x01, 0x00, 0x09, 2, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00)
		_, err := ParsePSBT(raw)
		chaintest.WantInvalid(t, err, "PSBT_GLOBAL_UNSIGNED_TX", "input count")
	})
	t.Run("unsigned transaction over the input limit", func(t *testing.T) {
		many := fundingTx(8)
		for i := 0; i <= MaxPSBTInputs; i++ {
			many.AddTxOut(wire.NewTxOut(10, []byte{0x51}))
		}
		indices := make([]uint32, MaxPSBTInputs+1)
		for i := range indices {
			indices[i] = uint32(i)
		}
		_, err := ParsePSBT(rawPSBT(t, spendPSBT(t, many, indices...)))
		chaintest.WantInvalid(t, err, "PSBT_GLOBAL_UNSIGNED_TX", "over the limits")
	})
	t.Run("one output spent twice", func(t *testing.T) {
		_, err := ParsePSBT(rawPSBT(t, spendPSBT(t, prev, 0, 0)))
		chaintest.WantInvalid(t, err, "inputs 0 and 1 both spend")
	})
	t.Run("previous transaction with fewer outputs than the index", func(t *testing.T) {
		pkt := spendPSBT(t, prev, 0)
		pkt.UnsignedTx.TxIn[0].PreviousOutPoint.Index = 5
		pkt.Inputs[0].NonWitnessUtxo = prev
		_, err := ParsePSBT(rawPSBT(t, pkt))
		chaintest.WantInvalid(t, err, "input 0", "has 1 outputs; the input spends output 5")
	})
}

// withGlobal appends a key-value pair to the global map of a serialized PSBT (whose global
// map holds only the unsigned transaction).
func withGlobal(t *testing.T, raw, key, value []byte) []byte {
	t.Helper()
	r := &byteReader{b: raw[len(psbtMagic):]}
	if _, err := r.varBytes(); err != nil { // key of the unsigned tx
		t.Fatal(err)
	}
	if _, err := r.varBytes(); err != nil { // the unsigned tx
		t.Fatal(err)
	}
	cut := len(raw) - r.len()
	var kv bytes.Buffer
	if err := wire.WriteVarBytes(&kv, 0, key); err != nil {
		t.Fatal(err)
	}
	if err := wire.WriteVarBytes(&kv, 0, value); err != nil {
		t.Fatal(err)
	}
	out := append(append(append([]byte(nil), raw[:cut]...), kv.Bytes()...), raw[cut:]...)
	return out
}

func TestDecodePSBT(t *testing.T) {
	raw := validPSBT(t)
	for _, text := range []string{
		base64.StdEncoding.EncodeToString(raw),
		" " + base64.StdEncoding.EncodeToString(raw) + "\n",
		hex.EncodeToString(raw),
		strings.ToUpper(hex.EncodeToString(raw)),
	} {
		got, err := DecodePSBT(text)
		if err != nil {
			t.Fatalf("DecodePSBT(%.20q...): %v", text, err)
		}
		if !bytes.Equal(got, raw) {
			t.Fatalf("DecodePSBT(%.20q...) decoded other bytes", text)
		}
	}
	refusals := map[string]string{
		"":                                  "magic",
		"not base64!":                       "neither base64 nor hex",
		"cHNidP8":                           "neither base64 nor hex", // unpadded
		"AAAA":                              "magic",
		"70736274ff0":                       "bad hex",
		strings.Repeat("A", 3*MaxPSBTBytes): "characters",
	}
	for text, want := range refusals {
		_, err := DecodePSBT(text)
		chaintest.WantInvalid(t, err, want)
	}
	big := append(append([]byte(nil), psbtMagic...), make([]byte, MaxPSBTBytes)...)
	_, err := DecodePSBT(base64.StdEncoding.EncodeToString(big))
	chaintest.WantInvalid(t, err, "limit")
}
