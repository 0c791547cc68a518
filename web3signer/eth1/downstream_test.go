package eth1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// fakeNode is an httptest Ethereum node that records what it is asked. Its pending nonce goes
// up with every transaction it accepts, and with every one it refuses as "nonce too low"
// (someone else took that nonce).
type fakeNode struct {
	*httptest.Server
	t        testing.TB
	mu       sync.Mutex
	bodies   [][]byte
	methods  []string
	params   []json.RawMessage
	nonce    uint64
	sendErrs []errorObject // answers to the next eth_sendRawTransaction calls, in order
	sent     []*types.Transaction
	countAns string // when set, eth_getTransactionCount answers this result
}

const proxiedAnswer = `{"jsonrpc":"2.0", "id":%s,  "result":"0x10d4f"}` + "\n"

func newFakeNode(t testing.TB, nonce uint64) *fakeNode {
	n := &fakeNode{t: t, nonce: nonce}
	n.Server = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(n.Close)
	return n
}

func (n *fakeNode) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.JSONRPC != "2.0" || r.Header.Get("Content-Type") != "application/json" {
		n.t.Errorf("fake node: request %q (%s): %v", body, r.Header.Get("Content-Type"), err)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	n.bodies = append(n.bodies, body)
	n.methods = append(n.methods, req.Method)
	n.params = append(n.params, req.Params)
	n.mu.Unlock()
	answer := func(result any, e *errorObject) {
		resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
		if e != nil {
			resp["error"] = e
		} else {
			resp["result"] = result
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}
	switch req.Method {
	case "eth_blockNumber":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, proxiedAnswer, req.ID)
	case "eth_chainId":
		answer("0x539", nil)
	case "eth_getTransactionCount":
		n.mu.Lock()
		nonce, ans := n.nonce, n.countAns
		n.mu.Unlock()
		if ans != "" {
			answer(json.RawMessage(ans), nil)
			return
		}
		answer(hexutil.Uint64(nonce), nil)
	case "eth_sendRawTransaction":
		var p []hexutil.Bytes
		if err := json.Unmarshal(req.Params, &p); err != nil || len(p) != 1 {
			n.t.Errorf("fake node: eth_sendRawTransaction params %s", req.Params)
			return
		}
		tx := new(types.Transaction)
		if err := tx.UnmarshalBinary(p[0]); err != nil {
			n.t.Errorf("fake node: raw transaction: %v", err)
			answer(nil, &errorObject{Code: -32602, Message: "bad tx"})
			return
		}
		n.mu.Lock()
		n.sent = append(n.sent, tx)
		var e *errorObject
		if len(n.sendErrs) > 0 {
			e = &n.sendErrs[0]
			n.sendErrs = n.sendErrs[1:]
		}
		if e == nil || strings.Contains(e.Message, "nonce too low") {
			n.nonce++
		}
		n.mu.Unlock()
		if e != nil {
			answer(nil, e)
			return
		}
		answer(tx.Hash(), nil)
	case "test_http500":
		http.Error(w, "node on fire", http.StatusInternalServerError)
	case "test_notJSON":
		_, _ = io.WriteString(w, "<html>hello</html>")
	case "test_slow":
		time.Sleep(500 * time.Millisecond)
		answer("late", nil)
	case "test_huge":
		_, _ = w.Write(bytes.Repeat([]byte(" "), MaxDownstreamBytes+1))
	default:
		answer(nil, &errorObject{Code: CodeMethodNotFound, Message: "the method " + req.Method + " does not exist/is not available"})
	}
}

func (n *fakeNode) count(method string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, m := range n.methods {
		if m == method {
			c++
		}
	}
	return c
}

func (n *fakeNode) sentTxs() []*types.Transaction {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*types.Transaction(nil), n.sent...)
}

