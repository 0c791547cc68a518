package enclave

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/attestantio/go-eth2-client/spec/phase0"

	"github.com/mpcsigner/mpcsigner/chains/eth2"
	"github.com/mpcsigner/mpcsigner/enclave/slashing"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// errPolicy: the enclave's own rules refuse the request (slashing protection).
var errPolicy = errors.New("refused by this enclave's rules")

// prefixSlashing is where the slashing protection database keeps its records.
const prefixSlashing = "slashing/"

// eth2Signer answers eth2 signing requests with partial signatures. Before any partial leaves,
// it parses the request itself, recomputes the signing root (so a host cannot pass off one
// message as another), and records the message in the slashing protection database, synced.
type eth2Signer struct {
	keys *keyring
	db   *slashing.DB
	// crashAtSlot: see Config.CrashAfterBlockRecord.
	crashAtSlot uint64

	mu     sync.Mutex
	shares map[slashing.Pubkey]*bls.KeyShare // decoded once, dropped when the share changes (forget)
}

func newEth2Signer(keys *keyring, db *slashing.DB) *eth2Signer {
	s := &eth2Signer{keys: keys, db: db, shares: map[slashing.Pubkey]*bls.KeyShare{}}
	keys.changed = append(keys.changed, s.forget)
	return s
}

// forget drops the decoded share of a key whose share was replaced (a reshare) or deleted.
func (s *eth2Signer) forget(info wire.KeyInfo) {
	pk, err := parsePubkey(info.PublicKey)
	if err != nil {
		return // not a validator key
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Not wiped here: a signing that fetched it a moment ago may still be using it, and a wiped
	// scalar would make a wrong partial. The stored share is gone; this copy goes with the GC.
	delete(s.shares, pk)
}

// sign checks args against the rules and returns this party's partial signature.
func (s *eth2Signer) sign(args *wire.Eth2SignArgs) (*wire.Eth2Partial, error) {
	pk, err := parsePubkey(args.PublicKey)
	if err != nil {
		return nil, err
	}
	network, err := networkOf(args)
	if err != nil {
		return nil, err
	}
	share, err := s.share(pk)
	if err != nil {
		return nil, err
	}
	req, err := eth2.ParseRequest(args.Request)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	root, err := req.SigningRoot(network)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	if err := s.record(pk, req, root); err != nil {
		return nil, err
	}
	return &wire.Eth2Partial{Party: share.Party(), Partial: hex.EncodeToString(share.SignPartial(root[:]))}, nil
}

// signBatch answers each item as sign would, on its own: the items run concurrently, so that
// their slashing records share synced writes (the database commits concurrent records
// together), and one item's refusal is that item's answer only.
func (s *eth2Signer) signBatch(args *wire.Eth2SignBatch) (*wire.Eth2PartialBatch, error) {
	if n := len(args.Items); n == 0 || n > wire.MaxEth2Batch {
		return nil, fmt.Errorf("a batch holds 1 to %d items, got %d: %w", wire.MaxEth2Batch, n, errBadRequest)
	}
	out := &wire.Eth2PartialBatch{Items: make([]wire.Eth2PartialResult, len(args.Items))}
	var wg sync.WaitGroup
	for i := range args.Items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			partial, err := s.sign(&args.Items[i])
			if err != nil {
				re := toRemoteError(err)
				out.Items[i].Error = &wire.ItemError{Code: re.Code, Message: re.Message}
				return
			}
			out.Items[i].Partial = partial
		}()
	}
	wg.Wait()
	return out, nil
}

// record applies slashing protection: it returns nil only once the message is durably recorded
// (blocks and attestations) or needs no record (every other type), and the key may sign.
func (s *eth2Signer) record(pk slashing.Pubkey, req *eth2.Request, root [32]byte) error {
	sl := req.Slashable()
	var err error
	switch {
	case sl.Kind != eth2.SlashNone && req.ForkInfo == nil:
		// ParseRequest requires fork_info for these types; this only guards the invariant.
		return fmt.Errorf("a %s request without fork_info: %w", req.Type, errBadRequest)
	case sl.Kind == eth2.SlashBlock:
		err = s.db.SignBlock(req.ForkInfo.GenesisValidatorsRoot, pk, sl.Slot, root)
		if err == nil && s.crashAtSlot != 0 && sl.Slot == s.crashAtSlot {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way; nothing more leaves this process
		}
	case sl.Kind == eth2.SlashAttestation:
		err = s.db.SignAttestation(req.ForkInfo.GenesisValidatorsRoot, pk, sl.SourceEpoch, sl.TargetEpoch, root)
	case !s.db.Enabled(pk):
		err = &slashing.Disabled{Pubkey: pk}
	}
	var disabled *slashing.Disabled
	switch {
	case errors.As(err, &disabled):
		// A deleted validator key (Keymanager DELETE), or one restored from a backup whose
		// slashing history is not here yet: to a validator client it is gone.
		return fmt.Errorf("validator key %x is disabled (deleted through the Keymanager API, or restored from a backup without its slashing protection history) and signs nothing until it, or its slashing protection interchange, is imported: %w", pk[:], errNotFound)
	case errors.Is(err, slashing.ErrSlashable):
		return fmt.Errorf("%v: %w", err, errPolicy)
	}
	return err
}

