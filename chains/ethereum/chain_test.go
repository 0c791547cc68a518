package ethereum

import (
	"context"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/chaintest"
	"github.com/mpcsigner/mpcsigner/protocol"
)

func unsignedHex(t *testing.T, data types.TxData) string {
	t.Helper()
	raw, err := types.NewTx(data).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(raw)
}

func TestChainSignsEveryTransactionType(t *testing.T) {
	s := chaintest.Secp256k1("ethereum")
	to := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	want, err := Chain().Address(protocol.SchemeECDSASecp256k1, s.PublicKey(), "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		data    types.TxData
		network string
		chainID int64
	}{
		{"legacy EIP-155", &types.LegacyTx{Nonce: 1, GasPrice: big.NewInt(1e9), Gas: 21000, To: &to, Value: big.NewInt(1)}, "11155111", 11155111},
		{"EIP-1559, network from the transaction", &types.DynamicFeeTx{ChainID: big.NewInt(137), Nonce: 2, GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(2e9), Gas: 21000, To: &to}, "", 137},
		{"EIP-2930", &types.AccessListTx{ChainID: big.NewInt(1), Nonce: 3, GasPrice: big.NewInt(1e9), Gas: 30000, To: &to}, "1", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signed, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: unsignedHex(t, c.data), Network: c.network})
			if err != nil {
				t.Fatal(err)
			}
			tx, err := DecodeRawTransaction(common.FromHex(signed.Transaction))
			if err != nil {
				t.Fatal(err)
			}
			// go-ethereum recovers the sender the way nodes do.
			sender, err := types.Sender(types.LatestSignerForChainID(big.NewInt(c.chainID)), tx)
			if err != nil || sender.Hex() != want {
				t.Fatalf("sender %s (%v), want %s", sender.Hex(), err, want)
			}
			if signed.TxID != tx.Hash().Hex() || len(signed.Signature) != 130 {
				t.Fatalf("txid %s (tx hash %s), signature %q", signed.TxID, tx.Hash().Hex(), signed.Signature)
			}
		})
	}
}

func TestChainRefuses(t *testing.T) {
	s := chaintest.Secp256k1("ethereum")
	to := common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	typed := unsignedHex(t, &types.DynamicFeeTx{ChainID: big.NewInt(1), Gas: 21000, To: &to, GasFeeCap: big.NewInt(1)})
	signedOnce, err := Chain().Sign(context.Background(), s, chains.SignRequest{Transaction: typed})
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]chains.SignRequest{
		"not hex":                 {Transaction: "0xzz"},
		"garbage":                 {Transaction: "0x02c0ffee"},
		"chain id disagrees":      {Transaction: typed, Network: "5"},
		"network is not a number": {Transaction: typed, Network: "mainnet"},
		"network has a leading 0": {Transaction: typed, Network: "01"},
		"already signed":          {Transaction: signedOnce.Transaction},
	} {
		if _, err := Chain().Sign(context.Background(), s, req); !errors.Is(err, chains.ErrInvalid) {
			t.Errorf("%s: err = %v, want an ErrInvalid", name, err)
		}
	}
	if _, err := Chain().Sign(context.Background(), chaintest.Ed25519("x"), chains.SignRequest{Transaction: typed}); err == nil || !strings.Contains(err.Error(), "does not use ed25519 keys") {
		t.Errorf("an Ed25519 key: err = %v", err)
	}
	bad := chaintest.Secp256k1("ethereum")
	bad.Tamper = true
	if _, err := Chain().Sign(context.Background(), bad, chains.SignRequest{Transaction: typed}); !errors.Is(err, ErrSignature) {
		t.Errorf("a tampered signature: err = %v, want ErrSignature", err)
	}
}
