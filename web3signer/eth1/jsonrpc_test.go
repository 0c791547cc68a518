package eth1

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
	"github.com/google/go-cmp/cmp"
)

// mailTypedData is EIP-712's example document, with the domain's chain id left to fill in.
const mailTypedData = `{
  "types": {
    "EIP712Domain": [
      {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
      {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
    ],
    "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
    "Mail": [{"name": "from", "type": "Person"}, {"name": "to", "type": "Person"}, {"name": "contents", "type": "string"}]
  },
  "primaryType": "Mail",
  "domain": {"name": "Ether Mail", "version": "1", "chainId": %d, "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
  "message": {
    "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
    "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
    "contents": "Hello, Bob!"
  }
}`

func mail(chainID int64) string { return fmt.Sprintf(mailTypedData, chainID) }

// typedDigest is go-ethereum's digest of a typed data document.
func typedDigest(t testing.TB, doc string) []byte {
	t.Helper()
	var td apitypes.TypedData
	if err := json.Unmarshal([]byte(doc), &td); err != nil {
		t.Fatal(err)
	}
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHealthStatusAndAccounts(t *testing.T) {
	b := newMemBackend(t, 3)
	s := newTestServer(t, b, "")
	var st string
	rpcResult(t, s, &st, "health_status")
	if st != "OK" {
		t.Errorf("health_status %q", st)
	}
	var got []string
	rpcResult(t, s, &got, "eth_accounts")
	var want []string
	for i := range b.keys {
		want = append(want, strings.ToLower(b.addr(i).Hex()))
	}
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("eth_accounts (-want +got):\n%s", d)
	}
	// No params at all, and null params, are the same as [].
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}`,
		`{"jsonrpc":"2.0","id":1,"method":"eth_accounts","params":null}`,
	} {
		if _, _, out := post(t, s, "/", body); decodeAnswer(t, out).Error != nil {
			t.Errorf("%s: %s", body, out)
		}
	}
	code, a := rpcCall(t, s, "eth_accounts", 1)
	if a.Error == nil || a.Error.Code != CodeInvalidParams || code != http.StatusBadRequest {
		t.Errorf("eth_accounts [1]: HTTP %d %+v", code, a.Error)
	}
}

func TestEthSign(t *testing.T) {
	b := newMemBackend(t, 2)
	s := newTestServer(t, b, "")
	from := b.addr(1)
	for _, tc := range []struct {
		name string
		data string
		msg  []byte
	}{
		{"hex", "0xdeadbeef", []byte{0xde, 0xad, 0xbe, 0xef}},
		{"upper-case 0X hex", "0XDEADBEEF", []byte{0xde, 0xad, 0xbe, 0xef}},
		{"empty hex", "0x", []byte{}},
		{"text, as Web3Signer takes it", "Hello, world!", []byte("Hello, world!")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sig hexutil.Bytes
			rpcResult(t, s, &sig, "eth_sign", from.Hex(), tc.data)
			if got := recoverAddr(t, accounts.TextHash(tc.msg), sig, 27); got != from {
				t.Fatalf("recovers to %s, want %s", got, from)
			}
		})
	}
	t.Run("lower-case address without 0x", func(t *testing.T) {
		var sig hexutil.Bytes
		rpcResult(t, s, &sig, "eth_sign", strings.ToLower(from.Hex()[2:]), "0x01")
		if got := recoverAddr(t, accounts.TextHash([]byte{1}), sig, 27); got != from {
			t.Fatalf("recovers to %s", got)
		}
	})
}

func TestEthSignTypedData(t *testing.T) {
	b := newMemBackend(t, 1)
	s := newTestServer(t, b, "")
	from := b.addr(0)
	doc := mail(testChainID.Int64())
	digest := typedDigest(t, doc)
	for _, tc := range []struct {
		method string
		param  any
	}{
		{"eth_signTypedData", json.RawMessage(doc)},
		{"eth_signTypedData", doc},
		{"eth_signTypedData_v4", json.RawMessage(doc)},
		{"eth_signTypedData_v4", doc},
		{"account_signTypedData", json.RawMessage(doc)},
	} {
		name := fmt.Sprintf("%s %T", tc.method, tc.param)
		t.Run(name, func(t *testing.T) {
			var sig hexutil.Bytes
			rpcResult(t, s, &sig, tc.method, from, tc.param)
			if got := recoverAddr(t, digest, sig, 27); got != from {
				t.Fatalf("recovers to %s, want %s", got, from)
			}
		})
	}
}

// EIP-712's own test vector: the Mail example on chain 1 has this digest.
func TestEthSignTypedDataVector(t *testing.T) {
	b := newMemBackend(t, 1)
	s, err := New(b, Config{ChainID: big.NewInt(1), Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := common.FromHex("0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2")
	var sig hexutil.Bytes
	rpcResult(t, s, &sig, "eth_signTypedData_v4", b.addr(0), json.RawMessage(mail(1)))
	if got := recoverAddr(t, want, sig, 27); got != b.addr(0) {
		t.Fatalf("signature is not over EIP-712's digest of the example")
	}
}

// txCase is a transaction object and what the signed transaction must carry.
type txCase struct {
	name  string
	obj   map[string]any
	typ   uint8
	nonce uint64
}

func txCases(from common.Address) []txCase {
	to := common.HexToAddress("0x3535353535353535353535353535353535353535")
	return []txCase{
		{"legacy", map[string]any{"from": from, "to": to, "gas": "0x5208", "gasPrice": "0x4a817c800", "value": "0xde0b6b3a7640000", "nonce": "0x9"}, types.LegacyTxType, 9},
		{"legacy with chainId and data", map[string]any{"from": from, "to": to, "gas": "0x7530", "gasPrice": "0x1", "nonce": "0x0", "data": "0xa9059cbb", "chainId": hexutil.EncodeBig(testChainID)}, types.LegacyTxType, 0},
		{"access list", map[string]any{"from": from, "to": to, "gas": "0x7530", "gasPrice": "0x1", "nonce": "0x1", "accessList": []any{map[string]any{"address": to, "storageKeys": []string{common.Hash{1}.Hex()}}}}, types.AccessListTxType, 1},
		{"1559", map[string]any{"from": from, "to": to, "gas": "0x5208", "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00", "value": "0x1", "nonce": "0x2a", "input": "0x"}, types.DynamicFeeTxType, 42},
		{"contract creation", map[string]any{"from": from, "gas": "0x100000", "maxFeePerGas": "0x2", "maxPriorityFeePerGas": "0x1", "nonce": "0x3", "data": "0x6080604052"}, types.DynamicFeeTxType, 3},
	}
}

// checkSignedTx decodes a raw signed transaction and checks it against its request.
func checkSignedTx(t testing.TB, raw []byte, from common.Address, tc txCase) *types.Transaction {
	t.Helper()
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		t.Fatalf("raw transaction: %v", err)
	}
	sender, err := types.Sender(types.LatestSignerForChainID(testChainID), tx)
	if err != nil || sender != from {
		t.Fatalf("sender %s (%v), want %s", sender, err, from)
	}
	if tx.Type() != tc.typ || tx.Nonce() != tc.nonce {
		t.Errorf("type %d nonce %d, want %d %d", tx.Type(), tx.Nonce(), tc.typ, tc.nonce)
	}
	if tx.ChainId().Cmp(testChainID) != 0 {
		t.Errorf("chain id %v, want %v (EIP-155 for legacy)", tx.ChainId(), testChainID)
	}
	if to, ok := tc.obj["to"].(common.Address); ok && (tx.To() == nil || *tx.To() != to) {
		t.Errorf("to %v, want %s", tx.To(), to)
	}
	return tx
}

func TestEthSignTransaction(t *testing.T) {
	b := newMemBackend(t, 2)
	s := newTestServer(t, b, "")
	from := b.addr(1)
	for _, tc := range txCases(from) {
		t.Run(tc.name, func(t *testing.T) {
			var raw hexutil.Bytes
			rpcResult(t, s, &raw, "eth_signTransaction", tc.obj)
			checkSignedTx(t, raw, from, tc)
		})
	}
	t.Run("params as the object itself", func(t *testing.T) {
		tc := txCases(from)[3]
		obj, _ := json.Marshal(tc.obj)
		_, _, out := post(t, s, "/", `{"jsonrpc":"2.0","id":"a","method":"eth_signTransaction","params":`+string(obj)+`}`)
		a := decodeAnswer(t, out)
		var raw hexutil.Bytes
		if a.Error != nil || json.Unmarshal(a.Result, &raw) != nil {
			t.Fatalf("%s", out)
		}
		checkSignedTx(t, raw, from, tc)
	})
	t.Run("account_signTransaction answers {raw, tx}", func(t *testing.T) {
		tc := txCases(from)[0]
		var res struct {
			Raw hexutil.Bytes      `json:"raw"`
			Tx  *types.Transaction `json:"tx"`
		}
		rpcResult(t, s, &res, "account_signTransaction", tc.obj)
		tx := checkSignedTx(t, res.Raw, from, tc)
		if res.Tx == nil || res.Tx.Hash() != tx.Hash() {
			t.Fatalf("tx %v is not the raw transaction %s", res.Tx, tx.Hash())
		}
	})
}

func TestChainIDMismatch(t *testing.T) {
	b := newMemBackend(t, 1)
	s := newTestServer(t, b, "")
	from := b.addr(0)
	for _, tc := range []struct {
		method string
		params []any
	}{
		{"eth_signTransaction", []any{map[string]any{"from": from, "to": from, "gas": "0x5208", "gasPrice": "0x1", "nonce": "0x0", "chainId": "0x1"}}},
		{"account_signTransaction", []any{map[string]any{"from": from, "to": from, "gas": "0x5208", "maxFeePerGas": "0x2", "maxPriorityFeePerGas": "0x1", "nonce": "0x0", "chainId": "0x5"}}},
		{"eth_signTypedData_v4", []any{from, json.RawMessage(mail(1))}},
		{"account_signData", []any{"data/typed", from, hexutil.Encode([]byte(mail(5)))}},
	} {
		code, a := rpcCall(t, s, tc.method, tc.params...)
		if a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, "chain") {
			t.Errorf("%s: HTTP %d, %+v; want a -32000 naming the chain id", tc.method, code, a.Error)
		}
	}
	if n := b.signCount(); n != 0 {
		t.Errorf("the backend signed %d times for another chain", n)
	}
}

func TestUnknownAccount(t *testing.T) {
	b := newMemBackend(t, 1)
	s := newTestServer(t, b, "")
	stranger := newMemBackend(t, 1).addr(0)
	for _, tc := range []struct {
		method string
		params []any
	}{
		{"eth_sign", []any{stranger, "0x01"}},
		{"eth_signTransaction", []any{map[string]any{"from": stranger, "to": stranger, "gas": "0x5208", "gasPrice": "0x1", "nonce": "0x0"}}},
		{"eth_signTypedData", []any{stranger, json.RawMessage(mail(testChainID.Int64()))}},
		{"account_signData", []any{"text/plain", stranger, "0x01"}},
	} {
		code, a := rpcCall(t, s, tc.method, tc.params...)
		if a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, stranger.Hex()) || code != http.StatusOK {
			t.Errorf("%s: HTTP %d, %+v; want -32000 naming %s", tc.method, code, a.Error, stranger)
		}
	}
}

func TestMalformedParams(t *testing.T) {
	b := newMemBackend(t, 1)
	s := newTestServer(t, b, "")
	from := b.addr(0)
	tx := func(kv ...any) map[string]any {
		m := map[string]any{"from": from, "to": from, "gas": "0x5208", "gasPrice": "0x1", "nonce": "0x0"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	badChecksum := []byte(from.Hex())
	for i := 2; i < len(badChecksum); i++ { // flip the case of the first letter
		if c := badChecksum[i]; c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' {
			badChecksum[i] ^= 0x20
			break
		}
	}
	for _, tc := range []struct {
		name, method string
		params       string // raw JSON
		want         string // in the message
	}{
		{"eth_sign one param", "eth_sign", fmt.Sprintf(`["%s"]`, from), "want 2 params"},
		{"eth_sign three params", "eth_sign", fmt.Sprintf(`["%s","0x01","x"]`, from), "want 2 params"},
		{"eth_sign object", "eth_sign", `{"address":"x"}`, "must be an array"},
		{"eth_sign bad address", "eth_sign", `["0xzz","0x01"]`, "address"},
		{"eth_sign short address", "eth_sign", `["0x1234","0x01"]`, "20-byte"},
		{"eth_sign bad checksum", "eth_sign", fmt.Sprintf(`["%s","0x01"]`, badChecksum), "checksum"},
		{"eth_sign address a number", "eth_sign", `[12,"0x01"]`, "must be a string"},
		{"eth_sign bad hex", "eth_sign", fmt.Sprintf(`["%s","0xzz"]`, from), "not hex"},
		{"eth_sign odd hex", "eth_sign", fmt.Sprintf(`["%s","0x123"]`, from), "not hex"},
		{"eth_sign data an object", "eth_sign", fmt.Sprintf(`["%s",{}]`, from), "param 1 (data) must be a string"},
		{"signTransaction no params", "eth_signTransaction", `[]`, "want 1 params"},
		{"signTransaction a string", "eth_signTransaction", `["0x01"]`, "transaction object"},
		{"signTransaction no nonce", "eth_signTransaction", mustJSON([]any{tx("nonce", nil)}), "nonce"},
		{"signTransaction no from", "eth_signTransaction", mustJSON([]any{tx("from", nil)}), "from"},
		{"signTransaction no gas", "eth_signTransaction", mustJSON([]any{tx("gas", nil)}), "gas"},
		{"signTransaction overflowing gas", "eth_signTransaction", mustJSON([]any{tx("gas", "0x10000000000000000")}), "gas"},
		{"signTransaction gas a number", "eth_signTransaction", mustJSON([]any{tx("gas", 21000)}), "gas"},
		{"signTransaction bad value hex", "eth_signTransaction", mustJSON([]any{tx("value", "0xzz")}), "value"},
		{"signTransaction value too big", "eth_signTransaction", mustJSON([]any{tx("value", "0x1"+strings.Repeat("0", 64))}), "value"},
		{"signTransaction unknown field", "eth_signTransaction", mustJSON([]any{tx("colour", "red")}), "colour"},
		{"signTransaction both fee kinds", "eth_signTransaction", mustJSON([]any{tx("maxFeePerGas", "0x1", "maxPriorityFeePerGas", "0x1")}), "gasPrice"},
		{"signTransaction bad to", "eth_signTransaction", mustJSON([]any{tx("to", "0x12")}), "to"},
		{"signTransaction selector not string", "account_signTransaction", mustJSON([]any{tx(), 5}), "method selector"},
		{"typedData a number", "eth_signTypedData", fmt.Sprintf(`["%s",5]`, from), "typedData"},
		{"typedData not JSON", "eth_signTypedData_v4", fmt.Sprintf(`["%s","{not json"]`, from), "typed data"},
		{"typedData empty", "eth_signTypedData_v4", fmt.Sprintf(`["%s",{}]`, from), "types"},
		{"typedData one param", "eth_signTypedData", fmt.Sprintf(`["%s"]`, from), "want 2 params"},
		{"signData bad hex", "account_signData", fmt.Sprintf(`["text/plain","%s","nothex"]`, from), "hex"},
		{"signData clique", "account_signData", fmt.Sprintf(`["application/x-clique-header","%s","0x00"]`, from), "not supported"},
		{"signData validator", "account_signData", fmt.Sprintf(`["data/validator","%s","0x00"]`, from), "not supported"},
		{"signData no content type", "account_signData", fmt.Sprintf(`["","%s","0x00"]`, from), "contentType"},
		{"signData typed not JSON", "account_signData", fmt.Sprintf(`["data/typed","%s","0x00"]`, from), "typed data"},
		{"account_list with params", "account_list", `[1]`, "want 0 params"},
		{"account_version with params", "account_version", `["x"]`, "want 0 params"},
		{"sendTransaction is checked before the downstream", "eth_signTransaction", `[{"from":"0x01"}]`, "from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, out := post(t, s, "/", fmt.Sprintf(`{"jsonrpc":"2.0","id":3,"method":%q,"params":%s}`, tc.method, tc.params))
			a := decodeAnswer(t, out)
			if a.Error == nil || a.Error.Code != CodeInvalidParams || !strings.Contains(a.Error.Message, tc.want) {
				t.Fatalf("HTTP %d %s; want -32602 with %q", code, out, tc.want)
			}
			wantStatus := http.StatusBadRequest // Web3Signer's status for invalid params
			if strings.HasPrefix(tc.method, "account_") {
				wantStatus = http.StatusOK // clef's
			}
			if code != wantStatus || string(a.ID) != "3" {
				t.Errorf("HTTP %d id %s, want %d id 3", code, a.ID, wantStatus)
			}
		})
	}
	if n := b.signCount(); n != 0 {
		t.Errorf("the backend signed %d times for malformed requests", n)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestInvalidRequests(t *testing.T) {
	s := newTestServer(t, newMemBackend(t, 1), "")
	over := `{"jsonrpc":"2.0","id":1,"method":"eth_sign","params":["` + strings.Repeat("a", MaxBodyBytes) + `"]}`
	tooMany := "[" + strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"health_status"},`, MaxBatch) + `{"jsonrpc":"2.0","id":1,"method":"health_status"}]`
	for _, tc := range []struct {
		name, body string
		code       int
		status     int
		id         string
	}{
		{"not JSON", `{"jsonrpc":`, CodeParseError, 400, "null"},
		{"empty body", ``, CodeParseError, 400, "null"},
		{"garbage", `eth_accounts`, CodeParseError, 400, "null"},
		{"trailing garbage", `{"jsonrpc":"2.0","id":1,"method":"health_status"} x`, CodeParseError, 400, "null"},
		{"a string", `"eth_accounts"`, CodeInvalidRequest, 400, "null"},
		{"a number", `12`, CodeInvalidRequest, 400, "null"},
		{"version 1.0", `{"jsonrpc":"1.0","id":1,"method":"health_status"}`, CodeInvalidRequest, 400, "1"},
		{"no version", `{"id":1,"method":"health_status"}`, CodeInvalidRequest, 400, "1"},
		{"no method", `{"jsonrpc":"2.0","id":"x"}`, CodeInvalidRequest, 400, `"x"`},
		{"empty method", `{"jsonrpc":"2.0","id":1,"method":""}`, CodeInvalidRequest, 400, "1"},
		{"method a number", `{"jsonrpc":"2.0","id":1,"method":5}`, CodeInvalidRequest, 400, "1"},
		{"params a string", `{"jsonrpc":"2.0","id":1,"method":"eth_sign","params":"x"}`, CodeInvalidRequest, 400, "1"},
		{"id an object", `{"jsonrpc":"2.0","id":{},"method":"health_status"}`, CodeInvalidRequest, 400, "null"},
		{"id a bool", `{"jsonrpc":"2.0","id":true,"method":"health_status"}`, CodeInvalidRequest, 400, "null"},
		{"unknown member", `{"jsonrpc":"2.0","id":1,"method":"health_status","extra":1}`, CodeInvalidRequest, 400, "1"},
		{"member twice", `{"jsonrpc":"2.0","id":1,"method":"health_status","method":"eth_accounts"}`, CodeInvalidRequest, 400, "null"},
		{"case matters", `{"JSONRPC":"2.0","id":1,"method":"health_status"}`, CodeInvalidRequest, 400, "1"},
		{"empty batch", `[]`, CodeInvalidRequest, 400, "null"},
		{"batch too large", tooMany, CodeInvalidRequest, 400, "null"},
		{"oversized", over, CodeInvalidRequest, 413, "null"},
		{"unknown method without a downstream", `{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`, CodeMethodNotFound, 200, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, out := post(t, s, "/", tc.body)
			a := decodeAnswer(t, out)
			if a.Error == nil || a.Error.Code != tc.code || status != tc.status || string(a.ID) != tc.id {
				t.Fatalf("HTTP %d %s; want %d, code %d, id %s", status, out, tc.status, tc.code, tc.id)
			}
			if a.Error.Message == "" || hdr.Get("Content-Type") != "application/json" {
				t.Errorf("message %q, content type %q", a.Error.Message, hdr.Get("Content-Type"))
			}
		})
	}
}

