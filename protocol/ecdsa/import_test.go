package ecdsa

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// The ECDSA engine cannot import an existing key: it must say so before touching anything,
// for every curve and whether or not this party is the dealer.
func TestKeygenRefusesImport(t *testing.T) {
	nonce := bytes.Repeat([]byte{7}, 32)
	secret := bytes.Repeat([]byte{0x42}, 32)
	for _, e := range []Engine{{}, {Curve: CurveP256}} {
		for _, self := range []protocol.PartyID{1, 2} {
			imp := &protocol.ImportParams{Dealer: 1, PublicKey: []byte{2, 3}}
			if self == 1 {
				imp.Secret = secret
			}
			r, err := e.Keygen(protocol.KeygenParams{
				Self: self, Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, SessionNonce: nonce,
				Import: imp,
			})
			if r != nil || !errors.Is(err, ErrImportUnsupported) {
				t.Fatalf("%s, %s: Keygen with Import = %v, %v; want ErrImportUnsupported", e.Scheme(), self, r, err)
			}
			if !strings.Contains(err.Error(), "not supported") || strings.Contains(err.Error(), "4242") {
				t.Fatalf("unclear or leaking error: %v", err)
			}
		}
	}
}
