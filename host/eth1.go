package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/mpcsigner/mpcsigner/chains/ethereum"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
	"github.com/mpcsigner/mpcsigner/web3signer/eth1"
)

// eth1Backend serves the execution-layer front door (Web3Signer eth1, JSON-RPC, go-ethereum's
// external-signer API) from the cluster's secp256k1 keys: an account is a key's address, and
// signing it is a threshold ECDSA signature over the digest the front door computed.
type eth1Backend struct {
	h *Host

	mu     sync.Mutex
	byAddr map[common.Address]*wire.KeyInfo // address -> key, so that a signing needs no lookup
}

func newEth1Backend(h *Host) *eth1Backend {
	return &eth1Backend{h: h, byAddr: map[common.Address]*wire.KeyInfo{}}
}

// Accounts lists every secp256k1 key as an Ethereum account.
func (b *eth1Backend) Accounts(ctx context.Context) ([]eth1.Account, error) {
	infos, err := b.h.listKeyInfos(ctx)
	if err != nil {
		return nil, toEth1Error(err)
	}
	byAddr := map[common.Address]*wire.KeyInfo{}
	out := []eth1.Account{}
	for i := range infos {
		info := &infos[i]
		if info.Scheme != protocol.SchemeECDSASecp256k1 {
			continue
		}
		pub, err := hex.DecodeString(info.PublicKey)
		if err != nil {
			continue
		}
		addr, err := ethereum.Address(pub)
		if err != nil {
			continue
		}
		byAddr[addr] = info
		out = append(out, eth1.Account{Address: addr, PublicKey: pub})
	}
	b.mu.Lock()
	b.byAddr = byAddr
	b.mu.Unlock()
	return out, nil
}

// Sign signs digest with the key whose address is from: R||S||V, V the recovery id. The key
// comes from the account list, so a signing costs no lookup round trip; a key deleted since
// is refused by the enclaves.
func (b *eth1Backend) Sign(ctx context.Context, from common.Address, digest [32]byte) ([65]byte, error) {
	var out [65]byte
	key, err := b.keyFor(ctx, from)
	if err != nil {
		return out, err
	}
	if new(big.Int).SetBytes(digest[:]).Sign() == 0 {
		return out, fmt.Errorf("refusing to sign an all-zero digest: %w", eth1.ErrBadRequest)
	}
	ctx, cancel := context.WithTimeout(ctx, b.h.cfg.Timeouts.Sign)
	defer cancel()
	resp, err := b.h.signKey(ctx, key, signPayload{bytes: digest[:]}, nil)
	if err != nil {
		return out, toEth1Error(err)
	}
	sig, err := hex.DecodeString(resp.Signature)
	if err != nil || len(sig) != 64 || resp.RecoveryID == nil || *resp.RecoveryID > 1 {
		return out, fmt.Errorf("key %s returned a malformed signature: %w", key.ID, ErrInternal)
	}
	copy(out[:64], sig)
	out[64] = byte(*resp.RecoveryID)
	return out, nil
}

// keyFor finds the key of an address, listing the keys again on a miss (a new key).
func (b *eth1Backend) keyFor(ctx context.Context, addr common.Address) (*wire.KeyInfo, error) {
	b.mu.Lock()
	key, ok := b.byAddr[addr]
	b.mu.Unlock()
	if ok {
		return key, nil
	}
	if _, err := b.Accounts(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	key, ok = b.byAddr[addr]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no key has address %s: %w", addr.Hex(), eth1.ErrUnknownAccount)
	}
	return key, nil
}

// toEth1Error is the one place host conditions become eth1 front-door conditions.
func toEth1Error(err error) error {
	var kind error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrBadRequest):
		kind = eth1.ErrBadRequest
	case errors.Is(err, ErrNotFound):
		kind = eth1.ErrUnknownAccount
	case errors.Is(err, ErrQuorum), errors.Is(err, ErrNotReady), errors.Is(err, context.DeadlineExceeded):
		kind = eth1.ErrUnavailable
	default:
		return err
	}
	return &frontDoorError{err: err, kind: kind}
}
