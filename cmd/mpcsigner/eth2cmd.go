package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// runEth2 groups the eth2 operator verbs.
func runEth2(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "high-watermark" {
		return &usageError{"eth2 needs a verb: high-watermark"}
	}
	return runHighWatermark(ctx, args[1:], stdout, stderr)
}

// runHighWatermark shows, sets or clears the high watermark every enclave enforces: no block at
// or beyond --slot and no attestation with a source or target at or beyond --epoch is signed.
func runHighWatermark(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newClientFlags("eth2 high-watermark", stderr)
	slot := fs.Uint64("slot", 0, "refuse blocks at or beyond this slot")
	epoch := fs.Uint64("epoch", 0, "refuse attestations whose source or target is at or beyond this epoch")
	clearIt := fs.Bool("clear", false, "remove the high watermark")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := *slot != 0 || *epoch != 0
	if set && (*slot == 0 || *epoch == 0) {
		return &usageError{"set both --slot and --epoch"}
	}
	if set && *clearIt {
		return &usageError{"--clear takes no --slot or --epoch"}
	}
	c, ctx, cancel, err := cf.connect(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	var hw *api.HighWatermark
	if set {
		hw = &api.HighWatermark{Slot: *slot, Epoch: *epoch}
	}
	out, err := c.HighWatermark(ctx, hw, *clearIt)
	if err != nil {
		return err
	}
	if cf.json {
		return json.NewEncoder(stdout).Encode(out)
	}
	if !out.Set {
		fmt.Fprintln(stdout, "no high watermark")
		return nil
	}
	fmt.Fprintf(stdout, "high watermark: slot %d, epoch %d\n", out.Slot, out.Epoch)
	return nil
}
