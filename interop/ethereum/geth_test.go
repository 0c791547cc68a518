package ethereum

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/accounts/external"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/mpcsigner/mpcsigner/interop/harness"
)

// chainID is the simulated backend's chain id (fixed by go-ethereum); the devnet signs for it.
const chainID = 1337

var (
	chainIDBig = big.NewInt(chainID)
	// signer is what go-ethereum itself checks transactions on this chain with.
	signer = types.LatestSignerForChainID(chainIDBig)
)

// The amounts moved. Distinct, so that a balance that moved by the wrong transfer shows.
var (
	funding     = new(big.Int).Mul(big.NewInt(10), big.NewInt(params.Ether))
	legacyValue = big.NewInt(1_000_000_000_000_001) // about 0.001 ETH
	eip1559Val  = big.NewInt(2_000_000_000_000_002)
	sendTxValue = big.NewInt(3_000_000_000_000_003)
	eip2930Val  = big.NewInt(4_000_000_000_000_004)
)

// TestGethExecutesThresholdSignedTransactions points go-ethereum's own clients at the devnet's
// eth1 front door, whose downstream node is a real EVM (go-ethereum's simulated backend served
// over HTTP), and checks that what the threshold key signs is what go-ethereum executes:
//   - the external-signer client (accounts/external, as geth --signer uses it) lists the key's
//     address and signs a legacy (EIP-155) and an EIP-1559 transfer, which the node executes,
//     and a text whose signature recovers to the address;
//   - a JSON-RPC user (rpc.Client, as a dapp or Web3Signer eth1 user) sends a transfer with
//     eth_sendTransaction (the front door fills the nonce from the node), signs an EIP-2930
//     transfer with eth_signTransaction and sends its raw bytes itself, and reads the chain
//     through the front door (methods it proxies to the node).
func TestGethExecutesThresholdSignedTransactions(t *testing.T) {
	harness.Binary(t) // skip before starting a chain
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	rec := harness.RecordDefaultTransport(t)
	c := startChain(t, ctx)
	d := harness.Start(t, "--chain-id", fmt.Sprint(chainID), "--eth1-downstream", c.url)
	if d.Info.ChainID != chainID {
		t.Fatalf("devnet.json says chain_id %d, want %d (started with --chain-id %d)", d.Info.ChainID, chainID, chainID)
	}
	fd := newFrontDoor(t, rec, d.Eth1URL(t))

	start := time.Now()
	key := d.CreateKey(t, "ecdsa-secp256k1", "geth-interop")
	pub, err := hex.DecodeString(strings.TrimPrefix(key.PublicKey, "0x"))
	if err != nil || len(pub) != 33 {
		t.Fatalf("key create printed %+v: want a secp256k1 key with a 33-byte compressed public key", key)
	}
	pk, err := crypto.DecompressPubkey(pub)
	if err != nil {
		t.Fatalf("key %s: public key %x: %v", key.ID, pub, err)
	}
	addr := crypto.PubkeyToAddress(*pk)
	t.Logf("threshold key %s created in %s: address %s", key.ID, time.Since(start).Round(time.Millisecond), addr)

	c.fund(t, ctx, addr, funding)
	recipient := crypto.PubkeyToAddress(mustKey(t).PublicKey)
	fd.waitHealthy(t, ctx)

	t.Run("external signer", func(t *testing.T) {
		externalSigner(t, ctx, c, fd, addr, pub, recipient)
	})
	t.Run("eth1 JSON-RPC", func(t *testing.T) {
		jsonRPC(t, ctx, c, fd, addr, recipient)
	})
}

