package ethereum

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains/chaintest"
)

// mailJSON is the example of the EIP-712 text.
const mailJSON = `{
  "types": {
    "EIP712Domain": [
      {"name": "name", "type": "string"},
      {"name": "version", "type": "string"},
      {"name": "chainId", "type": "uint256"},
      {"name": "verifyingContract", "type": "address"}
    ],
    "Person": [
      {"name": "name", "type": "string"},
      {"name": "wallet", "type": "address"}
    ],
    "Mail": [
      {"name": "from", "type": "Person"},
      {"name": "to", "type": "Person"},
      {"name": "contents", "type": "string"}
    ]
  },
  "primaryType": "Mail",
  "domain": {
    "name": "Ether Mail",
    "version": "1",
    "chainId": 1,
    "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
  },
  "message": {
    "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
    "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
    "contents": "Hello, Bob!"
  }
}`

// TestTypedDataMail reproduces the EIP-712 example: its domain separator, its digest, and
// the signature of its reference implementation (assets/eip-712/Example.js, key
// keccak256("cow"), v 28), which RFC 6979 makes deterministic; the same r, s and v are
// asserted by eth-account's and MetaMask eth-sig-util's test suites.
func TestTypedDataMail(t *testing.T) {
	td, err := ParseTypedData([]byte(mailJSON))
	if err != nil {
		t.Fatal(err)
	}
	sep, err := td.HashStruct("EIP712Domain", td.Domain.Map())
	if err != nil {
		t.Fatal(err)
	}
	digest, err := TypedDataDigest(td)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"domain separator": hexutil.Encode(sep), "digest": hexutil.Encode(digest[:])}
	want := map[string]string{
		"domain separator": "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f",
		"digest":           "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}

	cow := fixedKeySigner(t, hexutil.Encode(crypto.Keccak256([]byte("cow"))))
	sig, err := SignTypedData(context.Background(), cow.addr, td, cow.sign)
	if err != nil {
		t.Fatal(err)
	}
	wantSig := "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d" +
		"07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562" + "1c"
	if diff := cmp.Diff(wantSig, hexutil.Encode(sig[:])); diff != "" {
		t.Errorf("signature (-want +got):\n%s", diff)
	}
	rsv := append(sig[:64:64], sig[64]-27)
	pub, err := crypto.SigToPub(digest[:], rsv)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := crypto.PubkeyToAddress(*pub), common.HexToAddress("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"); got != want {
		t.Errorf("recovers %s, want Cow's wallet %s", got, want)
	}
	btcecVerify(t, cow.compressed(), digest[:], rsv)
}

// gethTypedDataCase is one entry of go-ethereum's signer/core/apitypes/testdata/typed-data.json.
type gethTypedDataCase struct {
	Name        string          `json:"name"`
	Domain      json.RawMessage `json:"domain"`
	PrimaryType string          `json:"primaryType"`
	Types       json.RawMessage `json:"types"`
	Data        json.RawMessage `json:"data"`
	Encoded     string          `json:"encoded"`
	Digest      string          `json:"digest"`
}

// TestTypedDataGethVectors runs go-ethereum's own EIP-712 vectors through ParseTypedData
// and SignTypedData, reading them from the module cache rather than copying them.
func TestTypedDataGethVectors(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ethereum/go-ethereum").Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		t.Skipf("cannot locate the go-ethereum module directory (go list: %v); skipping its typed-data vectors", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "signer", "core", "apitypes", "testdata", "typed-data.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("cannot read %s: %v", path, err)
	}
	var cases []gethTypedDataCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s holds no cases", path)
	}
	k := newKeySigner(t)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]any{"types": tc.Types, "primaryType": tc.PrimaryType, "domain": tc.Domain, "message": tc.Data})
			if err != nil {
				t.Fatal(err)
			}
			td, err := ParseTypedData(doc)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			digest, err := TypedDataDigest(td)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.Digest, hexutil.Encode(digest[:])); diff != "" {
				t.Fatalf("digest (-want +got):\n%s", diff)
			}
			sig, err := SignTypedData(context.Background(), k.addr, td, k.sign)
			if err != nil {
				t.Fatal(err)
			}
			btcecVerify(t, k.compressed(), digest[:], append(sig[:64:64], sig[64]-27))
		})
	}
}

// mailWith returns the Mail example with one substring replaced, for refusal cases.
func mailWith(t testing.TB, old, repl string) string {
	t.Helper()
	if !strings.Contains(mailJSON, old) {
		t.Fatalf("mail example has no %q", old)
	}
	return strings.Replace(mailJSON, old, repl, 1)
}

