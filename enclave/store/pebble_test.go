package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/enclave/seal"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, seal.KeySize) }

// openTestPebble opens a store and closes it when the test ends (a test that
// closes it itself gets ErrClosed from the cleanup, which is ignored).
func openTestPebble(t testing.TB, dir string, key []byte) *Pebble {
	t.Helper()
	p, err := OpenPebble(dir, key)
	if err != nil {
		t.Fatalf("OpenPebble(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func closeStore(t *testing.T, s Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestPebbleCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "enclave", "store")
	openTestPebble(t, dir, testKey(1))
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Fatalf("store directory mode %04o, want 0700", perm)
	}
}

func TestPebbleReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	p := openTestPebble(t, dir, testKey(1))
	mustPut(t, p, "shares/1", "share one")
	b := NewBatch()
	b.Put("shares/2", []byte("share two"))
	b.Put("doomed", []byte("x"))
	b.Delete("doomed")
	if err := p.Apply(b); err != nil {
		t.Fatal(err)
	}
	closeStore(t, p)

	p = openTestPebble(t, dir, testKey(1))
	wantValue(t, p, "shares/1", "share one")
	wantValue(t, p, "shares/2", "share two")
	wantAbsent(t, p, "doomed")
	wantList(t, p, "", []string{"shares/1", "shares/2"})
}

func TestPebbleWrongKeyChangesNothing(t *testing.T) {
	dir := t.TempDir()
	p := openTestPebble(t, dir, testKey(1))
	mustPut(t, p, "shares/1", "share one")
	closeStore(t, p)

	before := snapshotDir(t, dir)
	_, err := OpenPebble(dir, testKey(2))
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("err = %v, want ErrWrongKey", err)
	}
	for _, want := range []string{dir, "different key", "key file", "nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if diff := cmp.Diff(before, snapshotDir(t, dir)); diff != "" {
		t.Fatalf("wrong-key open changed the store directory (-before +after):\n%s", diff)
	}

	// The failed open must not leave the store claimed or damaged.
	p = openTestPebble(t, dir, testKey(1))
	wantValue(t, p, "shares/1", "share one")
}