// externalSigner drives go-ethereum's external-signer client (the one geth --signer uses).
func externalSigner(t *testing.T, ctx context.Context, c *chain, fd *frontDoor, addr common.Address, pub []byte, recipient common.Address) {
	mark := fd.mark()
	ext, err := external.NewExternalSigner(fd.url)
	if err != nil {
		fd.fatalf(t, mark, "external.NewExternalSigner(%s) (it calls account_version): %v", fd.url, err)
	}
	status, _ := ext.Status()
	t.Logf("external signer: %s", status)

	mark = fd.mark()
	var listed []common.Address
	for _, a := range ext.Accounts() { // Accounts logs and drops errors: the exchanges show them
		listed = append(listed, a.Address)
	}
	if !slices.Contains(listed, addr) {
		fd.fatalf(t, mark, "account_list: the external signer lists %v, which does not contain the threshold key's address %s", listed, addr)
	}
	account := accounts.Account{Address: addr}

	tip, feeCap, gasPrice := c.fees(t, ctx)
	nonce := c.nonce(t, ctx, addr)
	txs := []*types.Transaction{
		types.NewTx(&types.LegacyTx{Nonce: nonce, GasPrice: gasPrice, Gas: params.TxGas, To: &recipient, Value: legacyValue}),
		types.NewTx(&types.DynamicFeeTx{ChainID: chainIDBig, Nonce: nonce + 1, GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &recipient, Value: eip1559Val}),
	}
	for _, unsigned := range txs {
		name := txTypeName(unsigned.Type())
		mark := fd.mark()
		start := time.Now()
		signed, err := ext.SignTx(account, unsigned, chainIDBig)
		if err != nil {
			fd.fatalf(t, mark, "SignTx of a %s transfer: %v", name, err)
		}
		if signed == nil {
			fd.fatalf(t, mark, "SignTx of a %s transfer returned no transaction (account_signTransaction's result has no \"tx\")", name)
		}
		t.Logf("account_signTransaction (%s) in %s: %s", name, time.Since(start).Round(time.Millisecond), signed.Hash())
		fd.checkSigned(t, mark, name, unsigned, signed, addr)
		if unsigned.Type() == types.LegacyTxType && !signed.Protected() {
			fd.fatalf(t, mark, "the signed legacy transaction is not replay-protected (EIP-155): v = %d", func() *big.Int { v, _, _ := signed.RawSignatureValues(); return v }())
		}
		c.execute(t, ctx, addr, signed.Nonce(), signed.Value(), func() common.Hash {
			if err := c.ec.SendTransaction(ctx, signed); err != nil {
				t.Fatalf("the node refused the %s transaction the external signer signed: %v", name, err)
			}
			return signed.Hash()
		})
	}

	text := []byte("mpcsigner interop: signed by a threshold of enclaves, checked by go-ethereum")
	mark = fd.mark()
	sig, err := ext.SignText(account, text)
	if err != nil {
		fd.fatalf(t, mark, "SignText: %v", err)
	}
	if len(sig) != crypto.SignatureLength || sig[64] > 1 {
		fd.fatalf(t, mark, "SignText returned %x: want 65 bytes r || s || v with v 0 or 1 after the client's 27/28 fix-up", sig)
	}
	got, err := crypto.SigToPub(accounts.TextHash(text), sig)
	if err != nil {
		fd.fatalf(t, mark, "SignText returned %x, from which no key recovers: %v", sig, err)
	}
	if gotAddr := crypto.PubkeyToAddress(*got); gotAddr != addr || !bytes.Equal(crypto.CompressPubkey(got), pub) {
		fd.fatalf(t, mark, "SignText's signature %x recovers to %s (%x), want %s (%x)", sig, gotAddr, crypto.CompressPubkey(got), addr, pub)
	}
	t.Logf("account_signData (text/plain): %x recovers to %s", sig, addr)
}

