// Command mpcsigner is the one binary of the project: the enclave and host daemons, the devnet
// launcher that runs a whole cluster on one machine, and the client verbs that use the native
// API. main wires packages together; it holds no protocol or policy logic of its own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError marks a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"devnet", "run a local cluster (3 enclaves, 3 hosts) on ./data", runDevnet},
		{"enclave", "run one enclave (a party); 'enclave init' creates its identity", runEnclave},
		{"host", "run one host: enclave proxy, relay, native API, metrics", runHost},
		{"key", "manage keys: create, import, list, show, refresh, reshare, delete", runKey},
		{"eth2", "Ethereum validator operations: high-watermark", runEth2},
		{"backup", "encrypted key backups: export, verify, restore, new-recovery (a k-of-m split recovery identity)", runBackup},
		{"recover", "reconstruct a whole private key from a backup, offline, for disaster recovery only", runRecover},
		{"operator", "operator keys and quorum approvals of lifecycle operations: keygen, cert, statement, approve", runOperator},
		{"sign", "sign a 32-byte digest (or, with an Ed25519 key, a message) with a key", runSign},
		{"address", "a key's address on a chain", runAddress},
		{"chains", "list the chains the cluster signs transactions for", runChains},
		{"sign-tx", "sign an unsigned transaction of a chain with a key", runSignTx},
		{"psbt", "sign the inputs of a Bitcoin or Litecoin PSBT that belong to the cluster's keys", runPSBT},
		{"bitcoin-signer", "a Bitcoin Core external signer (bitcoind -signer=...)", runExternalSigner},
		{"bench", "measure sig/s, latency and CPU per signature through a front door", runBench},
		{"version", "print the version", func(_ context.Context, _ []string, out, _ io.Writer) error {
			fmt.Fprintln(out, "mpcsigner", version)
			return nil
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue *usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "mpcsigner %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "mpcsigner %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "mpcsigner: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mpcsigner <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'mpcsigner <command> -h' for a command's flags.")
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mpcsigner "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags, turning mistakes into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	return nil
}
