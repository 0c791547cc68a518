package enclave

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/mpcsigner/mpcsigner/backup"
	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// exportBackup seals this party's share of a key, with its chain code, to the recipients the
// operators approved. The share is encrypted here; the host only ever sees the age file.
func (e *Enclave) exportBackup(args *wire.BackupExportArgs) (*wire.BackupEntry, error) {
	if !keyIDPattern.MatchString(args.Key) {
		return nil, fmt.Errorf("key id %q must be 32 lowercase hex digits: %w", truncateString(args.Key, 80), errBadRequest)
	}
	rec, err := e.keys.resolve(args.Key)
	if err != nil {
		return nil, err
	}
	want := approval.Statement{
		Operation: approval.OpBackupExport, Cluster: e.cfg.Roster.ClusterID, KeyID: rec.Info.ID,
		Params: map[string]string{approval.ParamRecipients: strings.Join(args.Recipients, ",")},
	}
	if err := e.authorize(want, args.Approvals); err != nil {
		return nil, err
	}
	pub, err := hex.DecodeString(rec.Info.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("key %s: stored public key is damaged", rec.Info.ID)
	}
	meta := backup.EntryMeta{
		KeyID: rec.Info.ID, Scheme: rec.Info.Scheme, PublicKey: pub, Threshold: rec.Info.Threshold,
		Parties: rec.Info.Parties, Party: e.cfg.Identity.Party, ChainCode: rec.ChainCode,
	}
	entry, err := backup.SealShare(rec.Share, meta, args.Recipients)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	raw, err := json.Marshal(entry)
	if err != nil {
		return nil, err
	}
	e.log.Info("backup entry exported", "key_id", rec.Info.ID, "recipients", len(args.Recipients))
	return &wire.BackupEntry{Entry: raw}, nil
}

// restoreBackup saves this party's share of a key from a bundle. The recovery identity comes
// sealed to this enclave's attested key, so the host that carries it cannot open any entry;
// the entry's plaintext must describe the bundle's key and this party.
func (e *Enclave) restoreBackup(args *wire.BackupRestoreArgs) (*wire.KeyInfo, error) {
	b, err := backup.ParseBundle(args.Bundle)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	self := e.cfg.Identity.Party
	want := approval.Statement{
		Operation: approval.OpBackupRestore, Cluster: e.cfg.Roster.ClusterID, KeyID: b.KeyID,
		Params: map[string]string{"bundle": hex.EncodeToString(b.Digest)},
	}
	if err := e.authorize(want, args.Approvals); err != nil {
		return nil, err
	}
	if err := e.keys.checkNew(&wire.KeyInfo{ID: b.KeyID, Label: b.KeyLabel}); err != nil {
		return nil, err
	}
	raw, err := wire.OpenImport(e.cfg.Identity.Static.Private, wire.RestoreInfo(self, b.KeyID, hex.EncodeToString(b.Digest)), args.SealedIdentity)
	if err != nil {
		return nil, fmt.Errorf("recovery identity: %v: %w", err, errBadRequest)
	}
	id, err := backup.ParseIdentity(string(raw))
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("recovery identity: %v: %w", err, errBadRequest)
	}
	opened, err := b.Open(self, []age.Identity{id})
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, errBadRequest)
	}
	defer opened.Wipe()
	if opened.Meta.Party != self {
		return nil, fmt.Errorf("the bundle's entry for %s holds %s's share: %w", self, opened.Meta.Party, errBadRequest)
	}
	eng, ok := e.engines[b.Scheme]
	if !ok {
		return nil, fmt.Errorf("scheme %q is not supported here: %w", b.Scheme, errBadRequest)
	}
	if pk, err := eng.PublicKey(opened.Share); err != nil || hex.EncodeToString(pk) != hex.EncodeToString(b.PublicKey) {
		return nil, fmt.Errorf("the restored share is not of the bundle's public key: %w", errBadRequest)
	}
	rec := &keyRecord{
		Info: wire.KeyInfo{
			ID: b.KeyID, Label: b.KeyLabel, Scheme: b.Scheme, PublicKey: hex.EncodeToString(b.PublicKey),
			Threshold: b.Threshold, Parties: b.Parties, Created: time.Now().UTC().Format(time.RFC3339),
		},
		Share:     append([]byte(nil), opened.Share...),
		ChainCode: append([]byte(nil), opened.Meta.ChainCode...),
	}
	if len(rec.ChainCode) == 0 {
		rec.ChainCode = nil
	}
	if b.Scheme == protocol.SchemeBLS12381 {
		// A fresh cluster has none of the validator's slashing protection history: the key
		// stays disabled until that history is imported (EIP-3076 interchange, which
		// re-enables the validators it names).
		if _, err := e.eth2.disable(&wire.Eth2Pubkeys{Pubkeys: []string{rec.Info.PublicKey}}); err != nil {
			return nil, fmt.Errorf("disabling the restored validator key until its slashing history is imported: %w", err)
		}
	}
	if err := e.keys.save(rec); err != nil {
		return nil, fmt.Errorf("saving the restored share: %w", err)
	}
	e.log.Info("key restored from a backup bundle", "key_id", rec.Info.ID, "label", rec.Info.Label)
	info := rec.Info
	return &info, nil
}
