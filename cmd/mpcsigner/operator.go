package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"github.com/mpcsigner/mpcsigner/enclave/seal"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

// Usage lines of the operator verbs.
const (
	usageOperatorKeygen    = "mpcsigner operator keygen --name NAME --out FILE"
	usageOperatorCert      = "mpcsigner operator cert --key FILE"
	usageOperatorStatement = "mpcsigner operator statement --operation OP --cluster ID --key-id ID [--param NAME=VALUE ...] [--valid 1h] [--out FILE]"
	usageOperatorApprove   = "mpcsigner operator approve --key FILE --statement FILE"
)

// runOperator manages operators' personal keys and their approvals of lifecycle operations
// (backup export and restore, share refresh, committee change), which every enclave checks
// against the operators in its configuration (package enclave/approval). It works offline: no
// verb talks to a cluster, so approvers can sign on a machine of their own.
func runOperator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verbs := "keygen, cert, statement or approve"
	if len(args) == 0 {
		return &usageError{"operator needs a verb: " + verbs}
	}
	switch args[0] {
	case "keygen":
		return runOperatorKeygen(ctx, args[1:], stdout, stderr)
	case "cert":
		return runOperatorCert(ctx, args[1:], stdout, stderr)
	case "statement":
		return runOperatorStatement(ctx, args[1:], stdout, stderr)
	case "approve":
		return runOperatorApprove(ctx, args[1:], stdout, stderr)
	}
	return &usageError{fmt.Sprintf("unknown operator verb %q: use %s", args[0], verbs)}
}

// operatorFlags is a verb's flags and its usage line, which -h and usage errors show.
type operatorFlags struct {
	*flag.FlagSet
	usageLine string
}

func newOperatorFlags(verb, usageLine string, stderr io.Writer) *operatorFlags {
	set := newFlags("operator "+verb, stderr)
	set.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n", usageLine)
		set.PrintDefaults()
	}
	return &operatorFlags{set, usageLine}
}

// parse parses the flags; the operator verbs take no positional arguments.
func (f *operatorFlags) parse(args []string) error {
	if err := parse(f.FlagSet, args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return f.usage(fmt.Sprintf("unexpected argument %q", f.Arg(0)))
	}
	return nil
}

// usage is a usage error that repeats the verb's usage line.
func (f *operatorFlags) usage(msg string) error {
	return &usageError{msg + "\nusage: " + f.usageLine}
}

// runOperatorKeygen makes an operator's Ed25519 key, writes it to a new file (mode 0600; an
// existing file is never replaced) and prints the operator's certificate on stdout.
func runOperatorKeygen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOperatorFlags("keygen", usageOperatorKeygen, stderr)
	name := f.String("name", "", "the operator's name: 1 to 32 of a-z, 0-9, '.', '_' and '-' (required)")
	out := f.String("out", "", "the file to write the private key to, mode 0600; it must not exist (required)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *name == "" || *out == "" {
		return f.usage("--name and --out are required")
	}
	if err := approval.CheckName(*name); err != nil {
		return f.usage("--name: " + err.Error())
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("%s already exists: not overwriting it (it may be someone's key); choose another --out", *out)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generating the key: %w", err)
	}
	defer clear(key)
	cert, err := approval.NewCertificate(key, *name, time.Now())
	if err != nil {
		return err
	}
	data, err := approval.MarshalKeyFile(key, cert)
	if err != nil {
		return err
	}
	defer clear(data)
	if err := createFileAtomically(*out, data, 0o600); err != nil {
		return err
	}
	warnSharedKeyDir(*out, stderr)
	fmt.Fprintln(stdout, cert)
	fmt.Fprintf(stderr, "wrote operator %s's private key to %s: keep it secret, whoever holds it approves as %s.\n"+
		"The line above is %s's certificate (key %s): give it to whoever configures the cluster's approvals.\n",
		cert.Name, *out, cert.Name, cert.Name, cert.Fingerprint())
	return nil
}

// runOperatorCert prints the certificate of an operator key file again.
func runOperatorCert(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOperatorFlags("cert", usageOperatorCert, stderr)
	keyPath := f.String("key", "", "the operator's key file (required)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *keyPath == "" {
		return f.usage("--key is required")
	}
	key, cert, err := readOperatorKey(*keyPath)
	if err != nil {
		return err
	}
	clear(key)
	fmt.Fprintln(stdout, cert)
	return nil
}

// runOperatorStatement writes the statement of one operation, with a fresh nonce, for the
// approvers to sign.
func runOperatorStatement(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOperatorFlags("statement", usageOperatorStatement, stderr)
	op := f.String("operation", "", "the operation: "+strings.Join(approval.Operations, ", ")+" (required)")
	cluster := f.String("cluster", "", "the cluster's id, as its roster's cluster_id (required)")
	keyID := f.String("key-id", "", "the key's id, 32 hex digits, as 'mpcsigner key show' prints it; not a label (required)")
	params := paramFlags{}
	f.Var(params, "param", "a parameter of the operation as NAME=VALUE, e.g. "+approval.ParamNewThreshold+"=3 (repeatable)")
	valid := f.Duration("valid", time.Hour, "how long the statement can be acted on (at most the cluster's max_validity)")
	out := f.String("out", "", "write the statement to this new file instead of stdout (never overwrites)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *op == "" || *cluster == "" || *keyID == "" {
		return f.usage("--operation, --cluster and --key-id are required")
	}
	if *valid <= 0 || *valid > approval.MaxValidityLimit {
		return f.usage(fmt.Sprintf("--valid %s: want more than 0 and at most %s", *valid, approval.MaxValidityLimit))
	}
	s := approval.Statement{
		Operation: *op, Cluster: *cluster, KeyID: *keyID, Params: params, Nonce: approval.NewNonce(),
		NotAfter: time.Now().Add(*valid).UTC().Truncate(time.Second),
	}
	if len(s.Params) == 0 {
		s.Params = nil
	}
	if err := s.Validate(); err != nil {
		return f.usage(err.Error())
	}
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	digest, _ := s.Digest()
	if *out == "" {
		_, err := stdout.Write(raw)
		return err
	}
	if err := createFileAtomically(*out, raw, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote statement %s to %s (valid until %s).\nEach approver runs: mpcsigner operator approve --key THEIR-KEY --statement %s\n",
		digest, *out, s.NotAfter.Format(time.RFC3339), *out)
	return nil
}

