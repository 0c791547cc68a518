package slashing

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mpcsigner/mpcsigner/enclave/seal"
	"github.com/mpcsigner/mpcsigner/enclave/store"
)

const testPrefix = "slashing/"

var (
	gvrA = [32]byte{0xa}
	gvrB = [32]byte{0xb}
)

func testPK(n byte) Pubkey {
	var pk Pubkey
	pk[0], pk[47] = 0x80|n, n
	return pk
}

func testRoot(n byte) [32]byte {
	var r [32]byte
	r[31] = n
	return r
}

func pebbleKey() []byte { return bytes.Repeat([]byte{7}, seal.KeySize) }

// openPebble opens a store in dir; the test's cleanup closes it unless the
// test did.
func openPebble(t testing.TB, dir string) *store.Pebble {
	t.Helper()
	p, err := store.OpenPebble(dir, pebbleKey())
	if err != nil {
		t.Fatalf("OpenPebble(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("closing the store: %v", err)
		}
	})
	return p
}

func openDB(t testing.TB, st store.Store, opts Options) *DB {
	t.Helper()
	db, err := OpenOptions(st, testPrefix, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func newMemDB(t testing.TB, opts Options) *DB { return openDB(t, store.NewMem(), opts) }

// backends runs f over a fresh Mem and a fresh Pebble store.
func backends(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("mem", func(t *testing.T) { f(t, store.NewMem()) })
	t.Run("pebble", func(t *testing.T) { f(t, openPebble(t, t.TempDir())) })
}

// interchangeJSON builds a version 5 interchange for one validator. Blocks
// are "slot" or "slot:root"; attestations "source-target" or
// "source-target:root", root being one byte in decimal (see testRoot).
func interchangeJSON(gvr [32]byte, pk Pubkey, blocks, atts []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"metadata":{"interchange_format_version":"5","genesis_validators_root":"0x%x"},"data":[{"pubkey":"0x%x","signed_blocks":[`, gvr, pk)
	for i, s := range blocks {
		if i > 0 {
			b.WriteString(",")
		}
		slot, root, hasRoot := strings.Cut(s, ":")
		fmt.Fprintf(&b, `{"slot":"%s"%s}`, slot, rootField(root, hasRoot))
	}
	b.WriteString(`],"signed_attestations":[`)
	for i, s := range atts {
		if i > 0 {
			b.WriteString(",")
		}
		st, root, hasRoot := strings.Cut(s, ":")
		src, tgt, _ := strings.Cut(st, "-")
		fmt.Fprintf(&b, `{"source_epoch":"%s","target_epoch":"%s"%s}`, src, tgt, rootField(root, hasRoot))
	}
	b.WriteString(`]}]}`)
	return []byte(b.String())
}

func rootField(root string, has bool) string {
	if !has {
		return ""
	}
	var n byte
	fmt.Sscan(root, &n)
	r := testRoot(n)
	return fmt.Sprintf(`,"signing_root":"0x%x"`, r)
}

// wantRefusal fails unless err is a refusal of type T (and so wraps
// ErrSlashable).
func wantRefusal[T error](t testing.TB, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) || !errors.Is(err, ErrSlashable) {
		t.Fatalf("got %v, want a %T refusal wrapping ErrSlashable", err, target)
	}
}

func mustNil(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wouldBlock and wouldAtt apply the rules without recording anything.
func wouldBlock(db *DB, gvr [32]byte, pk Pubkey, slot uint64, root [32]byte) error {
	if err := db.checkGenesis(gvr); err != nil {
		return err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	v := db.validator(pk)
	v.mu.Lock()
	defer v.mu.Unlock()
	_, err := v.st.checkBlock(pk, db.hwm, slot, root)
	return err
}

func wouldAtt(db *DB, gvr [32]byte, pk Pubkey, src, tgt uint64, root [32]byte) error {
	if err := db.checkGenesis(gvr); err != nil {
		return err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	v := db.validator(pk)
	v.mu.Lock()
	defer v.mu.Unlock()
	_, err := v.st.checkAtt(pk, db.hwm, src, tgt, root)
	return err
}
