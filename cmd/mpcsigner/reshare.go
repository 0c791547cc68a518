package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// runKeyRefresh re-randomizes every share of a key: same parties, same threshold, same public
// key; the old shares are erased and no party signs with them again.
func runKeyRefresh(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key refresh", stderr)
	ref, err := parseKeyRef(fs, "key refresh", args)
	if err != nil {
		return err
	}
	return reshareKey(ctx, cf, ref, api.ReshareRequest{}, stdout, stderr)
}

// runKeyReshare moves a key to another committee (parties and threshold) with the same public
// key: to replace a lost or retired party, add parties, or change t and n.
func runKeyReshare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key reshare", stderr)
	parties := fs.String("parties", "", "the new committee: party numbers, comma-separated (default: the current one)")
	threshold := fs.Int("threshold", 0, "signers the new committee needs (default: the current threshold)")
	ref, err := parseKeyRef(fs, "key reshare", args)
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
	return reshareKey(ctx, cf, ref, api.ReshareRequest{Parties: ps, Threshold: *threshold}, stdout, stderr)
}

func reshareKey(ctx context.Context, cf *clientFlags, ref string, req api.ReshareRequest, stdout, stderr io.Writer) error {
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	for {
		key, err := c.Reshare(ctx, ref, req)
		var apiErr *api.Error
		if errors.As(err, &apiErr) && apiErr.Code == "not_ready" {
			// New parties of an ECDSA key are still making pre-parameters: wait, saying so.
			fmt.Fprintf(stderr, "waiting: %s\n", apiErr.Message)
			select {
			case <-ctx.Done():
				return fmt.Errorf("gave up after %s: %w", cf.timeout, err)
			case <-time.After(5 * time.Second):
			}
			continue
		}
		if err != nil {
			return err
		}
		return printKey(stdout, cf.json, key)
	}
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
