package seal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

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
