package seal

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestKeyFileCreatesPrivateFileInPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys", "enclave-1")
	path := filepath.Join(dir, "seal.key")
	k := KeyFile{Path: path}

	key, err := k.DataKey(context.Background())
	if err != nil {
		t.Fatalf("DataKey: %v", err)
	}
	if len(key) != KeySize {
		t.Fatalf("key is %d bytes, want %d", len(key), KeySize)
	}
	assertPerm(t, path, 0o600)
	assertPerm(t, dir, 0o700)
	assertNoTempFiles(t, dir)

	again, err := k.DataKey(context.Background())
	if err != nil {
		t.Fatalf("second DataKey: %v", err)
	}
	if !bytes.Equal(key, again) {
		t.Fatal("second DataKey returned a different key; the key must be stable")
	}
	// The caller owns the returned slice: clearing it must not affect the
	// next call.
	clear(again)
	third, err := k.DataKey(context.Background())
	if err != nil {
		t.Fatalf("third DataKey: %v", err)
	}
	if !bytes.Equal(key, third) {
		t.Fatal("clearing a returned key changed later keys")
	}
}

func TestKeyFileUsesExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seal.key")
	want := bytes.Repeat([]byte{7}, KeySize)
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := KeyFile{Path: path}.DataKey(context.Background())
	if err != nil {
		t.Fatalf("DataKey: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("DataKey did not return the file's contents")
	}
}

func TestKeyFileRefusesReadableByOthers(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		path := filepath.Join(t.TempDir(), "seal.key")
		secret := bytes.Repeat([]byte{0xAB}, KeySize)
		if err := os.WriteFile(path, secret, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := KeyFile{Path: path}.DataKey(context.Background())
		if !errors.Is(err, ErrInsecure) {
			t.Fatalf("mode %04o: err = %v, want ErrInsecure", mode, err)
		}
		if !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: error %q does not say how to fix it", mode, err)
		}
		assertNoKeyBytes(t, err, secret)
	}
}

func TestKeyFileRefusesWrongLength(t *testing.T) {
	for _, n := range []int{0, 31, 33, 64} {
		path := filepath.Join(t.TempDir(), "seal.key")
		secret := bytes.Repeat([]byte{0xCD}, n)
		if err := os.WriteFile(path, secret, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := KeyFile{Path: path}.DataKey(context.Background())
		if !errors.Is(err, ErrNotKeyFile) {
			t.Fatalf("%d bytes: err = %v, want ErrNotKeyFile", n, err)
		}
		assertNoKeyBytes(t, err, secret)
		// A wrong-length file must be left alone, not replaced.
		if got, _ := os.ReadFile(path); !bytes.Equal(got, secret) {
			t.Fatalf("%d bytes: the refused file was modified", n)
		}
	}
}

func TestKeyFileRefusesNonRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seal.key")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := KeyFile{Path: path}.DataKey(context.Background())
	if !errors.Is(err, ErrInsecure) {
		t.Fatalf("err = %v, want ErrInsecure for a directory at the key path", err)
	}
}

func TestKeyFileRefusesToCreateInOpenDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // defeat the umask
		t.Fatal(err)
	}
	path := filepath.Join(dir, "seal.key")
	_, err := KeyFile{Path: path}.DataKey(context.Background())
	if !errors.Is(err, ErrInsecure) {
		t.Fatalf("err = %v, want ErrInsecure", err)
	}
	if !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("error %q does not say how to fix it", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("key file was created in a 0755 directory (stat err %v)", err)
	}
	assertNoTempFiles(t, dir)
}

func TestKeyFileEmptyPath(t *testing.T) {
	if _, err := (KeyFile{}).DataKey(context.Background()); err == nil {
		t.Fatal("DataKey with an empty path succeeded")
	}
}

func TestKeyFileCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := filepath.Join(t.TempDir(), "seal.key")
	if _, err := (KeyFile{Path: path}).DataKey(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatal("a canceled DataKey created the key file")
	}
}

func TestKeyFileConcurrentCreatorsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k", "seal.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			keys[i], errs[i] = KeyFile{Path: path}.DataKey(context.Background())
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("creator %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("creator %d got a different key from creator 0: a key was replaced", i)
		}
	}
	assertNoTempFiles(t, filepath.Dir(path))
}

func assertPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// assertNoKeyBytes checks that an error message carries no key material, in
// raw or hex form.
func assertNoKeyBytes(t *testing.T, err error, secret []byte) {
	t.Helper()
	if len(secret) < 4 {
		return
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, strings.ToLower(string(secret[:4]))) || strings.Contains(msg, hex.EncodeToString(secret[:4])) {
		t.Errorf("error %q contains key bytes", err)
	}
}
