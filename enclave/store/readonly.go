package store

import (
	"errors"
	"io"
	"os"

	"github.com/cockroachdb/pebble/vfs"
)

// errReadOnlyFS is returned for any write attempted through readOnlyFS.
var errReadOnlyFS = errors.New("store: write attempted during the read-only seal check (this is a bug)")

// readOnlyFS is the file system for the read-only seal check. It refuses
// every operation that could change the directory, so a wrong key provably
// changes nothing on disk, and it takes a shared lock without truncating
// pebble's LOCK file (pebble's own Lock truncates it, which updates its
// modification time).
type readOnlyFS struct{ vfs.FS }

func (readOnlyFS) Create(string) (vfs.File, error) { return nil, errReadOnlyFS }
func (readOnlyFS) Link(string, string) error       { return errReadOnlyFS }
func (readOnlyFS) OpenReadWrite(string, ...vfs.OpenOption) (vfs.File, error) {
	return nil, errReadOnlyFS
}
func (readOnlyFS) Remove(string) error                            { return errReadOnlyFS }
func (readOnlyFS) RemoveAll(string) error                         { return errReadOnlyFS }
func (readOnlyFS) Rename(string, string) error                    { return errReadOnlyFS }
func (readOnlyFS) ReuseForWrite(string, string) (vfs.File, error) { return nil, errReadOnlyFS }
func (readOnlyFS) MkdirAll(string, os.FileMode) error             { return errReadOnlyFS }
func (readOnlyFS) Lock(name string) (io.Closer, error)            { return lockShared(name) }

// noLock is the lock held when there is no LOCK file to lock: no pebble
// process can hold the store then, and creating the file would change the
// directory.
type noLock struct{}

func (noLock) Close() error { return nil }