func TestNotifications(t *testing.T) {
	b := newMemBackend(t, 1)
	s := newTestServer(t, b, "")
	status, _, out := post(t, s, "/", fmt.Sprintf(`{"jsonrpc":"2.0","method":"eth_sign","params":["%s","0x01"]}`, b.addr(0)))
	if status != http.StatusOK || len(out) != 0 {
		t.Errorf("notification: HTTP %d %q, want 200 and no body", status, out)
	}
	status, _, out = post(t, s, "/", `[{"jsonrpc":"2.0","method":"health_status"},{"jsonrpc":"2.0","method":"eth_accounts"}]`)
	if status != http.StatusOK || len(out) != 0 {
		t.Errorf("batch of notifications: HTTP %d %q, want 200 and no body", status, out)
	}
}

func TestBatch(t *testing.T) {
	b := newMemBackend(t, 2)
	node := newFakeNode(t, 0)
	s := newTestServer(t, b, node.URL)
	from := b.addr(0)
	stranger := newMemBackend(t, 1).addr(0)
	doc := mail(testChainID.Int64())
	body := "[" + strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}`,
		fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"eth_sign","params":["%s","0x68656c6c6f"]}`, from),
		`{"jsonrpc":"2.0","method":"health_status"}`,
		`5`,
		`{"jsonrpc":"2.0","id":"bn","method":"eth_blockNumber","params":[]}`,
		fmt.Sprintf(`{"jsonrpc":"2.0","id":3,"method":"eth_sign","params":["%s","0x01"]}`, stranger),
		fmt.Sprintf(`{"jsonrpc":"2.0","id":4,"method":"eth_signTypedData_v4","params":["%s",%s]}`, from, doc),
		`{"jsonrpc":"2.0","id":5,"method":"eth_sign","params":["nope"]}`,
		`{"jsonrpc":"2.0","id":6,"method":"eth_chainId"}`,
	}, ",") + "]"
	status, _, out := post(t, s, "/", body)
	if status != http.StatusOK {
		t.Fatalf("HTTP %d %s", status, out)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if len(raw) != 8 { // 9 members, one notification
		t.Fatalf("%d answers, want 8: %s", len(raw), out)
	}
	ans := make([]rpcAnswer, len(raw))
	for i, r := range raw {
		ans[i] = decodeAnswer(t, r)
	}
	ids := make([]string, len(ans))
	for i, a := range ans {
		ids[i] = string(a.ID)
	}
	if d := cmp.Diff([]string{"1", "2", "null", `"bn"`, "3", "4", "5", "6"}, ids); d != "" {
		t.Fatalf("ids (-want +got):\n%s", d)
	}
	var accts []string
	if ans[0].Error != nil || json.Unmarshal(ans[0].Result, &accts) != nil || len(accts) != 2 {
		t.Errorf("eth_accounts: %s", raw[0])
	}
	var sig hexutil.Bytes
	if ans[1].Error != nil || json.Unmarshal(ans[1].Result, &sig) != nil || recoverAddr(t, accounts.TextHash([]byte("hello")), sig, 27) != from {
		t.Errorf("eth_sign: %s", raw[1])
	}
	if ans[2].Error == nil || ans[2].Error.Code != CodeInvalidRequest {
		t.Errorf("member 5: %s", raw[2])
	}
	if ans[3].Error != nil || string(ans[3].Result) != `"0x10d4f"` {
		t.Errorf("proxied eth_blockNumber: %s", raw[3])
	}
	if ans[4].Error == nil || ans[4].Error.Code != CodeServerError {
		t.Errorf("unknown account: %s", raw[4])
	}
	if ans[5].Error != nil || json.Unmarshal(ans[5].Result, &sig) != nil || recoverAddr(t, typedDigest(t, doc), sig, 27) != from {
		t.Errorf("eth_signTypedData_v4: %s", raw[5])
	}
	if ans[6].Error == nil || ans[6].Error.Code != CodeInvalidParams {
		t.Errorf("bad params: %s", raw[6])
	}
	if ans[7].Error != nil || string(ans[7].Result) != `"0x539"` {
		t.Errorf("proxied eth_chainId: %s", raw[7])
	}
}

