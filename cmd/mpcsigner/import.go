package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/chains/eth2/keystore"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// runKeyImport imports an EIP-2335 keystore so that no host ever sees it: it fetches the dealer
// enclave's attestation document through the host, verifies it here against the attestation
// policy, and seals the keystore and its password to the X25519 key that document attests. The
// dealer opens it, checks the password, splits the key into shares for every party and erases it.
func runKeyImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("key import", stderr)
	keystorePath := fs.String("keystore", "", "EIP-2335 keystore file (required)")
	passwordFile := fs.String("password-file", "", "file holding the keystore's password (required; a trailing newline is ignored)")
	label := fs.String("label", "", "a unique label for the key (default: validator-<first 16 hex digits of the public key>)")
	policyPath := fs.String("attestation-config", "", "YAML attestation config (kind, policy, roots) the dealer's document must satisfy (default: the devnet's)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *keystorePath == "" || *passwordFile == "" {
		return &usageError{"--keystore and --password-file are required"}
	}
	raw, err := os.ReadFile(*keystorePath)
	if err != nil {
		return err
	}
	password, err := readPassword(*passwordFile)
	if err != nil {
		return err
	}
	defer clear(password)
	ks, err := keystore.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", *keystorePath, err)
	}
	// Checking the password here saves a round trip and an import that fails in the enclave.
	secret, err := ks.Decrypt(password)
	if err != nil {
		return fmt.Errorf("%s: %w", *keystorePath, err)
	}
	pubBytes, err := keystore.PublicKey(secret)
	clear(secret)
	if err != nil {
		return fmt.Errorf("%s: %w", *keystorePath, err)
	}
	pub := hex.EncodeToString(pubBytes)
	if *label == "" {
		*label = "validator-" + pub[:16]
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
	id, err := c.Identity(ctx)
	if err != nil {
		return err
	}
	doc, err := verifier.Verify(id.Document, time.Now())
	if err != nil {
		return fmt.Errorf("the dealer's (party %d) attestation does not satisfy the policy; not sending the key: %w", id.Party, err)
	}
	payload, err := json.Marshal(wire.ImportPayload{Keystore: raw, Password: password})
	if err != nil {
		return err
	}
	sealed, err := wire.SealImport(doc.PublicKey, wire.ImportInfo(protocol.PartyID(id.Party), pub, *label), payload)
	clear(payload)
	if err != nil {
		return fmt.Errorf("sealing the keystore to party %d: %w", id.Party, err)
	}
	key, err := c.ImportKey(ctx, api.ImportKeyRequest{
		Scheme: string(protocol.SchemeBLS12381), Label: *label, PublicKey: pub, Dealer: id.Party, Sealed: sealed,
	})
	if err != nil {
		return err
	}
	return printKey(stdout, cf.json, key)
}

// importVerifier builds the verifier of the dealer's document: from a config file, or the one a
// devnet writes for its clients.
func (c *clientFlags) importVerifier(path string) (attestation.Verifier, error) {
	if path == "" {
		info, err := readDevnetInfo(c.data)
		if err != nil || info.AttestationConfig == "" {
			return nil, &usageError{"--attestation-config is required outside a devnet: the dealer's attestation must be checked before the key is sent"}
		}
		path = info.AttestationConfig
	}
	cfg, err := attestation.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return verifierFor(*cfg)
}

// readPassword reads a password file; one trailing newline (an editor's) is not part of it.
func readPassword(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	clear(b)
	return []byte(s), nil
}
