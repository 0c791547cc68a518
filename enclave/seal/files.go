package seal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mpcsigner/mpcsigner/internal/durable"
)

// privateBits are the permission bits that let anyone but the owner at a
// file or directory.
const privateBits os.FileMode = 0o077

// CheckPrivateFile returns nil if path (following symlinks) is a regular
// file with no group or other permission bits. Otherwise it returns an error
// wrapping ErrInsecure, or the stat error (which wraps fs.ErrNotExist if the
// file is absent).
func CheckPrivateFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("seal: check %s: %w", path, err)
	}
	return checkPrivateInfo("file", path, fi)
}

// checkPrivateInfo applies CheckPrivateFile's rule to an already-obtained
// FileInfo; what names the file in the error ("key file", "file").
func checkPrivateInfo(what, path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("seal: %s %s is not a regular file (mode %s): point the path at a regular file: %w",
			what, path, fi.Mode(), ErrInsecure)
	}
	if perm := fi.Mode().Perm(); perm&privateBits != 0 {
		return fmt.Errorf("seal: %s %s is readable by others (mode %04o): chmod 600 it: %w",
			what, path, perm, ErrInsecure)
	}
	return nil
}

// ensurePrivateDir creates dir (and missing parents) with mode 0700, and
// refuses a directory that group or others can enter, since anyone who can
// list or write it could watch or swap the secret files inside.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seal: create key directory %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("seal: check key directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("seal: key directory %s is not a directory (mode %s): choose a directory for the key file: %w",
			dir, fi.Mode(), ErrInsecure)
	}
	if perm := fi.Mode().Perm(); perm&privateBits != 0 {
		return fmt.Errorf("seal: key directory %s is accessible by others (mode %04o): chmod 700 it or keep the key file in a private directory: %w",
			dir, perm, ErrInsecure)
	}
	return nil
}

// isNotExist reports whether err means a path is absent.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// publishFileOnce saves data at path unless a file is already there, and reports whether it
// saved this one. The file appears complete or not at all (temporary file, fsync, link, fsync
// of the directory), mode 0600, in a directory private to the user. Link rather than rename:
// link fails if path exists, so a file another process saved, and whose key it may already be
// using, is never replaced.
func publishFileOnce(path string, data []byte) (bool, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return false, fmt.Errorf("seal: %q names a directory: give a file path", path)
	}
	if dir == "" {
		dir = "."
	}
	if err := ensurePrivateDir(dir); err != nil {
		return false, err
	}
	tmp, err := durable.WriteTemp(dir, base, data, 0o600)
	if err != nil {
		return false, fmt.Errorf("seal: write %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("seal: install %s: %w", path, err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return false, fmt.Errorf("seal: %s saved but not yet durable: %w", path, err)
	}
	return true, nil
}