func TestProxySingleUnchanged(t *testing.T) {
	node := newFakeNode(t, 0)
	s := newTestServer(t, newMemBackend(t, 1), node.URL)
	req := `{"id": 99, "method":"eth_blockNumber",  "jsonrpc":"2.0","params":[]}`
	status, hdr, out := post(t, s, "/", req)
	if status != http.StatusOK || string(out) != fmt.Sprintf(proxiedAnswer, "99") || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP %d %q %q", status, hdr.Get("Content-Type"), out)
	}
	if got := string(node.bodies[0]); got != req {
		t.Errorf("the node got %q, want the request unchanged %q", got, req)
	}
	// An unknown method's error comes back as the node wrote it; so does an HTTP error.
	_, _, out = post(t, s, "/", `{"jsonrpc":"2.0","id":1,"method":"debug_nothing"}`)
	if a := decodeAnswer(t, out); a.Error == nil || !strings.Contains(a.Error.Message, "debug_nothing does not exist") {
		t.Errorf("node's method-not-found: %s", out)
	}
	status, _, out = post(t, s, "/", `{"jsonrpc":"2.0","id":1,"method":"test_http500"}`)
	if status != http.StatusInternalServerError || string(out) != "node on fire\n" {
		t.Errorf("node's HTTP 500: %d %q", status, out)
	}
}

func TestNoDownstream(t *testing.T) {
	b := newMemBackend(t, 1)
	s := newTestServer(t, b, "")
	for _, method := range []string{"eth_blockNumber", "eth_sendTransaction"} {
		params := []any{}
		if method == "eth_sendTransaction" {
			params = append(params, map[string]any{"from": b.addr(0), "to": b.addr(0), "gas": "0x5208", "gasPrice": "0x1"})
		}
		_, a := rpcCall(t, s, method, params...)
		if a.Error == nil || a.Error.Code != CodeMethodNotFound || !strings.Contains(a.Error.Message, "no downstream node is configured") {
			t.Errorf("%s without a downstream: %+v", method, a.Error)
		}
	}
	// In a batch too.
	_, _, out := post(t, s, "/", `[{"jsonrpc":"2.0","id":1,"method":"eth_gasPrice"}]`)
	var ans []rpcAnswer
	if err := json.Unmarshal(out, &ans); err != nil || len(ans) != 1 || ans[0].Error == nil || ans[0].Error.Code != CodeMethodNotFound {
		t.Errorf("batch without a downstream: %s", out)
	}
}

func TestDownstreamFailures(t *testing.T) {
	node := newFakeNode(t, 0)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name, url, method string
		client            *http.Client
		want              string
	}{
		{"unreachable", closed.URL, "eth_blockNumber", nil, "failed to connect"},
		{"timeout", node.URL, "test_slow", &http.Client{Timeout: 50 * time.Millisecond}, "timed out"},
		{"oversized answer", node.URL, "test_huge", nil, "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(newMemBackend(t, 1), Config{ChainID: testChainID, Downstream: tc.url, Client: tc.client, Log: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			_, _, out := post(t, s, "/", `{"jsonrpc":"2.0","id":1,"method":"`+tc.method+`"}`)
			if a := decodeAnswer(t, out); a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, tc.want) {
				t.Errorf("single: %s, want -32000 with %q", out, tc.want)
			}
			_, _, out = post(t, s, "/", `[{"jsonrpc":"2.0","id":1,"method":"`+tc.method+`"}]`)
			var ans []rpcAnswer
			if json.Unmarshal(out, &ans) != nil || len(ans) != 1 || ans[0].Error == nil || !strings.Contains(ans[0].Error.Message, tc.want) {
				t.Errorf("batch: %s, want -32000 with %q", out, tc.want)
			}
		})
	}
	t.Run("batch member answered with garbage", func(t *testing.T) {
		s := newTestServer(t, newMemBackend(t, 1), node.URL)
		for _, m := range []string{"test_notJSON", "test_http500"} {
			_, _, out := post(t, s, "/", `[{"jsonrpc":"2.0","id":1,"method":"`+m+`"}]`)
			var ans []rpcAnswer
			if json.Unmarshal(out, &ans) != nil || len(ans) != 1 || ans[0].Error == nil || ans[0].Error.Code != CodeServerError || string(ans[0].ID) != "1" {
				t.Errorf("%s: %s", m, out)
			}
		}
	})
}

