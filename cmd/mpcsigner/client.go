package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// clientFlags are the flags every client verb shares. Without them the CLI finds a devnet
// through MPCSIGNER_API / MPCSIGNER_TOKEN_FILE, or <data>/devnet.json.
type clientFlags struct {
	api       string
	tokenFile string
	data      string
	caFile    string
	json      bool
	timeout   time.Duration
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.api, "api", os.Getenv("MPCSIGNER_API"), "host API URL (default: $MPCSIGNER_API, else the devnet's)")
	fs.StringVar(&c.tokenFile, "token-file", os.Getenv("MPCSIGNER_TOKEN_FILE"), "bearer token file (default: $MPCSIGNER_TOKEN_FILE, else the devnet's)")
	fs.StringVar(&c.data, "data", envOr("MPCSIGNER_DATA", "./data"), "devnet data directory to find the API in")
	fs.StringVar(&c.caFile, "ca-file", os.Getenv("MPCSIGNER_CA_FILE"), "CA certificate for an https API")
	fs.BoolVar(&c.json, "json", false, "print one JSON object")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up after this long")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// newClientFlags is the flag set of a client verb, with the flags every client verb shares.
func newClientFlags(name string, stderr io.Writer) (*flag.FlagSet, *clientFlags) {
	fs := newFlags(name, stderr)
	cf := &clientFlags{}
	cf.register(fs)
	return fs, cf
}

// connect returns the API client and a context bounded by --timeout; call cancel when done.
func (c *clientFlags) connect(ctx context.Context) (*api.Client, context.Context, context.CancelFunc, error) {
	client, err := c.client()
	if err != nil {
		return nil, ctx, func() {}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	return client, ctx, cancel, nil
}

func (c *clientFlags) client() (*api.Client, error) {
	url, tok := c.api, c.tokenFile
	if url == "" || tok == "" {
		info, err := readDevnetInfo(c.data)
		if err != nil {
			return nil, err
		}
		if url == "" {
			url = info.API
		}
		if tok == "" {
			tok = info.TokenFile
		}
	}
	return api.NewClient(api.ClientOptions{URL: url, TokenFile: tok, CAFile: c.caFile, Timeout: c.timeout})
}

func runKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{"key needs a verb: create, import, list, show, xpub, refresh, reshare or delete"}
	}
	switch args[0] {
	case "create":
		return runKeyCreate(ctx, args[1:], stdout, stderr)
	case "import":
		return runKeyImport(ctx, args[1:], stdout, stderr)
	case "list":
		return runKeyList(ctx, args[1:], stdout, stderr)
	case "show":
		return runKeyShow(ctx, args[1:], stdout, stderr)
	case "delete":
		return runKeyDelete(ctx, args[1:], stdout, stderr)
	case "refresh":
		return runKeyRefresh(ctx, args[1:], stdout, stderr)
	case "reshare":
		return runKeyReshare(ctx, args[1:], stdout, stderr)
	case "xpub":
		return runKeyXPub(ctx, args[1:], stdout, stderr)
	}
	return &usageError{fmt.Sprintf("unknown key verb %q: use create, import, list, show, xpub, refresh, reshare or delete", args[0])}
}

func runKeyCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key create", stderr)
	scheme := fs.String("scheme", "ecdsa-secp256k1", "signature scheme")
	label := fs.String("label", "", "a unique label for the key (required)")
	pkcs11ID := fs.String("pkcs11-id", "", "an optional unique application id, hex (1-64 bytes): the key's CKA_ID in the PKCS#11 module")
	parties := fs.String("parties", "", "the key's committee: party numbers, comma-separated (default: every party)")
	threshold := fs.Int("threshold", 0, "signers the key needs (default: the cluster's threshold)")
	if err := parse(fs, args); err != nil {
		return err
	}
	ps, err := parsePartyList(*parties)
	if err != nil {
		return err
	}
	if *label == "" {
		return &usageError{"--label is required"}
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	req := api.CreateKeyRequest{Scheme: *scheme, Label: *label, PKCS11ID: *pkcs11ID, Parties: ps, Threshold: *threshold}
	key, err := whileNotReady(ctx, cf, stderr, func() (*api.Key, error) { return c.CreateKey(ctx, req) })
	if err != nil {
		return err
	}
	return printKey(stdout, cf.json, key)
}

// whileNotReady calls f until the cluster stops answering not_ready (parties still making their
// pre-parameters), saying so each time, or until ctx ends.
func whileNotReady(ctx context.Context, cf *clientFlags, stderr io.Writer, f func() (*api.Key, error)) (*api.Key, error) {
	for {
		key, err := f()
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Code != "not_ready" {
			return key, err
		}
		fmt.Fprintf(stderr, "waiting: %s\n", apiErr.Message)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("gave up after %s: %w", cf.timeout, err)
		case <-time.After(5 * time.Second):
		}
	}
}

