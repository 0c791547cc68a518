//go:build !(linux || darwin)

package store

import "io"

// lockShared takes no lock on platforms without POSIX record locks exposed
// by package syscall; the read-write open that follows still locks.
func lockShared(string) (io.Closer, error) { return noLock{}, nil }

func isLockConflict(error) bool { return false }