// TestParseTypedDataRefuses feeds malformed or ambiguous documents; each is refused with an
// input error naming the problem.
func TestParseTypedDataRefuses(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"not JSON", `{"types":`, "malformed JSON"},
		{"empty", ``, "empty input"},
		{"whitespace", " \n", "empty input"},
		{"trailing object after empty object", `{}{}`, "trailing data"},
		{"array", `[]`, "want a JSON object"},
		{"trailing data", mailJSON + `{}`, "trailing data"},
		{"invalid UTF-8", mailWith(t, "Hello, Bob!", "Hello, \xff!"), "UTF-8"},
		{"oversize", `{"x":"` + strings.Repeat("a", MaxTypedDataBytes) + `"}`, "more than the limit"},
		{"unknown top-level field", mailWith(t, `"primaryType": "Mail",`, `"primaryType": "Mail", "extra": 1,`), "extra: unknown field"},
		{"key in other case", mailWith(t, `"primaryType"`, `"PrimaryType"`), "PrimaryType: unknown field"},
		{"duplicate key", mailWith(t, `"contents": "Hello, Bob!"`, `"contents": "Hello, Bob!", "contents": "Hi"`), `duplicate key "contents"`},
		{"unknown domain field", mailWith(t, `"version": "1",`, `"version": "1", "chain": 1,`), "domain.chain: unknown field"},
		{"unknown type entry field", mailWith(t, `{"name": "name", "type": "string"},`, `{"name": "name", "type": "string", "x": 1},`), "types.EIP712Domain[0].x: unknown field"},
		{"missing message", mailWith(t, `"message": {`, `"msg": {`), "msg: unknown field"},
		{"missing primaryType", mailWith(t, `"primaryType": "Mail",`, ``), "primaryType: missing"},
		{"undefined primaryType", mailWith(t, `"primaryType": "Mail"`, `"primaryType": "Letter"`), `"Letter" is not a type`},
		{"no EIP712Domain", mailWith(t, `"EIP712Domain"`, `"Domain"`), "no EIP712Domain type"},
		{"fractional number", mailWith(t, `"chainId": 1`, `"chainId": 1.5`), "not an integer"},
		{"exponent number", mailWith(t, `"chainId": 1`, `"chainId": 1e0`), "not an integer"},
		{"unsafe integer", mailWith(t, `"chainId": 1`, `"chainId": 9007199254740993`), "beyond 2^53"},
		{"member not declared", mailWith(t, `"name": "Bob",`, `"nick": "Bob",`), "message.to.nick: not a field of type Person"},
		{"member missing", mailWith(t, `"contents": "Hello, Bob!"`, `"contents": null`), "message.contents: missing"},
		{"domain member not declared", mailWith(t, `{"name": "verifyingContract", "type": "address"}`, `{"name": "salt", "type": "bytes32"}`), "domain.verifyingContract: not a field"},
		{"struct where string declared", mailWith(t, `"Hello, Bob!"`, `{"a":"b"}`), "message.contents: want a string"},
		{"type name not an identifier", mailWith(t, `"Person": [`, `"A(b": [{"name": "x", "type": "string"}], "Person": [`), "types.A(b: type name is not an identifier"},
		{"field name not an identifier", mailWith(t, `{"name": "wallet", "type": "address"}`, `{"name": "wal let", "type": "address"}`), "not an identifier"},
		{"duplicate field name", mailWith(t, `{"name": "wallet", "type": "address"}`, `{"name": "wallet", "type": "address"}, {"name": "wallet", "type": "address"}`), "duplicate field name"},
		{"undefined field type", mailWith(t, `{"name": "to", "type": "Person"}`, `{"name": "to", "type": "Human"}`), "neither primitive nor defined"},
		{"malformed dimensions", mailWith(t, `{"name": "to", "type": "Person"}`, `{"name": "to", "type": "Person[01]"}`), "malformed type"},
		{"struct named like a primitive", mailWith(t, `"Person": [`, `"uint256": [`), "primitive"},
		{"struct without fields", mailWith(t, `"Mail": [`, `"Empty": [], "Mail": [`), "without fields"},
		{"uint8 out of range", typedDoc(`{"name":"v","type":"uint8"}`, `256`), "out of range for uint8"},
		{"int8 out of range", typedDoc(`{"name":"v","type":"int8"}`, `128`), "out of range for int8"},
		{"int8 below range", typedDoc(`{"name":"v","type":"int8"}`, `-129`), "out of range for int8"},
		{"negative uint", typedDoc(`{"name":"v","type":"uint256"}`, `"-1"`), "out of range"},
		{"fixed array too long", typedDoc(`{"name":"v","type":"uint8[2]"}`, `[1,2,3]`), "3 items for type uint8[2]"},
		{"nested list for one dimension", typedDoc(`{"name":"v","type":"uint8[]"}`, `[[1],[2]]`), "want a uint8"},
		{"array for scalar", typedDoc(`{"name":"v","type":"uint8"}`, `[1]`), "want a uint8"},
		{"bad bytes", typedDoc(`{"name":"v","type":"bytes4"}`, `"0x0102"`), "typed data"},
		{"deep nesting", strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70), "nested deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			td, err := ParseTypedData([]byte(tc.doc))
			if td != nil {
				t.Errorf("returned a document alongside the error")
			}
			chaintest.WantInvalid(t, err, tc.want)
		})
	}
}

