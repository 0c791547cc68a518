package seal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// privateBits are the permission bits that let anyone but the owner at a
// file or directory.
const privateBits os.FileMode = 0o077

// WriteFileAtomic replaces path with data so that readers, and the file
// system after a crash, see either the old file or the complete new one:
// it writes a temporary file in the same directory (created exclusively,
// mode 0600), sets perm, fsyncs it, renames it over path and fsyncs the
// directory. On error the temporary file is removed and path is untouched.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("seal: write %q: path names a directory, not a file: give a file path", path)
	}
	if dir == "" {
		dir = "."
	}
	tmp, err := writeTemp(dir, base, data, perm)
	if err != nil {
		return fmt.Errorf("seal: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("seal: write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("seal: write %s: file replaced but not yet durable: %w", path, err)
	}
	return nil
}

// writeTemp writes data to a new, exclusively created temporary file in dir
// and fsyncs it. It returns the temporary file's path; on error it removes
// the file. The temporary name starts with a dot so that tools that list the
// directory skip it.
func writeTemp(dir, base string, data []byte, perm os.FileMode) (path string, err error) {
	// os.CreateTemp opens with O_EXCL and mode 0600, so nobody else can
	// have the file open and nobody else can read it while it is written.
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", err
	}
	path = f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(path)
		}
	}()
	// Chmod rather than relying on the create mode, which the umask can
	// narrow, so the file ends with exactly perm.
	if err := f.Chmod(perm.Perm()); err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, nil
}

// syncDir fsyncs a directory so that a rename, link or create inside it
// survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return d.Close()
}

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
	tmp, err := writeTemp(dir, base, data, 0o600)
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
	if err := syncDir(dir); err != nil {
		return false, fmt.Errorf("seal: %s saved but not yet durable: %w", path, err)
	}
	return true, nil
}
