// Package durable writes files so that a crash leaves either the old content or the complete
// new one, and makes the directory entries of new and renamed files survive a crash. It is
// the one place the project's durable-before-visible rule meets the file system: the sealed
// key files, the host's service log, the simulator CA and the devnet's files all go through it.
//
// It must never leave a torn file at the destination, or a temporary file behind on error, and
// it must never report success before the data and the directory entry are synced.
package durable

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data so that readers, and the file system after a crash, see
// either the old file or the complete new one: it writes a temporary file in the same
// directory (WriteTemp), renames it over path and syncs the directory. The file ends with
// exactly perm, whatever the umask. On error the temporary file is removed and path is
// untouched.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if base == "" {
		return fmt.Errorf("write %q: the path names a directory, not a file: give a file path", path)
	}
	if dir == "" {
		dir = "."
	}
	tmp, err := WriteTemp(dir, base, data, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: file replaced but not yet durable: %w", path, err)
	}
	return nil
}

// WriteTemp writes data to a new, exclusively created temporary file in dir, sets its mode to
// exactly perm and fsyncs it. It returns the temporary file's path, for the caller to rename or
// link into place and then SyncDir; on error it removes the file. The name starts with a dot
// and base, so that tools listing the directory skip it and a person can tell whose it is.
func WriteTemp(dir, base string, data []byte, perm os.FileMode) (path string, err error) {
	// os.CreateTemp opens with O_EXCL and mode 0600, so nobody else can have the file open
	// and nobody else can read it while it is written.
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
	// Chmod rather than relying on the create mode, which the umask can narrow.
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

// SyncDir fsyncs a directory so that a rename, link or create inside it survives a crash.
func SyncDir(dir string) error {
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
