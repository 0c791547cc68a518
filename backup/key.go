package backup

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// MaxParties bounds the parties of a key, as the engines do.
	MaxParties = 256
	// maxLabel bounds a key label, in bytes.
	maxLabel = 256
	// maxPublicShare bounds an entry's public share (the largest is a 48-byte G1 point).
	maxPublicShare = 64
	// ChainCodeSize is the size of a key's chain code.
	ChainCodeSize = 32
)

// keyIDPattern accepts the enclave's 32-hex-digit key ids and other plain identifiers; it
// keeps quotes, slashes, spaces and control characters out of file names and messages.
var keyIDPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,127}$`)

// publicKeySize returns the size of a scheme's public key encoding (the engine's
// KeygenOutput.PublicKey).
func publicKeySize(s protocol.Scheme) (int, error) {
	switch s {
	case protocol.SchemeECDSASecp256k1, protocol.SchemeECDSAP256:
		return 33, nil
	case protocol.SchemeBLS12381:
		return 48, nil
	case protocol.SchemeEd25519, protocol.SchemeBIP340:
		return 32, nil
	}
	_, err := protocol.ParseScheme(string(s))
	return 0, err
}

// checkKey checks the description of a key that a bundle and every entry carry.
func checkKey(keyID string, scheme protocol.Scheme, publicKey []byte, threshold int, parties []protocol.PartyID) error {
	if !keyIDPattern.MatchString(keyID) {
		return fmt.Errorf("key id %q: want 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", truncate(keyID))
	}
	size, err := publicKeySize(scheme)
	if err != nil {
		return err
	}
	if len(publicKey) != size {
		return fmt.Errorf("public key of %d bytes, a %s key has %d", len(publicKey), scheme, size)
	}
	return checkSharing(threshold, parties)
}

// checkSharing checks a threshold and a party list as the engines make them: 2 to MaxParties
// distinct, valid parties in ascending order, and a threshold from 2 to their number.
func checkSharing(threshold int, parties []protocol.PartyID) error {
	n := len(parties)
	if n < 2 || n > MaxParties {
		return fmt.Errorf("%d parties, want 2 to %d", n, MaxParties)
	}
	if err := protocol.CheckPartyList(parties); err != nil {
		return fmt.Errorf("parties: %w", err)
	}
	if !slices.IsSorted(parties) {
		return fmt.Errorf("parties %s are not in ascending order", partyList(parties))
	}
	if threshold < 2 || threshold > n {
		return fmt.Errorf("threshold %d out of range [2, %d]", threshold, n)
	}
	return nil
}

// checkLabel checks a key label: valid UTF-8 without control characters, at most maxLabel
// bytes (it may be empty).
func checkLabel(label string) error {
	if len(label) > maxLabel {
		return fmt.Errorf("key label of %d bytes, at most %d allowed", len(label), maxLabel)
	}
	if !utf8.ValidString(label) {
		return errors.New("key label is not valid UTF-8")
	}
	for _, r := range label {
		if unicode.IsControl(r) {
			return fmt.Errorf("key label contains the control character %U", r)
		}
	}
	return nil
}

// partyList writes parties as their numbers: [1 2 3].
func partyList(ps []protocol.PartyID) string {
	nums := make([]string, len(ps))
	for i, p := range ps {
		nums[i] = strconv.Itoa(int(p))
	}
	return "[" + strings.Join(nums, " ") + "]"
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
