package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mpcsigner/mpcsigner/enclave/approval"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// runKeyRefresh re-randomizes every share of a key: same parties, same threshold, same public
// key; the old shares are erased and no party signs with them again.
func runKeyRefresh(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key refresh", stderr)
	approvals := approvalFlags(fs)
	ref, err := parseKeyRef(fs, "key refresh", args)
	if err != nil {
		return err
	}
	a, err := approvals()
	if err != nil {
		return err
	}
	return reshareKey(ctx, cf, ref, api.ReshareRequest{Approvals: a}, stdout, stderr)
}

// runKeyReshare moves a key to another committee (parties and threshold) with the same public
// key: to replace a lost or retired party, add parties, or change t and n.
func runKeyReshare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key reshare", stderr)
	parties := fs.String("parties", "", "the new committee: party numbers, comma-separated (default: the current one)")
	threshold := fs.Int("threshold", 0, "signers the new committee needs (default: the current threshold)")
	approvals := approvalFlags(fs)
	ref, err := parseKeyRef(fs, "key reshare", args)
	if err != nil {
		return err
	}
	a, err := approvals()
	if err != nil {
		return err
	}
	ps, err := parsePartyList(*parties)
	if err != nil {
		return err
	}
	if len(ps) == 0 && *threshold == 0 {
		return &usageError{"key reshare needs --parties, --threshold or both (to refresh the same committee, use key refresh)"}
	}
	return reshareKey(ctx, cf, ref, api.ReshareRequest{Parties: ps, Threshold: *threshold, Approvals: a}, stdout, stderr)
}

func reshareKey(ctx context.Context, cf *clientFlags, ref string, req api.ReshareRequest, stdout, stderr io.Writer) error {
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	key, err := whileNotReady(ctx, cf, stderr, func() (*api.Key, error) { return c.Reshare(ctx, ref, req) })
	if err != nil {
		return err
	}
	return printKey(stdout, cf.json, key)
}

// parsePartyList reads "1,2,3" (empty: none).
func parsePartyList(s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
		if err != nil || n == 0 {
			return nil, &usageError{fmt.Sprintf("party %q is not a party number (1, 2, ...)", f)}
		}
		out = append(out, uint16(n))
	}
	return out, nil
}

// runKeyXPub prints a secp256k1 key's extended public key at a path, for watch-only wallets.
func runKeyXPub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key xpub", stderr)
	path := fs.String("path", "m", "non-hardened BIP32 path below the key")
	network := fs.String("network", "mainnet", "mainnet (xpub...) or testnet (tpub...)")
	ref, err := parseKeyRef(fs, "key xpub", args)
	if err != nil {
		return err
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	x, err := c.XPub(ctx, ref, *path, *network)
	if err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(x)
	}
	fmt.Fprintln(stdout, x.XPub)
	return nil
}

// approvalFlags adds --statement and --approvals to a lifecycle verb: the statement operators
// approved (mpcsigner operator statement) and their approvals (mpcsigner operator approve,
// one per line, or a JSON array). The enclaves check them; without a policy they need none.
func approvalFlags(fs *flag.FlagSet) func() (*api.Approvals, error) {
	statement := fs.String("statement", "", "approval statement file (mpcsigner operator statement), when the enclaves require operator approvals")
	approvals := fs.String("approvals", "", "file of the operators' approvals of the statement (mpcsigner operator approve output, one per line)")
	return func() (*api.Approvals, error) {
		if *statement == "" && *approvals == "" {
			return nil, nil
		}
		if *statement == "" || *approvals == "" {
			return nil, &usageError{"--statement and --approvals go together"}
		}
		st, err := os.ReadFile(*statement)
		if err != nil {
			return nil, err
		}
		if _, err := approval.DecodeStatement(st); err != nil {
			return nil, fmt.Errorf("%s: %w", *statement, err)
		}
		raw, err := os.ReadFile(*approvals)
		if err != nil {
			return nil, err
		}
		list, err := approval.DecodeApprovals(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", *approvals, err)
		}
		arr, err := json.Marshal(list)
		if err != nil {
			return nil, err
		}
		return &api.Approvals{Statement: st, Approvals: arr}, nil
	}
}
