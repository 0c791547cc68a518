package host

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
	"github.com/mpcsigner/mpcsigner/web3signer"
)

// keymanager serves the Ethereum Keymanager API on top of the cluster.
//
// Its rules come from the enclaves' side of slashing protection: a key counts as stopped only
// when no t parties can still sign with it, that is when at least n-t+1 parties have disabled it;
// slashing protection data counts as imported only when every party has it, since any t of them
// may sign next.
type keymanager struct {
	b *eth2Backend
}

func (k *keymanager) h() *Host { return k.b.h }

// ListKeystores lists the BLS keys that can sign.
func (k *keymanager) ListKeystores(ctx context.Context) ([]web3signer.KeystoreEntry, error) {
	keys, err := k.h().validatorKeys(ctx)
	if err != nil {
		return nil, toWeb3SignerError(err)
	}
	out := []web3signer.KeystoreEntry{}
	for _, info := range keys {
		out = append(out, web3signer.KeystoreEntry{ValidatingPubkey: "0x" + info.PublicKey})
	}
	return out, nil
}

// ImportKeystores imports the slashing protection data into every party first, then each
// keystore, through the same sealed route as `mpcsigner key import`. A key the cluster holds
// and uses is a duplicate; one deleted earlier (disabled) is imported again by enabling it.
func (k *keymanager) ImportKeystores(ctx context.Context, keystores, passwords []string, slashingData []byte) ([]web3signer.ImportResult, error) {
	h := k.h()
	out := make([]web3signer.ImportResult, len(keystores))
	type plan struct {
		pub              string
		exists, disabled bool
	}
	plans := make([]*plan, len(keystores))
	for i := range keystores {
		pub, err := keystoreKey([]byte(keystores[i]), []byte(passwords[i]))
		if err == nil {
			p := &plan{pub: pub}
			if p.exists, p.disabled, err = h.keyState(ctx, pub); err == nil {
				plans[i] = p
			}
		}
		if err != nil {
			out[i] = web3signer.ImportResult{Status: "error", Message: trimSentinel(err)}
		}
	}
	// The states above are read before the slashing data goes in, because importing it
	// re-enables the validators it names.
	if slashingData != nil {
		if err := k.importSlashing(ctx, slashingData); err != nil {
			return nil, toWeb3SignerError(err)
		}
	}
	for i, p := range plans {
		if p == nil {
			continue
		}
		var err error
		switch {
		case p.exists && !p.disabled:
			out[i].Status = "duplicate"
			continue
		case p.exists:
			err = h.enableEth2(ctx, p.pub)
		default:
			err = h.importKeystore(ctx, []byte(keystores[i]), []byte(passwords[i]), p.pub, "")
		}
		if err != nil {
			out[i] = web3signer.ImportResult{Status: "error", Message: trimSentinel(err)}
			continue
		}
		out[i].Status = "imported"
	}
	k.b.Reload(ctx) //nolint:errcheck // the next request fetches keys on a miss anyway
	return out, nil
}

// importSlashing gives every party the interchange; one that cannot take it fails the import.
func (k *keymanager) importSlashing(ctx context.Context, data []byte) error {
	if !json.Valid(data) {
		return fmt.Errorf("slashing_protection is not JSON: %w", ErrBadRequest)
	}
	return k.h().forEach(ctx, k.h().allParties(), func(ctx context.Context, p protocol.PartyID) error {
		cctx, cancel := context.WithTimeout(ctx, k.h().cfg.Timeouts.Call)
		defer cancel()
		_, err := k.h().callParty(cctx, p, wire.MethodEth2Import, wire.Eth2Interchange{Interchange: data})
		return err
	})
}

// DeleteKeystores disables the keys on every reachable party (at least n-t+1 must confirm, or
// the keys could still sign), then exports and merges the parties' slashing protection data.
func (k *keymanager) DeleteKeystores(ctx context.Context, pubkeys []web3signer.PublicKey) ([]web3signer.DeleteResult, []byte, error) {
	out, interchange, err := k.delete(ctx, pubkeys)
	return out, interchange, toWeb3SignerError(err)
}

func (k *keymanager) delete(ctx context.Context, pubkeys []web3signer.PublicKey) ([]web3signer.DeleteResult, []byte, error) {
	h := k.h()
	args := wire.Eth2Pubkeys{Pubkeys: make([]string, len(pubkeys))}
	for i, pk := range pubkeys {
		args.Pubkeys[i] = hex.EncodeToString(pk[:])
	}
	active := k.activeKeys(ctx)
	var mu sync.Mutex
	held := map[string]bool{}
	confirmed := 0
	var exports [][]byte
	var lastErr error
	var wg sync.WaitGroup
	for _, p := range h.allParties() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
			defer cancel()
			held1, export, err := k.disableAndExport(cctx, p, args)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lastErr = err
				return
			}
			confirmed++
			for _, pk := range held1 {
				held[pk] = true
			}
			exports = append(exports, export)
		}()
	}
	wg.Wait()
	for _, pk := range pubkeys {
		k.b.forget(pk)
	}
	if need := len(h.cfg.Parties) - h.cfg.Threshold + 1; confirmed < need {
		return nil, nil, fmt.Errorf("only %d parties confirmed the keys are disabled, %d needed to be sure none can sign (last failure: %v): %w", confirmed, need, lastErr, ErrQuorum)
	}
	merged, err := mergeInterchanges(exports)
	if err != nil {
		return nil, nil, err
	}
	out := make([]web3signer.DeleteResult, len(pubkeys))
	for i, s := range args.Pubkeys {
		switch {
		case active[s]:
			out[i].Status = "deleted"
		case held[s]:
			out[i].Status = "not_active"
		default:
			out[i].Status = "not_found"
		}
	}
	return out, merged, nil
}

