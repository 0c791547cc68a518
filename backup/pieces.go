package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"filippo.io/age"
	"github.com/btcsuite/btcd/btcutil/bech32"
	"github.com/hashicorp/vault/shamir"
)

const (
	piecePrefix  = "mpcsigner-recovery-piece-"
	pieceVersion = 1
	pieceDomain  = "mpcsigner-recovery-piece-v1\n"
	// Layout of a piece's bytes: version, k, m, index, recipient key, vault share, checksum.
	pieceKeySize      = 32
	pieceShareSize    = 32 + shamir.ShareOverhead
	pieceChecksumSize = 8
	pieceBodySize     = 4 + pieceKeySize + pieceShareSize
	pieceSize         = pieceBodySize + pieceChecksumSize
	// maxPieceText bounds a piece as text (with room for spaces an operator typed).
	maxPieceText = 1024
	// maxPieces is vault/shamir's limit on the number of shares.
	maxPieces = 255

	identityHRP  = "age-secret-key-"
	recipientHRP = "age"
)

// pieceEncoding is unpadded base32: one case, no look-alike digits, easy to read aloud.
var pieceEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewRecoveryIdentity makes a fresh age X25519 identity for an operator team to split with
// SplitIdentity; its recipient (identity.Recipient()) is what bundles are sealed to.
func NewRecoveryIdentity() (identity *age.X25519Identity) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		// Only a failing crypto/rand gets here, which Go (1.24 and later) never reports:
		// it ends the program instead.
		panic("backup: generating an age identity: " + err.Error())
	}
	return id
}

// piece is one decoded recovery piece. share is secret.
type piece struct {
	k, m, index int
	recipient   [pieceKeySize]byte
	share       [pieceShareSize]byte
}

func (p *piece) wipe() { clear(p.share[:]) }

// encode returns the piece's text form.
func (p *piece) encode() string {
	raw := make([]byte, 0, pieceSize)
	raw = append(raw, pieceVersion, byte(p.k), byte(p.m), byte(p.index))
	raw = append(raw, p.recipient[:]...)
	raw = append(raw, p.share[:]...)
	raw = append(raw, pieceChecksum(raw)...)
	defer clear(raw)
	return piecePrefix + strconv.Itoa(p.index) + ":" + pieceEncoding.EncodeToString(raw)
}

func pieceChecksum(body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(pieceDomain))
	h.Write(body)
	return h.Sum(nil)[:pieceChecksumSize]
}

// parsePiece decodes a piece's text form. Spaces and line breaks inside it and the case of
// its base32 are forgiven; anything else wrong is an error that never quotes the piece.
func parsePiece(s string) (*piece, error) {
	if len(s) > maxPieceText {
		return nil, fmt.Errorf("%d characters, too long for a piece", len(s))
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), piecePrefix)
	if !ok {
		return nil, fmt.Errorf("does not start with %q", piecePrefix)
	}
	num, text, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, fmt.Errorf("no ':' after %q and the piece number", piecePrefix)
	}
	index, err := strconv.Atoi(num)
	if err != nil || strconv.Itoa(index) != num {
		return nil, fmt.Errorf("the piece number after %q is not a plain number", piecePrefix)
	}
	text = strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, text))
	raw, err := pieceEncoding.DecodeString(text)
	defer clear(raw)
	if err != nil {
		return nil, errors.New("piece " + num + ": not base32 (letters A-Z and digits 2-7): a character is mistyped")
	}
	if len(raw) != pieceSize {
		return nil, fmt.Errorf("piece %s: %d bytes, a piece has %d: characters are missing or extra", num, len(raw), pieceSize)
	}
	if pieceEncoding.EncodeToString(raw) != text {
		return nil, errors.New("piece " + num + ": the last character is mistyped (its unused bits are not zero)")
	}
	body := raw[:pieceBodySize]
	if !bytes.Equal(pieceChecksum(body), raw[pieceBodySize:]) {
		return nil, fmt.Errorf("piece %s: checksum mismatch: a character is mistyped, or the piece is damaged", num)
	}
	if body[0] != pieceVersion {
		return nil, fmt.Errorf("piece %s: version %d, this build reads version %d", num, body[0], pieceVersion)
	}
	p := &piece{k: int(body[1]), m: int(body[2]), index: int(body[3])}
	if p.index != index {
		return nil, fmt.Errorf("piece %s: says piece %d inside: its number was mistyped", num, p.index)
	}
	if p.k < 2 || p.m < p.k || p.index < 1 || p.index > p.m {
		return nil, fmt.Errorf("piece %s: invalid split %d-of-%d", num, p.k, p.m)
	}
	copy(p.recipient[:], body[4:4+pieceKeySize])
	copy(p.share[:], body[4+pieceKeySize:])
	return p, nil
}

// SplitIdentity splits a recovery identity into m pieces, any k of which give it back
// (CombinePieces). Each piece names the identity's recipient, k, m and its own number, and
// carries a checksum.
func SplitIdentity(id *age.X25519Identity, k, m int) ([]string, error) {
	if id == nil {
		return nil, errors.New("backup: no identity to split")
	}
	if m < 2 || m > maxPieces {
		return nil, fmt.Errorf("backup: %d pieces, want 2 to %d", m, maxPieces)
	}
	if k < 2 || k > m {
		return nil, fmt.Errorf("backup: %d pieces needed out of %d, want 2 to %d", k, m, m)
	}
	scalar, err := identityScalar(id)
	if err != nil {
		return nil, err
	}
	defer clear(scalar)
	recipient, err := recipientKey(id.Recipient())
	if err != nil {
		return nil, err
	}
	shares, err := shamir.Split(scalar, m, k)
	if err != nil {
		return nil, fmt.Errorf("backup: splitting: %w", err)
	}
	pieces := make([]string, m)
	for i, sh := range shares {
		p := piece{k: k, m: m, index: i + 1, recipient: recipient}
		copy(p.share[:], sh)
		clear(sh)
		pieces[i] = p.encode()
		p.wipe()
	}
	return pieces, nil
}

