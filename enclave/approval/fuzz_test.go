package approval

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeStatement: no input panics the decoder, and whatever it accepts encodes back to a
// statement with the same canonical bytes.
func FuzzDecodeStatement(f *testing.F) {
	f.Add([]byte(fixtureJSON))
	f.Add([]byte(`{"version":1,"operation":"backup.export","cluster":"c","key_id":"00000000000000000000000000000000","nonce":"00000000000000000000000000000000","not_after":"2030-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"params":{"a":{"b":[[]]}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := DecodeStatement(in)
		if err != nil {
			return
		}
		want, err := s.CanonicalBytes()
		if err != nil {
			t.Fatalf("accepted a statement without canonical bytes: %v", err)
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("accepted a statement it cannot encode: %v", err)
		}
		again, err := DecodeStatement(out)
		if err != nil {
			t.Fatalf("cannot decode its own encoding %s: %v", out, err)
		}
		if got, _ := again.CanonicalBytes(); !bytes.Equal(got, want) {
			t.Fatalf("re-encoding changed the statement:\n%s\n%s", want, got)
		}
	})
}

// FuzzDecodeApprovals: no input panics the decoder, and what it accepts re-encodes and decodes
// to the same approvals.
func FuzzDecodeApprovals(f *testing.F) {
	alice, bob, _, _ := team(f)
	a, _ := json.Marshal(mustSign(f, alice, fixture()))
	b, _ := json.Marshal(mustSign(f, bob, fixture()))
	f.Add(a)
	f.Add(append(append(append([]byte{}, a...), '\n'), b...))
	f.Add([]byte("[" + string(a) + "," + string(b) + "]"))
	f.Fuzz(func(t *testing.T, in []byte) {
		list, err := DecodeApprovals(in)
		if err != nil {
			return
		}
		if len(list) == 0 || len(list) > MaxApprovals {
			t.Fatalf("accepted %d approvals", len(list))
		}
		out, err := json.Marshal(list)
		if err != nil {
			t.Fatalf("cannot encode what it accepted: %v", err)
		}
		again, err := DecodeApprovals(out)
		if err != nil || len(again) != len(list) {
			t.Fatalf("cannot decode its own encoding: %v", err)
		}
		for i := range list {
			if again[i].Operator != list[i].Operator || !bytes.Equal(again[i].Signature, list[i].Signature) {
				t.Fatalf("approval %d changed", i)
			}
		}
	})
}

// FuzzParseCertificate: no input panics the parser, and an accepted text is the certificate's
// one canonical text.
func FuzzParseCertificate(f *testing.F) {
	alice, _, _, _ := team(f)
	f.Add(alice.cert.String())
	f.Add("mpcsigner-operator-v1 a 2025-01-02T03:04:05Z AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + string(bytes.Repeat([]byte("A"), 86)) + "==")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseCertificate(in)
		if err != nil {
			return
		}
		if c.String() != string(bytes.TrimSpace([]byte(in))) {
			t.Fatalf("accepted %q, whose canonical text is %q", in, c.String())
		}
	})
}

// FuzzParseKeyFile: no input panics the key file parser, and an accepted file's certificate is
// its key's.
func FuzzParseKeyFile(f *testing.F) {
	alice, _, _, _ := team(f)
	good, _ := MarshalKeyFile(alice.key, alice.cert)
	f.Add(good)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		key, cert, err := ParseKeyFile(in)
		if err != nil {
			return
		}
		if _, err := Sign(key, cert.Name, fixture()); err != nil || !bytes.Equal(key[32:], cert.PublicKey) {
			t.Fatalf("accepted a key file whose certificate is not its key's: %v", err)
		}
	})
}
