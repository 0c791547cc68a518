package host

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/mpcsigner/mpcsigner/chains/eth2/keystore"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Identity returns the attested identity of this host's own enclave, the dealer of imports.
func (h *Host) Identity(ctx context.Context) (*api.Identity, error) {
	return h.IdentityOf(ctx, h.cfg.Party)
}

// ImportKey runs an import session: the dealer opens the sealed key and deals shares of it to
// every party, which check the result against the public key.
func (h *Host) ImportKey(ctx context.Context, req api.ImportKeyRequest) (*api.Key, error) {
	scheme, err := protocol.ParseScheme(req.Scheme)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	if scheme != protocol.SchemeBLS12381 {
		return nil, fmt.Errorf("only %s keys can be imported: %w", protocol.SchemeBLS12381, ErrBadRequest)
	}
	pub := strings.TrimPrefix(strings.ToLower(req.PublicKey), "0x")
	if b, err := hex.DecodeString(pub); err != nil || len(b) != 48 {
		return nil, fmt.Errorf("public_key must be a 48-byte BLS public key in hex: %w", ErrBadRequest)
	}
	if req.Label == "" {
		return nil, fmt.Errorf("a label is required: %w", ErrBadRequest)
	}
	if len(req.Sealed) == 0 || len(req.Sealed) > wire.MaxSealedImport {
		return nil, fmt.Errorf("sealed must hold 1 to %d bytes: %w", wire.MaxSealedImport, ErrBadRequest)
	}
	dealer := protocol.PartyID(req.Dealer)
	if !dealer.Valid(len(h.cfg.Parties)) {
		return nil, fmt.Errorf("dealer %d is not a party of this cluster: %w", req.Dealer, ErrBadRequest)
	}
	if err := h.checkBLSThreshold(); err != nil {
		return nil, err
	}
	if _, err := h.findKey(ctx, pub); err == nil {
		return nil, fmt.Errorf("a key with public key %s already exists: %w", pub, ErrConflict)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	parties := h.allParties()
	if down := h.unreachable(parties); len(down) > 0 {
		return nil, fmt.Errorf("an import needs all %d parties, and %s unreachable: %w", len(parties), describeParties(down), ErrQuorum)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Keygen)
	defer cancel()
	args := wire.PrepareArgs{
		Session: newSessionID(), Kind: wire.KindImport, Scheme: scheme, Parties: parties,
		Threshold: h.cfg.Threshold, KeyID: newSessionID(), Label: req.Label,
		Import: &wire.ImportArgs{Dealer: dealer, PublicKey: pub, Sealed: req.Sealed},
	}
	key, err := h.runKeygenSession(ctx, args)
	if err != nil {
		return nil, err
	}
	if key.PublicKey != pub {
		return nil, fmt.Errorf("the parties produced public key %s, not the imported %s: %w", key.PublicKey, pub, ErrProtocol)
	}
	out := toAPIKey(*key)
	return &out, nil
}

// checkBLSThreshold refuses validator keys whose signer sets need not overlap: slashing
// protection holds because every two sets of t signers share a party that refuses the second,
// conflicting message, which needs 2t > n.
func (h *Host) checkBLSThreshold() error {
	return checkBLSThreshold(h.cfg.Threshold, len(h.cfg.Parties))
}

func checkBLSThreshold(t, n int) error {
	if 2*t <= n {
		return fmt.Errorf("a %d-of-%d committee cannot hold validator keys: slashing protection needs any two sets of signers to share a party (2t > n): %w", t, n, ErrBadRequest)
	}
	return nil
}

// keystoreKey opens a keystore handed to the Keymanager API and returns its public key (hex).
// The API hands this host the password anyway; decrypting here refuses a wrong one early and
// names the key even when the keystore's pubkey field is missing.
func keystoreKey(keystoreJSON, password []byte) (string, error) {
	ks, err := keystore.Parse(keystoreJSON)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	secret, err := ks.Decrypt(password)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	pub, err := keystore.PublicKey(secret)
	clear(secret)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	return hex.EncodeToString(pub), nil
}

// keyState says whether the cluster holds a key and whether it is disabled.
func (h *Host) keyState(ctx context.Context, pub string) (exists, disabled bool, err error) {
	info, err := h.findKey(ctx, pub)
	if errors.Is(err, ErrNotFound) {
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	return true, info.Disabled, nil
}

// importKeystore imports one keystore handed to the Keymanager API: the host holds it in the
// clear (the standard's doing), seals it to our own enclave, and imports it.
func (h *Host) importKeystore(ctx context.Context, keystoreJSON, password []byte, pub, label string) error {
	id, err := h.Identity(ctx)
	if err != nil {
		return err
	}
	doc, err := h.verifyIdentity(id.Document)
	if err != nil {
		return fmt.Errorf("our enclave's identity does not verify: %v: %w", err, ErrInternal)
	}
	if label == "" {
		label = "validator-" + pub[:16]
	}
	payload, err := json.Marshal(wire.ImportPayload{Keystore: keystoreJSON, Password: password})
	if err != nil {
		return err
	}
	sealed, err := wire.SealImport(doc.PublicKey, wire.ImportInfo(h.cfg.Party, pub, label), payload)
	clear(payload)
	if err != nil {
		return fmt.Errorf("sealing the keystore to our enclave: %v: %w", err, ErrInternal)
	}
	_, err = h.ImportKey(ctx, api.ImportKeyRequest{Scheme: string(protocol.SchemeBLS12381), Label: label, PublicKey: pub, Dealer: uint16(h.cfg.Party), Sealed: sealed})
	return err
}

// enableEth2 lets a disabled validator key sign again on every party.
func (h *Host) enableEth2(ctx context.Context, pub string) error {
	return h.forEach(ctx, h.allParties(), func(ctx context.Context, p protocol.PartyID) error {
		cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
		defer cancel()
		_, err := h.callParty(cctx, p, wire.MethodEth2Enable, wire.Eth2Pubkeys{Pubkeys: []string{pub}})
		return err
	})
}

func (h *Host) handleIdentity(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := h.identityParty(r)
	if err != nil {
		return nil, err
	}
	return h.IdentityOf(r.Context(), p)
}

func (h *Host) handleImportKey(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.ImportKeyRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.ImportKey(r.Context(), req)
}
