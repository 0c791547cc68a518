package main

import (
	"encoding/hex"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestChainsEndToEnd drives the chain verbs against a devnet: every listed chain, a key's
// address, and an EVM transaction signed through `mpcsigner sign-tx`, whose sender
// go-ethereum recovers. The other chains' transactions are checked with their own libraries
// in interop/chains.
func TestChainsEndToEnd(t *testing.T) {
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"))
	var list api.ChainList
	d.cliJSON(t, &list, "chains")
	names := map[string]bool{}
	for _, c := range list.Chains {
		names[c.Name] = true
		if len(c.Schemes) == 0 || len(c.Networks) == 0 {
			t.Errorf("chain %s lists no schemes or networks: %+v", c.Name, c)
		}
	}
	if !names["ethereum"] {
		t.Fatalf("chains: %+v", list)
	}

	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ecdsa-secp256k1", "--label", "evm")
	var addr api.Address
	d.cliJSON(t, &addr, "address", "--key", "evm", "--chain", "ethereum", "--network", "137")
	pub, _ := hex.DecodeString(key.PublicKey)
	ecpub, err := crypto.DecompressPubkey(pub)
	if err != nil {
		t.Fatal(err)
	}
	want := crypto.PubkeyToAddress(*ecpub)
	if addr.Address != want.Hex() || addr.Network != "137" || addr.KeyID != key.ID {
		t.Fatalf("address %+v, want %s", addr, want.Hex())
	}

	to := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	unsigned, err := types.NewTx(&types.DynamicFeeTx{ChainID: big.NewInt(137), Nonce: 7, GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(3e10), Gas: 21000, To: &to, Value: big.NewInt(5)}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var signed api.ChainSignResponse
	d.cliJSON(t, &signed, "sign-tx", "--key", "evm", "--chain", "ethereum", "--tx", hex.EncodeToString(unsigned))
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(common.FromHex(signed.Transaction)); err != nil {
		t.Fatal(err)
	}
	sender, err := types.Sender(types.LatestSignerForChainID(big.NewInt(137)), tx)
	if err != nil || sender != want || tx.Hash().Hex() != signed.TxID {
		t.Fatalf("go-ethereum recovers %s (%v) from %s, want %s", sender.Hex(), err, signed.Transaction, want.Hex())
	}

	tok := d.token(t)
	for _, tc := range []struct {
		name, method, path, body, msg string
		status                        int
	}{
		{"unknown chain", http.MethodPost, "/v1/chains/dogecoin/sign", `{"key":"evm","transaction":"00"}`, "unknown chain", 400},
		{"garbage transaction", http.MethodPost, "/v1/chains/ethereum/sign", `{"key":"evm","transaction":"02c0ffee"}`, "raw transaction", 400},
		{"wrong network", http.MethodPost, "/v1/chains/ethereum/sign", `{"key":"evm","transaction":"` + hex.EncodeToString(unsigned) + `","network":"1"}`, "chain id", 400},
		{"unknown key", http.MethodPost, "/v1/chains/ethereum/sign", `{"key":"ghost","transaction":"` + hex.EncodeToString(unsigned) + `"}`, "", 404},
		{"no chain named", http.MethodGet, "/v1/keys/evm/address", "", "chain query parameter is required", 400},
		{"bad network", http.MethodGet, "/v1/keys/evm/address?chain=ethereum&network=mainnet", "", "chain id", 400},
	} {
		status, e := rawRequest(t, tc.method, d.info.API+tc.path, tok, tc.body)
		if status != tc.status || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %d %+v, want %d with %q", tc.name, status, e, tc.status, tc.msg)
		}
	}
}