// typedDoc is a minimal document whose primary type T has one field, with value v.
func typedDoc(field, v string) string {
	return `{"types":{"EIP712Domain":[{"name":"name","type":"string"}],"T":[` + field + `]},` +
		`"primaryType":"T","domain":{"name":"x"},"message":{"v":` + v + `}}`
}

// TestParseTypedDataAccepts covers forms that must stay accepted: integers as hex and
// decimal strings, signed integers at their bounds, fixed and nested arrays, and null for an
// absent domain member.
func TestParseTypedDataAccepts(t *testing.T) {
	tests := []struct {
		name, doc string
	}{
		{"hex string integer", typedDoc(`{"name":"v","type":"uint256"}`, `"0xff"`)},
		{"decimal string integer", typedDoc(`{"name":"v","type":"uint256"}`, `"115792089237316195423570985008687907853269984665640564039457584007913129639935"`)},
		{"int8 min", typedDoc(`{"name":"v","type":"int8"}`, `-128`)},
		{"int8 max", typedDoc(`{"name":"v","type":"int8"}`, `127`)},
		{"safe integer bound", typedDoc(`{"name":"v","type":"uint64"}`, `9007199254740992`)},
		{"fixed array", typedDoc(`{"name":"v","type":"uint8[2]"}`, `[1,2]`)},
		{"nested arrays", typedDoc(`{"name":"v","type":"uint8[2][]"}`, `[[1,2],[3,4],[5,6]]`)},
		{"bytes", typedDoc(`{"name":"v","type":"bytes"}`, `"0x"`)},
		{"null domain member", strings.Replace(typedDoc(`{"name":"v","type":"bool"}`, `true`), `"name":"x"`, `"name":"x","salt":null`, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseTypedData([]byte(tc.doc)); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

// TestTypedDataDigestChecksGoValues holds a TypedData built in Go to the parser's rules: a
// member swapped for an undeclared one (which keeps the member count, all go-ethereum's
// encoder compares) is refused by name.
func TestTypedDataDigestChecksGoValues(t *testing.T) {
	if _, err := TypedDataDigest(nil); err == nil {
		t.Fatal("nil accepted")
	}
	td, err := ParseTypedData([]byte(mailJSON))
	if err != nil {
		t.Fatal(err)
	}
	td.Message["bcc"] = "eve"
	delete(td.Message, "contents")
	_, err = TypedDataDigest(td)
	chaintest.WantInvalid(t, err, "message.bcc: not a field of type Mail")
	_, err = SignTypedData(context.Background(), common.Address{}, td, newKeySigner(t).sign)
	chaintest.WantInvalid(t, err, "message.bcc: not a field of type Mail")
}

// chainTypedData is a document whose types form a chain of n struct types (A0 -> A1 -> ...)
// each with prims extra fields, and whose message holds items values of A0: go-ethereum's
// encoder recomputes the chain for every value, at a cost cubic in its length.
func chainTypedData(n, prims, items int) string {
	types := []string{`"EIP712Domain":[{"name":"name","type":"string"}]`, `"Root":[{"name":"items","type":"A0[]"}]`}
	for i := range n - 1 {
		fs := []string{fmt.Sprintf(`{"name":"n","type":"A%d[]"}`, i+1)}
		for j := range prims {
			fs = append(fs, fmt.Sprintf(`{"name":"p%d","type":"uint8[]"}`, j))
		}
		types = append(types, fmt.Sprintf(`"A%d":[%s]`, i, strings.Join(fs, ",")))
	}
	types = append(types, fmt.Sprintf(`"A%d":[{"name":"v","type":"uint8"}]`, n-1))
	vals := []string{`"n":[]`}
	for j := range prims {
		vals = append(vals, fmt.Sprintf(`"p%d":[]`, j))
	}
	item := "{" + strings.Join(vals, ",") + "}"
	return `{"types":{` + strings.Join(types, ",") + `},"primaryType":"Root","domain":{"name":"x"},` +
		`"message":{"items":[` + strings.TrimSuffix(strings.Repeat(item+",", items), ",") + `]}}`
}

// wideTypedData is a document with items one-field structs and pad further fields in
// another type: go-ethereum re-validates every field of every type for every struct value.
func wideTypedData(pad, items int) string {
	var fs []string
	for j := range pad {
		fs = append(fs, fmt.Sprintf(`{"name":"f%d","type":"Leaf[2][3]"}`, j))
	}
	return `{"types":{"EIP712Domain":[{"name":"name","type":"string"}],"Leaf":[{"name":"v","type":"uint8"}],` +
		`"Root":[{"name":"items","type":"Leaf[]"}],"Pad":[` + strings.Join(fs, ",") + `]},"primaryType":"Root","domain":{"name":"x"},` +
		`"message":{"items":[` + strings.TrimSuffix(strings.Repeat(`{"v":1},`, items), ",") + `]}}`
}

// seaportBulkOrder is a Seaport-shaped bulk order of 2^height orders, each with one offer
// and two consideration items: about the largest EIP-712 document signed in practice.
func seaportBulkOrder(height int) string {
	order := `{"offerer":"0x3535353535353535353535353535353535353535","zone":"0x0000000000000000000000000000000000000000",` +
		`"offer":[{"itemType":2,"token":"0x3535353535353535353535353535353535353535","identifierOrCriteria":"1","startAmount":"1","endAmount":"1"}],` +
		`"consideration":[` + strings.Repeat(`{"itemType":0,"token":"0x0000000000000000000000000000000000000000","identifierOrCriteria":"0","startAmount":"1000","endAmount":"1000","recipient":"0x3535353535353535353535353535353535353535"},`, 2) +
		`{"itemType":0,"token":"0x0000000000000000000000000000000000000000","identifierOrCriteria":"0","startAmount":"10","endAmount":"10","recipient":"0x3535353535353535353535353535353535353535"}],` +
		`"orderType":0,"startTime":"1","endTime":"2","zoneHash":"` + blobHash + `","salt":"7","conduitKey":"` + blobHash + `","counter":"0"}`
	tree := order
	for range height {
		tree = "[" + tree + "," + tree + "]"
	}
	return `{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],` +
		`"BulkOrder":[{"name":"tree","type":"OrderComponents` + strings.Repeat("[2]", height) + `"}],` +
		`"OrderComponents":[{"name":"offerer","type":"address"},{"name":"zone","type":"address"},{"name":"offer","type":"OfferItem[]"},{"name":"consideration","type":"ConsiderationItem[]"},{"name":"orderType","type":"uint8"},{"name":"startTime","type":"uint256"},{"name":"endTime","type":"uint256"},{"name":"zoneHash","type":"bytes32"},{"name":"salt","type":"uint256"},{"name":"conduitKey","type":"bytes32"},{"name":"counter","type":"uint256"}],` +
		`"OfferItem":[{"name":"itemType","type":"uint8"},{"name":"token","type":"address"},{"name":"identifierOrCriteria","type":"uint256"},{"name":"startAmount","type":"uint256"},{"name":"endAmount","type":"uint256"}],` +
		`"ConsiderationItem":[{"name":"itemType","type":"uint8"},{"name":"token","type":"address"},{"name":"identifierOrCriteria","type":"uint256"},{"name":"startAmount","type":"uint256"},{"name":"endAmount","type":"uint256"},{"name":"recipient","type":"address"}]},` +
		`"primaryType":"BulkOrder","domain":{"name":"Seaport","version":"1.6","chainId":1,"verifyingContract":"0x0000000000000068F116a894984e2DB1123eB395"},"message":{"tree":` + tree + `}}`
}

// TestTypedDataCostBound checks that documents go-ethereum would take seconds to encode are
// refused up front, and that the bound leaves room for real documents.
func TestTypedDataCostBound(t *testing.T) {
	refused := []struct{ name, doc string }{
		{"chain of 126 types, 1000 values", chainTypedData(126, 0, 1000)},
		{"chain of 110 types with 8 fields each, 1 value", chainTypedData(110, 8, 1)},
		{"4094 values, 32 fields", wideTypedData(28, 4094)},
		{"4097 values", wideTypedData(1, 4097)},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTypedData([]byte(tc.doc))
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "struct values") {
				t.Fatalf("got %v, want a refusal for cost", err)
			}
		})
	}
	for _, height := range []int{1, 7} {
		t.Run(fmt.Sprintf("Seaport bulk order of height %d", height), func(t *testing.T) {
			if _, err := ParseTypedData([]byte(seaportBulkOrder(height))); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}
