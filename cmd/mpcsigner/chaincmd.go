package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// The chain verbs: a key's address on a chain, the chains the cluster knows, and signing an
// unsigned transaction of one of them.

func runAddress(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("address", stderr)
	key := fs.String("key", "", "key id or label (required)")
	chain := fs.String("chain", "", "chain name, e.g. bitcoin, ethereum, solana (required; 'mpcsigner chains' lists them)")
	network := fs.String("network", "", "the chain's network (default: its main network)")
	path := fs.String("path", "", "a non-hardened BIP32 path below the key, e.g. m/0/7 (secp256k1 keys)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *chain == "" {
		return &usageError{"--key and --chain are required"}
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	a, err := c.AddressAt(ctx, *key, *chain, *network, *path)
	if err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(a)
	}
	fmt.Fprintln(stdout, a.Address)
	return nil
}

func runChains(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("chains", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	list, err := c.Chains(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(api.ChainList{Chains: list})
	}
	for _, ch := range list {
		fmt.Fprintf(stdout, "%-10s keys: %-28s networks: %s\n", ch.Name, strings.Join(ch.Schemes, ", "), strings.Join(ch.Networks, ", "))
	}
	return nil
}

func runSignTx(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("sign-tx", stderr)
	key := fs.String("key", "", "key id or label (required)")
	chain := fs.String("chain", "", "chain name (required; 'mpcsigner chains' lists them)")
	network := fs.String("network", "", "the chain's network (default: its main network)")
	tx := fs.String("tx", "", "the unsigned transaction in the chain's encoding (docs/chains.md), or - to read it from standard input")
	path := fs.String("path", "", "sign with the key's non-hardened BIP32 child at this path, e.g. m/0/7 (secp256k1 keys)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *chain == "" || *tx == "" {
		return &usageError{"--key, --chain and --tx are required"}
	}
	text := *tx
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			return err
		}
		text = strings.TrimSpace(string(b))
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	signed, err := c.SignTransaction(ctx, *chain, api.ChainSignRequest{Key: *key, Transaction: text, Network: *network, Path: *path})
	if err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(signed)
	}
	fmt.Fprintf(stdout, "transaction: %s\n", signed.Transaction)
	if signed.TxID != "" {
		fmt.Fprintf(stdout, "txid:        %s\n", signed.TxID)
	}
	fmt.Fprintf(stdout, "signature:   %s\n", signed.Signature)
	return nil
}

func runPSBT(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("psbt", stderr)
	in := fs.String("psbt", "", "the PSBT in base64, or - to read it from standard input (required)")
	chain := fs.String("chain", "bitcoin", "bitcoin or litecoin")
	network := fs.String("network", "", "mainnet (default), testnet, signet or regtest")
	keys := fs.String("keys", "", "comma-separated keys (ids or labels) to sign with (default: every key)")
	finalize := fs.Bool("finalize", false, "finalize fully signed inputs, and print the transaction when all are")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return &usageError{"--psbt is required"}
	}
	text := *in
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, maxSignerStdin))
		if err != nil {
			return err
		}
		text = strings.TrimSpace(string(b))
	}
	req := api.PSBTRequest{PSBT: text, Chain: *chain, Network: *network, Finalize: *finalize}
	if *keys != "" {
		req.Keys = strings.Split(*keys, ",")
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	resp, err := c.SignPSBT(ctx, req)
	if err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(resp)
	}
	fmt.Fprintf(stdout, "psbt:          %s\nsigned inputs: %v\ncomplete:      %v\n", resp.PSBT, resp.SignedInputs, resp.Complete)
	if resp.Transaction != "" {
		fmt.Fprintf(stdout, "transaction:   %s\n", resp.Transaction)
	}
	return nil
}
