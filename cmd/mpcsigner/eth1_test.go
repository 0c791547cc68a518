package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/mpcsigner/mpcsigner/host/api"
)

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// rpcCall makes one JSON-RPC 2.0 call over plain HTTP.
func rpcCall(t testing.TB, url, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %d %q is not a JSON-RPC response: %v", method, resp.StatusCode, b, err)
	}
	return out.Result, out.Error
}

// rpcOK makes a call that must succeed and decodes its result.
func rpcOK(t testing.TB, url string, v any, method string, params ...any) {
	t.Helper()
	res, rerr := rpcCall(t, url, method, params...)
	if rerr != nil {
		t.Fatalf("%s: error %d %s", method, rerr.Code, rerr.Message)
	}
	if err := json.Unmarshal(res, v); err != nil {
		t.Fatalf("%s: result %s: %v", method, res, err)
	}
}

// mailTypedData is the example of the EIP-712 text.
const mailTypedData = `{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
"Person":[{"name":"name","type":"string"},{"name":"wallet","type":"address"}],"Mail":[{"name":"from","type":"Person"},{"name":"to","type":"Person"},{"name":"contents","type":"string"}]},
"primaryType":"Mail","domain":{"name":"Ether Mail","version":"1","chainId":1,"verifyingContract":"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"},
"message":{"from":{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},"to":{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},"contents":"Hello, Bob!"}}`

// recoverAddress recovers the signer of digest from a 65-byte signature with V 27/28 (or 0/1),
// with go-ethereum's libsecp256k1.
func recoverAddress(t testing.TB, digest []byte, sig []byte) common.Address {
	t.Helper()
	if len(sig) != 65 {
		t.Fatalf("signature of %d bytes", len(sig))
	}
	s := bytes.Clone(sig)
	if s[64] >= 27 {
		s[64] -= 27
	}
	pub, err := crypto.SigToPub(digest, s)
	if err != nil {
		t.Fatal(err)
	}
	return crypto.PubkeyToAddress(*pub)
}

