package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"
)

// A litecoind on regtest is the consensus validator the Bitcoin tests answer to: its script
// rules are Bitcoin Core 0.21's (segwit and taproot active from block 0 on regtest) and its code
// shares nothing with btcd or with the signer. The node runs on loopback only, with its own data
// directory, and is stopped at cleanup.

// maxNodeResponse caps what the test reads from one RPC answer; regtest answers are small.
const maxNodeResponse = 8 << 20

// litecoind is one running node and its JSON-RPC endpoint.
type litecoind struct {
	t       testing.TB
	datadir string
	url     string
	auth    string // "__cookie__:<hex>", from the cookie file
	cmd     *exec.Cmd
	output  *syncBuffer
	done    chan struct{}
	http    *http.Client
}

// nodeError is a JSON-RPC error from the node: a refusal, not a transport failure.
type nodeError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *nodeError) Error() string { return fmt.Sprintf("litecoind error %d: %s", e.Code, e.Message) }

// rpcWarmingUp is the code the node answers with until it has loaded its chain.
const rpcWarmingUp = -28

// requireLitecoind skips the test, naming what it leaves unchecked, when the node cannot run.
func requireLitecoind(t *testing.T, what string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipping in -short mode: %s (starts litecoind and a devnet)", what)
	}
	path, err := exec.LookPath("litecoind")
	if err != nil {
		t.Skipf("skipping: litecoind is not on PATH, so %s is not checked by a consensus node (apt-get install litecoind)", what)
	}
	return path
}

// startLitecoind starts a regtest node bound to loopback and waits until its RPC answers.
func startLitecoind(t *testing.T, bin string) *litecoind {
	t.Helper()
	n := &litecoind{
		t:       t,
		datadir: t.TempDir(),
		output:  &syncBuffer{},
		done:    make(chan struct{}),
		http:    &http.Client{Timeout: 60 * time.Second},
	}
	port := freeLoopbackPort(t)
	n.url = "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	n.cmd = exec.Command(bin,
		"-regtest", "-datadir="+n.datadir, "-server",
		// No peer-to-peer listener and no outbound connections: the node is alone.
		"-listen=0", "-connect=0", "-dnsseed=0",
		"-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", "-rpcport="+strconv.Itoa(port),
		"-txindex", "-fallbackfee=0.0001", "-printtoconsole=0", "-keypool=8",
		// Scripts checked on the validation thread: a refused block then names the script
		// error (parallel checks report only block-validation-failed), and the node stays
		// off the shared cores.
		"-par=1")
	n.cmd.Stdout, n.cmd.Stderr = n.output, n.output
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting litecoind: %v", err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(n.stop)
	n.waitReady()
	return n
}

