package backup

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/hashicorp/vault/shamir"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// subsets returns every k-subset of 0..n-1.
func subsets(n, k int) [][]int {
	if k == 0 {
		return [][]int{nil}
	}
	var out [][]int
	for first := 0; first <= n-k; first++ {
		for _, rest := range subsets(n-first-1, k-1) {
			s := []int{first}
			for _, r := range rest {
				s = append(s, first+1+r)
			}
			out = append(out, s)
		}
	}
	return out
}

func pick(pieces []string, idx []int) []string {
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = pieces[j]
	}
	return out
}

func TestSplitCombineOpensSealedShare(t *testing.T) {
	k := keyOf(t, protocol.SchemeEd25519)
	id := NewRecoveryIdentity()
	e, err := SealShare(k.shares[3], k.meta(3), []string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	pieces, err := SplitIdentity(id, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(pieces) != 5 {
		t.Fatalf("%d pieces", len(pieces))
	}
	for i, p := range pieces {
		if !strings.HasPrefix(p, fmt.Sprintf("mpcsigner-recovery-piece-%d:", i+1)) {
			t.Fatalf("piece %d is %q", i+1, p[:30])
		}
		if strings.Contains(p, id.String()) {
			t.Fatal("a piece holds the identity")
		}
	}
	for _, n := range []int{3, 4, 5} {
		for _, set := range subsets(5, n) {
			got, err := CombinePieces(pick(pieces, set))
			if err != nil {
				t.Fatalf("pieces %v: %v", set, err)
			}
			if got.String() != id.String() {
				t.Fatalf("pieces %v combine to another identity", set)
			}
			share, err := OpenShare(e, []age.Identity{got})
			if err != nil || string(share) != string(k.shares[3]) {
				t.Fatalf("pieces %v: the combined identity does not open the entry: %v", set, err)
			}
		}
	}
	// Order does not matter, and neither do case and spaces an operator typed.
	typed := strings.ToLower(pieces[4][:40]) + " \n" + pieces[4][40:60] + "  " + pieces[4][60:]
	got, err := CombinePieces([]string{typed, pieces[0], "  " + pieces[2] + "\n"})
	if err != nil || got.String() != id.String() {
		t.Fatalf("typed pieces: %v", err)
	}
}

func TestTooFewPiecesDoNotDecrypt(t *testing.T) {
	k := keyOf(t, protocol.SchemeEd25519)
	id := NewRecoveryIdentity()
	e, err := SealShare(k.shares[1], k.meta(1), []string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	pieces, err := SplitIdentity(id, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range subsets(5, 2) {
		_, err := CombinePieces(pick(pieces, set))
		wantErr(t, err, "2 pieces given", id.Recipient().String(), "needs 3 (a 3-of-5 split)")

		// Even vault's raw Combine of k-1 shares yields no identity that decrypts.
		var raw [][]byte
		for _, s := range pick(pieces, set) {
			p, err := parsePiece(s)
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, p.share[:])
		}
		scalar, err := shamir.Combine(raw)
		if err != nil {
			t.Fatal(err)
		}
		wrong, err := identityFromScalar(scalar)
		if err != nil {
			t.Fatal(err) // any 32 bytes are an X25519 secret
		}
		if wrong.Recipient().String() == id.Recipient().String() {
			t.Fatalf("pieces %v: 2 of a 3-of-5 split gave the identity", set)
		}
		if _, err := OpenShare(e, []age.Identity{wrong}); !errors.Is(err, ErrWrongIdentity) {
			t.Fatalf("pieces %v: the raw combination of 2 pieces decrypts, or fails otherwise: %v", set, err)
		}
	}
}

func TestCombinePiecesErrors(t *testing.T) {
	id, other := NewRecoveryIdentity(), NewRecoveryIdentity()
	pieces, err := SplitIdentity(id, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	otherPieces, _ := SplitIdentity(other, 2, 3)
	resplit, _ := SplitIdentity(id, 2, 3)
	wider, _ := SplitIdentity(id, 3, 4)
	mistyped := []byte(pieces[1])
	i := len("mpcsigner-recovery-piece-2:") + 10
	mistyped[i] = map[bool]byte{true: 'B', false: 'A'}[mistyped[i] == 'A']
	for _, tc := range []struct {
		name   string
		pieces []string
		want   []string
	}{
		{"none", nil, []string{"no pieces given"}},
		{"one", pieces[:1], []string{"1 pieces given", "needs 2"}},
		{"duplicate", []string{pieces[0], pieces[0]}, []string{"piece 1 is given twice"}},
		{"different identities", []string{pieces[0], otherPieces[1]}, []string{"pieces 1 and 2 belong to different recovery identities", id.Recipient().String(), other.Recipient().String()}},
		{"same number from two splits", []string{pieces[0], resplit[0]}, []string{"two different pieces are numbered 1"}},
		{"two splits of one identity", []string{pieces[0], resplit[1]}, []string{"do not combine to recovery identity " + id.Recipient().String()}},
		{"different k", []string{pieces[0], wider[1]}, []string{"different splits (2-of-3 and 3-of-4)"}},
		{"mistyped", []string{pieces[0], string(mistyped)}, []string{"the 2nd piece given", "checksum mismatch"}},
		{"not base32", []string{pieces[0], pieces[1][:40] + "1" + pieces[1][41:]}, []string{"2nd piece", "not base32"}},
		{"short", []string{pieces[0], pieces[1][:len(pieces[1])-2]}, []string{"2nd piece", "characters are missing"}},
		{"no prefix", []string{"piece-1:AAAA"}, []string{"1st piece", "does not start with"}},
		{"no colon", []string{"mpcsigner-recovery-piece-1 AAAA"}, []string{"no ':'"}},
		{"renumbered", []string{pieces[0], strings.Replace(pieces[1], "piece-2:", "piece-3:", 1)}, []string{"says piece 2 inside"}},
		{"bad number", []string{"mpcsigner-recovery-piece-01:" + pieces[0][len("mpcsigner-recovery-piece-1:"):]}, []string{"not a plain number"}},
		{"too long", []string{strings.Repeat("a", 2000)}, []string{"too long"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CombinePieces(tc.pieces)
			wantErr(t, err, tc.want...)
			for _, p := range append(pieces, otherPieces...) {
				body := p[strings.Index(p, ":")+1:]
				if strings.Contains(err.Error(), body[:20]) {
					t.Fatal("the error quotes a piece")
				}
			}
		})
	}
}

func TestEveryMistypedCharacterIsCaught(t *testing.T) {
	id := NewRecoveryIdentity()
	pieces, err := SplitIdentity(id, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	p := pieces[1]
	start := strings.Index(p, ":") + 1
	for i := start; i < len(p); i++ {
		for _, c := range "A7Q" {
			if rune(p[i]) == c {
				continue
			}
			typo := p[:i] + string(c) + p[i+1:]
			if _, err := CombinePieces([]string{pieces[0], typo}); err == nil {
				t.Fatalf("a typo at character %d goes unnoticed", i)
			}
		}
	}
}

func TestSplitIdentityRefuses(t *testing.T) {
	id := NewRecoveryIdentity()
	for _, tc := range []struct {
		k, m int
		want string
	}{
		{1, 3, "1 pieces needed out of 3"},
		{4, 3, "4 pieces needed out of 3"},
		{2, 1, "1 pieces, want 2 to 255"},
		{2, 256, "256 pieces"},
	} {
		_, err := SplitIdentity(id, tc.k, tc.m)
		wantErr(t, err, tc.want)
	}
	_, err := SplitIdentity(nil, 2, 3)
	wantErr(t, err, "no identity")
}
