package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// MaxRecipients bounds the recipients of one entry: enough for every operator of a team,
// few enough that an age header stays small.
const MaxRecipients = 16

// Stanza types of the two kinds of recipient, as age writes them in a header.
const (
	stanzaX25519     = "X25519"
	stanzaSSHEd25519 = "ssh-ed25519"
)

// recipient is one parsed recipient.
type recipient struct {
	text  string // canonical: "age1..." or "ssh-ed25519 <base64>" without a comment
	kind  string // stanzaX25519 or stanzaSSHEd25519
	tag   string // for ssh-ed25519: the tag its stanzas carry
	value age.Recipient
}

// parseRecipients parses, canonicalizes and checks a recipient list: 1 to MaxRecipients of
// them, each one an age X25519 recipient or an ssh-ed25519 public key, no key twice. Errors
// name recipients by position (1-based), quoting only what is known to be a public key.
func parseRecipients(list []string) ([]*recipient, error) {
	if len(list) == 0 {
		return nil, errors.New("no recipients: give at least one age X25519 recipient or ssh-ed25519 public key")
	}
	if len(list) > MaxRecipients {
		return nil, fmt.Errorf("%d recipients, at most %d allowed", len(list), MaxRecipients)
	}
	out := make([]*recipient, 0, len(list))
	seen := make(map[string]int, len(list))
	for i, s := range list {
		r, err := parseRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("recipient %d: %w", i+1, err)
		}
		if j, dup := seen[r.text]; dup {
			return nil, fmt.Errorf("recipients %d and %d are the same key (%s)", j+1, i+1, r.text)
		}
		seen[r.text] = i
		out = append(out, r)
	}
	return out, nil
}

// recipientTexts returns the canonical forms of rs.
func recipientTexts(rs []*recipient) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.text
	}
	return out
}

// parseRecipient parses one recipient. It never quotes input that could be a secret key.
func parseRecipient(s string) (*recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-"), strings.Contains(s, "PRIVATE KEY"):
		return nil, errors.New("this is a secret key, not a recipient: give its public key (age-keygen -y, or the .pub file of an ssh key)")
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid age X25519 recipient: %v", s, err)
		}
		return &recipient{text: r.String(), kind: stanzaX25519, value: r}, nil
	case strings.HasPrefix(s, "ssh-ed25519 "):
		return parseSSHRecipient(s)
	case strings.HasPrefix(s, "ssh-"), strings.HasPrefix(s, "ecdsa-"), strings.HasPrefix(s, "sk-"):
		kind, _, _ := strings.Cut(s, " ")
		return nil, fmt.Errorf("%s keys are not accepted: use an ssh-ed25519 key or an age X25519 recipient (age1...)", kind)
	}
	return nil, errors.New("neither an age X25519 recipient (age1...) nor an ssh-ed25519 public key (ssh-ed25519 AAAA...)")
}

func parseSSHRecipient(s string) (*recipient, error) {
	pk, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("not a valid ssh-ed25519 public key: %v", err)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("more than one ssh public key in one recipient")
	}
	if pk.Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("%s keys are not accepted: use an ssh-ed25519 key or an age X25519 recipient (age1...)", pk.Type())
	}
	r, err := agessh.NewEd25519Recipient(pk)
	if err != nil {
		return nil, fmt.Errorf("not a valid ssh-ed25519 public key: %v", err)
	}
	wire := pk.Marshal()
	return &recipient{
		text:  ssh.KeyAlgoED25519 + " " + base64.StdEncoding.EncodeToString(wire),
		kind:  stanzaSSHEd25519,
		tag:   sshStanzaTag(wire),
		value: r,
	}, nil
}

// sshStanzaTag is the first argument of an ssh-ed25519 stanza, as the age specification
// defines it: the first 4 bytes of SHA-256 of the key's SSH wire encoding, in unpadded base64.
func sshStanzaTag(wire []byte) string {
	h := sha256.Sum256(wire)
	return base64.RawStdEncoding.EncodeToString(h[:4])
}

// ParseIdentity reads the identity that opens a bundle: an age X25519 identity
// ("AGE-SECRET-KEY-1...", what CombinePieces gives as text) or an unencrypted OpenSSH ed25519
// private key (an operator whose ssh key was a recipient).
func ParseIdentity(text string) (age.Identity, error) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "AGE-SECRET-KEY-1") {
		id, err := age.ParseX25519Identity(text)
		if err != nil {
			return nil, errors.New("backup: the identity is not a valid age X25519 identity")
		}
		return id, nil
	}
	id, err := agessh.ParseIdentity([]byte(text + "\n"))
	if err != nil {
		return nil, errors.New("backup: the identity is neither an age identity nor an unencrypted OpenSSH ed25519 private key")
	}
	return id, nil
}
