package backup

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/mpcsigner/mpcsigner/protocol"
)

func TestSealOpenRoundTrip(t *testing.T) {
	k := keyOf(t, protocol.SchemeEd25519)
	x, s := newX25519Operator(t), newSSHOperator(t)
	chainCode := make([]byte, ChainCodeSize)
	rand.Read(chainCode)
	for _, tc := range []struct {
		name string
		ops  []operator
	}{
		{"x25519", []operator{x}},
		{"ssh-ed25519", []operator{s}},
		{"both", []operator{x, s}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := k.meta(2)
			m.ChainCode = chainCode
			e, err := SealShare(k.shares[2], m, recipientsOf(tc.ops...))
			if err != nil {
				t.Fatal(err)
			}
			if e.Party != 2 || len(e.PublicShare) != 32 || len(e.CiphertextSHA256) != 32 {
				t.Fatalf("entry %+v", e)
			}
			// Nothing secret is in the entry in the clear.
			for _, secret := range [][]byte{k.shares[2], []byte(hex.EncodeToString(chainCode)), chainCode} {
				if bytes.Contains(e.Ciphertext, secret) {
					t.Fatal("the ciphertext contains a secret in the clear")
				}
			}
			for _, op := range tc.ops {
				o, err := OpenEntry(e, []age.Identity{op.identity})
				if err != nil {
					t.Fatalf("open with %s: %v", op.recipient, err)
				}
				if !bytes.Equal(o.Share, k.shares[2]) || !bytes.Equal(o.Meta.ChainCode, chainCode) || o.Meta.Party != 2 ||
					o.Meta.KeyID != m.KeyID || !bytes.Equal(o.Meta.PublicKey, k.publicKey) || o.Meta.Threshold != 2 {
					t.Fatalf("opened %v differs from what was sealed", o)
				}
				for _, str := range []string{o.String(), fmt.Sprintf("%#v", *o), fmt.Sprintf("%v", o.Meta), fmt.Sprintf("%+v", o)} {
					if strings.Contains(str, hex.EncodeToString(chainCode)) || strings.Contains(str, string(k.shares[2][:40])) {
						t.Fatalf("%q shows a secret", str)
					}
				}
				share, err := OpenShare(e, []age.Identity{op.identity})
				if err != nil || !bytes.Equal(share, k.shares[2]) {
					t.Fatalf("OpenShare: %v", err)
				}
			}
		})
	}
}