// CombinePieces gives back a recovery identity from k or more of its pieces (in any order).
// Pieces of different identities or splits, a piece given twice, too few pieces and a
// mistyped piece are errors; so is any set that does not combine to the identity whose
// recipient the pieces record.
func CombinePieces(pieces []string) (*age.X25519Identity, error) {
	if len(pieces) == 0 {
		return nil, errors.New("backup: no pieces given")
	}
	if len(pieces) > maxPieces {
		return nil, fmt.Errorf("backup: %d pieces given, a split has at most %d", len(pieces), maxPieces)
	}
	parsed := make([]*piece, 0, len(pieces))
	defer func() {
		for _, p := range parsed {
			p.wipe()
		}
	}()
	for i, s := range pieces {
		p, err := parsePiece(s)
		if err != nil {
			return nil, fmt.Errorf("backup: the %s piece given: %w", ordinal(i+1), err)
		}
		if err := checkPieceFits(parsed, p); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		parsed = append(parsed, p)
	}
	first := parsed[0]
	recipient := recipientText(first.recipient)
	if len(parsed) < first.k {
		return nil, fmt.Errorf("backup: %d pieces given, recovery identity %s needs %d (a %d-of-%d split)", len(parsed), recipient, first.k, first.k, first.m)
	}
	return combine(parsed, recipient)
}

// checkPieceFits checks that p belongs to the split of the pieces before it and repeats none.
func checkPieceFits(before []*piece, p *piece) error {
	if len(before) == 0 {
		return nil
	}
	first := before[0]
	if p.recipient != first.recipient {
		return fmt.Errorf("pieces %d and %d belong to different recovery identities (%s and %s)", first.index, p.index, recipientText(first.recipient), recipientText(p.recipient))
	}
	if p.k != first.k || p.m != first.m {
		return fmt.Errorf("pieces %d and %d come from different splits (%d-of-%d and %d-of-%d)", first.index, p.index, first.k, first.m, p.k, p.m)
	}
	for _, o := range before {
		if o.index != p.index {
			continue
		}
		if o.share == p.share {
			return fmt.Errorf("piece %d is given twice", p.index)
		}
		return fmt.Errorf("two different pieces are numbered %d: they come from different splits of the same identity", p.index)
	}
	return nil
}

// combine runs vault's Combine on the pieces' shares and checks the result's recipient.
func combine(parsed []*piece, recipient string) (*age.X25519Identity, error) {
	shares := make([][]byte, len(parsed))
	for i, p := range parsed {
		shares[i] = p.share[:]
	}
	scalar, err := shamir.Combine(shares)
	defer clear(scalar)
	if err != nil {
		return nil, fmt.Errorf("backup: the pieces do not combine to recovery identity %s: they come from different splits of it (%v)", recipient, err)
	}
	id, err := identityFromScalar(scalar)
	if err != nil {
		return nil, err
	}
	got, err := recipientKey(id.Recipient())
	if err != nil || recipientText(got) != recipient {
		return nil, fmt.Errorf("backup: the pieces do not combine to recovery identity %s: one of them comes from another split of it, or was altered in a way its checksum did not catch", recipient)
	}
	return id, nil
}

// identityScalar returns the 32-byte X25519 secret of id (from its Bech32 form: age has no
// other accessor). The caller wipes it.
func identityScalar(id *age.X25519Identity) ([]byte, error) {
	hrp, data, err := bech32.DecodeToBase256(id.String())
	if err != nil || hrp != identityHRP || len(data) != pieceKeySize {
		clear(data)
		return nil, errors.New("backup: the identity is not an age X25519 identity") // never quotes it
	}
	return data, nil
}

// identityFromScalar makes the age identity of a 32-byte X25519 secret.
func identityFromScalar(scalar []byte) (*age.X25519Identity, error) {
	s, err := bech32.EncodeFromBase256(identityHRP, scalar)
	if err != nil {
		return nil, errors.New("backup: cannot encode the combined identity")
	}
	id, err := age.ParseX25519Identity(strings.ToUpper(s))
	if err != nil {
		return nil, errors.New("backup: the combined secret is not an age X25519 identity")
	}
	return id, nil
}

// recipientKey returns the 32-byte X25519 public key of an age recipient.
func recipientKey(r *age.X25519Recipient) ([pieceKeySize]byte, error) {
	var out [pieceKeySize]byte
	hrp, data, err := bech32.DecodeToBase256(r.String())
	if err != nil || hrp != recipientHRP || len(data) != pieceKeySize {
		return out, fmt.Errorf("backup: %s is not an age X25519 recipient", r)
	}
	copy(out[:], data)
	return out, nil
}

// recipientText returns the "age1..." form of an X25519 public key.
func recipientText(key [pieceKeySize]byte) string {
	s, err := bech32.EncodeFromBase256(recipientHRP, key[:])
	if err != nil {
		return fmt.Sprintf("(X25519 key %x)", key) // unreachable: 32 bytes always encode
	}
	return s
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
