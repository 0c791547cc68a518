package taproot

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/reshare/resharetest"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// reshareSuite runs the common reshare scenarios on this engine, with btcec's BIP340
// verifier, under the output key, as the independent verifier.
func reshareSuite() resharetest.Suite[*btcec.ModNScalar, *btcec.JacobianPoint] {
	return resharetest.Suite[*btcec.ModNScalar, *btcec.JacobianPoint]{
		Engine:     Engine{},
		Group:      secpGroup{},
		MaxParties: maxParties,
		Keygen: func(t testing.TB, n, threshold int) ([]byte, map[protocol.PartyID][]byte) {
			fx := getFixture(t, n, threshold)
			return fx.publicKey, fx.shares
		},
		Verify: func(pk []byte, digest [32]byte, sig []byte) bool {
			key, err := schnorr.ParsePubKey(pk)
			if err != nil {
				return false
			}
			s, err := schnorr.ParseSignature(sig)
			return err == nil && s.Verify(digest[:], key)
		},
		Secret: func(t testing.TB, b []byte) []byte {
			s, err := decodeShare(b)
			if err != nil {
				t.Fatal(err)
			}
			defer s.wipe()
			x := s.secret.Bytes()
			return x[:]
		},
		Index: func(_ []protocol.PartyID, p protocol.PartyID) uint16 { return uint16(p) },
	}
}

func TestReshareRefresh(t *testing.T) { resharetest.Refresh(t, reshareSuite()) }

// TestReshareCommitteeChange also checks that the internal key is unchanged (so is the
// address): InternalKey reads it from the new shares, and BIP341's formula, computed with
// btcec alone, takes it to the output key.
func TestReshareCommitteeChange(t *testing.T) {
	fx := getFixture(t, 3, 2)
	internal, err := InternalKey(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	threeOfFive, twoOfThree := resharetest.CommitteeChange(t, reshareSuite())
	for _, k := range []resharetest.Key{threeOfFive, twoOfThree} {
		for q, b := range k.Shares {
			got, err := InternalKey(b)
			if err != nil || !bytes.Equal(got, internal) {
				t.Fatalf("%s's new share has internal key %x (%v), want %x", q, got, err, internal)
			}
		}
	}
	if q := bip86ByHand(t, internal); !bytes.Equal(q, twoOfThree.PublicKey) {
		t.Fatalf("BIP86 output key of the internal key %x, want %x", q, twoOfThree.PublicKey)
	}
	moved := &keygenFixture{threshold: 2, publicKey: twoOfThree.PublicKey, shares: twoOfThree.Shares}
	if !reconstructSecret(t, moved, protocoltest.IDs(2, 4)).Equals(reconstructSecret(t, fx, protocoltest.IDs(1, 3))) {
		t.Fatal("the new shares interpolate to another secret key")
	}
}

func TestReshareWrongSubshare(t *testing.T) { resharetest.WrongSubshare(t, reshareSuite()) }
func TestReshareWrongConstant(t *testing.T) { resharetest.WrongConstant(t, reshareSuite()) }
func TestReshareEquivocation(t *testing.T)  { resharetest.Equivocation(t, reshareSuite()) }
func TestReshareBinding(t *testing.T)       { resharetest.Binding(t, reshareSuite()) }
func TestReshareBadParams(t *testing.T)     { resharetest.BadParams(t, reshareSuite()) }
func TestReshareReplay(t *testing.T)        { resharetest.Replay(t, reshareSuite()) }

// TestReshareOddInternalKey checks the constant-term check of a party that holds no old
// share: -P has P's x but an odd y, and its tweak is not the output key.
func TestReshareOddInternalKey(t *testing.T) {
	fx := getFixture(t, 3, 2)
	internal, err := InternalKey(fx.shares[1])
	if err != nil {
		t.Fatal(err)
	}
	p, err := liftX(internal)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkInternalKey(p, fx.publicKey); err != nil {
		t.Fatalf("the real internal key: %v", err)
	}
	if err := checkInternalKey(negatePoint(p), fx.publicKey); err == nil {
		t.Fatal("an internal key with an odd y was accepted")
	}
	if err := checkInternalKey(addPoints(p, mulBase(new(btcec.ModNScalar).SetInt(1))), fx.publicKey); err == nil {
		t.Fatal("another internal key was accepted")
	}
}
