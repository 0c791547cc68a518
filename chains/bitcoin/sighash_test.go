package bitcoin

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

func decodeTx(t *testing.T, h string) *wire.MsgTx {
	t.Helper()
	tx := new(wire.MsgTx)
	if err := tx.Deserialize(bytes.NewReader(chaintest.MustHex(t, h))); err != nil {
		t.Fatalf("decode tx: %v", err)
	}
	return tx
}

// From bitcoin/bips bip-0341/wallet-test-vectors.json, "keyPathSpending"[0].
var bip341KeyPath = struct {
	rawUnsignedTx string
	utxosSpent    []struct {
		scriptPubKey string
		amountSats   int64
	}
	inputs []struct {
		txinIndex int
		hashType  txscript.SigHashType
		sigHash   string
		witness   string // expected.witness[0]: the signature, with the hash type byte unless DEFAULT
	}
}{
	rawUnsignedTx: "02000000097de20cbff686da83a54981d2b9bab3586f4ca7e48f57f5b55963115f3b334e9c010000000000000000d7b7cab57b1393ace2d064f4d4a2cb8af6def61273e127517d44759b6dafdd990000000000fffffffff8e1f583384333689228c5d28eac13366be082dc57441760d957275419a418420000000000fffffffff0689180aa63b30cb162a73c6d2a38b7eeda2a83ece74310fda0843ad604853b0100000000feffffffaa5202bdf6d8ccd2ee0f0202afbbb7461d9264a25e5bfd3c5a52ee1239e0ba6c0000000000feffffff956149bdc66faa968eb2be2d2faa29718acbfe3941215893a2a3446d32acd050000000000000000000e664b9773b88c09c32cb70a2a3e4da0ced63b7ba3b22f848531bbb1d5d5f4c94010000000000000000e9aa6b8e6c9de67619e6a3924ae25696bb7b694bb677a632a74ef7eadfd4eabf0000000000ffffffffa778eb6a263dc090464cd125c466b5a99667720b1c110468831d058aa1b82af10100000000ffffffff0200ca9a3b000000001976a91406afd46bcdfd22ef94ac122aa11f241244a37ecc88ac807840cb0000000020ac9a87f5594be208f8532db38cff670c450ed2fea8fcdefcc9a663f78bab962b0065cd1d",
	utxosSpent: []struct {
		scriptPubKey string
		amountSats   int64
	}{
		{"512053a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343", 420000000},
		{"5120147c9c57132f6e7ecddba9800bb0c4449251c92a1e60371ee77557b6620f3ea3", 462000000},
		{"76a914751e76e8199196d454941c45d1b3a323f1433bd688ac", 294000000},
		{"5120e4d810fd50586274face62b8a807eb9719cef49c04177cc6b76a9a4251d5450e", 504000000},
		{"512091b64d5324723a985170e4dc5a0f84c041804f2cd12660fa5dec09fc21783605", 630000000},
		{"00147dd65592d0ab2fe0d0257d571abf032cd9db93dc", 378000000},
		{"512075169f4001aa68f15bbed28b218df1d0a62cbbcf1188c6665110c293c907b831", 672000000},
		{"5120712447206d7a5238acc7ff53fbe94a3b64539ad291c7cdbc490b7577e4b17df5", 546000000},
		{"512077e30a5522dd9f894c3f8b8bd4c4b2cf82ca7da8a3ea6a239655c39c050ab220", 588000000},
	},
	inputs: []struct {
		txinIndex int
		hashType  txscript.SigHashType
		sigHash   string
		witness   string
	}{
		{0, 3, "2514a6272f85cfa0f45eb907fcb0d121b808ed37c6ea160a5a9046ed5526d555", "ed7c1647cb97379e76892be0cacff57ec4a7102aa24296ca39af7541246d8ff14d38958d4cc1e2e478e4d4a764bbfd835b16d4e314b72937b29833060b87276c03"},
		{1, 131, "325a644af47e8a5a2591cda0ab0723978537318f10e6a63d4eed783b96a71a4d", "052aedffc554b41f52b521071793a6b88d6dbca9dba94cf34c83696de0c1ec35ca9c5ed4ab28059bd606a4f3a657eec0bb96661d42921b5f50a95ad33675b54f83"},
		{3, 1, "bf013ea93474aa67815b1b6cc441d23b64fa310911d991e713cd34c7f5d46669", "ff45f742a876139946a149ab4d9185574b98dc919d2eb6754f8abaa59d18b025637a3aa043b91817739554f4ed2026cf8022dbd83e351ce1fabc272841d2510a01"},
		{4, 0, "4f900a0bae3f1446fd48490c2958b5a023228f01661cda3496a11da502a7f7ef", "b4010dd48a617db09926f729e79c33ae0b4e94b79f04a1ae93ede6315eb3669de185a17d2b0ac9ee09fd4c64b678a0b61a0a86fa888a273c8511be83bfd6810f"},
		{6, 2, "15f25c298eb5cdc7eb1d638dd2d45c97c4c59dcaec6679cfc16ad84f30876b85", "a3785919a2ce3c4ce26f298c3d51619bc474ae24014bcdd31328cd8cfbab2eff3395fa0a16fe5f486d12f22a9cedded5ae74feb4bbe5351346508c5405bcfee002"},
		{7, 130, "cd292de50313804dabe4685e83f923d2969577191a3e1d2882220dca88cbeb10", "ea0c6ba90763c2d3a296ad82ba45881abb4f426b3f87af162dd24d5109edc1cdd11915095ba47c3a9963dc1e6c432939872bc49212fe34c632cd3ab9fed429c482"},
		{8, 129, "cccb739eca6c13a8a89e6e5cd317ffe55669bbda23f2fd37b0f18755e008edd2", "bbc9584a11074e83bc8c6759ec55401f0ae7b03ef290c3139814f545b58a9f8127258000874f44bc46db7646322107d4d86aec8e73b8719a61fff761d75b5dd981"},
	},
}