func TestPebbleNoPlaintextOnDisk(t *testing.T) {
	const marker = "PLAINTEXT-MARKER-7f3a9c"
	dir := t.TempDir()
	p := openTestPebble(t, dir, testKey(1))
	value := []byte(strings.Repeat(marker, 50))
	mustPut(t, p, "shares/marked", string(value))
	b := NewBatch()
	b.Put("shares/batched", value)
	if err := p.Apply(b); err != nil {
		t.Fatal(err)
	}
	// Flush so the values reach sstables as well as the WAL.
	if err := p.db.Flush(); err != nil {
		t.Fatal(err)
	}
	closeStore(t, p)

	var all []byte
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		all = append(all, data...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Record names are stored in the clear; finding one proves the scan
	// saw the data.
	if !bytes.Contains(all, []byte("shares/marked")) {
		t.Fatal("record name not found on disk: the scan did not see the data")
	}
	if bytes.Contains(all, []byte(marker)) {
		t.Fatal("plaintext value found in the store's files")
	}
}

func TestPebbleValueMovedBetweenRecordsDoesNotOpen(t *testing.T) {
	p := openTestPebble(t, t.TempDir(), testKey(1))
	mustPut(t, p, "shares/a", "share a")
	mustPut(t, p, "shares/b", "share b")

	raw, closer, err := p.db.Get(recordKey("shares/a"))
	if err != nil {
		t.Fatal(err)
	}
	sealedA := bytes.Clone(raw)
	closer.Close()
	if err := p.db.Set(recordKey("shares/b"), sealedA, pebble.Sync); err != nil {
		t.Fatal(err)
	}

	_, err = p.Get("shares/b")
	if !errors.Is(err, seal.ErrUnseal) {
		t.Fatalf("err = %v, want seal.ErrUnseal", err)
	}
	if !strings.Contains(err.Error(), "shares/b") {
		t.Errorf("error %q does not name the record", err)
	}
	wantValue(t, p, "shares/a", "share a")
}

func TestPebbleCorruptValueDoesNotOpen(t *testing.T) {
	p := openTestPebble(t, t.TempDir(), testKey(1))
	mustPut(t, p, "k", "value")
	raw, closer, err := p.db.Get(recordKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(raw)
	closer.Close()
	bad[len(bad)-1] ^= 1
	if err := p.db.Set(recordKey("k"), bad, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Get("k"); !errors.Is(err, seal.ErrUnseal) {
		t.Fatalf("err = %v, want seal.ErrUnseal", err)
	}
}

func TestPebbleAlreadyOpenInProcess(t *testing.T) {
	dir := t.TempDir()
	p := openTestPebble(t, dir, testKey(1))
	if _, err := OpenPebble(dir, testKey(1)); !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: err = %v, want ErrInUse", err)
	}
	// Through another spelling of the same path.
	if _, err := OpenPebble(filepath.Join(dir, "."), testKey(1)); !errors.Is(err, ErrInUse) {
		t.Fatalf("second open via %s/.: err = %v, want ErrInUse", dir, err)
	}
	mustPut(t, p, "still", "works")
	closeStore(t, p)
	p = openTestPebble(t, dir, testKey(1))
	wantValue(t, p, "still", "works")
}

// TestPebbleHelperHoldStore is not a test: run by
// TestPebbleOpenInAnotherProcess in a child process, it holds a store open
// until its stdin closes.
func TestPebbleHelperHoldStore(t *testing.T) {
	dir := os.Getenv("STORE_TEST_HOLD_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	p, err := OpenPebble(dir, testKey(1))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = p.Close()
}

func TestPebbleOpenInAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	closeStore(t, openTestPebble(t, dir, testKey(1)))

	cmd := exec.Command(os.Args[0], "-test.run=^TestPebbleHelperHoldStore$")
	cmd.Env = append(os.Environ(), "STORE_TEST_HOLD_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("helper did not open the store: %q, %v", line, err)
	}

	// No snapshot comparison here: the helper's pebble is still tidying
	// the directory in the background.
	for _, key := range [][]byte{testKey(1), testKey(2)} {
		if _, err := OpenPebble(dir, key); !errors.Is(err, ErrInUse) {
			t.Fatalf("open while another process holds the store: err = %v, want ErrInUse", err)
		}
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	openTestPebble(t, dir, testKey(1))
}

func TestPebbleRefusesForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("someone else's"), []byte("data"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)
	if _, err := OpenPebble(dir, testKey(1)); !errors.Is(err, ErrUnrecognized) {
		t.Fatalf("err = %v, want ErrUnrecognized", err)
	}
	if diff := cmp.Diff(before, snapshotDir(t, dir)); diff != "" {
		t.Fatalf("refused open changed the directory (-before +after):\n%s", diff)
	}
}

func TestPebbleCompletesInterruptedCreation(t *testing.T) {
	// An empty database without a seal check is what a crash between
	// creating the database and writing the check leaves behind.
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	p := openTestPebble(t, dir, testKey(1))
	mustPut(t, p, "k", "v")
	closeStore(t, p)
	if _, err := OpenPebble(dir, testKey(2)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("after completing creation, wrong key: err = %v, want ErrWrongKey", err)
	}
}

func TestOpenPebbleBadArguments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := OpenPebble(dir, make([]byte, 16)); !errors.Is(err, seal.ErrKeySize) {
		t.Fatalf("16-byte key: err = %v, want seal.ErrKeySize", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("OpenPebble created the directory despite a bad key")
	}
	if _, err := OpenPebble("", testKey(1)); err == nil {
		t.Fatal("OpenPebble with an empty directory succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPebble(file, testKey(1)); err == nil {
		t.Fatal("OpenPebble on a regular file succeeded")
	}
	// A failed open must release its claim on the directory.
	openTestPebble(t, dir, testKey(1))
}

func TestPebbleLoggerIsQuietAndFatalExits(t *testing.T) {
	var logged bytes.Buffer
	prevLogger, prevExit := slog.Default(), exitProcess
	t.Cleanup(func() { slog.SetDefault(prevLogger); exitProcess = prevExit })
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logged, nil)))
	var code = -1
	exitProcess = func(c int) { code = c }

	l := pebbleLogger{dir: "/x/store"}
	l.Infof("chatty %d", 1)
	if logged.Len() != 0 {
		t.Fatalf("Infof logged %q", logged.String())
	}
	l.Fatalf("MANIFEST sync failed: %v", "EIO")
	if code != 1 {
		t.Fatalf("Fatalf exit code = %d, want 1", code)
	}
	if out := logged.String(); !strings.HasPrefix(out, "{") || !strings.Contains(out, "MANIFEST sync failed: EIO") ||
		!strings.Contains(out, "/x/store") {
		t.Fatalf("Fatalf logged %q, want one JSON record with the detail and dir", out)
	}
}

func TestPrefixEnd(t *testing.T) {
	cases := map[string]string{"r/": "r0", "r/a": "r/b", "a\xff": "b", "\xff\xff": ""}
	for in, want := range cases {
		if got := string(prefixEnd([]byte(in))); got != want {
			t.Errorf("prefixEnd(%q) = %q, want %q", in, got, want)
		}
	}
}

// fileState is what snapshotDir records about each path.
type fileState struct {
	Mode    fs.FileMode
	Size    int64
	ModTime int64
	SHA256  string
}

// snapshotDir records the mode, size, modification time and content hash of
// dir and everything in it.
func snapshotDir(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	snap := map[string]fileState{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := fileState{Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			st.SHA256 = hex.EncodeToString(sum[:])
		}
		rel, _ := filepath.Rel(dir, path)
		snap[rel] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func BenchmarkPebblePut(b *testing.B) {
	p := openTestPebble(b, b.TempDir(), testKey(1))
	value := bytes.Repeat([]byte{0x42}, 200)
	i := 0
	for b.Loop() {
		if err := p.Put(fmt.Sprintf("bench/%09d", i), value); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