// jsonRPC drives the front door's eth_* JSON-RPC as a dapp or a Web3Signer eth1 user does.
func jsonRPC(t *testing.T, ctx context.Context, c *chain, fd *frontDoor, addr common.Address, recipient common.Address) {
	mark := fd.mark()
	client, err := rpc.DialContext(ctx, fd.url)
	if err != nil {
		fd.fatalf(t, mark, "rpc.DialContext(%s): %v", fd.url, err)
	}
	defer client.Close()

	var accts []common.Address
	fd.call(t, ctx, client, &accts, "eth_accounts")
	if !slices.Contains(accts, addr) {
		fd.fatalf(t, mark, "eth_accounts answered %v, which does not contain the threshold key's address %s", accts, addr)
	}

	// eth_sendTransaction without a nonce: the front door takes it from the node, signs, and
	// sends the raw transaction to the node.
	tip, feeCap, gasPrice := c.fees(t, ctx)
	nonce := c.nonce(t, ctx, addr)
	sendArgs := map[string]any{
		"from":                 addr,
		"to":                   recipient,
		"value":                (*hexutil.Big)(sendTxValue),
		"gas":                  hexutil.Uint64(params.TxGas),
		"maxFeePerGas":         (*hexutil.Big)(feeCap),
		"maxPriorityFeePerGas": (*hexutil.Big)(tip),
	}
	want := types.NewTx(&types.DynamicFeeTx{ChainID: chainIDBig, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &recipient, Value: sendTxValue})
	mark = fd.mark()
	c.execute(t, ctx, addr, nonce, sendTxValue, func() common.Hash {
		var hash common.Hash
		start := time.Now()
		fd.call(t, ctx, client, &hash, "eth_sendTransaction", sendArgs)
		t.Logf("eth_sendTransaction in %s: %s", time.Since(start).Round(time.Millisecond), hash)
		onChain, pending, err := c.ec.TransactionByHash(ctx, hash)
		if err != nil {
			fd.fatalf(t, mark, "eth_sendTransaction answered %s, which the node does not know: %v", hash, err)
		}
		if !pending {
			t.Errorf("transaction %s is already mined before the test committed a block", hash)
		}
		fd.checkSigned(t, mark, "eth_sendTransaction", want, onChain, addr)
		return hash
	})

	// eth_signTransaction of an EIP-2930 transfer; the test sends the raw bytes itself.
	nonce = c.nonce(t, ctx, addr)
	accessList := types.AccessList{{Address: recipient, StorageKeys: []common.Hash{common.BigToHash(big.NewInt(1))}}}
	gas := params.TxGas + params.TxAccessListAddressGas + params.TxAccessListStorageKeyGas
	signArgs := map[string]any{
		"type":       hexutil.Uint64(types.AccessListTxType),
		"chainId":    (*hexutil.Big)(chainIDBig),
		"from":       addr,
		"to":         recipient,
		"value":      (*hexutil.Big)(eip2930Val),
		"gas":        hexutil.Uint64(gas),
		"gasPrice":   (*hexutil.Big)(gasPrice),
		"nonce":      hexutil.Uint64(nonce),
		"accessList": accessList,
	}
	want = types.NewTx(&types.AccessListTx{ChainID: chainIDBig, Nonce: nonce, GasPrice: gasPrice, Gas: gas, To: &recipient, Value: eip2930Val, AccessList: accessList})
	mark = fd.mark()
	var result json.RawMessage
	start := time.Now()
	fd.call(t, ctx, client, &result, "eth_signTransaction", signArgs)
	var raw hexutil.Bytes
	if err := json.Unmarshal(result, &raw); err != nil {
		fd.fatalf(t, mark, "eth_signTransaction answered %s: want the signed transaction's bytes as a hex string (%v)", result, err)
	}
	t.Logf("eth_signTransaction (EIP-2930) in %s: %d bytes", time.Since(start).Round(time.Millisecond), len(raw))
	signed := new(types.Transaction)
	if err := signed.UnmarshalBinary(raw); err != nil {
		fd.fatalf(t, mark, "eth_signTransaction answered %s, which go-ethereum does not decode as a transaction: %v", raw, err)
	}
	fd.checkSigned(t, mark, "eth_signTransaction", want, signed, addr)
	c.execute(t, ctx, addr, nonce, eip2930Val, func() common.Hash {
		if err := c.ec.SendTransaction(ctx, signed); err != nil {
			t.Fatalf("the node refused the EIP-2930 transaction eth_signTransaction signed: %v", err)
		}
		return signed.Hash()
	})

	// Methods the front door does not serve itself go to the node and come back as it answers.
	mark = fd.mark()
	var chainIDGot hexutil.Big
	fd.call(t, ctx, client, &chainIDGot, "eth_chainId")
	if chainIDGot.ToInt().Cmp(chainIDBig) != 0 {
		fd.fatalf(t, mark, "eth_chainId through the front door answered %s, want %d", &chainIDGot, chainID)
	}
	var blockNumber hexutil.Uint64
	fd.call(t, ctx, client, &blockNumber, "eth_blockNumber")
	nodeBlock, err := c.ec.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(blockNumber) != nodeBlock {
		fd.fatalf(t, mark, "eth_blockNumber through the front door answered %d; the node answers %d", blockNumber, nodeBlock)
	}
	var balance hexutil.Big
	fd.call(t, ctx, client, &balance, "eth_getBalance", addr, "latest")
	nodeBalance := c.balance(t, ctx, addr)
	if balance.ToInt().Cmp(nodeBalance) != 0 {
		fd.fatalf(t, mark, "eth_getBalance(%s) through the front door answered %s; the node answers %s", addr, balance.ToInt(), nodeBalance)
	}
	t.Logf("proxied: eth_chainId %s, eth_blockNumber %d, eth_getBalance %s, as the node answers", &chainIDGot, blockNumber, nodeBalance)
}