func runKeyList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key list", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	keys, err := c.ListKeys(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		if keys == nil {
			keys = []api.Key{}
		}
		return json.NewEncoder(stdout).Encode(api.KeyList{Keys: keys})
	}
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "no keys")
		return nil
	}
	fmt.Fprintf(stdout, "%-32s  %-20s  %-16s  %s\n", "ID", "LABEL", "SCHEME", "PUBLIC KEY")
	for _, k := range keys {
		fmt.Fprintf(stdout, "%-32s  %-20s  %-16s  %s\n", k.ID, k.Label, k.Scheme, k.PublicKey)
	}
	return nil
}

func runKeyShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key show", stderr)
	ref, err := parseKeyRef(fs, "key show", args)
	if err != nil {
		return err
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	key, err := c.GetKey(ctx, ref)
	if err != nil {
		return err
	}
	return printKey(stdout, cf.json, key)
}

// parseKeyRef parses a verb's flags and its one key id or label, which may come before or after
// the flags: "key show demo --json" reads naturally.
func parseKeyRef(fs *flag.FlagSet, verb string, args []string) (string, error) {
	var ref string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		ref, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return "", err
	}
	if ref == "" && fs.NArg() == 1 {
		ref = fs.Arg(0)
	} else if ref == "" || fs.NArg() > 0 {
		return "", &usageError{verb + " takes exactly one key id or label"}
	}
	return ref, nil
}

// runKeyDelete deletes a key across the cluster. It cannot be undone, so it needs --yes.
func runKeyDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key delete", stderr)
	yes := fs.Bool("yes", false, "really delete: every party's share is destroyed and the key can never sign again")
	ref, err := parseKeyRef(fs, "key delete", args)
	if err != nil {
		return err
	}
	if !*yes {
		return &usageError{fmt.Sprintf("deleting %s destroys every party's share of it: nothing can be signed with it again and it cannot be undone; pass --yes to delete it", ref)}
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	out, err := c.DeleteKey(ctx, ref)
	if err != nil {
		return err
	}
	if len(out.Remaining) > 0 {
		fmt.Fprintf(stderr, "warning: parties %v did not answer and may still hold a share (too few to sign); run this again when they are reachable to remove them\n", out.Remaining)
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "deleted key %s (no share left at parties %v)\n", out.KeyID, out.Deleted)
	return nil
}

func printKey(w io.Writer, asJSON bool, k *api.Key) error {
	if asJSON {
		return json.NewEncoder(w).Encode(k)
	}
	fmt.Fprintf(w, "id:         %s\nlabel:      %s\nscheme:     %s\npublic key: %s\nthreshold:  %d of %v\ncreated:    %s\nepoch:      %d\n",
		k.ID, k.Label, k.Scheme, k.PublicKey, k.Threshold, k.Parties, k.Created, k.Epoch)
	if k.PKCS11ID != "" {
		fmt.Fprintf(w, "pkcs11 id:  %s\n", k.PKCS11ID)
	}
	return nil
}

// signPayloadFlags builds a sign request from exactly one of --digest, --message and
// --message-file.
func signPayloadFlags(digest, message, messageFile string) (api.SignRequest, error) {
	given := 0
	for _, v := range []string{digest, message, messageFile} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return api.SignRequest{}, &usageError{"give exactly one of --digest, --message and --message-file"}
	}
	if messageFile == "" {
		return api.SignRequest{Digest: digest, Message: message}, nil
	}
	b, err := os.ReadFile(messageFile)
	if err != nil {
		return api.SignRequest{}, err
	}
	if len(b) == 0 || len(b) > api.MaxMessageBytes {
		return api.SignRequest{}, fmt.Errorf("--message-file: %d bytes; a message is 1 to %d bytes", len(b), api.MaxMessageBytes)
	}
	return api.SignRequest{Message: hex.EncodeToString(b)}, nil
}

func runSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("sign", stderr)
	key := fs.String("key", "", "key id or label (required)")
	digest := fs.String("digest", "", "32-byte digest to sign, as 64 hex digits")
	message := fs.String("message", "", "a whole message to sign, in hex (Ed25519 keys only)")
	messageFile := fs.String("message-file", "", "a file whose bytes are the message to sign (Ed25519 keys only)")
	parties := fs.String("parties", "", "comma-separated signers to use, e.g. 1,3 (default: the host picks)")
	path := fs.String("path", "", "sign with the key's non-hardened BIP32 child at this path, e.g. m/0/7 (secp256k1 keys)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" {
		return &usageError{"--key is required"}
	}
	req, err := signPayloadFlags(*digest, *message, *messageFile)
	if err != nil {
		return err
	}
	req.Path = *path
	if *parties != "" {
		for _, s := range strings.Split(*parties, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
			if err != nil {
				return &usageError{fmt.Sprintf("--parties: %q is not a party number", s)}
			}
			req.Parties = append(req.Parties, uint16(n))
		}
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	sig, err := c.Sign(ctx, *key, req)
	if err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(sig)
	}
	fmt.Fprintf(stdout, "signature:   %s\n", sig.Signature)
	if sig.RecoveryID != nil {
		fmt.Fprintf(stdout, "recovery id: %d\n", *sig.RecoveryID)
	}
	fmt.Fprintf(stdout, "signers:     %v\n", sig.Parties)
	return nil
}
