package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/mpcsigner/mpcsigner/backup"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verbs := "export, verify, restore or new-recovery"
	if len(args) == 0 {
		return &usageError{"backup needs a verb: " + verbs}
	}
	switch args[0] {
	case "export":
		return runBackupExport(ctx, args[1:], stdout, stderr)
	case "verify":
		return runBackupVerify(args[1:], stdout, stderr)
	case "restore":
		return runBackupRestore(ctx, args[1:], stdout, stderr)
	case "new-recovery":
		return runBackupNewRecovery(args[1:], stdout, stderr)
	}
	return &usageError{fmt.Sprintf("unknown backup verb %q: use %s", args[0], verbs)}
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// runBackupExport has every holder of a key seal its share to the recipients inside its
// enclave and writes the bundle the host assembled. Nothing in the bundle opens without one of
// the recipients' identities.
func runBackupExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("backup export", stderr)
	var recipients stringList
	fs.Var(&recipients, "recipient", "an age X25519 public key (age1...) or an ssh-ed25519 public key; repeat for several (each alone opens the bundle)")
	out := fs.String("out", "", "file to write the bundle to (required; never overwritten)")
	approvals := approvalFlags(fs)
	ref, err := parseKeyRef(fs, "backup export", args)
	if err != nil {
		return err
	}
	if len(recipients) == 0 || *out == "" {
		return &usageError{"backup export needs --recipient (at least one) and --out"}
	}
	if _, err := os.Stat(*out); err == nil {
		return &usageError{fmt.Sprintf("%s exists: a bundle is never overwritten", *out)}
	}
	a, err := approvals()
	if err != nil {
		return err
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	b, err := c.ExportBackup(ctx, ref, api.BackupExportRequest{Recipients: recipients, Approvals: a})
	if err != nil {
		return err
	}
	if _, err := backup.ParseBundle(b.Bundle); err != nil {
		return fmt.Errorf("the host returned a bundle that does not verify: %w", err)
	}
	if err := durable.WriteFile(*out, b.Bundle, 0o600); err != nil {
		return err
	}
	if len(b.Missing) > 0 {
		fmt.Fprintf(stderr, "warning: parties %v did not export their entries; the bundle still holds the threshold\n", b.Missing)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// runBackupVerify checks a bundle's structure and integrity without decrypting anything.
func runBackupVerify(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup verify", stderr)
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &usageError{"backup verify takes one bundle file"}
	}
	raw, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := backup.ParseBundle(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	var parties []protocol.PartyID
	for _, e := range b.Entries {
		parties = append(parties, e.Party)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"ok": true, "key_id": b.KeyID, "label": b.KeyLabel, "scheme": b.Scheme, "public_key": hex.EncodeToString(b.PublicKey),
			"threshold": b.Threshold, "parties": b.Parties, "entries": parties, "recipients": b.Recipients,
			"created": b.Created, "digest": hex.EncodeToString(b.Digest),
		})
	}
	fmt.Fprintf(stdout, "ok: key %s (%s, %s), %d of %v; entries of %v; %d recipients; created %s; digest %x\n",
		b.KeyID, b.KeyLabel, b.Scheme, b.Threshold, b.Parties, parties, len(b.Recipients), b.Created.Format(time.RFC3339), b.Digest)
	return nil
}

