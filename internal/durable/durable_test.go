package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFileCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.json")
	if err := WriteFile(path, []byte("one"), 0o600); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if err := WriteFile(path, []byte("two"), 0o600); err != nil {
		t.Fatalf("second write: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "two" {
		t.Fatalf("content = %q, want %q", got, "two")
	}
	assertPerm(t, path, 0o600)
	assertOnly(t, dir, "secret.json")
}

func TestWriteFileHonoursPerm(t *testing.T) {
	old := syscall.Umask(0o077) // a umask that would narrow 0644
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "public.txt")
	if err := WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertPerm(t, path, 0o644)
}

func TestWriteFileRefusals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "f")
	if err := WriteFile(path, []byte("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing directory: err = %v, want fs.ErrNotExist", err)
	}
	dir := t.TempDir()
	if err := WriteFile(dir+"/", []byte("x"), 0o600); err == nil || !strings.Contains(err.Error(), "names a directory") {
		t.Fatalf("a directory path: err = %v", err)
	}
	// A rename onto a directory fails after the temporary file was written: nothing is left.
	if err := os.Mkdir(filepath.Join(dir, "taken"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "taken"), []byte("x"), 0o600); err == nil {
		t.Fatal("replacing a directory succeeded")
	}
	assertOnly(t, dir, "taken")
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func assertPerm(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s has mode %v, want %v", path, got, want)
	}
}

// assertOnly checks that dir holds exactly the names given: no temporary file was left.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}