// freeLoopbackPort asks the kernel for an unused loopback port. Another process could take it
// before the node binds; the node then fails to start and says so.
func freeLoopbackPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitReady polls until the cookie exists and the node has finished loading.
func (n *litecoind) waitReady() {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for {
		select {
		case <-n.done:
			n.t.Fatalf("litecoind exited before it answered RPC:\n%s\n%s", n.output.String(), n.debugLogTail())
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("litecoind not ready after 60s (last: %v):\n%s", last, n.debugLogTail())
		}
		if n.auth == "" {
			if b, err := os.ReadFile(filepath.Join(n.datadir, "regtest", ".cookie")); err == nil {
				n.auth = strings.TrimSpace(string(b))
			}
		}
		if n.auth != "" {
			_, last = n.call("getblockchaininfo")
			var ne *nodeError
			if last == nil {
				return
			}
			if errors.As(last, &ne) && ne.Code != rpcWarmingUp {
				n.t.Fatalf("litecoind refuses getblockchaininfo: %v", last)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop asks the node to shut down and kills it if it lingers.
func (n *litecoind) stop() {
	select {
	case <-n.done:
		return
	default:
	}
	if n.auth != "" {
		_, _ = n.call("stop")
	}
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.t.Logf("litecoind (pid %d) still running 20s after the stop RPC: killing it", n.cmd.Process.Pid)
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	if n.t.Failed() {
		n.t.Logf("litecoind debug.log, last lines:\n%s", n.debugLogTail())
	}
}

// debugLogTail is the end of the node's log, for failure messages.
func (n *litecoind) debugLogTail() string {
	b, err := os.ReadFile(filepath.Join(n.datadir, "regtest", "debug.log"))
	if err != nil {
		return "(no debug.log: " + err.Error() + ")"
	}
	const tail = 4096
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return string(b)
}

// call makes one JSON-RPC call. A refusal by the node is a *nodeError; anything else (no
// answer, no JSON) is a plain error.
func (n *litecoind) call(method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": "mpcsigner-test", "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	user, pass, _ := strings.Cut(n.auth, ":")
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxNodeResponse+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxNodeResponse {
		return nil, fmt.Errorf("%s: answer larger than %d bytes", method, maxNodeResponse)
	}
	// The node answers errors with HTTP 500 (or 404 for an unknown method) and a JSON body;
	// anything without one (401, for instance) is a transport failure.
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *nodeError      `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d %q is not a JSON-RPC answer: %w", method, resp.StatusCode, raw, err)
	}
	if out.Error != nil {
		return nil, out.Error
	}
	return out.Result, nil
}

// must makes a call that has to succeed and decodes its result into v (nil to ignore it).
func (n *litecoind) must(t testing.TB, v any, method string, params ...any) {
	t.Helper()
	res, err := n.call(method, params...)
	if err != nil {
		t.Fatalf("litecoind %s %s: %v", method, briefParams(params), err)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal(res, v); err != nil {
		t.Fatalf("litecoind %s: result %s: %v", method, res, err)
	}
}

// briefParams renders call parameters for an error message, shortening long transactions.
func briefParams(params []any) string {
	b, _ := json.Marshal(params)
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// newAddress is a fresh P2WPKH address of the node's wallet and its scriptPubKey.
func (n *litecoind) newAddress(t testing.TB) (string, []byte) {
	t.Helper()
	var addr string
	n.must(t, &addr, "getnewaddress", "", "bech32")
	return addr, n.scriptPubKey(t, addr)
}

// scriptPubKey is the output script the node derives from an address; it fails the test when
// the node does not consider the address valid.
func (n *litecoind) scriptPubKey(t testing.TB, addr string) []byte {
	t.Helper()
	var info struct {
		IsValid      bool   `json:"isvalid"`
		ScriptPubKey string `json:"scriptPubKey"`
	}
	n.must(t, &info, "validateaddress", addr)
	if !info.IsValid {
		t.Fatalf("litecoind says %s is not a valid regtest address", addr)
	}
	spk, err := hex.DecodeString(info.ScriptPubKey)
	if err != nil {
		t.Fatalf("validateaddress %s: scriptPubKey %q: %v", addr, info.ScriptPubKey, err)
	}
	return spk
}

// mine mines count blocks paying to addr and returns their hashes.
func (n *litecoind) mine(t testing.TB, count int, addr string) []string {
	t.Helper()
	var hashes []string
	n.must(t, &hashes, "generatetoaddress", count, addr)
	if len(hashes) != count {
		t.Fatalf("generatetoaddress %d gave %d blocks", count, len(hashes))
	}
	return hashes
}

// rawTx fetches a transaction from the node's index and decodes it with btcd, checking that
// btcd computes the node's txid.
func (n *litecoind) rawTx(t testing.TB, txid string) *wire.MsgTx {
	t.Helper()
	var hexTx string
	n.must(t, &hexTx, "getrawtransaction", txid)
	tx := decodeTxHex(t, hexTx)
	if got := tx.TxHash().String(); got != txid {
		t.Fatalf("btcd computes txid %s for the node's transaction %s", got, txid)
	}
	return tx
}

// decodeTxHex decodes one whole serialized transaction.
func decodeTxHex(t testing.TB, s string) *wire.MsgTx {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("transaction hex %q: %v", s, err)
	}
	var tx wire.MsgTx
	r := bytes.NewReader(b)
	if err := tx.Deserialize(r); err != nil {
		t.Fatalf("transaction %s does not decode: %v", s, err)
	}
	if r.Len() != 0 {
		t.Fatalf("transaction %s has %d trailing bytes", s, r.Len())
	}
	return &tx
}

// mempoolVerdict is one entry of testmempoolaccept's answer.
type mempoolVerdict struct {
	TxID         string `json:"txid"`
	Allowed      bool   `json:"allowed"`
	RejectReason string `json:"reject-reason"`
}

// testMempoolAccept asks the node whether it would take tx into its mempool, without sending it.
func (n *litecoind) testMempoolAccept(t testing.TB, tx *wire.MsgTx) mempoolVerdict {
	t.Helper()
	var verdicts []mempoolVerdict
	n.must(t, &verdicts, "testmempoolaccept", []string{txHex(tx)})
	if len(verdicts) != 1 {
		t.Fatalf("testmempoolaccept gave %d verdicts for one transaction", len(verdicts))
	}
	return verdicts[0]
}

// broadcastAndConfirm sends an accepted transaction, mines a block to miner and requires the
// node to report it confirmed.
func (n *litecoind) broadcastAndConfirm(t testing.TB, tx *wire.MsgTx, miner string) {
	t.Helper()
	if v := n.testMempoolAccept(t, tx); !v.Allowed {
		t.Fatalf("litecoind rejects the signed transaction %s: %s\n%s", v.TxID, v.RejectReason, txHex(tx))
	}
	var txid string
	n.must(t, &txid, "sendrawtransaction", txHex(tx))
	if txid != tx.TxHash().String() {
		t.Fatalf("sendrawtransaction returned txid %s, want %s", txid, tx.TxHash())
	}
	block := n.mine(t, 1, miner)[0]
	var info struct {
		Confirmations int    `json:"confirmations"`
		BlockHash     string `json:"blockhash"`
	}
	n.must(t, &info, "getrawtransaction", txid, true)
	if info.Confirmations < 1 || info.BlockHash != block {
		t.Fatalf("transaction %s: %d confirmations in block %q, want it in %s", txid, info.Confirmations, info.BlockHash, block)
	}
}

// mineWith asks the node to mine a block holding exactly tx (plus the coinbase to miner),
// bypassing the mempool's policy: only consensus rules decide. A refusal is the *nodeError.
func (n *litecoind) mineWith(tx *wire.MsgTx, miner string) error {
	_, err := n.call("generateblock", miner, []string{txHex(tx)})
	return err
}

// txHex serializes a transaction (with its witnesses) as the node takes it; writing to a
// buffer cannot fail.
func txHex(tx *wire.MsgTx) string {
	var buf bytes.Buffer
	_ = tx.Serialize(&buf)
	return hex.EncodeToString(buf.Bytes())
}
