package ethereum

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
)

// MaxRawTransactionBytes caps a raw transaction, as go-ethereum's transaction pool does
// (4 slots of 32 KiB). Blob sidecars do not fit, and DecodeRawTransaction refuses them anyway:
// the signature commits to the versioned hashes, not to the blobs.
const MaxRawTransactionBytes = 128 << 10

// SignTransaction signs tx for `from` on chainID: it hashes with types.LatestSignerForChainID
// (EIP-155 for legacy transactions, the EIP-2718 payload for typed ones), has sign sign the
// hash, attaches the signature with tx.WithSignature and returns the signed transaction only
// if its sender, recovered the way nodes will recover it, is `from`.
func SignTransaction(ctx context.Context, from common.Address, tx *types.Transaction, chainID *big.Int, sign SignFunc) (*types.Transaction, error) {
	if tx == nil {
		return nil, invalid("transaction", "missing")
	}
	if err := checkChainID(chainID); err != nil {
		return nil, err
	}
	// A typed transaction carries its chain id; the signer would hash chainID regardless and
	// produce a signature no node accepts, so refuse before spending a signature on it.
	if tx.Type() != types.LegacyTxType && tx.ChainId().Cmp(chainID) != 0 {
		return nil, chainIDError("transaction", tx.ChainId(), chainID)
	}
	signer := types.LatestSignerForChainID(chainID)
	sig, err := signDigest(ctx, from, signer.Hash(tx), sign)
	if err != nil {
		return nil, err
	}
	signed, err := tx.WithSignature(signer, sig[:])
	if err != nil {
		return nil, fmt.Errorf("%w: attaching the signature: %w", ErrSignature, err)
	}
	sender, err := types.Sender(signer, signed)
	if err != nil {
		return nil, fmt.Errorf("%w: recovering the sender: %w", ErrSignature, err)
	}
	if sender != from {
		return nil, fmt.Errorf("%w: transaction sender is %s, not %s", ErrSignature, sender, from)
	}
	return signed, nil
}

// DecodeRawTransaction strictly decodes a transaction in its canonical binary form: a legacy
// RLP list or an EIP-2718 typed envelope (types 1 to 4), signed or not. It refuses input over
// MaxRawTransactionBytes, non-canonical RLP, trailing bytes, unknown types, and blob
// transactions in their network form (with a sidecar).
func DecodeRawTransaction(b []byte) (*types.Transaction, error) {
	if len(b) > MaxRawTransactionBytes {
		return nil, invalid("raw transaction", "%d bytes, more than the limit of %d", len(b), MaxRawTransactionBytes)
	}
	if len(b) == 0 {
		return nil, invalid("raw transaction", "empty")
	}
	// go-ethereum's decoder checks that a legacy list and a canonical typed payload are
	// followed by nothing, but skips that check on the sidecar form of blob transactions;
	// check the envelope here for every form.
	if err := checkSingleRLP(b); err != nil {
		return nil, err
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(b); err != nil {
		return nil, invalidErr("raw transaction", err)
	}
	if tx.BlobTxSidecar() != nil {
		return nil, invalid("raw transaction", "blob sidecar given: send the transaction without blobs")
	}
	return tx, nil
}

// checkSingleRLP requires b (after a type byte, for a typed transaction) to be exactly one
// RLP list.
func checkSingleRLP(b []byte) error {
	payload := b
	if b[0] <= 0x7f {
		payload = b[1:]
	}
	kind, _, rest, err := rlp.Split(payload)
	if err != nil {
		return invalidErr("raw transaction", err)
	}
	if kind != rlp.List {
		return invalid("raw transaction", "payload is not an RLP list")
	}
	if len(rest) != 0 {
		return invalid("raw transaction", "%d trailing bytes", len(rest))
	}
	return nil
}

// chainIDError is the error for a transaction naming another chain than the signer's.
func chainIDError(field string, got, want *big.Int) error {
	return fmt.Errorf("%w: %s: %w: chain id %s given, the signer serves chain id %s", ErrInvalid, field, ErrChainID, got, want)
}
