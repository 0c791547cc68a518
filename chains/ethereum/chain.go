package ethereum

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/mpcsigner/mpcsigner/chains"
	"github.com/mpcsigner/mpcsigner/chains/internal/chainbase"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// info lists wellKnownChainIDs as the networks; any other positive chain id is accepted too.
var info = chainbase.New("ethereum", []protocol.Scheme{protocol.SchemeECDSASecp256k1}, wellKnownChainIDs...)

// wellKnownChainIDs are the chain ids Networks lists.
var wellKnownChainIDs = []string{
	"1",        // Ethereum mainnet (the default)
	"11155111", // Sepolia
	"17000",    // Holesky
	"560048",   // Hoodi
	"10",       // OP Mainnet
	"56",       // BNB Smart Chain
	"137",      // Polygon PoS
	"8453",     // Base
	"42161",    // Arbitrum One
	"43114",    // Avalanche C-Chain
}

// Chain is Ethereum and every EVM chain, told apart by chain id (the network, in decimal).
// A transaction is the hex of an unsigned transaction in its canonical binary form, as
// types.Transaction.MarshalBinary writes it with a zero signature: a legacy RLP list or an
// EIP-2718 typed envelope (types 1 to 4). The signed transaction is the same, signed, ready
// for eth_sendRawTransaction.
func Chain() chains.Chain { return evm{info} }

type evm struct{ chainbase.Info }

func (c evm) Address(scheme protocol.Scheme, pub []byte, network string) (string, error) {
	if err := chains.CheckScheme(c, scheme); err != nil {
		return "", err
	}
	if _, err := parseChainID(network); err != nil {
		return "", err
	}
	addr, err := Address(pub)
	if err != nil {
		return "", chains.Invalid("public key: %v", err)
	}
	return addr.Hex(), nil
}

// Sign signs an unsigned transaction. A typed transaction names its chain: the network, when
// given, must agree with it; a legacy one is signed with EIP-155 for the network's chain id.
func (c evm) Sign(ctx context.Context, s chains.Signer, req chains.SignRequest) (*chains.Signed, error) {
	if err := chains.CheckScheme(c, s.Scheme()); err != nil {
		return nil, err
	}
	from, err := Address(s.PublicKey())
	if err != nil {
		return nil, chains.Invalid("public key: %v", err)
	}
	tx, err := decodeUnsigned(req.Transaction)
	if err != nil {
		return nil, err
	}
	chainID, err := txChainID(tx, req.Network)
	if err != nil {
		return nil, err
	}
	signed, err := SignTransaction(ctx, from, tx, chainID, signFuncOf(s))
	if err != nil {
		return nil, err
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("ethereum: encoding the signed transaction: %w", err)
	}
	return &chains.Signed{
		Transaction: "0x" + hex.EncodeToString(raw),
		TxID:        signed.Hash().Hex(),
		Signature:   signatureHex(signed, chainID),
	}, nil
}

// signatureHex is r || s || y-parity (0 or 1) in hex: the 65-byte form independent of how
// the transaction type folds the parity into v.
func signatureHex(tx *types.Transaction, chainID *big.Int) string {
	v, r, s := tx.RawSignatureValues()
	parity := new(big.Int).Set(v)
	if tx.Type() == types.LegacyTxType && tx.Protected() {
		parity.Sub(parity, new(big.Int).Add(new(big.Int).Lsh(chainID, 1), big.NewInt(35)))
	}
	return fmt.Sprintf("%064x%064x%02x", r, s, parity)
}

// decodeUnsigned decodes a transaction and refuses one that already carries a signature:
// signing it again would silently replace what someone else signed.
func decodeUnsigned(text string) (*types.Transaction, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(text, "0x"))
	if err != nil {
		return nil, chains.Invalid("transaction: not hex: %v", err)
	}
	tx, err := DecodeRawTransaction(b)
	if err != nil {
		return nil, err
	}
	if v, r, s := tx.RawSignatureValues(); v.Sign() != 0 || r.Sign() != 0 || s.Sign() != 0 {
		return nil, chains.Invalid("transaction: already signed (v, r, s are not zero)")
	}
	return tx, nil
}

// txChainID is the chain id to sign for: the network's, which a typed transaction must name
// too; for a typed transaction and no network, the transaction's own.
func txChainID(tx *types.Transaction, network string) (*big.Int, error) {
	if network == "" && tx.Type() != types.LegacyTxType {
		return tx.ChainId(), nil
	}
	id, err := parseChainID(network)
	if err != nil {
		return nil, err
	}
	if tx.Type() != types.LegacyTxType && tx.ChainId().Cmp(id) != 0 {
		return nil, chainIDError("transaction", tx.ChainId(), id)
	}
	return id, nil
}

// parseChainID reads a network name: a positive decimal chain id, "" meaning mainnet (1).
func parseChainID(network string) (*big.Int, error) {
	if network == "" {
		return big.NewInt(1), nil
	}
	n, err := strconv.ParseUint(network, 10, 64)
	if err != nil || n == 0 || network[0] == '0' {
		return nil, chains.Invalid("network %q: an EVM network is its chain id, a positive decimal number such as 1 or 11155111", network)
	}
	return new(big.Int).SetUint64(n), nil
}

// signFuncOf adapts a chains.Signer to a SignFunc: v is the recovery id (0 or 1), which
// SignTransaction checks along with the recovered sender.
func signFuncOf(s chains.Signer) SignFunc {
	return func(ctx context.Context, _ common.Address, digest [32]byte) ([65]byte, error) {
		var out [65]byte
		sig, err := s.SignDigest(ctx, digest)
		if err != nil {
			return out, err
		}
		if len(sig.Sig) != 64 || sig.RecoveryID < 0 || sig.RecoveryID > 3 {
			return out, fmt.Errorf("%w: the signer returned %d bytes with recovery id %d", ErrSignature, len(sig.Sig), sig.RecoveryID)
		}
		copy(out[:], sig.Sig)
		out[64] = byte(sig.RecoveryID)
		return out, nil
	}
}