// TestTaprootDigestBIP341 computes the BIP341 key-path sighashes of the wallet test
// vectors through the code path SignPSBT uses: a PSBT carrying the spent outputs as
// witness_utxo, collectPrevOutputs, taprootDigest. It also checks that the vectors' own
// signatures verify (btcec) under the spent output keys for the digests computed, so the
// digest is the one real signatures commit to.
func TestTaprootDigestBIP341(t *testing.T) {
	v := bip341KeyPath
	tx := decodeTx(t, v.rawUnsignedTx)
	pkt := &psbt.Packet{UnsignedTx: tx, Inputs: make([]psbt.PInput, len(tx.TxIn))}
	for i, u := range v.utxosSpent {
		pkt.Inputs[i].WitnessUtxo = wire.NewTxOut(u.amountSats, chaintest.MustHex(t, u.scriptPubKey))
	}
	prevs := collectPrevOutputs(pkt)
	if len(prevs.missing) != 0 {
		t.Fatalf("missing prevouts %v", prevs.missing)
	}
	hashes := txscript.NewTxSigHashes(tx, prevs)
	for _, in := range v.inputs {
		got, err := taprootDigest(tx, hashes, prevs, in.txinIndex, in.hashType)
		if err != nil {
			t.Fatalf("input %d: %v", in.txinIndex, err)
		}
		if hex.EncodeToString(got[:]) != in.sigHash {
			t.Errorf("input %d, hash type %#x: digest %x, want %s", in.txinIndex, in.hashType, got, in.sigHash)
		}
		witness := chaintest.MustHex(t, in.witness)
		sig, err := schnorr.ParseSignature(witness[:64])
		if err != nil {
			t.Fatal(err)
		}
		key, err := schnorr.ParsePubKey(chaintest.MustHex(t, v.utxosSpent[in.txinIndex].scriptPubKey)[2:])
		if err != nil {
			t.Fatal(err)
		}
		if !sig.Verify(got[:], key) {
			t.Errorf("input %d: the vector's signature does not verify for the digest computed", in.txinIndex)
		}
	}
}

// TestWitnessV0DigestBIP143 checks the segwit v0 path with BIP143's "Native P2WPKH" example
// (bitcoin/bips bip-0143.mediawiki): input 1 spends 6 BTC from P2WPKH; the first input's
// output is not given, which a v0 digest does not need.
func TestWitnessV0DigestBIP143(t *testing.T) {
	tx := decodeTx(t, "0100000002fff7f7881a8099afa6940d42d1e7f6362bec38171ea3edf433541db4e4ad969f0000000000eeffffffef51e1b804cc89d182d279655c3aa89e815b1b309fe287d9b2b55d57b90ec68a0100000000ffffffff02202cb206000000001976a9148280b37df378db99f66f85c95a783a76ac7a6d5988ac9093510d000000001976a9143bde42dbee7e4dbe6a21b2d50ce2f0167faa815988ac11000000")
	prevOut := wire.NewTxOut(600000000, chaintest.MustHex(t, "00141d0f172a0ecb48aee1be1f2687d2963ae33f71a1"))
	pkt := &psbt.Packet{UnsignedTx: tx, Inputs: make([]psbt.PInput, 2)}
	pkt.Inputs[1].WitnessUtxo = prevOut
	prevs := collectPrevOutputs(pkt)
	got, err := witnessV0Digest(tx, txscript.NewTxSigHashes(tx, prevs), 1, prevOut, txscript.SigHashAll)
	if err != nil {
		t.Fatal(err)
	}
	const want = "c37af31116d1b27caf68aae9e3ac82f1477929014d5b917657d0eb49478cb670"
	if hex.EncodeToString(got[:]) != want {
		t.Fatalf("digest %x, want %s", got, want)
	}
	sig, err := ecdsa.ParseDERSignature(chaintest.MustHex(t, "304402203609e17b84f6a7d30c80bfa610b5b4542f32a8a0d5447a12fb1366d7f01cc44a0220573a954c4518331561406f90300e8f3358f51928d43c212a8caed02de67eebee"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := btcec.ParsePubKey(chaintest.MustHex(t, "025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357"))
	if err != nil {
		t.Fatal(err)
	}
	if !sig.Verify(got[:], pub) {
		t.Fatal("BIP143's signature does not verify for the digest computed")
	}
}

func TestSigHashType(t *testing.T) {
	cases := []struct {
		field   txscript.SigHashType
		taproot bool
		want    txscript.SigHashType
		ok      bool
	}{
		{0, false, txscript.SigHashAll, true},
		{txscript.SigHashAll, false, txscript.SigHashAll, true},
		{0, true, txscript.SigHashDefault, true},
		{txscript.SigHashAll, true, txscript.SigHashAll, true},
		{txscript.SigHashNone, false, 0, false},
		{txscript.SigHashSingle, true, 0, false},
		{txscript.SigHashAll | txscript.SigHashAnyOneCanPay, false, 0, false},
		{txscript.SigHashAll | txscript.SigHashAnyOneCanPay, true, 0, false},
		{0x101, false, 0, false},
	}
	for _, c := range cases {
		got, err := sigHashType(&psbt.PInput{SighashType: c.field}, c.taproot)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("sigHashType(%#x, taproot=%v) = %#x, %v; want %#x, ok=%v", c.field, c.taproot, got, err, c.want, c.ok)
		}
	}
}
