package eth1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzJSONRPC feeds arbitrary bodies to POST /: the server must never panic, and must answer
// nothing (notifications only), one JSON-RPC response, or an array of them.
func FuzzJSONRPC(f *testing.F) {
	b := newMemBackend(f, 1)
	from := b.addr(0).Hex()
	seeds := []string{
		``, `{`, `[]`, `[1]`, `null`, `"x"`, `{}`,
		`{"jsonrpc":"2.0","id":1,"method":"eth_accounts"}`,
		`{"jsonrpc":"2.0","method":"health_status"}`,
		`{"jsonrpc":"2.0","id":1,"method":"eth_accounts","id":2}`,
		`{"jsonrpc":"2.0","id":[],"method":"eth_accounts"}`,
		`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}`,
		fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"eth_sign","params":["%s","0xdeadbeef"]}`, from),
		fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"eth_sign","params":["%s","hello"]}`, from),
		fmt.Sprintf(`{"jsonrpc":"2.0","id":"a","method":"eth_signTransaction","params":[{"from":"%s","to":"%s","gas":"0x5208","gasPrice":"0x1","nonce":"0x0"}]}`, from, from),
		fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"account_signTransaction","params":[{"from":"%s","to":null,"gas":"0x5208","gasPrice":null,"maxFeePerGas":"0x2","maxPriorityFeePerGas":"0x1","value":"0x0","nonce":"0x0","input":"0x"},null]}`, from),
		fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"eth_signTypedData_v4","params":["%s",%s]}`, from, mail(testChainID.Int64())),
		fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"account_signData","params":["text/plain","%s","0x01"]}`, from),
		fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"eth_sendTransaction","params":[{"from":"%s"}]}`, from),
		`[{"jsonrpc":"2.0","id":1,"method":"account_version"},{"jsonrpc":"2.0","method":"account_list"},5]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	s, err := New(b, Config{ChainID: testChainID, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("HTTP %d for %q", w.Code, body)
		}
		out := w.Body.Bytes()
		if len(out) == 0 {
			return // notifications only
		}
		var list []json.RawMessage
		if jsonKind(out) == '[' {
			if err := json.Unmarshal(out, &list); err != nil || len(list) == 0 {
				t.Fatalf("answer %q: %v", out, err)
			}
		} else {
			list = []json.RawMessage{out}
		}
		for _, a := range list {
			checkFuzzAnswer(t, a)
		}
	})
}

func checkFuzzAnswer(t *testing.T, b []byte) {
	t.Helper()
	var a struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  json.RawMessage `json:"result"`
		Error   *errorObject    `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	if a.JSONRPC != "2.0" || a.ID == nil || (a.Result == nil) == (a.Error == nil) {
		t.Fatalf("answer %q is not a JSON-RPC response", b)
	}
	if a.Error != nil && (a.Error.Code == 0 || a.Error.Message == "") {
		t.Fatalf("error without code or message: %q", b)
	}
	if a.Error != nil && a.Error.Code == CodeInternalError {
		t.Fatalf("internal error for a client's input: %q", b)
	}
}