func TestEth1EndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	d := startDevnet(t, data, "--chain-id", "1337")
	if d.info.Eth1 == "" || d.info.ChainID != 1337 {
		t.Fatalf("devnet.json lists no eth1 front door: %+v", d.info)
	}
	rpc := d.info.Eth1
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ecdsa-secp256k1", "--label", "wallet")
	pubBytes, _ := hex.DecodeString(key.PublicKey)
	pub, err := crypto.DecompressPubkey(pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(*pub)
	chainID := big.NewInt(1337)

	t.Run("accounts", func(t *testing.T) {
		var accs []common.Address
		rpcOK(t, rpc, &accs, "eth_accounts")
		if len(accs) != 1 || accs[0] != addr {
			t.Fatalf("eth_accounts: %v, want [%s]", accs, addr.Hex())
		}
		rpcOK(t, rpc, &accs, "account_list")
		if len(accs) != 1 || accs[0] != addr {
			t.Fatalf("account_list: %v", accs)
		}
		resp, err := http.Get(rpc + "/api/v1/eth1/publicKeys")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := hex.EncodeToString(crypto.FromECDSAPub(pub)); !strings.Contains(strings.ToLower(string(b)), want[2:]) {
			t.Fatalf("publicKeys %s lacks the uncompressed key %s", b, want)
		}
	})

	t.Run("every transaction type signs; go-ethereum recovers the sender", func(t *testing.T) {
		to := "0x3535353535353535353535353535353535353535"
		blobHash := "0x01" + strings.Repeat("ab", 31)
		for name, tx := range map[string]map[string]any{
			"legacy (EIP-155)": {"gasPrice": "0x4a817c800"},
			"EIP-2930":         {"gasPrice": "0x4a817c800", "accessList": []any{map[string]any{"address": to, "storageKeys": []string{"0x" + strings.Repeat("00", 31) + "01"}}}},
			"EIP-1559":         {"maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00"},
			"EIP-4844":         {"maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00", "maxFeePerBlobGas": "0x3b9aca00", "blobVersionedHashes": []string{blobHash}},
			"EIP-7702": {"maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00", "authorizationList": []any{map[string]any{
				"chainId": "0x539", "address": to, "nonce": "0x0", "yParity": "0x0", "r": "0x" + strings.Repeat("11", 32), "s": "0x" + strings.Repeat("22", 32)}}},
		} {
			tx["from"], tx["to"], tx["gas"], tx["value"], tx["nonce"], tx["chainId"] = addr.Hex(), to, "0x5208", "0xde0b6b3a7640000", "0x9", "0x539"
			var raw hexutil.Bytes
			rpcOK(t, rpc, &raw, "eth_signTransaction", tx)
			var signed types.Transaction
			if err := signed.UnmarshalBinary(raw); err != nil {
				t.Fatalf("%s: raw transaction does not decode: %v", name, err)
			}
			sender, err := types.Sender(types.LatestSignerForChainID(chainID), &signed)
			if err != nil || sender != addr {
				t.Fatalf("%s: sender %s (%v), want %s", name, sender.Hex(), err, addr.Hex())
			}
			if signed.Nonce() != 9 || signed.ChainId().Cmp(chainID) != 0 || signed.To().Hex() != common.HexToAddress(to).Hex() {
				t.Fatalf("%s: signed a different transaction: nonce %d chain %v to %v", name, signed.Nonce(), signed.ChainId(), signed.To())
			}
		}
	})

	t.Run("personal message and typed data", func(t *testing.T) {
		msg := []byte("threshold signatures for everyone")
		var sig hexutil.Bytes
		rpcOK(t, rpc, &sig, "eth_sign", addr.Hex(), hexutil.Encode(msg))
		if got := recoverAddress(t, accounts.TextHash(msg), sig); got != addr || sig[64] < 27 {
			t.Fatalf("eth_sign: recovered %s (v %d), want %s", got.Hex(), sig[64], addr.Hex())
		}
		var td apitypes.TypedData
		if err := json.Unmarshal([]byte(mailTypedData), &td); err != nil {
			t.Fatal(err)
		}
		digest, _, err := apitypes.TypedDataAndHash(td)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(digest) != "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2" {
			t.Fatalf("go-ethereum computes the EIP-712 example as %x", digest)
		}
		// The signer refuses typed data for another chain (as wallets do), so sign the example
		// with this devnet's chain id in its domain.
		if _, rerr := rpcCall(t, rpc, "eth_signTypedData_v4", addr.Hex(), json.RawMessage(mailTypedData)); rerr == nil || !strings.Contains(rerr.Message, "chain id") {
			t.Fatalf("typed data for chain 1 on a 1337 signer: %+v", rerr)
		}
		local := strings.Replace(mailTypedData, `"chainId":1,`, `"chainId":1337,`, 1)
		if err := json.Unmarshal([]byte(local), &td); err != nil {
			t.Fatal(err)
		}
		if digest, _, err = apitypes.TypedDataAndHash(td); err != nil {
			t.Fatal(err)
		}
		rpcOK(t, rpc, &sig, "eth_signTypedData_v4", addr.Hex(), json.RawMessage(local))
		if got := recoverAddress(t, digest, sig); got != addr {
			t.Fatalf("eth_signTypedData_v4: recovered %s, want %s", got.Hex(), addr.Hex())
		}
	})

	t.Run("refusals are JSON-RPC errors that say what was wrong", func(t *testing.T) {
		other := "0x" + strings.Repeat("12", 20)
		base := func() map[string]any {
			return map[string]any{"from": addr.Hex(), "to": other, "gas": "0x5208", "gasPrice": "0x1", "nonce": "0x0"}
		}
		for name, tc := range map[string]struct {
			method string
			params []any
			want   string
		}{
			"unknown account":   {"eth_signTransaction", []any{func() map[string]any { m := base(); m["from"] = other; return m }()}, ""},
			"wrong chain id":    {"eth_signTransaction", []any{func() map[string]any { m := base(); m["chainId"] = "0x1"; return m }()}, "chain"},
			"gas overflows":     {"eth_signTransaction", []any{func() map[string]any { m := base(); m["gas"] = "0x1" + strings.Repeat("0", 16); return m }()}, "gas"},
			"both fee kinds":    {"eth_signTransaction", []any{func() map[string]any { m := base(); m["maxFeePerGas"] = "0x2"; return m }()}, ""},
			"bad hex":           {"eth_sign", []any{addr.Hex(), "0xzz"}, ""},
			"missing params":    {"eth_signTransaction", []any{}, ""},
			"no downstream":     {"eth_blockNumber", []any{}, "downstream"},
			"send, no upstream": {"eth_sendTransaction", []any{base()}, "downstream"},
		} {
			_, rerr := rpcCall(t, rpc, tc.method, tc.params...)
			if rerr == nil {
				t.Errorf("%s: accepted", name)
				continue
			}
			if !strings.Contains(strings.ToLower(rerr.Message), tc.want) {
				t.Errorf("%s: %d %q does not mention %q", name, rerr.Code, rerr.Message, tc.want)
			}
		}
		resp, err := http.Post(rpc, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), fmt.Sprint(-32700)) {
			t.Fatalf("invalid JSON: %s", b)
		}
	})
}
