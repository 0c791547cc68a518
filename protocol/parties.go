package protocol

import (
	"errors"
	"fmt"
	"slices"
)

// CheckPartyList checks that ps names valid, distinct parties.
func CheckPartyList(ps []PartyID) error {
	seen := make(map[PartyID]bool, len(ps))
	for _, p := range ps {
		if p == 0 {
			return errors.New("party 0 is not a valid party")
		}
		if seen[p] {
			return fmt.Errorf("%s is listed twice", p)
		}
		seen[p] = true
	}
	return nil
}

// CheckCluster validates a party list (2 to maxParties valid, distinct parties), a threshold
// (2 to n) and the own party, as the engines' keygens and share decoders need them.
func CheckCluster(parties []PartyID, threshold int, self PartyID, maxParties int) error {
	n := len(parties)
	if n < 2 || n > maxParties {
		return fmt.Errorf("%d parties (want 2 to %d)", n, maxParties)
	}
	if err := CheckPartyList(parties); err != nil {
		return err
	}
	if threshold < 2 || threshold > n {
		return fmt.Errorf("threshold %d out of range [2, %d]", threshold, n)
	}
	if !slices.Contains(parties, self) {
		return fmt.Errorf("self (%s) is not one of the parties", self)
	}
	return nil
}