func sendTx(from common.Address, kv ...any) map[string]any {
	m := map[string]any{"from": from, "to": common.HexToAddress("0x00000000000000000000000000000000000000aa"), "gas": "0x5208", "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x1", "value": "0x64"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestSendTransactionFillsNonce(t *testing.T) {
	b := newMemBackend(t, 2)
	node := newFakeNode(t, 42)
	s := newTestServer(t, b, node.URL)
	from := b.addr(1)
	var hash common.Hash
	rpcResult(t, s, &hash, "eth_sendTransaction", sendTx(from))

	if got := node.count("eth_getTransactionCount"); got != 1 {
		t.Fatalf("%d eth_getTransactionCount calls, want 1", got)
	}
	var p []string
	if err := json.Unmarshal(node.params[0], &p); err != nil || len(p) != 2 || !strings.EqualFold(p[0], from.Hex()) || p[1] != "pending" {
		t.Errorf("eth_getTransactionCount params %s, want [%s, \"pending\"]", node.params[0], from)
	}
	sent := node.sentTxs()
	if len(sent) != 1 {
		t.Fatalf("%d transactions sent", len(sent))
	}
	tx := sent[0]
	sender, err := types.Sender(types.LatestSignerForChainID(testChainID), tx)
	if err != nil || sender != from {
		t.Fatalf("sender %s (%v), want %s", sender, err, from)
	}
	if tx.Nonce() != 42 || tx.Type() != types.DynamicFeeTxType || tx.Value().Int64() != 100 || tx.ChainId().Cmp(testChainID) != 0 {
		t.Errorf("nonce %d type %d value %v chain %v", tx.Nonce(), tx.Type(), tx.Value(), tx.ChainId())
	}
	if hash != tx.Hash() {
		t.Errorf("answered %s, the node has %s", hash, tx.Hash())
	}
}

func TestSendTransactionGivenNonce(t *testing.T) {
	b := newMemBackend(t, 1)
	node := newFakeNode(t, 42)
	s := newTestServer(t, b, node.URL)
	var hash common.Hash
	rpcResult(t, s, &hash, "eth_sendTransaction", sendTx(b.addr(0), "nonce", "0x7"))
	if n := node.count("eth_getTransactionCount"); n != 0 {
		t.Errorf("asked the node for a nonce that was given")
	}
	if sent := node.sentTxs(); len(sent) != 1 || sent[0].Nonce() != 7 || sent[0].Hash() != hash {
		t.Errorf("sent %v", sent)
	}
}

func TestSendTransactionRetriesNonceTooLow(t *testing.T) {
	b := newMemBackend(t, 1)
	node := newFakeNode(t, 5)
	node.sendErrs = []errorObject{{Code: -32000, Message: "nonce too low: next nonce 6, tx nonce 5"}}
	s := newTestServer(t, b, node.URL)
	var hash common.Hash
	rpcResult(t, s, &hash, "eth_sendTransaction", sendTx(b.addr(0)))
	sent := node.sentTxs()
	if len(sent) != 2 || sent[0].Nonce() != 5 || sent[1].Nonce() != 6 || hash != sent[1].Hash() {
		t.Fatalf("sent %d transactions; want nonce 5 refused, then 6 accepted", len(sent))
	}
	if n := node.count("eth_getTransactionCount"); n != 2 {
		t.Errorf("%d nonce queries, want 2", n)
	}

	// A given nonce is the client's: no retry, the node's error comes back unchanged.
	node.sendErrs = []errorObject{{Code: -32000, Message: "nonce too low"}}
	_, a := rpcCall(t, s, "eth_sendTransaction", sendTx(b.addr(0), "nonce", "0x0"))
	if a.Error == nil || a.Error.Message != "nonce too low" || len(node.sentTxs()) != 3 {
		t.Errorf("given nonce refused: %+v after %d sends", a.Error, len(node.sentTxs()))
	}

	// Retries are bounded.
	for range maxNonceRetries + 5 {
		node.sendErrs = append(node.sendErrs, errorObject{Code: -32000, Message: "nonce too low"})
	}
	before := len(node.sentTxs())
	_, a = rpcCall(t, s, "eth_sendTransaction", sendTx(b.addr(0)))
	if a.Error == nil || len(node.sentTxs())-before != maxNonceRetries+1 {
		t.Errorf("%d sends for one request (%+v), want %d", len(node.sentTxs())-before, a.Error, maxNonceRetries+1)
	}
}

func TestSendTransactionNodeErrorPassedOn(t *testing.T) {
	b := newMemBackend(t, 1)
	node := newFakeNode(t, 0)
	want := errorObject{Code: -32003, Message: "insufficient funds for gas * price + value", Data: json.RawMessage(`{"balance":"0x0"}`)}
	node.sendErrs = []errorObject{want}
	s := newTestServer(t, b, node.URL)
	_, a := rpcCall(t, s, "eth_sendTransaction", sendTx(b.addr(0)))
	if a.Error == nil || a.Error.Code != want.Code || a.Error.Message != want.Message || string(a.Error.Data) != string(want.Data) {
		t.Fatalf("%+v, want the node's error %+v", a.Error, want)
	}
	if len(node.sentTxs()) != 1 {
		t.Errorf("%d sends, want 1 (no retry for other errors)", len(node.sentTxs()))
	}
	node.countAns = `"0xzz"`
	_, a = rpcCall(t, s, "eth_sendTransaction", sendTx(b.addr(0)))
	if a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, "eth_getTransactionCount") {
		t.Errorf("bad nonce answer: %+v", a.Error)
	}
}

func TestSendTransactionRefusals(t *testing.T) {
	b := newMemBackend(t, 1)
	node := newFakeNode(t, 0)
	s := newTestServer(t, b, node.URL)
	stranger := newMemBackend(t, 1).addr(0)
	_, a := rpcCall(t, s, "eth_sendTransaction", sendTx(stranger))
	if a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, stranger.Hex()) {
		t.Errorf("unknown sender: %+v", a.Error)
	}
	_, a = rpcCall(t, s, "eth_sendTransaction", sendTx(b.addr(0), "chainId", "0x1"))
	if a.Error == nil || a.Error.Code != CodeServerError || !strings.Contains(a.Error.Message, "chain id") {
		t.Errorf("other chain: %+v", a.Error)
	}
	_, a = rpcCall(t, s, "eth_sendTransaction", sendTx(b.addr(0), "gas", "0x1ffffffffffffffff"))
	if a.Error == nil || a.Error.Code != CodeInvalidParams || !strings.Contains(a.Error.Message, "gas") {
		t.Errorf("overflowing gas: %+v", a.Error)
	}
	if len(node.sentTxs()) != 0 || node.count("eth_getTransactionCount") != 0 {
		t.Errorf("refused requests reached the node: %v", node.methods)
	}
}

// Concurrent sends from one account through this server take distinct nonces.
func TestSendTransactionConcurrentNonces(t *testing.T) {
	b := newMemBackend(t, 1)
	node := newFakeNode(t, 0)
	s := newTestServer(t, b, node.URL)
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, a := rpcCall(t, s, "eth_sendTransaction", sendTx(b.addr(0)))
			if a.Error != nil {
				t.Errorf("%+v", a.Error)
			}
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, tx := range node.sentTxs() {
		if seen[tx.Nonce()] {
			t.Errorf("nonce %d sent twice", tx.Nonce())
		}
		seen[tx.Nonce()] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct nonces, want %d", len(seen), n)
	}
}
