package ecdsa

import (
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
)

func TestDebugStress(t *testing.T) {
	fx := getKeygenFixture(t)
	for i := 0; i < 40; i++ {
		nonce := newNonce()
		signers := []protocol.PartyID{2, 3}
		runs := make(map[protocol.PartyID]protocol.Run)
		for _, p := range signers {
			d := [32]byte{byte(p)}
			if i%2 == 0 {
				d = [32]byte{1}
			}
			r, err := NewSign(SignConfig{Self: p, Signers: signers, Share: fx.shares[p], Digest: d, SessionNonce: nonce})
			if err != nil {
				t.Fatal(err)
			}
			runs[p] = r
		}
		n, err := startNet(runs, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := n.wait(30 * time.Second)
		if err != nil {
			t.Log(i, res, err)
			for p, r := range runs {
				rr := r.(*run)
				rr.mu.Lock()
				party := rr.party
				t.Log(p, "ended", rr.ended, "inflight", rr.inflight, "seen", len(rr.seen))
				rr.mu.Unlock()
				if party != nil {
					t.Log(p, party.String(), party.WaitingFor())
				}
			}
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			t.FailNow()
		}
		n.close()
	}
}