// frontDoor is the devnet's eth1 URL and the recorder of what clients exchanged with it.
type frontDoor struct {
	rec    *harness.Recorder
	url    string
	prefix string // scheme://host of url: which recorded exchanges are the front door's
}

func newFrontDoor(t *testing.T, rec *harness.Recorder, raw string) *frontDoor {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		t.Fatalf("devnet.json's eth1 entry %q is not an http(s) URL: %v", raw, err)
	}
	return &frontDoor{rec: rec, url: raw, prefix: u.Scheme + "://" + u.Host}
}

// mark is the point from which a failure shows the exchanges with the front door.
func (f *frontDoor) mark() int { return f.rec.Count() }

// fatalf fails the test, showing every exchange with the front door since mark.
func (f *frontDoor) fatalf(t *testing.T, mark int, format string, args ...any) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	exs := f.rec.Since(mark, f.prefix)
	if len(exs) == 0 {
		b.WriteString("\n(no HTTP exchange with the front door since the call began)")
	}
	for i, ex := range exs {
		fmt.Fprintf(&b, "\n--- exchange %d with the front door:\n%s", i+1, ex)
	}
	t.Fatal(b.String())
}

// call makes one JSON-RPC call to the front door and fails with the exchange when it errs.
func (f *frontDoor) call(t *testing.T, ctx context.Context, client *rpc.Client, result any, method string, args ...any) {
	t.Helper()
	mark := f.mark()
	if err := client.CallContext(ctx, result, method, args...); err != nil {
		var rpcErr rpc.Error
		if errors.As(err, &rpcErr) {
			f.fatalf(t, mark, "%s: JSON-RPC error %d: %v", method, rpcErr.ErrorCode(), err)
		}
		f.fatalf(t, mark, "%s: %v", method, err)
	}
}

