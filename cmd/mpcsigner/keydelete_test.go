package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestKeyDeleteNeedsYes: without --yes nothing is sent anywhere (no API is configured here, so
// any attempt to connect would fail differently), and the usage error says how to proceed.
func TestKeyDeleteNeedsYes(t *testing.T) {
	for _, args := range [][]string{{"key", "delete", "k"}, {"key", "delete", "--json", "k"}, {"key", "delete"}, {"key", "delete", "a", "b", "--yes"}} {
		var stdout, stderr strings.Builder
		code := run(context.Background(), append(args, "--data", t.TempDir()), &stdout, &stderr)
		if code != 2 || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q; want a usage error", args, code, stdout.String())
		}
		if len(args) == 3 && !strings.Contains(stderr.String(), "--yes") {
			t.Errorf("%v: %q does not mention --yes", args, stderr.String())
		}
	}
}

// TestKeyDeleteAgainstDevnet deletes keys with `mpcsigner key delete` on a devnet: it refuses
// without --yes, refuses validator keys, and with two of three enclaves down it deletes only the
// share it can reach and answers 503 naming the parties that still hold theirs; once they are
// back, deleting again removes those, no host lists the key, and signing with it is a 404.
func TestKeyDeleteAgainstDevnet(t *testing.T) {
	// A long restart delay leaves time to act while two enclaves are down.
	d := startDevnet(t, filepath.Join(t.TempDir(), "data"), "--restart-delay", "15s")
	var key, validator api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "ed25519", "--label", "to-delete")
	d.cliJSON(t, &validator, "key", "create", "--scheme", "bls12-381", "--label", "validator")
	signWith := func(ref string) (string, int) {
		_, stderr, code := d.cli(t, "sign", "--key", ref, "--digest", randomHex32())
		return stderr, code
	}
	if stderr, code := signWith("to-delete"); code != 0 {
		t.Fatalf("signing before the deletion: exit %d: %s", code, stderr)
	}

	if _, stderr, code := d.cli(t, "key", "delete", "to-delete"); code != 2 || !strings.Contains(stderr, "--yes") {
		t.Fatalf("key delete without --yes: exit %d, %q; want a usage error asking for --yes", code, stderr)
	}
	if _, stderr, code := d.cli(t, "key", "delete", "validator", "--yes"); code != 1 || !strings.Contains(stderr, "400") || !strings.Contains(stderr, "Keymanager") {
		t.Fatalf("deleting a validator key: exit %d, %q; want a 400 pointing to the Keymanager API", code, stderr)
	}
	var list api.KeyList
	d.cliJSON(t, &list, "key", "list")
	if len(list.Keys) != 2 {
		t.Fatalf("after the refusals the cluster lists %+v", list.Keys)
	}

	info := d.refresh()
	for _, p := range []int{1, 2} {
		if err := syscall.Kill(info.Parties[p].EnclavePID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "host 1 to see parties 2 and 3 unreachable", 10*time.Second, func() bool { return d.health(1).Reachable == 1 })
	_, stderr, code := d.cli(t, "key", "delete", "to-delete", "--yes")
	if code != 1 || !strings.Contains(stderr, "503") || !strings.Contains(stderr, "party 2, party 3 are still holding shares") {
		t.Fatalf("deleting with two enclaves down: exit %d, %q; want a 503 naming parties 2 and 3", code, stderr)
	}
	t.Logf("with two enclaves down: %s", strings.TrimSpace(stderr))

	waitFor(t, "the devnet to restart enclaves 2 and 3 and every host to accept them", 60*time.Second, d.allHealthy)
	// Host 1's enclave has no share left; the retry finds the key at the others by its label.
	var out api.KeyDeleted
	d.cliJSON(t, &out, "key", "delete", "to-delete", "--yes")
	if out.KeyID != key.ID || !slices.Equal(out.Deleted, []uint16{1, 2, 3}) || len(out.Remaining) != 0 {
		t.Fatalf("deleting again: %+v", out)
	}
	for p, party := range d.refresh().Parties {
		var l api.KeyList
		d.cliJSON(t, &l, "key", "list", "--api", party.API)
		if slices.ContainsFunc(l.Keys, func(k api.Key) bool { return k.ID == key.ID }) {
			t.Errorf("host %d still lists the deleted key", p+1)
		}
	}
	if stderr, code := signWith(key.ID); code != 1 || !strings.Contains(stderr, "404") {
		t.Fatalf("signing with the deleted key: exit %d, %q; want a 404", code, stderr)
	}
	if _, stderr, code := d.cli(t, "key", "delete", key.ID, "--yes"); code != 1 || !strings.Contains(stderr, "404") {
		t.Fatalf("deleting a deleted key: exit %d, %q; want a 404", code, stderr)
	}
}
