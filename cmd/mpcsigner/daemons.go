package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/mpcsigner/mpcsigner/enclave"
	"github.com/mpcsigner/mpcsigner/host"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/ecdsa"
	"github.com/mpcsigner/mpcsigner/protocol/frost/ed25519"
	"github.com/mpcsigner/mpcsigner/protocol/frost/taproot"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
)

func daemonLogger(stderr io.Writer, component string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("component", component)
}

// engines lists the threshold engines every enclave runs.
func engines() []protocol.Engine {
	return []protocol.Engine{
		ecdsa.Engine{Curve: ecdsa.CurveSecp256k1}, ecdsa.Engine{Curve: ecdsa.CurveP256}, bls.Engine{},
		ed25519.Engine{}, taproot.Engine{},
	}
}

// runEnclave runs one enclave, or with "init" creates its identity and prints its public key.
func runEnclave(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	initOnly := len(args) > 0 && args[0] == "init"
	if initOnly {
		args = args[1:]
	}
	fs := newFlags("enclave", stderr)
	configPath := fs.String("config", "", "enclave configuration file (YAML)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *configPath == "" {
		return &usageError{"--config is required"}
	}
	cfg, err := enclave.LoadFileConfig(*configPath)
	if err != nil {
		return err
	}
	// The attester comes first: the KMS sealer attests before the store can open.
	attester, err := attesterFor(cfg.Attestation, int(cfg.Party))
	if err != nil {
		return err
	}
	log := daemonLogger(stderr, "enclave")
	st, err := cfg.OpenStore(ctx, enclave.StoreDeps{Attester: attester, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	id, err := enclave.LoadIdentity(st, cfg.Party)
	if err != nil {
		return err
	}
	if initOnly {
		return json.NewEncoder(stdout).Encode(map[string]any{"party": id.Party, "noise_public_key": id.PublicKeyHex()})
	}
	roster, err := enclave.LoadRoster(cfg.Roster)
	if err != nil {
		return err
	}
	fixtures, err := cfg.LoadFixtures()
	if err != nil {
		return err
	}
	verifier, err := verifierFor(cfg.Attestation)
	if err != nil {
		return err
	}
	ecdsa.EnableConstantTime()
	policy, err := cfg.Approvals.Policy()
	if err != nil {
		return fmt.Errorf("approvals: %w", err)
	}
	e, err := enclave.New(enclave.Config{
		Approvals: policy,
		Identity:  id, Roster: roster, Store: st, Engines: engines(),
		Attester: attester, Verifier: verifier,
		PreParamsWant: cfg.PreParams.WantOrDefault(), PreParamsFixtures: fixtures,
		PrepareTimeout: cfg.Timeouts.Prepare, RunTimeout: cfg.Timeouts.Run,
		PresignMaxParked: cfg.Presignatures.MaxParked, PresignMaxAge: cfg.Presignatures.MaxAge,
		Logger:                log,
		CrashAfterBlockRecord: crashSlotFromEnv(log),
	})
	if err != nil {
		return err
	}
	addr, err := transport.ParseAddr(cfg.Listen)
	if err != nil {
		return err
	}
	tr, err := transport.For(addr, nil)
	if err != nil {
		return err
	}
	l, err := tr.Listen(addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	err = e.Serve(ctx, l)
	log.Info("enclave stopped")
	return err
}

// crashSlotFromEnv reads MPCSIGNER_TEST_CRASH_AT_SLOT, a test hook (see
// enclave.Config.CrashAfterBlockRecord); it says loudly when it is set.
func crashSlotFromEnv(log *slog.Logger) uint64 {
	v := os.Getenv("MPCSIGNER_TEST_CRASH_AT_SLOT")
	if v == "" {
		return 0
	}
	slot, err := strconv.ParseUint(v, 10, 64)
	if err != nil || slot == 0 {
		log.Error("ignoring MPCSIGNER_TEST_CRASH_AT_SLOT: not a positive slot", "value", v)
		return 0
	}
	log.Warn("TEST HOOK: this enclave kills itself after recording a block at this slot", "slot", slot)
	return slot
}

// runHost runs one host.
func runHost(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("host", stderr)
	configPath := fs.String("config", "", "host configuration file (YAML)")
	network := fs.String("network", "", "Ethereum network of the Web3Signer API: mainnet, sepolia, holesky, hoodi or a consensus config file (overrides web3signer.network)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *configPath == "" {
		return &usageError{"--config is required"}
	}
	cfg, err := host.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	if *network != "" {
		cfg.Web3Signer.Network = *network
	}
	verifier, err := verifierFor(cfg.Attestation)
	if err != nil {
		return err
	}
	log := daemonLogger(stderr, "host")
	h, err := host.New(cfg, host.Options{Logger: log, Verifier: verifier})
	if err != nil {
		return err
	}
	err = h.Run(ctx)
	log.Info("host stopped")
	if err != nil {
		return err
	}
	return nil
}

// exists reports whether a path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
