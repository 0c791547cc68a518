package harness

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// LogWriter sends a library's log lines to t.Log until the test ends. After that it refuses
// writes instead: t.Log after a test has completed panics, and a library's goroutines may
// still be logging.
type LogWriter struct {
	mu sync.Mutex
	t  testing.TB
}

// NewLogWriter returns a LogWriter for t, closed when t ends.
func NewLogWriter(t testing.TB) *LogWriter {
	w := &LogWriter{t: t}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t == nil {
		return 0, errors.New("test finished")
	}
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Close stops the writer; later writes fail.
func (w *LogWriter) Close() error {
	w.mu.Lock()
	w.t = nil
	w.mu.Unlock()
	return nil
}