func TestOpenWithWrongIdentity(t *testing.T) {
	k := keyOf(t, protocol.SchemeEd25519)
	e, err := SealShare(k.shares[1], k.meta(1), recipientsOf(newX25519Operator(t), newSSHOperator(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []operator{newX25519Operator(t), newSSHOperator(t)} {
		_, err := OpenShare(e, []age.Identity{other.identity})
		if !errors.Is(err, ErrWrongIdentity) {
			t.Fatalf("error %v, want ErrWrongIdentity", err)
		}
		wantErr(t, err, "party 1", "1 X25519 and 1 ssh-ed25519 recipients")
	}
	_, err = OpenShare(e, nil)
	wantErr(t, err, "no identities")
}

func TestOpenDamagedEntry(t *testing.T) {
	k := keyOf(t, protocol.SchemeEd25519)
	op := newX25519Operator(t)
	e, err := SealShare(k.shares[1], k.meta(1), recipientsOf(op))
	if err != nil {
		t.Fatal(err)
	}
	ids := []age.Identity{op.identity}

	flipped := e
	flipped.Ciphertext = bytes.Clone(e.Ciphertext)
	flipped.Ciphertext[len(flipped.Ciphertext)-5] ^= 1
	_, err = OpenShare(flipped, ids)
	wantErr(t, err, "does not match its SHA-256")

	// A damaged ciphertext whose hash was recomputed is still caught, by age.
	sum := sha256.Sum256(flipped.Ciphertext)
	flipped.CiphertextSHA256 = sum[:]
	_, err = OpenShare(flipped, ids)
	wantErr(t, err, "damaged")

	other := e
	other.Party = 3
	_, err = OpenShare(other, ids)
	wantErr(t, err, "holds the share of party 1")

	otherShare := e
	otherShare.PublicShare = bytes.Repeat([]byte{1}, 32)
	_, err = OpenShare(otherShare, ids)
	wantErr(t, err, "public share differs")
}

func TestSealShareRefuses(t *testing.T) {
	k := keyOf(t, protocol.SchemeEd25519)
	op, sshOp := newX25519Operator(t), newSSHOperator(t)
	good := recipientsOf(op)
	secret := NewRecoveryIdentity().String()
	many := make([]string, MaxRecipients+1)
	for i := range many {
		many[i] = newX25519Operator(t).recipient
	}
	sshBare := strings.Join(strings.Fields(sshOp.recipient)[:2], " ")
	for _, tc := range []struct {
		name       string
		share      []byte
		meta       func(*EntryMeta)
		recipients []string
		want       []string
	}{
		{name: "no recipients", recipients: nil, want: []string{"no recipients"}},
		{name: "too many", recipients: many, want: []string{"17 recipients", "at most 16"}},
		{name: "unparsable", recipients: []string{op.recipient, "age1notakey"}, want: []string{"recipient 2", "age1notakey", "not a valid age X25519 recipient"}},
		{name: "garbage", recipients: []string{"hello"}, want: []string{"recipient 1", "neither"}},
		{name: "secret key", recipients: []string{secret}, want: []string{"recipient 1", "secret key, not a recipient"}},
		{name: "duplicate", recipients: []string{op.recipient, sshOp.recipient, " " + op.recipient}, want: []string{"recipients 1 and 3 are the same key"}},
		{name: "duplicate ssh with another comment", recipients: []string{sshOp.recipient, sshBare + " bob@desk"}, want: []string{"recipients 1 and 2 are the same key"}},
		{name: "ssh-rsa", recipients: []string{"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x"}, want: []string{"recipient 1", "ssh-rsa keys are not accepted"}},
		{name: "other party", meta: func(m *EntryMeta) { m.Party = 2 }, recipients: good, want: []string{"share of party 2", "it is the share of party 1"}},
		{name: "other key", meta: func(m *EntryMeta) { m.PublicKey = bytes.Repeat([]byte{7}, 32) }, recipients: good, want: []string{"not 0707"}},
		{name: "other threshold", meta: func(m *EntryMeta) { m.Threshold = 3 }, recipients: good, want: []string{"2-of-[1 2 3] share, the metadata says 3-of-[1 2 3]"}},
		{name: "other scheme", meta: func(m *EntryMeta) { m.Scheme = protocol.SchemeBIP340 }, recipients: good, want: []string{"invalid share"}},
		{name: "party not in parties", meta: func(m *EntryMeta) { m.Party = 9 }, recipients: good, want: []string{"party 9 is not one of the parties"}},
		{name: "bad key id", meta: func(m *EntryMeta) { m.KeyID = "a/b" }, recipients: good, want: []string{"key id"}},
		{name: "short chain code", meta: func(m *EntryMeta) { m.ChainCode = make([]byte, 31) }, recipients: good, want: []string{"chain code of 31 bytes"}},
		{name: "wrong public share", meta: func(m *EntryMeta) { m.PublicShare = bytes.Repeat([]byte{3}, 32) }, recipients: good, want: []string{"its public share is"}},
		{name: "empty share", share: []byte{}, recipients: good, want: []string{"empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := k.meta(1)
			if tc.meta != nil {
				tc.meta(&m)
			}
			share := k.shares[1]
			if tc.share != nil {
				share = tc.share
			}
			_, err := SealShare(share, m, tc.recipients)
			wantErr(t, err, tc.want...)
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[len("AGE-SECRET-KEY-1"):]) {
				t.Fatal("the error quotes a secret key")
			}
		})
	}
}

func TestEntryMetaStringHidesChainCode(t *testing.T) {
	m := EntryMeta{KeyID: "k", ChainCode: bytes.Repeat([]byte{0xab}, 32)}
	for _, s := range []string{m.String(), fmt.Sprintf("%v", m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m)} {
		if strings.Contains(s, "abab") {
			t.Fatalf("%q shows the chain code", s)
		}
	}
}

func TestDecodePlaintextRefuses(t *testing.T) {
	k := keyOf(t, protocol.SchemeEd25519)
	m := k.meta(1)
	good := encodePlaintext(k.shares[1], &m, nil)
	if _, err := decodePlaintext(good); err != nil {
		t.Fatalf("good plaintext: %v", err)
	}
	for name, tc := range map[string]struct {
		b    string
		want string
	}{
		"truncated":       {string(good[:len(good)-3]), "truncated"},
		"unknown field":   {strings.Replace(string(good), `"version":1,`, `"version":1,"extra":1,`, 1), "unknown field"},
		"other version":   {strings.Replace(string(good), `"version":1,`, `"version":2,`, 1), "plaintext version 2"},
		"empty chaincode": {strings.Replace(string(good), `}`, `,"chain_code":""}`, 1), "chain code of 0 bytes"},
	} {
		_, err := decodePlaintext([]byte(tc.b))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}
