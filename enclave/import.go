package enclave

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mpcsigner/mpcsigner/chains/eth2/keystore"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// newImport builds this party's side of a key import. The dealer opens the sealed keystore with
// its own static key, decrypts it, and hands the secret to the engine, which deals shares of it
// and keeps no copy; every party checks the dealt key against the announced public key.
func (e *Enclave) newImport(eng protocol.Engine, args *wire.PrepareArgs, nonce []byte) (protocol.Run, error) {
	if err := e.checkKeygen(args); err != nil {
		return nil, err
	}
	im := args.Import
	if !slices.Contains(args.Parties, im.Dealer) {
		return nil, fmt.Errorf("dealer %s is not one of the parties: %w", im.Dealer, errBadRequest)
	}
	pub, err := hex.DecodeString(im.PublicKey)
	if err != nil || len(pub) == 0 || im.PublicKey != strings.ToLower(im.PublicKey) {
		return nil, fmt.Errorf("import public key %q is not lower-case hex: %w", truncateString(im.PublicKey, 120), errBadRequest)
	}
	if _, err := e.keys.resolve(im.PublicKey); err == nil {
		return nil, fmt.Errorf("this enclave already holds a share of key %s: %w", im.PublicKey, errConflict)
	} else if !errors.Is(err, errNotFound) && !errors.Is(err, errBadRequest) {
		return nil, err
	}
	params := &protocol.ImportParams{Dealer: im.Dealer, PublicKey: pub}
	if im.Dealer == e.cfg.Identity.Party {
		secret, err := e.openImport(args)
		if err != nil {
			return nil, err
		}
		defer clear(secret) // the run keeps its own copy until it has dealt
		params.Secret = secret
	}
	return eng.Keygen(protocol.KeygenParams{
		Self: e.cfg.Identity.Party, Parties: args.Parties, Threshold: args.Threshold,
		SessionNonce: nonce, Import: params,
	})
}

// openImport opens the sealed keystore (sealed to this enclave's attested static key, for this
// dealer, key and label), decrypts it with its password, and returns the secret key, which must
// match the announced public key. Nothing of the payload outlives this call but the secret.
func (e *Enclave) openImport(args *wire.PrepareArgs) ([]byte, error) {
	im := args.Import
	raw, err := wire.OpenImport(e.cfg.Identity.Static.Private, wire.ImportInfo(im.Dealer, im.PublicKey, args.Label), im.Sealed)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	defer clear(raw)
	var payload wire.ImportPayload
	if err := json.Unmarshal(raw, &payload); err != nil {
		return nil, fmt.Errorf("the sealed import is not a keystore and password: %w", errBadRequest)
	}
	defer clear(payload.Password)
	ks, err := keystore.Parse(payload.Keystore)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	secret, err := ks.Decrypt(payload.Password)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	// Derived from the secret, not read from the keystore's optional pubkey field.
	pub, err := keystore.PublicKey(secret)
	if err != nil || hex.EncodeToString(pub) != im.PublicKey {
		clear(secret)
		return nil, fmt.Errorf("the keystore holds key %x, not the announced %s: %w", pub, im.PublicKey, errBadRequest)
	}
	return secret, nil
}