// share returns the decoded share of the BLS key pk.
func (s *eth2Signer) share(pk slashing.Pubkey) (*bls.KeyShare, error) {
	s.mu.Lock()
	ks := s.shares[pk]
	s.mu.Unlock()
	if ks != nil {
		return ks, nil
	}
	rec, err := s.keys.resolve(hex.EncodeToString(pk[:]))
	if err != nil {
		return nil, err
	}
	if rec.Info.Scheme != protocol.SchemeBLS12381 {
		return nil, fmt.Errorf("key %s is a %s key, not a BLS validator key: %w", rec.Info.ID, rec.Info.Scheme, errNotFound)
	}
	ks, err = bls.LoadKeyShare(rec.Share)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", rec.Info.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.shares[pk]; prev != nil {
		ks.Wipe()
		return prev, nil
	}
	s.shares[pk] = ks
	return ks, nil
}

func (s *eth2Signer) importInterchange(args *wire.Eth2Interchange) error {
	if err := s.db.Import(args.Interchange); err != nil {
		return fmt.Errorf("importing slashing protection data: %v: %w", err, errBadRequest)
	}
	return nil
}

func (s *eth2Signer) export(args *wire.Eth2Pubkeys) (*wire.Eth2Interchange, error) {
	pks, err := parsePubkeys(args)
	if err != nil {
		return nil, err
	}
	out, err := s.db.Export(pks)
	if err != nil {
		return nil, err
	}
	return &wire.Eth2Interchange{Interchange: json.RawMessage(out)}, nil
}

// disable makes the keys refuse to sign; it answers with those this party holds a share of.
func (s *eth2Signer) disable(args *wire.Eth2Pubkeys) (*wire.Eth2Pubkeys, error) {
	pks, err := parsePubkeys(args)
	if err != nil {
		return nil, err
	}
	out := &wire.Eth2Pubkeys{Pubkeys: []string{}}
	for _, pk := range pks {
		if err := s.db.Disable(pk); err != nil {
			return nil, err
		}
		if _, err := s.share(pk); err == nil {
			out.Pubkeys = append(out.Pubkeys, hex.EncodeToString(pk[:]))
		}
	}
	return out, nil
}

// enable lets the keys sign again.
func (s *eth2Signer) enable(args *wire.Eth2Pubkeys) error {
	pks, err := parsePubkeys(args)
	if err != nil {
		return err
	}
	for _, pk := range pks {
		if err := s.db.Enable(pk); err != nil {
			return err
		}
	}
	return nil
}

// setWatermark sets or clears the high watermark, durably.
func (s *eth2Signer) setWatermark(args *wire.Eth2SetWatermark) error {
	if args.Clear {
		return s.db.ClearHighWatermark()
	}
	return s.db.SetHighWatermark(args.Slot, args.Epoch)
}

func (s *eth2Signer) watermark() *wire.Eth2Watermark {
	hw, ok := s.db.HighWatermark()
	return &wire.Eth2Watermark{Set: ok, Slot: hw.Slot, Epoch: hw.Epoch}
}

// markDisabled flags a validator key whose signing was stopped.
func (s *eth2Signer) markDisabled(info *wire.KeyInfo) {
	if info.Scheme != protocol.SchemeBLS12381 {
		return
	}
	if pk, err := parsePubkey(info.PublicKey); err == nil {
		info.Disabled = !s.db.Enabled(pk)
	}
}

func parsePubkeys(args *wire.Eth2Pubkeys) ([]slashing.Pubkey, error) {
	out := make([]slashing.Pubkey, 0, len(args.Pubkeys))
	for _, s := range args.Pubkeys {
		pk, err := parsePubkey(s)
		if err != nil {
			return nil, err
		}
		out = append(out, pk)
	}
	return out, nil
}

func parsePubkey(s string) (slashing.Pubkey, error) {
	var pk slashing.Pubkey
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != len(pk) {
		return pk, fmt.Errorf("public key %q is not 48 bytes of hex: %w", truncateString(s, 120), errBadRequest)
	}
	copy(pk[:], b)
	return pk, nil
}

// networkOf builds the network from what the host supplies. Trusting the host here is safe:
// the genesis fork version only enters the domains of VALIDATOR_REGISTRATION, and the EIP-7044
// exit rule only that of VOLUNTARY_EXIT; neither is guarded by slashing protection, and the
// domain type keeps each type's roots apart from every other type's.
func networkOf(args *wire.Eth2SignArgs) (*eth2.Network, error) {
	b, err := hex.DecodeString(strings.TrimPrefix(args.GenesisForkVersion, "0x"))
	if err != nil || len(b) != 4 {
		return nil, fmt.Errorf("genesis fork version %q is not 4 bytes of hex: %w", truncateString(args.GenesisForkVersion, 40), errBadRequest)
	}
	n := &eth2.Network{Name: "host-supplied"}
	copy(n.GenesisForkVersion[:], b)
	if args.ExitDenebEpoch != nil {
		v, err := hex.DecodeString(strings.TrimPrefix(args.ExitCapellaVersion, "0x"))
		if err != nil || len(v) != 4 {
			return nil, fmt.Errorf("capella fork version %q is not 4 bytes of hex: %w", truncateString(args.ExitCapellaVersion, 40), errBadRequest)
		}
		n.VoluntaryExitFork = &eth2.VoluntaryExitFork{DenebForkEpoch: phase0.Epoch(*args.ExitDenebEpoch)}
		copy(n.VoluntaryExitFork.CapellaForkVersion[:], v)
	}
	return n, nil
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
