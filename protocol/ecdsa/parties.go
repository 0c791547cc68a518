package ecdsa

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"

	"github.com/bnb-chain/tss-lib/v3/tss"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// sessionNonceSize is the length every session nonce must have.
const sessionNonceSize = 32

// partySet is the set of participants of one run, in ascending order, with their tss-lib ids.
type partySet struct {
	ids  []protocol.PartyID
	tss  tss.SortedPartyIDs // same order as ids; Index set by tss.SortPartyIDs
	byID map[protocol.PartyID]*tss.PartyID
}

// newPartySet maps each party p to tss.NewPartyID("p", "party p", p). ids must have been
// checked with checkPartyList.
func newPartySet(ids []protocol.PartyID) *partySet {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	unsorted := make(tss.UnSortedPartyIDs, len(sorted))
	for i, p := range sorted {
		unsorted[i] = tss.NewPartyID(strconv.Itoa(int(p)), p.String(), big.NewInt(int64(p)))
	}
	s := &partySet{ids: sorted, tss: tss.SortPartyIDs(unsorted), byID: make(map[protocol.PartyID]*tss.PartyID, len(sorted))}
	for _, pid := range s.tss {
		p, _ := partyFromKey(pid.KeyInt())
		s.byID[p] = pid
	}
	return s
}

// fromTSS maps a tss-lib party id back to the participant it names.
func (s *partySet) fromTSS(pid *tss.PartyID) (protocol.PartyID, bool) {
	if pid == nil || pid.MessageWrapper_PartyID == nil {
		return 0, false
	}
	p, ok := partyFromKey(pid.KeyInt())
	if !ok {
		return 0, false
	}
	if _, in := s.byID[p]; !in {
		return 0, false
	}
	return p, true
}

func partyFromKey(k *big.Int) (protocol.PartyID, bool) {
	if k.Sign() <= 0 || !k.IsUint64() || k.Uint64() > math.MaxUint16 {
		return 0, false
	}
	return protocol.PartyID(k.Uint64()), true
}

// checkPartyList checks that list is non-empty, has no party 0 and no duplicates.
func checkPartyList(what string, list []protocol.PartyID) error {
	if len(list) == 0 {
		return fmt.Errorf("%s: empty", what)
	}
	seen := make(map[protocol.PartyID]bool, len(list))
	for _, p := range list {
		if p == 0 {
			return fmt.Errorf("%s: party 0 is not a valid party", what)
		}
		if seen[p] {
			return fmt.Errorf("%s: %s listed twice", what, p)
		}
		seen[p] = true
	}
	return nil
}

// checkSessionNonce checks a session nonce: exactly 32 bytes, not all zero (tss-lib treats a
// zero nonce like no nonce at all).
func checkSessionNonce(nonce []byte) error {
	if len(nonce) != sessionNonceSize {
		return fmt.Errorf("session nonce must be exactly %d bytes, got %d", sessionNonceSize, len(nonce))
	}
	if !slices.ContainsFunc(nonce, func(b byte) bool { return b != 0 }) {
		return errors.New("session nonce must not be all zero")
	}
	return nil
}
