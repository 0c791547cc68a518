package bls

import (
	"bytes"
	"testing"

	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/internal/reshare/resharetest"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// ethDST is Ethereum's BLS ciphersuite tag, spelled out here so that the verifier below
// depends on nothing of the package.
const ethDST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"

// reshareSuite runs the common reshare scenarios on this engine, with blst's own verification
// as the independent verifier.
func reshareSuite() resharetest.Suite[*blst.Scalar, *blst.P1] {
	return resharetest.Suite[*blst.Scalar, *blst.P1]{
		Engine:     Engine{},
		Group:      g1Group{},
		MaxParties: maxParties,
		Keygen: func(t testing.TB, n, threshold int) ([]byte, map[protocol.PartyID][]byte) {
			fx := getFixture(t, n, threshold)
			return fx.publicKey, fx.shares
		},
		Verify: func(pk []byte, digest [32]byte, sig []byte) bool {
			return new(blst.P2Affine).VerifyCompressed(sig, true, pk, true, digest[:], []byte(ethDST))
		},
		Secret: func(t testing.TB, b []byte) []byte {
			s, err := decodeShare(b)
			if err != nil {
				t.Fatal(err)
			}
			defer s.wipe()
			return s.secret.Serialize()
		},
		Index: func(_ []protocol.PartyID, p protocol.PartyID) uint16 { return uint16(p) },
	}
}

func TestReshareRefresh(t *testing.T) { resharetest.Refresh(t, reshareSuite()) }

// TestReshareCommitteeChange also checks, with the secret key interpolated from the new
// shares (test only), that the key itself is unchanged: blst's single-key signature equals
// the threshold one, and PublicShares reads the new shares.
func TestReshareCommitteeChange(t *testing.T) {
	fx := getFixture(t, 3, 2)
	want := reconstructSecret(t, fx, protocoltest.IDs(1, 2))
	_, twoOfThree := resharetest.CommitteeChange(t, reshareSuite())
	moved := &keygenFixture{threshold: 2, publicKey: twoOfThree.PublicKey, shares: twoOfThree.Shares}
	sk := reconstructSecret(t, moved, protocoltest.IDs(4, 5))
	if !bytes.Equal(sk, want) {
		t.Fatal("the shares of {4,5} after the committee change interpolate to another secret key")
	}
	digest := protocoltest.DigestOf("single-key comparison")
	sig := reshareSuite().Sign(t, twoOfThree, protocoltest.IDs(2, 5), digest)
	single := new(blst.P2Affine).Sign(new(blst.SecretKey).Deserialize(sk), digest[:], []byte(ethDST)).Compress()
	if !bytes.Equal(sig, single) {
		t.Fatal("the threshold signature differs from the single-key signature")
	}
	groupKey, byParty, err := PublicShares(twoOfThree.Shares[4])
	if err != nil || !bytes.Equal(groupKey, fx.publicKey) || len(byParty) != 3 || byParty[2] == nil || byParty[1] != nil {
		t.Fatalf("PublicShares of a new share: %x, %v, %v", groupKey, byParty, err)
	}
}

func TestReshareWrongSubshare(t *testing.T) { resharetest.WrongSubshare(t, reshareSuite()) }
func TestReshareWrongConstant(t *testing.T) { resharetest.WrongConstant(t, reshareSuite()) }
func TestReshareEquivocation(t *testing.T)  { resharetest.Equivocation(t, reshareSuite()) }
func TestReshareBinding(t *testing.T)       { resharetest.Binding(t, reshareSuite()) }
func TestReshareBadParams(t *testing.T)     { resharetest.BadParams(t, reshareSuite()) }
func TestReshareReplay(t *testing.T)        { resharetest.Replay(t, reshareSuite()) }
