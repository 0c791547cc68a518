package ed25519

import (
	"crypto/ed25519"
	"testing"

	"filippo.io/edwards25519"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/reshare/resharetest"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// reshareSuite runs the common reshare scenarios on this engine, with crypto/ed25519 as the
// independent verifier.
func reshareSuite() resharetest.Suite[*edwards25519.Scalar, *edwards25519.Point] {
	return resharetest.Suite[*edwards25519.Scalar, *edwards25519.Point]{
		Engine:     Engine{},
		Group:      edGroup{},
		MaxParties: maxParties,
		Keygen: func(t testing.TB, n, threshold int) ([]byte, map[protocol.PartyID][]byte) {
			fx := getFixture(t, n, threshold)
			return fx.publicKey, fx.shares
		},
		Verify: func(pk []byte, digest [32]byte, sig []byte) bool {
			return len(pk) == ed25519.PublicKeySize && ed25519.Verify(pk, digest[:], sig)
		},
		Secret: func(t testing.TB, b []byte) []byte {
			k, err := decodeSigningKey(b)
			if err != nil {
				t.Fatal(err)
			}
			defer k.wipe()
			return k.secret.s.Bytes()
		},
		Index: identifier,
	}
}

func TestReshareRefresh(t *testing.T) { resharetest.Refresh(t, reshareSuite()) }

func TestReshareCommitteeChange(t *testing.T) {
	_, twoOfThree := resharetest.CommitteeChange(t, reshareSuite())
	// Party 2 is the first of the new parties {2,4,5}: its FROST identifier is 1.
	k, err := decodeSigningKey(twoOfThree.Shares[2])
	if err != nil {
		t.Fatal(err)
	}
	defer k.wipe()
	if k.id(2) != 1 || k.id(5) != 3 || k.threshold != 2 {
		t.Fatalf("new share: identifiers %d, %d, threshold %d", k.id(2), k.id(5), k.threshold)
	}
}

func TestReshareWrongSubshare(t *testing.T) { resharetest.WrongSubshare(t, reshareSuite()) }
func TestReshareWrongConstant(t *testing.T) { resharetest.WrongConstant(t, reshareSuite()) }
func TestReshareEquivocation(t *testing.T)  { resharetest.Equivocation(t, reshareSuite()) }
func TestReshareBinding(t *testing.T)       { resharetest.Binding(t, reshareSuite()) }
func TestReshareBadParams(t *testing.T)     { resharetest.BadParams(t, reshareSuite()) }
func TestReshareReplay(t *testing.T)        { resharetest.Replay(t, reshareSuite()) }

// TestReshareKeyNotAPoint checks that a public key that is not a point is refused before any
// share is read.
func TestReshareKeyNotAPoint(t *testing.T) {
	_, err := Engine{}.Reshare(protocol.ReshareParams{
		Self: 3, OldParties: protocoltest.IDs(1, 2), OldThreshold: 2, NewParties: protocoltest.IDs(1, 2, 3), NewThreshold: 2,
		PublicKey: make([]byte, PublicKeySize), SessionNonce: newNonce(t),
	})
	if err == nil {
		t.Fatal("Reshare accepted an all-zero public key")
	}
}
