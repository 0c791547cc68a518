package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
)

func TestErrorNamesRoundAndCulprits(t *testing.T) {
	cause := errors.New("decommitment does not open")
	err := fmt.Errorf("party 1: %w", &Error{Task: "sign", Round: 5, Culprits: []PartyID{2, 3}, Cause: cause})
	for _, want := range []string{"sign failed in round 5", "culprits: party 2, party 3", "decommitment does not open"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if got := Culprits(err); !slices.Equal(got, []PartyID{2, 3}) {
		t.Errorf("Culprits = %v", got)
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is not reachable with errors.Is")
	}
	if Culprits(cause) != nil {
		t.Error("a plain error has culprits")
	}
}

func TestParseScheme(t *testing.T) {
	if s, err := ParseScheme("ecdsa-secp256k1"); err != nil || s != SchemeECDSASecp256k1 {
		t.Fatalf("ParseScheme: %v %v", s, err)
	}
	if _, err := ParseScheme("rsa"); err == nil || !strings.Contains(err.Error(), "ecdsa-secp256k1") {
		t.Fatalf("an unknown scheme's error should list the supported ones: %v", err)
	}
}

func TestPartyIDValid(t *testing.T) {
	for p, want := range map[PartyID]bool{0: false, 1: true, 3: true, 4: false} {
		if got := p.Valid(3); got != want {
			t.Errorf("%d.Valid(3) = %v", p, got)
		}
	}
}

func TestDecodeSecretJSONNeverQuotesTheInput(t *testing.T) {
	type share struct {
		X *big.Int `json:"x"`
		N int      `json:"n"`
	}
	secret := "98765432109876543210"
	for name, in := range map[string]string{
		"bad big.Int":   `{"x":"` + secret + `z"}`,
		"wrong type":    `{"n":"` + secret + `"}`,
		"unknown field": `{"x":1,"extra":` + secret + `}`,
		"trailing data": `{"x":` + secret + `} {}`,
		"truncated":     `{"x":` + secret,
		"syntax":        `{"x":` + secret + `,,}`,
	} {
		var s share
		err := DecodeSecretJSON([]byte(in), &s)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "987654321") {
			t.Errorf("%s: the error quotes the input: %v", name, err)
		}
	}
	var ok share
	if err := DecodeSecretJSON([]byte(`{"x":5,"n":2}`), &ok); err != nil || ok.X.Int64() != 5 || ok.N != 2 {
		t.Fatalf("a valid value: %+v %v", ok, err)
	}
}

func TestDigestOnlyRefusesMessages(t *testing.T) {
	if err := (SignParams{}).DigestOnly(SchemeBIP340); err != nil {
		t.Fatalf("no message: %v", err)
	}
	err := (SignParams{Message: []byte("hello")}).DigestOnly(SchemeBIP340)
	if err == nil || !strings.Contains(err.Error(), "bip340 signs a 32-byte digest") {
		t.Fatalf("a message to a digest-only scheme: err = %v", err)
	}
	p := SignParams{Digest: [32]byte{1, 2}}
	if got := p.SignedBytes(); !bytes.Equal(got, p.Digest[:]) {
		t.Fatalf("SignedBytes without a message = %x", got)
	}
	p.Message = []byte{}
	if got := p.SignedBytes(); len(got) != 0 {
		t.Fatalf("SignedBytes of an empty message = %x", got)
	}
}

func TestCheckCluster(t *testing.T) {
	for _, c := range []struct {
		parties   []PartyID
		threshold int
		self      PartyID
		want      string
	}{
		{[]PartyID{1, 2, 3}, 2, 1, ""},
		{[]PartyID{1}, 1, 1, "1 parties (want 2 to 4)"},
		{[]PartyID{1, 2, 3, 4, 5}, 2, 1, "5 parties (want 2 to 4)"},
		{[]PartyID{1, 0, 3}, 2, 1, "party 0 is not a valid party"},
		{[]PartyID{1, 3, 3}, 2, 1, "party 3 is listed twice"},
		{[]PartyID{1, 2, 3}, 4, 1, "threshold 4 out of range [2, 3]"},
		{[]PartyID{1, 2, 3}, 1, 1, "threshold 1 out of range [2, 3]"},
		{[]PartyID{1, 2, 3}, 2, 7, "self (party 7) is not one of the parties"},
	} {
		err := CheckCluster(c.parties, c.threshold, c.self, 4)
		if (c.want == "") != (err == nil) || (err != nil && err.Error() != c.want) {
			t.Errorf("CheckCluster(%v, %d, %d) = %v, want %q", c.parties, c.threshold, c.self, err, c.want)
		}
	}
}