// waitHealthy waits until health_status answers a result; a listener that is not up yet is
// retried, anything else fails at once.
func (f *frontDoor) waitHealthy(t *testing.T, ctx context.Context) {
	t.Helper()
	client, err := rpc.DialContext(ctx, f.url)
	if err != nil {
		t.Fatalf("rpc.DialContext(%s): %v", f.url, err)
	}
	defer client.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		mark := f.mark()
		var status json.RawMessage
		err := client.CallContext(ctx, &status, "health_status")
		if err == nil {
			t.Logf("health_status: %s", status)
			return
		}
		var opErr *net.OpError
		if !errors.As(err, &opErr) || time.Now().After(deadline) {
			f.fatalf(t, mark, "health_status: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkSigned checks that signed is want (same type and content: go-ethereum's signing hash of
// both is the same) and that go-ethereum recovers addr as its sender.
func (f *frontDoor) checkSigned(t *testing.T, mark int, what string, want, signed *types.Transaction, addr common.Address) {
	t.Helper()
	if signed.Type() != want.Type() {
		f.fatalf(t, mark, "%s: got a %s transaction, want %s", what, txTypeName(signed.Type()), txTypeName(want.Type()))
	}
	if signed.ChainId().Cmp(chainIDBig) != 0 {
		f.fatalf(t, mark, "%s: the transaction's chain id is %s, want %d", what, signed.ChainId(), chainID)
	}
	if got, exp := signer.Hash(signed), signer.Hash(want); got != exp {
		gotJSON, _ := signed.MarshalJSON()
		wantJSON, _ := want.MarshalJSON()
		f.fatalf(t, mark, "%s: the transaction signed is not the one asked for\n got:  %s\n want: %s", what, gotJSON, wantJSON)
	}
	sender, err := types.Sender(signer, signed)
	if err != nil {
		f.fatalf(t, mark, "%s: go-ethereum recovers no sender from the signed transaction: %v", what, err)
	}
	if sender != addr {
		f.fatalf(t, mark, "%s: go-ethereum recovers sender %s, want the threshold key's address %s", what, sender, addr)
	}
}

// chain is go-ethereum's simulated backend with its node's HTTP JSON-RPC server on 127.0.0.1.
type chain struct {
	backend *simulated.Backend
	sim     simulated.Client // in process
	ec      *ethclient.Client
	url     string
	funder  *ecdsa.PrivateKey // prefunded at genesis; used only to fund the threshold address
}

// startChain starts the simulated backend with HTTP JSON-RPC (eth, net, web3) on a free port
// and closes it when the test ends.
func startChain(t *testing.T, ctx context.Context) *chain {
	t.Helper()
	c := &chain{funder: mustKey(t)}
	alloc := types.GenesisAlloc{
		crypto.PubkeyToAddress(c.funder.PublicKey): {Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))},
	}
	// A free port is picked by binding and releasing it; another process may take it between
	// then and the node's listen, which then fails (NewBackend panics): try again a few times.
	var lastErr any
	for attempt := 0; attempt < 3 && c.backend == nil; attempt++ {
		port := freePort(t)
		func() {
			defer func() { lastErr = recover() }()
			c.backend = simulated.NewBackend(alloc, func(nc *node.Config, _ *ethconfig.Config) {
				nc.HTTPHost = "127.0.0.1"
				nc.HTTPPort = port
				nc.HTTPModules = []string{"eth", "net", "web3"}
			})
			c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
		}()
	}
	if c.backend == nil {
		t.Fatalf("starting the simulated backend with HTTP on 127.0.0.1: %v", lastErr)
	}
	t.Cleanup(func() {
		if err := c.backend.Close(); err != nil {
			t.Errorf("closing the simulated backend: %v", err)
		}
	})
	c.sim = c.backend.Client()
	ec, err := ethclient.DialContext(ctx, c.url)
	if err != nil {
		t.Fatalf("dialing the simulated node at %s: %v", c.url, err)
	}
	t.Cleanup(ec.Close)
	c.ec = ec
	id, err := ec.ChainID(ctx)
	if err != nil || id.Cmp(chainIDBig) != 0 {
		t.Fatalf("the simulated node at %s: eth_chainId answered %v, %v; want %d", c.url, id, err, chainID)
	}
	t.Logf("simulated chain %d: JSON-RPC at %s", chainID, c.url)
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fund sends value to addr from the prefunded account with the simulated client and commits.
func (c *chain) fund(t *testing.T, ctx context.Context, addr common.Address, value *big.Int) {
	t.Helper()
	from := crypto.PubkeyToAddress(c.funder.PublicKey)
	nonce, err := c.sim.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	tip, feeCap, _ := c.fees(t, ctx)
	tx, err := types.SignNewTx(c.funder, signer, &types.DynamicFeeTx{ChainID: chainIDBig, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: params.TxGas, To: &addr, Value: value})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.sim.SendTransaction(ctx, tx); err != nil {
		t.Fatalf("funding %s: %v", addr, err)
	}
	c.backend.Commit()
	if got := c.balance(t, ctx, addr); got.Cmp(value) != 0 {
		t.Fatalf("after funding, %s holds %s wei, want %s", addr, got, value)
	}
}

// fees returns a priority fee, a fee cap and a legacy gas price that the next block accepts.
func (c *chain) fees(t *testing.T, ctx context.Context) (tip, feeCap, gasPrice *big.Int) {
	t.Helper()
	head, err := c.ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tip = big.NewInt(params.GWei)
	feeCap = new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	return tip, feeCap, new(big.Int).Set(feeCap)
}

func (c *chain) nonce(t *testing.T, ctx context.Context, addr common.Address) uint64 {
	t.Helper()
	n, err := c.ec.PendingNonceAt(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (c *chain) balance(t *testing.T, ctx context.Context, addr common.Address) *big.Int {
	t.Helper()
	b, err := c.ec.BalanceAt(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// execute runs send (which puts a transfer of value from `from` with the given nonce into the
// node's pool and returns its hash), seals a block, and checks that the transfer executed:
// a successful receipt, the recipient's balance up by exactly value, the sender's down by value
// plus the gas it paid, and the sender's nonce past the transaction's.
func (c *chain) execute(t *testing.T, ctx context.Context, from common.Address, nonce uint64, value *big.Int, send func() common.Hash) {
	t.Helper()
	// The recipient is read from the transaction once it is known; snapshot all we need first.
	fromBefore := c.balance(t, ctx, from)
	hash := send()
	tx, _, err := c.ec.TransactionByHash(ctx, hash)
	if err != nil {
		t.Fatalf("transaction %s is not in the node: %v", hash, err)
	}
	to := *tx.To()
	toBefore, err := c.ec.BalanceAt(ctx, to, nil) // latest: the pending transfer is not in it yet
	if err != nil {
		t.Fatal(err)
	}
	block := c.backend.Commit()
	receipt, err := c.ec.TransactionReceipt(ctx, hash)
	if err != nil {
		t.Fatalf("no receipt for %s after committing block %s: %v", hash, block, err)
	}
	if receipt.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transaction %s failed in block %d (status %d)", hash, receipt.BlockNumber, receipt.Status)
	}
	if receipt.BlockHash != block {
		t.Fatalf("transaction %s is in block %s, not the block just committed (%s)", hash, receipt.BlockHash, block)
	}
	toAfter, fromAfter := c.balance(t, ctx, to), c.balance(t, ctx, from)
	if moved := new(big.Int).Sub(toAfter, toBefore); moved.Cmp(value) != 0 {
		t.Errorf("recipient %s's balance moved by %s wei, want %s", to, moved, value)
	}
	fee := new(big.Int).Mul(new(big.Int).SetUint64(receipt.GasUsed), receipt.EffectiveGasPrice)
	if spent, want := new(big.Int).Sub(fromBefore, fromAfter), new(big.Int).Add(value, fee); spent.Cmp(want) != 0 {
		t.Errorf("sender %s's balance moved by %s wei, want %s (value %s + gas %d x %s)", from, spent, want, value, receipt.GasUsed, receipt.EffectiveGasPrice)
	}
	if n, err := c.ec.NonceAt(ctx, from, nil); err != nil || n != nonce+1 {
		t.Errorf("sender %s's nonce is %d (%v) after transaction %d, want %d", from, n, err, nonce, nonce+1)
	}
	t.Logf("executed %s (%s, nonce %d) in block %d: %s wei to %s, gas %d", hash, txTypeName(tx.Type()), tx.Nonce(), receipt.BlockNumber, value, to, receipt.GasUsed)
}

func txTypeName(typ uint8) string {
	switch typ {
	case types.LegacyTxType:
		return "legacy"
	case types.AccessListTxType:
		return "EIP-2930"
	case types.DynamicFeeTxType:
		return "EIP-1559"
	default:
		return fmt.Sprintf("type-%d", typ)
	}
}
