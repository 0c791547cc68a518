package bitcoin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/btcsuite/btcd/btcutil/psbt"
	"github.com/btcsuite/btcd/wire"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// psbtSeeds are the BIP vectors plus PSBTs that spend the fuzz keys, so that mutations
// reach the signing path too.
func psbtSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, set := range [][]psbtVector{bip174Invalid, bip174Valid, bip174SignerChecks, bip371Invalid, bip371Valid} {
		for _, v := range set {
			b, err := hex.DecodeString(v.hex)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	m := newFuzzMixed(f)
	seeds = append(seeds, rawPSBT(f, m))
	signed, err := SignPSBT(context.Background(), Regtest, fuzzKeys(), rawPSBT(f, m), SignOptions{})
	if err != nil {
		f.Fatal(err)
	}
	return append(seeds, signed.PSBT)
}

func fuzzKeys() []Key {
	bob := chaintest.BIP340("bob")
	return []Key{{ID: "alice", Signer: chaintest.Secp256k1("alice")}, {ID: "bob", Signer: bob, InternalKey: bob.InternalKey()}}
}

func newFuzzMixed(f *testing.F) *psbt.Packet {
	alice, bob := chaintest.Secp256k1("alice"), chaintest.BIP340("bob")
	prev := fundingTx(9, wire.NewTxOut(50_000, outputFor(f, alice)), wire.NewTxOut(60_000, outputFor(f, bob)), wire.NewTxOut(1, []byte{0x51}))
	p := spendPSBT(f, prev, 0, 1, 2)
	for i := range p.Inputs {
		p.Inputs[i].NonWitnessUtxo = prev
	}
	return p
}

// FuzzParsePSBT checks that ParsePSBT and SignPSBT never panic, that every refusal wraps
// chains.ErrInvalid, that an accepted PSBT serializes to bytes ParsePSBT accepts again and
// that re-serialize to themselves, and that SignPSBT's output parses too.
func FuzzParsePSBT(f *testing.F) {
	for _, s := range psbtSeeds(f) {
		f.Add(s)
	}
	keys := fuzzKeys()
	f.Fuzz(func(t *testing.T, raw []byte) {
		pkt, err := ParsePSBT(raw)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		once := rawPSBT(t, pkt)
		again, err := ParsePSBT(once)
		if err != nil {
			t.Fatalf("re-serialized PSBT refused: %v\ninput %x", err, raw)
		}
		if twice := rawPSBT(t, again); !bytes.Equal(once, twice) {
			t.Fatalf("serialization not stable:\n%x\n%x", once, twice)
		}
		res, err := SignPSBT(context.Background(), Regtest, keys, raw, SignOptions{Finalize: true})
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("SignPSBT failed other than on input: %v\ninput %x", err, raw)
			}
			return
		}
		if _, err := ParsePSBT(res.PSBT); err != nil {
			t.Fatalf("SignPSBT wrote a PSBT ParsePSBT refuses: %v\ninput %x", err, raw)
		}
	})
}

// FuzzDecodePSBT checks the text decoder: no panic, refusals wrap ErrInvalid, and what it
// accepts is the base64 or hex of what it returns.
func FuzzDecodePSBT(f *testing.F) {
	for _, s := range psbtSeeds(f)[:8] {
		f.Add(base64.StdEncoding.EncodeToString(s))
		f.Add(hex.EncodeToString(s))
	}
	f.Add("cHNidP8=")
	f.Fuzz(func(t *testing.T, text string) {
		raw, err := DecodePSBT(text)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if len(raw) > MaxPSBTBytes || !bytes.HasPrefix(raw, psbtMagic) {
			t.Fatalf("accepted %d bytes not starting with the magic", len(raw))
		}
	})
}

// FuzzCheckDescriptorChecksum: no panic; refusals wrap ErrInvalid; what it accepts carries
// the checksum AddDescriptorChecksum computes.
func FuzzCheckDescriptorChecksum(f *testing.F) {
	f.Add("raw(deadbeef)#89f8spxm")
	f.Add("wpkh(0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)#ucxz0gak")
	f.Fuzz(func(t *testing.T, desc string) {
		err := CheckDescriptorChecksum(desc)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		body := desc[:len(desc)-checksumLength-1]
		if again, err := AddDescriptorChecksum(body); err != nil || again != desc {
			t.Fatalf("accepted %q, but its checksum is %q (%v)", desc, again, err)
		}
	})
}
