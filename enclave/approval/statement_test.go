package approval

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fixtureJSON is the fixture as the package documentation says statements look on the wire.
const fixtureJSON = `{"version":1,"operation":"key.reshare","cluster":"prod-1","key_id":"0123456789abcdef0123456789abcdef",` +
	`"params":{"new_parties":"1,2,3,4","new_threshold":"3"},"nonce":"00112233445566778899aabbccddeeff","not_after":"2030-01-02T03:04:05Z"}`

// TestCanonicalBytesGolden: the canonical bytes are exactly the documented encoding, written out
// by hand, and Sign's signature verifies with crypto/ed25519 over those hand-written bytes.
func TestCanonicalBytesGolden(t *testing.T) {
	got, err := fixture().CanonicalBytes()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fixtureCanonical, string(got)); diff != "" {
		t.Fatalf("canonical bytes differ from the documented encoding (-want +got):\n%s", diff)
	}
	sum := sha256.Sum256([]byte(fixtureCanonical))
	if d, _ := fixture().Digest(); d != hex.EncodeToString(sum[:]) {
		t.Fatalf("Digest %s, want %x", d, sum)
	}
	alice, _, _, _ := team(t)
	a := mustSign(t, alice, fixture())
	pub, _ := hex.DecodeString(rfc8032[0].public)
	if !ed25519.Verify(pub, []byte(fixtureCanonical), a.Signature) {
		t.Fatal("Sign's signature does not verify over the documented canonical bytes")
	}
	if a.Operator != "alice" || a.Statement != hex.EncodeToString(sum[:]) || hex.EncodeToString(a.PublicKey) != rfc8032[0].public {
		t.Fatalf("approval %+v does not name alice, her key and the statement's digest", a)
	}
}

// TestCanonicalBytesDistinguish: statements that differ in any field, including ones a naive
// concatenation would confuse, have different canonical bytes.
func TestCanonicalBytesDistinguish(t *testing.T) {
	variants := map[string]func(*Statement){
		"operation":       func(s *Statement) { s.Operation = OpKeyRefresh },
		"cluster":         func(s *Statement) { s.Cluster = "prod-2" },
		"key id":          func(s *Statement) { s.KeyID = "0123456789abcdef0123456789abcdee" },
		"param value":     func(s *Statement) { s.Params[ParamNewThreshold] = "2" },
		"param added":     func(s *Statement) { s.Params["x"] = "1" },
		"param removed":   func(s *Statement) { delete(s.Params, ParamNewThreshold) },
		"no params":       func(s *Statement) { s.Params = nil },
		"param shifted":   func(s *Statement) { s.Params = map[string]string{"new_parties": "1,2,3,4 13:new_threshold 1:3"} },
		"nonce":           func(s *Statement) { s.Nonce = "00112233445566778899aabbccddeef0" },
		"not after":       func(s *Statement) { s.NotAfter = s.NotAfter.Add(time.Second) },
		"param name case": func(s *Statement) { s.Params = map[string]string{"new_parties": "1,2,3,4", "new_threshold.": "3"} },
	}
	base, _ := fixture().CanonicalBytes()
	seen := map[string]string{string(base): "fixture"}
	for name, change := range variants {
		s := fixture()
		change(&s)
		b, err := s.CanonicalBytes()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if other, dup := seen[string(b)]; dup {
			t.Errorf("%s has the same canonical bytes as %s", name, other)
		}
		seen[string(b)] = name
	}
	// An empty params map and a nil one are the same statement.
	s := fixture()
	s.Params = map[string]string{}
	e, _ := s.CanonicalBytes()
	s.Params = nil
	n, _ := s.CanonicalBytes()
	if string(e) != string(n) {
		t.Error("empty and nil params encode differently")
	}
}

func TestStatementJSONRoundTrip(t *testing.T) {
	b, err := json.Marshal(fixture())
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != fixtureJSON {
		t.Fatalf("JSON\n%s\nwant\n%s", b, fixtureJSON)
	}
	got, err := DecodeStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fixture(), got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	// Inside a larger request, the statement is decoded as strictly.
	var req struct {
		Statement Statement `json:"statement"`
	}
	if err := json.Unmarshal([]byte(`{"statement":`+fixtureJSON+`}`), &req); err != nil || req.Statement.Nonce != fixture().Nonce {
		t.Fatalf("embedded: %v %+v", err, req)
	}
	bad := strings.Replace(fixtureJSON, `"version":1`, `"version":1,"extra":1`, 1)
	if err := json.Unmarshal([]byte(`{"statement":`+bad+`}`), &req); !errors.Is(err, ErrMalformed) {
		t.Fatalf("embedded statement with an unknown field: %v", err)
	}
	// Marshal refuses what Decode would refuse.
	s := fixture()
	s.KeyID = "my-label"
	if _, err := json.Marshal(s); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Marshal of an invalid statement: %v", err)
	}
}

