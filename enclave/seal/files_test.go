package seal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomicCreatesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.json")
	if err := WriteFileAtomic(path, []byte("one"), 0o600); err != nil {
		t.Fatalf("first write: %v", err)
	}
	if err := WriteFileAtomic(path, []byte("two"), 0o600); err != nil {
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
	assertNoTempFiles(t, dir)
	if err := CheckPrivateFile(path); err != nil {
		t.Fatalf("CheckPrivateFile on a file written with 0600: %v", err)
	}
}

func TestWriteFileAtomicHonoursPerm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "public.txt")
	if err := WriteFileAtomic(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertPerm(t, path, 0o644)
}

func TestWriteFileAtomicMissingDirLeavesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent", "f")
	if err := WriteFileAtomic(path, []byte("x"), 0o600); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestCheckPrivateFile(t *testing.T) {
	dir := t.TempDir()
	private := filepath.Join(dir, "private")
	open := filepath.Join(dir, "open")
	for path, mode := range map[string]os.FileMode{private: 0o600, open: 0o644} {
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := CheckPrivateFile(private); err != nil {
		t.Errorf("0600 file: %v", err)
	}
	if err := CheckPrivateFile(open); !errors.Is(err, ErrInsecure) {
		t.Errorf("0644 file: err = %v, want ErrInsecure", err)
	}
	if err := CheckPrivateFile(dir); !errors.Is(err, ErrInsecure) {
		t.Errorf("directory: err = %v, want ErrInsecure", err)
	}
	if err := CheckPrivateFile(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent file: err = %v, want fs.ErrNotExist", err)
	}
}