// runBackupNewRecovery makes a recovery identity and splits it k-of-m: the recipient goes to
// backup export, each piece to one holder. The whole identity is never written.
func runBackupNewRecovery(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup new-recovery", stderr)
	k := fs.Int("threshold", 2, "pieces needed to open a backup")
	m := fs.Int("holders", 3, "pieces to make, one per holder")
	dir := fs.String("out-dir", "", "directory for recipient.txt and piece-N.txt (required; created)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return &usageError{"--out-dir is required"}
	}
	id := backup.NewRecoveryIdentity()
	pieces, err := backup.SplitIdentity(id, *k, *m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	recipient := id.Recipient().String()
	if err := writeNew(filepath.Join(*dir, "recipient.txt"), []byte(recipient+"\n"), 0o644); err != nil {
		return err
	}
	for i, p := range pieces {
		if err := writeNew(filepath.Join(*dir, fmt.Sprintf("piece-%d.txt", i+1)), []byte(p+"\n"), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s\n", recipient)
	fmt.Fprintf(stderr, "wrote recipient.txt and %d pieces to %s: give each piece to one holder and delete it here; any %d of them open a backup made to %s\n", *m, *dir, *k, recipient)
	return nil
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, data []byte, perm os.FileMode) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: not overwriting it", path)
	}
	return durable.WriteFile(path, data, perm)
}

// identityFlags adds --piece (repeatable) and --identity: how a restore or a recovery gets the
// recovery identity. It returns the identity's text form, which seals to an enclave as it is.
func identityFlags(fs *flag.FlagSet) func() (string, error) {
	var pieces stringList
	fs.Var(&pieces, "piece", "a file holding one recovery piece (backup new-recovery); repeat with enough holders' pieces")
	identity := fs.String("identity", "", "a file holding an age identity (AGE-SECRET-KEY-1...) or an unencrypted OpenSSH ed25519 private key")
	return func() (string, error) {
		switch {
		case len(pieces) > 0 && *identity != "":
			return "", &usageError{"give --piece or --identity, not both"}
		case *identity != "":
			raw, err := os.ReadFile(*identity)
			if err != nil {
				return "", err
			}
			return strings.TrimSpace(string(raw)), nil
		case len(pieces) > 0:
			var texts []string
			for _, f := range pieces {
				raw, err := os.ReadFile(f)
				if err != nil {
					return "", err
				}
				texts = append(texts, strings.TrimSpace(string(raw)))
			}
			id, err := backup.CombinePieces(texts)
			if err != nil {
				return "", err
			}
			return id.String(), nil
		}
		return "", &usageError{"--piece (repeated) or --identity is required"}
	}
}

// bundleAndIdentity reads and checks a bundle file and gets the recovery identity the flags
// name: the bundle's bytes, the bundle, and the identity as text and parsed.
func bundleAndIdentity(path string, identity func() (string, error)) ([]byte, *backup.Bundle, string, age.Identity, error) {
	if path == "" {
		return nil, nil, "", nil, &usageError{"--bundle is required"}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, "", nil, err
	}
	b, err := backup.ParseBundle(raw)
	if err != nil {
		return nil, nil, "", nil, fmt.Errorf("%s: %w", path, err)
	}
	text, err := identity()
	if err != nil {
		return nil, nil, "", nil, err
	}
	id, err := backup.ParseIdentity(text)
	if err != nil {
		return nil, nil, "", nil, err
	}
	return raw, b, text, id, nil
}

// runBackupRestore loads a bundle into a (fresh) cluster: for every entry it fetches that
// party's attested identity through the host, checks it here against the attestation policy,
// and seals the recovery identity to the key it attests. Each enclave decrypts only its own
// entry; the hosts carry sealed bytes and age files.
func runBackupRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("backup restore", stderr)
	bundlePath := fs.String("bundle", "", "the bundle file (required)")
	policyPath := fs.String("attestation-config", "", "YAML attestation config the enclaves' documents must satisfy (default: the devnet's)")
	identity := identityFlags(fs)
	approvals := approvalFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	raw, b, idText, id, err := bundleAndIdentity(*bundlePath, identity)
	if err != nil {
		return err
	}
	// Opening one entry here first turns a wrong identity into a clear error before anything
	// is sent; the share it shows is wiped at once.
	probe, err := b.Open(b.Entries[0].Party, []age.Identity{id})
	if err != nil {
		return err
	}
	probe.Wipe()
	a, err := approvals()
	if err != nil {
		return err
	}
	verifier, err := cf.importVerifier(*policyPath)
	if err != nil {
		return err
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	var key *api.Key
	for _, e := range b.Entries {
		doc, err := c.IdentityOf(ctx, uint16(e.Party))
		if err != nil {
			return fmt.Errorf("party %d's identity: %w", e.Party, err)
		}
		att, err := verifier.Verify(doc.Document, time.Now())
		if err != nil {
			return fmt.Errorf("party %d's attestation does not satisfy the policy; not sending it the identity: %w", e.Party, err)
		}
		sealed, err := wire.SealImport(att.PublicKey, wire.RestoreInfo(e.Party, b.KeyID, hex.EncodeToString(b.Digest)), []byte(idText))
		if err != nil {
			return fmt.Errorf("sealing the identity to party %d: %w", e.Party, err)
		}
		if key, err = c.RestoreBackup(ctx, api.BackupRestoreRequest{Bundle: raw, Party: uint16(e.Party), SealedIdentity: sealed, Approvals: a}); err != nil {
			return fmt.Errorf("restoring party %d: %w", e.Party, err)
		}
		fmt.Fprintf(stderr, "party %d restored its share of %s\n", e.Party, b.KeyID)
	}
	return printKey(stdout, cf.json, key)
}

// runRecover reconstructs a whole private key from a bundle, offline, for disaster recovery:
// the one thing this product otherwise never does. It needs an explicit flag and says so.
func runRecover(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("recover", stderr)
	sure := fs.Bool("i-understand-this-reconstructs-the-key", false, "required: the whole private key will exist on this machine")
	bundlePath := fs.String("bundle", "", "the bundle file (required)")
	out := fs.String("out", "", "write the secret key (hex) to this new file, mode 0600, instead of standard output")
	identity := identityFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*sure {
		return &usageError{"recover reconstructs the whole private key on this machine, which the cluster exists to prevent; run it offline, only for disaster recovery, and pass --i-understand-this-reconstructs-the-key"}
	}
	_, b, _, id, err := bundleAndIdentity(*bundlePath, identity)
	if err != nil {
		return err
	}
	var shares [][]byte
	defer func() {
		for _, s := range shares {
			clear(s)
		}
	}()
	for _, e := range b.Entries[:b.Threshold] {
		o, err := b.Open(e.Party, []age.Identity{id})
		if err != nil {
			return err
		}
		shares = append(shares, append([]byte(nil), o.Share...))
		o.Wipe()
	}
	secret, err := backup.Reconstruct(b.Scheme, shares, b.PublicKey)
	if err != nil {
		return err
	}
	defer clear(secret)
	fmt.Fprintf(stderr, "WARNING: THE WHOLE PRIVATE KEY OF %s (%s, %s, public key %x) NOW EXISTS ON THIS MACHINE.\n"+
		"It was reconstructed from %d shares. Anyone who reads it can sign as the key: move the funds or\n"+
		"validator duties it guards, then destroy every copy. This is what the threshold cluster is for preventing.\n",
		b.KeyID, b.KeyLabel, b.Scheme, b.PublicKey, len(shares))
	if b.Scheme == protocol.SchemeEd25519 {
		fmt.Fprintln(stderr, "note: an Ed25519 key made by FROST has a secret scalar (little-endian hex below), not an RFC 8032 seed; it signs only with tools that take a scalar")
	}
	text := hex.EncodeToString(secret) + "\n"
	if *out != "" {
		return writeNew(*out, []byte(text), 0o600)
	}
	_, err = io.WriteString(stdout, text)
	return err
}
