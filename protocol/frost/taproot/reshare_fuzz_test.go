package taproot

import (
	"bytes"
	"testing"

	"github.com/btcsuite/btcd/btcec/v2"

	"github.com/mpcsigner/mpcsigner/protocol/internal/reshare"
)

// FuzzDecodeResharePayload checks that the reshare payload decoder, over this engine's group,
// never panics and that whatever it accepts re-encodes to the same bytes.
func FuzzDecodeResharePayload(f *testing.F) {
	g := secpGroup{}
	nonce := make([]byte, reshare.NonceSize)
	two, three := g.Small(2), g.Small(3)
	f.Add(reshare.EncodeDealing(g, nonce, 1, []*btcec.JacobianPoint{g.BaseMul(two), g.BaseMul(three)}))
	f.Add(reshare.EncodeSubshare(g, nonce, 1, 2, three))
	f.Add(reshare.EncodeEcho(nonce, 3, [reshare.DigestSize]byte{1}))
	f.Add([]byte{reshare.Version, reshare.KindDealing})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := reshare.Decode[*btcec.ModNScalar, *btcec.JacobianPoint](g, maxParties, b)
		if err != nil {
			return
		}
		defer m.Wipe(g)
		if again := m.Encode(g); !bytes.Equal(again, b) {
			t.Fatalf("payload is not canonical: %x re-encodes to %x", b, again)
		}
	})
}
