package backup

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"filippo.io/age"
)

// age v1.2.1 has no public header parser. Decrypt, though, parses the header and hands every
// recipient stanza to each identity's Unwrap before it needs a file key, so an identity that
// records the stanzas and declines them reads the header through age's own parser, without
// decrypting anything. (The header MAC can only be checked with the file key: a bundle's
// SHA-256 hashes and digest stand in for it until restore.)

// stanzaRecorder is an age.Identity that keeps the stanzas it is shown and matches none.
type stanzaRecorder struct {
	stanzas []age.Stanza
	called  bool
}

func (r *stanzaRecorder) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	r.called = true
	for _, s := range stanzas {
		r.stanzas = append(r.stanzas, age.Stanza{Type: s.Type, Args: slices.Clone(s.Args)})
	}
	return nil, age.ErrIncorrectIdentity
}

// headerStanzas returns the recipient stanzas of an age file (types and arguments; bodies
// are dropped).
func headerStanzas(ciphertext []byte) ([]age.Stanza, error) {
	rec := &stanzaRecorder{}
	_, err := age.Decrypt(bytes.NewReader(ciphertext), rec)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch) && rec.called:
		return rec.stanzas, nil
	case err == nil:
		return nil, errors.New("age accepted an identity that matches nothing") // unreachable
	}
	return nil, fmt.Errorf("not a valid age file: %v", err)
}

// checkStanzas checks that an age header holds exactly one stanza per recipient of rs: as
// many X25519 stanzas as X25519 recipients (an X25519 stanza does not say whose it is), and
// for every ssh-ed25519 recipient a stanza with its tag.
func checkStanzas(stanzas []age.Stanza, rs []*recipient) error {
	if len(stanzas) != len(rs) {
		return fmt.Errorf("it is encrypted to %d recipients, the bundle lists %d", len(stanzas), len(rs))
	}
	var x25519 int
	sshTags := make(map[string]int)
	for _, s := range stanzas {
		switch {
		case s.Type == stanzaX25519 && len(s.Args) == 1:
			x25519++
		case s.Type == stanzaSSHEd25519 && len(s.Args) == 2:
			sshTags[s.Args[0]]++
		default:
			return fmt.Errorf("it has a %q stanza, which no recipient of the bundle makes", s.Type)
		}
	}
	var wantX25519 int
	for _, r := range rs {
		if r.kind == stanzaX25519 {
			wantX25519++
			continue
		}
		if sshTags[r.tag] == 0 {
			return fmt.Errorf("it is not encrypted to recipient %s", r.text)
		}
		sshTags[r.tag]--
	}
	if x25519 != wantX25519 {
		return fmt.Errorf("it is encrypted to %d X25519 recipients, the bundle lists %d", x25519, wantX25519)
	}
	return nil
}