// runOperatorApprove signs a statement file with an operator key and prints the approval as one
// JSON line. It shows the approver what they approve on stderr first, and refuses an expired
// statement.
func runOperatorApprove(_ context.Context, args []string, stdout, stderr io.Writer) error {
	f := newOperatorFlags("approve", usageOperatorApprove, stderr)
	keyPath := f.String("key", "", "the operator's key file (required)")
	stmtPath := f.String("statement", "", "the statement file to approve (required)")
	if err := f.parse(args); err != nil {
		return err
	}
	if *keyPath == "" || *stmtPath == "" {
		return f.usage("--key and --statement are required")
	}
	s, err := readStatement(*stmtPath)
	if err != nil {
		return err
	}
	if now := time.Now(); now.After(s.NotAfter) {
		return fmt.Errorf("%s expired at %s: not approving it; ask for a new statement", *stmtPath, s.NotAfter.Format(time.RFC3339))
	}
	key, cert, err := readOperatorKey(*keyPath)
	if err != nil {
		return err
	}
	defer clear(key)
	a, err := approval.Sign(key, cert.Name, s)
	if err != nil {
		return err
	}
	line, err := json.Marshal(a)
	if err != nil {
		return err
	}
	describeStatement(stderr, cert, s, a.Statement)
	_, err = fmt.Fprintf(stdout, "%s\n", line)
	return err
}

// describeStatement tells the approver exactly what they are approving.
func describeStatement(w io.Writer, cert approval.Certificate, s approval.Statement, digest string) {
	fmt.Fprintf(w, "approved as %s (%s):\n", cert.Name, cert.Fingerprint())
	fmt.Fprintf(w, "  operation   %s\n  cluster     %s\n  key id      %s\n", s.Operation, s.Cluster, s.KeyID)
	for _, k := range slices.Sorted(maps.Keys(s.Params)) {
		fmt.Fprintf(w, "  param       %s = %s\n", k, s.Params[k])
	}
	fmt.Fprintf(w, "  nonce       %s\n  valid until %s (in %s)\n  statement   sha256 %s\n",
		s.Nonce, s.NotAfter.Format(time.RFC3339), time.Until(s.NotAfter).Round(time.Second), digest)
}

// readStatement reads and strictly decodes a statement file.
func readStatement(path string) (approval.Statement, error) {
	raw, err := readFileUpTo(path, approval.MaxStatementBytes)
	if err != nil {
		return approval.Statement{}, err
	}
	s, err := approval.DecodeStatement(raw)
	if err != nil {
		return approval.Statement{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// readOperatorKey reads an operator key file, refusing one that others can read. The caller
// wipes the key.
func readOperatorKey(path string) (ed25519.PrivateKey, approval.Certificate, error) {
	if err := seal.CheckPrivateFile(path); err != nil {
		return nil, approval.Certificate{}, err
	}
	raw, err := readFileUpTo(path, approval.MaxKeyFileBytes)
	if err != nil {
		return nil, approval.Certificate{}, err
	}
	defer clear(raw)
	key, cert, err := approval.ParseKeyFile(raw)
	if err != nil {
		return nil, approval.Certificate{}, fmt.Errorf("%s: %w", path, err)
	}
	return key, cert, nil
}

// readFileUpTo reads a file of at most limit bytes.
func readFileUpTo(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(raw) > limit {
		clear(raw)
		return nil, fmt.Errorf("%s is larger than %d bytes: not a file this command reads", path, limit)
	}
	return raw, nil
}

// createFileAtomically saves data at path so that it appears complete or not at all, and never replaces
// an existing file: it writes an exclusively created temporary file in the same directory,
// fsyncs it, links it to path (a link, unlike a rename, fails when path exists), removes the
// temporary name and fsyncs the directory.
func createFileAtomically(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("%q names a directory: give a file path", path)
	}
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*") // O_EXCL, mode 0600
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, data, perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: not overwriting it; choose another path", path)
		}
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("%s written but not yet durable: %w", path, err)
	}
	return nil
}

// writeSynced sets f's mode (exactly perm, whatever the umask), writes data, fsyncs and closes.
func writeSynced(f *os.File, data []byte, perm os.FileMode) error {
	err := f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// warnSharedKeyDir warns when others can write the key's directory: they could replace the file.
func warnSharedKeyDir(path string, stderr io.Writer) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
		fmt.Fprintf(stderr, "warning: others can write %s (mode %04o): they could replace the key file; keep it in a private directory\n", dir, fi.Mode().Perm())
	}
}

// paramFlags collects repeated --param NAME=VALUE flags.
type paramFlags map[string]string

func (p paramFlags) String() string {
	parts := make([]string, 0, len(p))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, " ")
}

func (p paramFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q: want NAME=VALUE", v)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("%s given twice", name)
	}
	p[name] = value
	return nil
}
