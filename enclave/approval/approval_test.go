package approval

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApprovalJSONRoundTrip(t *testing.T) {
	alice, bob, _, _ := team(t)
	a := mustSign(t, alice, fixture())
	line, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := fixture().Digest()
	want := `{"version":1,"operator":"alice","public_key":"` + base64.StdEncoding.EncodeToString(a.PublicKey) +
		`","statement_sha256":"` + digest + `","signature":"` + base64.StdEncoding.EncodeToString(a.Signature) + `"}`
	if string(line) != want {
		t.Fatalf("approval JSON\n%s\nwant\n%s", line, want)
	}
	got, err := DecodeApproval(line)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	b := mustSign(t, bob, fixture())
	bLine, _ := json.Marshal(b)
	for name, in := range map[string]string{
		"lines":               string(line) + "\n" + string(bLine) + "\n",
		"concatenated":        string(line) + string(bLine),
		"array":               "[" + string(line) + ",\n" + string(bLine) + "]",
		"crlf and blank line": string(line) + "\r\n\r\n" + string(bLine),
	} {
		list, err := DecodeApprovals([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff([]Approval{a, b}, list); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestDecodeApprovalsRefuses(t *testing.T) {
	alice, _, _, _ := team(t)
	line, _ := json.Marshal(mustSign(t, alice, fixture()))
	s := string(line)
	replace := func(old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("approval has no %q", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	digest, _ := fixture().Digest()
	sig := s[strings.Index(s, `"signature":"`)+len(`"signature":"`) : len(s)-2]
	many := strings.Repeat(s+"\n", MaxApprovals+1)
	cases := map[string]string{
		"empty":            "",
		"spaces":           " \n ",
		"empty array":      "[]",
		"unknown field":    replace(`"version":1`, `"version":1,"comment":"ok"`),
		"duplicate field":  replace(`"version":1`, `"version":1,"operator":"bob"`),
		"field case":       replace(`"signature"`, `"Signature"`),
		"version 2":        replace(`"version":1`, `"version":2`),
		"bad name":         replace(`"alice"`, `"Alice"`),
		"short digest":     replace(`"statement_sha256":"`, `"statement_sha256":"00`),
		"upper digest":     replace(digest, strings.ToUpper(digest)),
		"unpadded sig":     replace(sig, strings.TrimRight(sig, "=")),
		"short sig":        replace(sig, base64.StdEncoding.EncodeToString(make([]byte, 63))),
		"long key":         replace(`"public_key":"`, `"public_key":"AAAA`),
		"stray brace":      s + "}",
		"garbage after":    s + " x",
		"not an object":    `"approval"`,
		"array of strings": `["a"]`,
		"array and more":   "[" + s + "] {}",
		"too many":         many,
		"too large":        strings.Repeat(" ", MaxApprovalsBytes+1) + s,
		"one too large":    replace(`"version":1`, `"version":1`+strings.Repeat(" ", MaxApprovalBytes)),
	}
	for name, in := range cases {
		if _, err := DecodeApprovals([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeApprovals = %v; want ErrMalformed", name, err)
		}
	}
	if _, err := DecodeApprovals([]byte(s + "\n" + replace(`"alice"`, `"Alice"`))); err == nil || !strings.Contains(err.Error(), "approval #2") {
		t.Errorf("the error does not name the bad approval: %v", err)
	}
	if list, err := DecodeApprovals([]byte(strings.Repeat(s+"\n", MaxApprovals))); err != nil || len(list) != MaxApprovals {
		t.Errorf("%d approvals: %v", MaxApprovals, err)
	}
	if _, err := json.Marshal(Approval{Operator: "alice"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("Marshal of an empty approval: %v", err)
	}
}
