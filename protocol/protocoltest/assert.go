package protocoltest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/protocol"
)

// IDs turns party numbers into PartyIDs.
func IDs(ps ...int) []protocol.PartyID {
	out := make([]protocol.PartyID, len(ps))
	for i, p := range ps {
		out[i] = protocol.PartyID(p)
	}
	return out
}

// DigestOf is a readable fixed digest: s padded with spaces to 32 bytes.
func DigestOf(s string) [32]byte {
	var d [32]byte
	copy(d[:], fmt.Sprintf("%-32s", s))
	return d
}

// ProtoErr fails the test unless err is or wraps a *protocol.Error, and returns it.
func ProtoErr(t testing.TB, err error) *protocol.Error {
	t.Helper()
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *protocol.Error", err, err)
	}
	return pe
}

// AwaitDone waits for r's result, draining Outgoing meanwhile.
func AwaitDone(t testing.TB, r protocol.Run) protocol.Result {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		select {
		case <-r.Outgoing():
		case res := <-r.Done():
			return res
		case <-deadline:
			t.Fatalf("%v: no result within %v", r, Timeout)
		}
	}
}

// WantCulprits checks that res failed naming exactly culprits, and returns its error.
func WantCulprits(t testing.TB, res protocol.Result, culprits ...protocol.PartyID) *protocol.Error {
	t.Helper()
	if res.Err == nil {
		t.Fatalf("run succeeded, want failure blaming %v", culprits)
	}
	pe := ProtoErr(t, res.Err)
	if !slices.Equal(pe.Culprits, culprits) {
		t.Fatalf("culprits %v, want %v (error: %v)", pe.Culprits, culprits, pe)
	}
	return pe
}

// CheckAbortedOnce checks that an aborted run yields exactly one result on Done: a
// *protocol.Error of task.
func CheckAbortedOnce(t testing.TB, r protocol.Run, task string) protocol.Result {
	t.Helper()
	var res protocol.Result
	select {
	case res = <-r.Done():
	case <-time.After(Timeout):
		t.Fatal("Done did not yield after Abort")
	}
	if res.Err == nil || ProtoErr(t, res.Err).Task != task {
		t.Fatalf("result %+v", res)
	}
	select {
	case res2 := <-r.Done():
		t.Fatalf("Done yielded twice: %+v", res2)
	case <-time.After(50 * time.Millisecond):
	}
	return res
}
