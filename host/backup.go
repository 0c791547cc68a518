package host

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/mpcsigner/mpcsigner/backup"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// ExportBackup has every reachable holder of a key seal its share to the recipients inside its
// enclave, and assembles the sealed entries into a bundle. The host sees only age files; it
// needs at least the key's threshold of them, and says which parties are missing.
func (h *Host) ExportBackup(ctx context.Context, ref string, req api.BackupExportRequest) (*api.BackupBundle, error) {
	if len(req.Recipients) == 0 {
		return nil, fmt.Errorf("at least one recipient (an age X25519 or ssh-ed25519 public key) is required: %w", ErrBadRequest)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Keygen)
	defer cancel()
	key, err := h.freshestKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	entries, missing, err := h.collectEntries(ctx, key, req)
	if err != nil {
		return nil, err
	}
	pub, err := hex.DecodeString(key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key %s has an unreadable public key: %w", key.ID, ErrInternal)
	}
	b, err := backup.Assemble(backup.BundleMeta{
		KeyID: key.ID, KeyLabel: key.Label, Scheme: key.Scheme, PublicKey: pub,
		Threshold: key.Threshold, Parties: key.Parties, Recipients: req.Recipients,
	}, entries)
	if err != nil {
		return nil, fmt.Errorf("assembling the bundle: %v: %w", err, ErrProtocol)
	}
	raw, err := b.Marshal()
	if err != nil {
		return nil, err
	}
	out := &api.BackupBundle{Bundle: raw}
	for _, p := range missing {
		out.Missing = append(out.Missing, uint16(p))
	}
	h.log.Info("backup bundle assembled", "key_id", key.ID, "entries", len(entries), "missing", fmt.Sprint(missing))
	return out, nil
}

// collectEntries asks every holder for its sealed entry. A refusal by an enclave's rules (a
// missing approval) or a bad request ends the export; an unreachable party is only missing.
func (h *Host) collectEntries(ctx context.Context, key *wire.KeyInfo, req api.BackupExportRequest) ([]backup.Entry, []protocol.PartyID, error) {
	args := wire.BackupExportArgs{Key: key.ID, Recipients: req.Recipients, Approvals: wireApprovals(req.Approvals)}
	var mu sync.Mutex
	var entries []backup.Entry
	var missing []protocol.PartyID
	var fatal error
	var wg sync.WaitGroup
	for _, p := range key.Parties {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := h.entryOf(ctx, p, args)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				entries = append(entries, *e)
			case isCallerError(err):
				if fatal == nil || errorRank(err) > errorRank(fatal) {
					fatal = err
				}
			default:
				h.log.Warn("a holder did not export its backup entry", "key_id", key.ID, "party", p, "err", err)
				missing = append(missing, p)
			}
		}()
	}
	wg.Wait()
	if fatal != nil {
		return nil, nil, fatal
	}
	if len(entries) < key.Threshold {
		return nil, nil, fmt.Errorf("only %d of key %s's holders exported their share and a bundle needs its threshold of %d (%s missing): %w", len(entries), key.ID, key.Threshold, describeParties(missing), ErrQuorum)
	}
	return entries, missing, nil
}

func isCallerError(err error) bool {
	return errors.Is(err, ErrRefused) || errors.Is(err, ErrBadRequest) || errors.Is(err, ErrNotFound)
}

func (h *Host) entryOf(ctx context.Context, p protocol.PartyID, args wire.BackupExportArgs) (*backup.Entry, error) {
	cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	defer cancel()
	body, err := h.callParty(cctx, p, wire.MethodBackupExport, args)
	if err != nil {
		return nil, fromRemote(p, err)
	}
	var reply wire.BackupEntry
	if err := wire.DecodeJSON(body, &reply); err != nil {
		return nil, fmt.Errorf("%s returned an unreadable backup entry: %w", p, ErrInternal)
	}
	var e backup.Entry
	if err := json.Unmarshal(reply.Entry, &e); err != nil || e.Party != p {
		return nil, fmt.Errorf("%s returned an unreadable backup entry: %w", p, ErrInternal)
	}
	return &e, nil
}

// RestoreBackup has one party's enclave load its share from a bundle, with the recovery
// identity sealed to that enclave by the operator's tool.
func (h *Host) RestoreBackup(ctx context.Context, req api.BackupRestoreRequest) (*api.Key, error) {
	p := protocol.PartyID(req.Party)
	if !p.Valid(len(h.cfg.Parties)) {
		return nil, fmt.Errorf("party %d is not in this cluster of %d: %w", req.Party, len(h.cfg.Parties), ErrBadRequest)
	}
	if _, err := backup.ParseBundle(req.Bundle); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	defer cancel()
	body, err := h.callParty(cctx, p, wire.MethodBackupRestore, wire.BackupRestoreArgs{Bundle: req.Bundle, SealedIdentity: req.SealedIdentity, Approvals: wireApprovals(req.Approvals)})
	if err != nil {
		return nil, fromRemote(p, err)
	}
	var info wire.KeyInfo
	if err := wire.DecodeJSON(body, &info); err != nil {
		return nil, fmt.Errorf("%s returned an unreadable key: %w", p, ErrInternal)
	}
	out := toAPIKey(info)
	return &out, nil
}

// IdentityOf returns party p's attested identity, fetched through its host: a tool seals to the
// key it attests only after checking the document itself.
func (h *Host) IdentityOf(ctx context.Context, p protocol.PartyID) (*api.Identity, error) {
	if !p.Valid(len(h.cfg.Parties)) {
		return nil, fmt.Errorf("%s is not in this cluster of %d: %w", p, len(h.cfg.Parties), ErrBadRequest)
	}
	cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	defer cancel()
	body, err := h.callParty(cctx, p, wire.MethodIdentity, nil)
	if err != nil {
		return nil, fromRemote(p, err)
	}
	var id wire.IdentityReply
	if err := wire.DecodeJSON(body, &id); err != nil || id.Party != p {
		return nil, fmt.Errorf("%s returned an unreadable identity: %w", p, ErrInternal)
	}
	return &api.Identity{Party: uint16(id.Party), Kind: id.Kind, Document: id.Document}, nil
}

func (h *Host) handleBackupExport(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.BackupExportRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.ExportBackup(r.Context(), r.PathValue("key"), req)
}

func (h *Host) handleBackupRestore(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.BackupRestoreRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.RestoreBackup(r.Context(), req)
}

// identityParty reads ?party=N (default: this host's own party).
func (h *Host) identityParty(r *http.Request) (protocol.PartyID, error) {
	q := r.URL.Query().Get("party")
	if q == "" {
		return h.cfg.Party, nil
	}
	n, err := strconv.ParseUint(q, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("party %q is not a party number: %w", truncate(q, 20), ErrBadRequest)
	}
	return protocol.PartyID(n), nil
}