// activeKeys lists the BLS keys currently enabled (best effort: it only sets statuses).
func (k *keymanager) activeKeys(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	keys, _ := k.h().validatorKeys(ctx)
	for _, info := range keys {
		out[info.PublicKey] = true
	}
	return out
}

func (k *keymanager) disableAndExport(ctx context.Context, p protocol.PartyID, args wire.Eth2Pubkeys) ([]string, []byte, error) {
	h := k.h()
	body, err := h.callParty(ctx, p, wire.MethodEth2Disable, args)
	if err != nil {
		return nil, nil, fromRemote(p, err)
	}
	var held wire.Eth2Pubkeys
	if err := wire.DecodeJSON(body, &held); err != nil {
		return nil, nil, fmt.Errorf("%s returned an unreadable answer: %w", p, ErrInternal)
	}
	body, err = h.callParty(ctx, p, wire.MethodEth2Export, args)
	if err != nil {
		return nil, nil, fromRemote(p, err)
	}
	var ex wire.Eth2Interchange
	if err := wire.DecodeJSON(body, &ex); err != nil {
		return nil, nil, fmt.Errorf("%s returned an unreadable interchange: %w", p, ErrInternal)
	}
	return held.Pubkeys, ex.Interchange, nil
}

// interchange is the EIP-3076 format, as far as merging needs it.
type interchange struct {
	Metadata struct {
		InterchangeFormatVersion string `json:"interchange_format_version"`
		GenesisValidatorsRoot    string `json:"genesis_validators_root"`
	} `json:"metadata"`
	Data []interchangeEntry `json:"data"`
}

type interchangeEntry struct {
	Pubkey             string            `json:"pubkey"`
	SignedBlocks       []json.RawMessage `json:"signed_blocks"`
	SignedAttestations []json.RawMessage `json:"signed_attestations"`
}

// mergeInterchanges unites the parties' exports: every record any party holds is kept, which is
// what an importer must respect (it may only ever be more careful).
func mergeInterchanges(exports [][]byte) ([]byte, error) {
	var out interchange
	byKey := map[string]*interchangeEntry{}
	var order []string
	for _, raw := range exports {
		var ic interchange
		if err := json.Unmarshal(raw, &ic); err != nil {
			return nil, fmt.Errorf("a party exported unreadable slashing protection data: %v: %w", err, ErrInternal)
		}
		if out.Metadata.InterchangeFormatVersion == "" {
			out.Metadata = ic.Metadata
		} else if ic.Metadata.GenesisValidatorsRoot != "" && out.Metadata.GenesisValidatorsRoot != "" && ic.Metadata.GenesisValidatorsRoot != out.Metadata.GenesisValidatorsRoot {
			return nil, fmt.Errorf("parties export different genesis validators roots (%s, %s): %w", out.Metadata.GenesisValidatorsRoot, ic.Metadata.GenesisValidatorsRoot, ErrProtocol)
		} else if out.Metadata.GenesisValidatorsRoot == "" {
			out.Metadata.GenesisValidatorsRoot = ic.Metadata.GenesisValidatorsRoot
		}
		for _, e := range ic.Data {
			cur := byKey[e.Pubkey]
			if cur == nil {
				cur = &interchangeEntry{Pubkey: e.Pubkey, SignedBlocks: []json.RawMessage{}, SignedAttestations: []json.RawMessage{}}
				byKey[e.Pubkey] = cur
				order = append(order, e.Pubkey)
			}
			cur.SignedBlocks = appendNew(cur.SignedBlocks, e.SignedBlocks)
			cur.SignedAttestations = appendNew(cur.SignedAttestations, e.SignedAttestations)
		}
	}
	if out.Metadata.InterchangeFormatVersion == "" {
		out.Metadata.InterchangeFormatVersion = "5"
	}
	out.Data = []interchangeEntry{}
	for _, pk := range order {
		out.Data = append(out.Data, *byKey[pk])
	}
	return json.Marshal(out)
}

func appendNew(dst, src []json.RawMessage) []json.RawMessage {
	for _, r := range src {
		if !slices.ContainsFunc(dst, func(d json.RawMessage) bool { return string(d) == string(r) }) {
			dst = append(dst, r)
		}
	}
	return dst
}
