package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/btcsuite/btcd/btcutil"

	"github.com/mpcsigner/mpcsigner/chains/bitcoin"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
)

// bitcoin-signer is a Bitcoin Core external signer (bitcoind -signer=<cmd>, see Bitcoin Core's
// doc/external-signer.md): Core runs it with --fingerprint and --chain before a verb and reads
// one JSON value from its standard output. Each Bitcoin-capable key of the cluster (ECDSA
// secp256k1, spent as P2WPKH; BIP340, spent as P2TR key path) is one "signer" to Core, named by
// a fingerprint: the first 4 bytes of HASH160 of its public key (for a BIP340 key, of its
// internal key with an even-y prefix), as a BIP32 master fingerprint is. Keys are not BIP32
// trees, so every descriptor is a single key with an origin of just that fingerprint, and only
// account 0 exists.

// signerCoreChains maps Bitcoin Core's --chain names to our network names.
var signerCoreChains = map[string]string{
	"main": "mainnet", "test": "testnet", "testnet4": "testnet", "signet": "signet", "regtest": "regtest",
}

// maxSignerStdin caps what --stdin reads: a PSBT in base64 within the PSBT endpoint's limit.
const maxSignerStdin = 2 << 20

func runExternalSigner(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("bitcoin-signer", stderr)
	fingerprint := fs.String("fingerprint", "", "the signer (key) to use, as enumerate prints it")
	chain := fs.String("chain", "main", "Bitcoin Core's chain: main, test, testnet4, signet or regtest")
	coin := fs.String("coin", "bitcoin", "bitcoin, or litecoin for Litecoin addresses")
	onlyKey := fs.String("key", "", "the one key (id or label) enumerate shows: Bitcoin Core's wallet accepts exactly one signer")
	stdin := fs.Bool("stdin", false, "read the verb and its arguments from standard input (Bitcoin Core does so for signtx)")
	if err := parse(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if *stdin {
		words, err := readSignerStdin(os.Stdin)
		if err != nil {
			return writeSignerError(stdout, err)
		}
		rest = append(rest, words...)
	}
	if len(rest) == 0 {
		return &usageError{"bitcoin-signer needs a verb: enumerate, getdescriptors, displayaddress or signtx"}
	}
	network, ok := signerCoreChains[unquote(*chain)]
	if !ok {
		return writeSignerError(stdout, fmt.Errorf("unknown --chain %q: use main, test, testnet4, signet or regtest", *chain))
	}
	c, err := cf.client()
	if err != nil {
		return writeSignerError(stdout, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	s := &extSigner{c: c, coin: *coin, network: network, fingerprint: strings.ToLower(unquote(*fingerprint)), onlyKey: *onlyKey}
	out, err := s.run(ctx, rest[0], rest[1:])
	if err != nil {
		return writeSignerError(stdout, err)
	}
	return json.NewEncoder(stdout).Encode(out)
}

// writeSignerError prints {"error": ...}, which Bitcoin Core shows to its user, and returns
// the error so that the exit status is 1 too.
func writeSignerError(stdout io.Writer, err error) error {
	_ = json.NewEncoder(stdout).Encode(map[string]string{"error": err.Error()})
	return err
}

// readSignerStdin reads one command line, such as `signtx "cHNidP8B..."`, into words.
func readSignerStdin(r io.Reader) ([]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSignerStdin+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSignerStdin {
		return nil, fmt.Errorf("standard input is over %d bytes", maxSignerStdin)
	}
	var words []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(make([]byte, 0, 64<<10), maxSignerStdin)
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		words = append(words, unquote(sc.Text()))
	}
	return words, sc.Err()
}

// unquote drops one pair of surrounding double quotes, which Bitcoin Core puts around values.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// extSigner answers Bitcoin Core's verbs for one cluster.
type extSigner struct {
	c           *api.Client
	coin        string
	network     string
	fingerprint string
	onlyKey     string // id or label; "" means every key
}

// signerKey is one Bitcoin-capable key, with what descriptors and PSBTs name it by.
type signerKey struct {
	key         api.Key
	fingerprint string
	descKey     string // the key in descriptors: compressed ECDSA key, or x-only internal key
}

func (s *extSigner) run(ctx context.Context, verb string, args []string) (any, error) {
	switch verb {
	case "enumerate":
		return s.enumerate(ctx)
	case "getdescriptors":
		return s.getDescriptors(ctx, args)
	case "displayaddress":
		return s.displayAddress(ctx, args)
	case "signtx":
		return s.signTx(ctx, args)
	}
	return nil, fmt.Errorf("unknown verb %q: use enumerate, getdescriptors, displayaddress or signtx", verb)
}

// keys lists the cluster's Bitcoin-capable keys.
func (s *extSigner) keys(ctx context.Context) ([]signerKey, error) {
	all, err := s.c.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []signerKey
	for _, k := range all {
		if s.onlyKey != "" && s.onlyKey != k.ID && s.onlyKey != k.Label {
			continue
		}
		var descKey, fpKey string
		switch protocol.Scheme(k.Scheme) {
		case protocol.SchemeECDSASecp256k1:
			descKey, fpKey = k.PublicKey, k.PublicKey
		case protocol.SchemeBIP340:
			if k.InternalKey == "" {
				continue
			}
			descKey, fpKey = k.InternalKey, "02"+k.InternalKey
		default:
			continue
		}
		raw, err := hex.DecodeString(fpKey)
		if err != nil {
			continue
		}
		out = append(out, signerKey{key: k, fingerprint: hex.EncodeToString(btcutil.Hash160(raw)[:4]), descKey: descKey})
	}
	return out, nil
}

// selected is the key --fingerprint names.
func (s *extSigner) selected(ctx context.Context) (*signerKey, error) {
	if s.fingerprint == "" {
		return nil, errors.New("--fingerprint is required: 'enumerate' lists the signers")
	}
	keys, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if keys[i].fingerprint == s.fingerprint {
			return &keys[i], nil
		}
	}
	return nil, fmt.Errorf("no key of this cluster (or none that --key allows) has fingerprint %s", s.fingerprint)
}

func (s *extSigner) enumerate(ctx context.Context) (any, error) {
	keys, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	if s.onlyKey != "" && len(keys) == 0 {
		return nil, fmt.Errorf("--key %s names no ecdsa-secp256k1 or bip340 key of this cluster", s.onlyKey)
	}
	out := []map[string]string{}
	for _, k := range keys {
		out = append(out, map[string]string{"fingerprint": k.fingerprint, "model": "mpcsigner " + k.key.Scheme + " key " + k.key.Label})
	}
	return out, nil
}

// descriptor is the key's output descriptor, with an origin of just its fingerprint (Bitcoin
// Core copies it into the PSBTs it asks us to sign, which is how it knows they are ours).
func (k *signerKey) descriptor() (string, error) {
	key, err := hex.DecodeString(k.descKey)
	if err != nil {
		return "", err
	}
	fp, err := hex.DecodeString(k.fingerprint)
	if err != nil {
		return "", err
	}
	origin := &bitcoin.KeyOrigin{Fingerprint: [4]byte(fp)}
	if k.key.Scheme == string(protocol.SchemeBIP340) {
		return bitcoin.TRDescriptor(key, origin)
	}
	return bitcoin.WPKHDescriptor(key, origin)
}

func (s *extSigner) getDescriptors(ctx context.Context, args []string) (any, error) {
	if len(args) != 2 || args[0] != "--account" {
		return nil, errors.New("usage: getdescriptors --account N")
	}
	if unquote(args[1]) != "0" {
		return nil, fmt.Errorf("account %s does not exist: mpcsigner keys are single keys, not BIP32 trees, so only account 0 exists", args[1])
	}
	k, err := s.selected(ctx)
	if err != nil {
		return nil, err
	}
	desc, err := k.descriptor()
	if err != nil {
		return nil, err
	}
	// One key, so change goes back to the same address.
	return map[string][]string{"receive": {desc}, "internal": {desc}}, nil
}

// ownDescriptorPattern is the shape of the descriptors getdescriptors prints.
var ownDescriptorPattern = regexp.MustCompile(`^(wpkh|tr)\((?:\[([0-9a-f]{8})\])?([0-9a-f]{64}|[0-9a-f]{66})\)(#[a-z0-9]{8})?$`)

func (s *extSigner) displayAddress(ctx context.Context, args []string) (any, error) {
	if len(args) != 2 || args[0] != "--desc" {
		return nil, errors.New("usage: displayaddress --desc DESCRIPTOR")
	}
	desc := unquote(args[1])
	m := ownDescriptorPattern.FindStringSubmatch(desc)
	if m == nil {
		return nil, fmt.Errorf("descriptor %q is not one of this signer's: wpkh([fp]KEY) or tr([fp]KEY), with a checksum", desc)
	}
	if m[4] != "" {
		body := strings.TrimSuffix(desc, m[4])
		want, err := bitcoin.AddDescriptorChecksum(body)
		if err != nil || want != desc {
			return nil, fmt.Errorf("descriptor %q has a wrong checksum (want %s)", desc, want)
		}
	}
	keys, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		wantScript := "wpkh"
		if k.key.Scheme == string(protocol.SchemeBIP340) {
			wantScript = "tr"
		}
		if k.descKey != m[3] || wantScript != m[1] || (m[2] != "" && m[2] != k.fingerprint) {
			continue
		}
		a, err := s.c.Address(ctx, k.key.ID, s.coin, s.network)
		if err != nil {
			return nil, err
		}
		return map[string]string{"address": a.Address}, nil
	}
	return nil, fmt.Errorf("descriptor %q names no key of this cluster", desc)
}

func (s *extSigner) signTx(ctx context.Context, args []string) (any, error) {
	if len(args) != 1 {
		return nil, errors.New("usage: signtx PSBT (base64)")
	}
	k, err := s.selected(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := s.c.SignPSBT(ctx, api.PSBTRequest{PSBT: unquote(args[0]), Chain: s.coin, Network: s.network, Keys: []string{k.key.ID}})
	if err != nil {
		return nil, err
	}
	return map[string]string{"psbt": resp.PSBT}, nil
}
