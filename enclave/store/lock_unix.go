//go:build linux || darwin

package store

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// lockShared takes a shared (read) POSIX lock on pebble's LOCK file, opened
// read-only. It conflicts with the exclusive lock a read-write pebble holds,
// so the check does not read a store another process is writing.
func lockShared(name string) (io.Closer, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return noLock{}, nil
	}
	if err != nil {
		return nil, err
	}
	lk := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// isLockConflict reports whether err from pebble.Open means another process
// holds the store's lock.
func isLockConflict(err error) bool {
	// Only EAGAIN: POSIX also allows EACCES for a conflict, but Linux and
	// Darwin use EAGAIN, and EACCES would misreport permission problems.
	return errors.Is(err, syscall.EAGAIN)
}