// A backend that signs with another key, or fails, gets nothing through.
func TestBackendMisbehaviour(t *testing.T) {
	b := newMemBackend(t, 1)
	node := newFakeNode(t, 0)
	s := newTestServer(t, b, node.URL)
	from := b.addr(0)
	tx := map[string]any{"from": from, "to": from, "gas": "0x5208", "gasPrice": "0x1", "nonce": "0x0"}
	calls := []struct {
		method string
		params []any
	}{
		{"eth_sign", []any{from, "0x01"}},
		{"eth_signTransaction", []any{tx}},
		{"eth_sendTransaction", []any{tx}},
		{"eth_signTypedData_v4", []any{from, json.RawMessage(mail(testChainID.Int64()))}},
		{"account_signData", []any{"text/plain", from, "0x01"}},
	}
	b.impostor = newMemBackend(t, 1).keys[0]
	for _, c := range calls {
		_, a := rpcCall(t, s, c.method, c.params...)
		if a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, "signing failed") {
			t.Errorf("%s with a wrong-key backend: %s / %+v", c.method, a.Result, a.Error)
		}
	}
	if n := node.count("eth_sendRawTransaction"); n != 0 {
		t.Errorf("%d transactions signed by the wrong key were sent", n)
	}
	b.impostor = nil
	b.signErr = errors.New("party 3 aborted in round 5")
	for _, c := range calls {
		_, a := rpcCall(t, s, c.method, c.params...)
		if a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, "party 3 aborted") {
			t.Errorf("%s with a failing backend: %+v", c.method, a.Error)
		}
	}
	b.signErr = fmt.Errorf("quorum lost: %w", ErrUnavailable)
	_, a := rpcCall(t, s, "eth_sign", from, "0x01")
	if a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, "unavailable") {
		t.Errorf("unavailable backend: %+v", a.Error)
	}
}

func TestRPCErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{errParse, CodeParseError},
		{errInvalidRequest, CodeInvalidRequest},
		{errTooLarge, CodeInvalidRequest},
		{errMethodNotFound, CodeMethodNotFound},
		{errNoDownstream, CodeMethodNotFound},
		{ErrBadRequest, CodeInvalidParams},
		{fmt.Errorf("x: %w", ErrUnknownAccount), CodeServerError},
		{ErrUnavailable, CodeServerError},
		{errSigning, CodeServerError},
		{errDownstream, CodeServerError},
		{errors.New("a bug"), CodeInternalError},
	} {
		if got := rpcError(tc.err).Code; got != tc.code {
			t.Errorf("%v: code %d, want %d", tc.err, got, tc.code)
		}
	}
	if got := rpcError(errors.New("secret detail")).Message; strings.Contains(got, "secret") {
		t.Errorf("an internal error's detail reached the client: %q", got)
	}
	de := &downstreamError{obj: errorObject{Code: -32003, Message: "insufficient funds", Data: json.RawMessage(`"x"`)}}
	if d := cmp.Diff(de.obj, rpcError(fmt.Errorf("wrapped: %w", de))); d != "" {
		t.Errorf("downstream error not passed on unchanged: %s", d)
	}
}