// TestDecodeStatementRefuses: every kind of malformed statement JSON is refused with
// ErrMalformed.
func TestDecodeStatementRefuses(t *testing.T) {
	replace := func(old, new string) string {
		if !strings.Contains(fixtureJSON, old) {
			t.Fatalf("fixture has no %q", old)
		}
		return strings.Replace(fixtureJSON, old, new, 1)
	}
	manyParams := make([]string, MaxParams+1)
	for i := range manyParams {
		manyParams[i] = fmt.Sprintf(`"p%d":"v"`, i)
	}
	cases := map[string]string{
		"empty":                "",
		"null":                 "null",
		"array":                "[" + fixtureJSON + "]",
		"not json":             "operation: key.reshare",
		"unknown field":        replace(`"version":1`, `"version":1,"comment":"x"`),
		"duplicate field":      replace(`"version":1`, `"version":1,"key_id":"ffffffffffffffffffffffffffffffff"`),
		"field case":           replace(`"operation"`, `"Operation"`),
		"duplicate param":      replace(`"new_threshold":"3"`, `"new_threshold":"3","new_threshold":"2"`),
		"trailing data":        fixtureJSON + `{}`,
		"trailing garbage":     fixtureJSON + ` x`,
		"version 2":            replace(`"version":1`, `"version":2`),
		"no version":           replace(`"version":1,`, ``),
		"no nonce":             replace(`"nonce":"00112233445566778899aabbccddeeff",`, ``),
		"fractional not_after": replace(`03:04:05Z`, `03:04:05.5Z`),
		"offset not_after":     replace(`03:04:05Z`, `04:04:05+01:00`),
		"date only":            replace(`2030-01-02T03:04:05Z`, `2030-01-02`),
		"numeric not_after":    replace(`"2030-01-02T03:04:05Z"`, `1893553445`),
		"unknown operation":    replace(`key.reshare`, `key.delete`),
		"operation case":       replace(`key.reshare`, `Key.Reshare`),
		"uppercase key id":     replace(`0123456789abcdef0123456789abcdef`, `0123456789ABCDEF0123456789ABCDEF`),
		"label as key id":      replace(`0123456789abcdef0123456789abcdef`, `validator-1`),
		"short nonce":          replace(`00112233445566778899aabbccddeeff`, `0011`),
		"empty cluster":        replace(`"prod-1"`, `""`),
		"cluster with space":   replace(`"prod-1"`, `"prod 1"`),
		"nested param":         replace(`"3"}`, `{"a":"b"}}`),
		"numeric param":        replace(`"3"}`, `3}`),
		"param newline":        replace(`"1,2,3,4"`, `"1,2\n3,4"`),
		"param non-ascii":      replace(`"1,2,3,4"`, `"1,2,3,4\u00e9"`),
		"param empty value":    replace(`"1,2,3,4"`, `""`),
		"param name case":      replace(`"new_parties"`, `"New_parties"`),
		"too many params":      replace(`"new_parties":"1,2,3,4","new_threshold":"3"`, strings.Join(manyParams, ",")),
		"param value too long": replace(`"1,2,3,4"`, `"`+strings.Repeat("1", MaxParamValue+1)+`"`),
		"too large":            replace(`"version":1`, `"version":1`+strings.Repeat(" ", MaxStatementBytes)),
		"too deep":             replace(`"3"}`, `"3","x":[[[[[]]]]]}`),
	}
	for name, in := range cases {
		if _, err := DecodeStatement([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeStatement = %v; want ErrMalformed", name, err)
		}
	}
	// Space around the object, and absent params, are fine.
	if _, err := DecodeStatement([]byte("\n " + replace(`"params":{"new_parties":"1,2,3,4","new_threshold":"3"},`, ``) + "\n")); err != nil {
		t.Errorf("statement without params: %v", err)
	}
}

// TestMatch: a statement matches a request only with the same operation, cluster, key id and
// params; the error names the field.
func TestMatch(t *testing.T) {
	want := fixture()
	want.Nonce, want.NotAfter = "", time.Time{} // the request has neither
	if err := fixture().Match(want); err != nil {
		t.Fatalf("the fixture does not match its own request: %v", err)
	}
	cases := map[string]struct {
		change func(*Statement)
		field  string
	}{
		"operation":     {func(s *Statement) { s.Operation = OpKeyRefresh }, "operation"},
		"cluster":       {func(s *Statement) { s.Cluster = "prod-2" }, "cluster"},
		"key id":        {func(s *Statement) { s.KeyID = strings.Repeat("f", 32) }, "key_id"},
		"param value":   {func(s *Statement) { s.Params[ParamNewThreshold] = "2" }, "param new_threshold"},
		"param extra":   {func(s *Statement) { s.Params["recipients"] = "age1x" }, "param recipients"},
		"param missing": {func(s *Statement) { delete(s.Params, ParamNewParties) }, "param new_parties"},
	}
	for name, tc := range cases {
		s := fixture()
		tc.change(&s)
		err := s.Match(want)
		if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: Match = %v; want ErrMismatch naming %s", name, err, tc.field)
		}
	}
}

func TestNewNonce(t *testing.T) {
	a, b := NewNonce(), NewNonce()
	if CheckNonce(a) != nil || CheckNonce(b) != nil || a == b {
		t.Fatalf("nonces %q and %q", a, b)
	}
}
