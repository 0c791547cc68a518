package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

func TestParsePKCS11ID(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"0a0b":                   "0a0b",
		"0A0B":                   "0a0b",
		strings.Repeat("ff", 64): strings.Repeat("ff", 64),
	} {
		got, err := parsePKCS11ID(in)
		if err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "0x0a", "zz", " 0a", strings.Repeat("ff", 65)} {
		if _, err := parsePKCS11ID(in); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%q: got %v, want a bad request", in, err)
		}
	}
}

func FuzzParsePKCS11ID(f *testing.F) {
	for _, s := range []string{"", "0a0b", "0A", "xyz", strings.Repeat("ab", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parsePKCS11ID(s)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("%q: %v is not a bad request", s, err)
			}
			return
		}
		b, derr := hex.DecodeString(got)
		if derr != nil || len(b) > api.MaxPKCS11IDBytes || (s != "" && len(b) == 0) || got != strings.ToLower(got) {
			t.Fatalf("%q accepted as %q", s, got)
		}
	})
}

// The deletion rule: it stands once at least n-t+1 parties hold no share, reporting the others
// as remaining; with fewer it is a 503 that names the parties that may still hold shares; a
// party that refuses the request itself decides the error.
func TestDeletionResult(t *testing.T) {
	down := func(p protocol.PartyID) error {
		return &partyError{party: p, err: fmt.Errorf("%s is unreachable: link down: %w", p, ErrQuorum)}
	}
	refused := &partyError{party: 2, err: &kindError{msg: "party 2: key k is a validator key", kind: ErrBadRequest}}
	for _, tc := range []struct {
		name               string
		parties, threshold int
		confirmed          []protocol.PartyID
		failed             map[protocol.PartyID]error
		wantDeleted        []uint16
		wantRemaining      []uint16
		wantErr            error
		wantInMessage      []string
	}{
		{name: "all three", parties: 3, threshold: 2, confirmed: []protocol.PartyID{3, 1, 2}, wantDeleted: []uint16{1, 2, 3}},
		{name: "two of three", parties: 3, threshold: 2, confirmed: []protocol.PartyID{2, 1}, failed: map[protocol.PartyID]error{3: down(3)},
			wantDeleted: []uint16{1, 2}, wantRemaining: []uint16{3}},
		{name: "one of three", parties: 3, threshold: 2, confirmed: []protocol.PartyID{1}, failed: map[protocol.PartyID]error{3: down(3), 2: down(2)},
			wantErr: ErrQuorum, wantInMessage: []string{"party 2, party 3 are", "only 1 does (party 1)", "2 of the 3 parties"}},
		{name: "none", parties: 3, threshold: 2, failed: map[protocol.PartyID]error{1: down(1), 2: down(2), 3: down(3)},
			wantErr: ErrQuorum, wantInMessage: []string{"only 0 do (none)", "party 1, party 2, party 3 are"}},
		{name: "3 of 5 need 3", parties: 5, threshold: 3, confirmed: []protocol.PartyID{1, 2}, failed: map[protocol.PartyID]error{3: down(3), 4: down(4), 5: down(5)},
			wantErr: ErrQuorum, wantInMessage: []string{"3 of the 5 parties", "fewer than 3 shares"}},
		{name: "3 of 5 with 3", parties: 5, threshold: 3, confirmed: []protocol.PartyID{1, 2, 5}, failed: map[protocol.PartyID]error{3: down(3), 4: down(4)},
			wantDeleted: []uint16{1, 2, 5}, wantRemaining: []uint16{3, 4}},
		{name: "a refusal", parties: 3, threshold: 2, confirmed: []protocol.PartyID{1}, failed: map[protocol.PartyID]error{2: refused, 3: down(3)},
			wantErr: ErrBadRequest, wantInMessage: []string{"validator"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &deletion{keyID: "k", parties: tc.parties, threshold: tc.threshold, confirmed: tc.confirmed, failed: map[protocol.PartyID]error{}}
			maps.Copy(d.failed, tc.failed)
			out, err := d.result()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || out != nil {
					t.Fatalf("got %+v, %v; want %v", out, err, tc.wantErr)
				}
				for _, s := range tc.wantInMessage {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("message %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Deleted, tc.wantDeleted) || !slices.Equal(out.Remaining, tc.wantRemaining) || out.KeyID != "k" {
				t.Fatalf("got %+v, want deleted %v remaining %v", out, tc.wantDeleted, tc.wantRemaining)
			}
		})
	}
}

// DELETE /v1/keys/{key} through a host whose peers are down: its own enclave deletes its share,
// and the answer is a 503 naming the two parties that still hold theirs. A validator key is
// refused before any party is asked; an unknown key is a 404.
func TestDeleteKeyRoute(t *testing.T) {
	th := startTestHost(t, false)
	keys := map[string]wire.KeyInfo{
		"ecdsa":     {ID: strings.Repeat("a", 32), Label: "ecdsa", Scheme: protocol.SchemeECDSASecp256k1, Threshold: 2, Parties: []protocol.PartyID{1, 2, 3}},
		"validator": {ID: strings.Repeat("b", 32), Label: "validator", Scheme: protocol.SchemeBLS12381, Threshold: 2, Parties: []protocol.PartyID{1, 2, 3}},
		"solo":      {ID: strings.Repeat("c", 32), Label: "solo", Scheme: protocol.SchemeEd25519, Threshold: 1, Parties: []protocol.PartyID{1}},
	}
	var mu sync.Mutex
	var deleted []string
	th.serveEnclave(t, func(req *wire.Request) ([]byte, *wire.RemoteError) {
		var ref wire.KeyRef
		if err := wire.DecodeJSON(req.Body, &ref); err != nil {
			return nil, &wire.RemoteError{Code: wire.CodeBadRequest, Message: err.Error()}
		}
		switch req.Method {
		case wire.MethodKeyGet:
			for _, k := range keys {
				if ref.Key == k.ID || ref.Key == k.Label {
					return wire.EncodeJSON(k), nil
				}
			}
			return nil, &wire.RemoteError{Code: wire.CodeNotFound, Message: "no such key"}
		case wire.MethodKeyDelete:
			mu.Lock()
			deleted = append(deleted, ref.Key)
			mu.Unlock()
			return wire.EncodeJSON(wire.KeyDeleteReply{Deleted: true}), nil
		}
		return nil, &wire.RemoteError{Code: wire.CodeBadRequest, Message: "not served by the fake"}
	})
	waitUntil(t, "the host to reach the fake enclave", func() bool { return th.h.reachable(1) })
	c := testClient(t, th)
	ctx := context.Background()

	_, err := c.DeleteKey(ctx, "ecdsa")
	wantStatus(t, "deleting with two parties down", err, http.StatusServiceUnavailable)
	if msg := err.Error(); !strings.Contains(msg, "party 2, party 3 are still holding shares") {
		t.Fatalf("the 503 does not name the parties holding shares: %s", msg)
	}
	t.Logf("with two parties down: %v", err)
	_, err = c.DeleteKey(ctx, "validator")
	wantStatus(t, "deleting a validator key", err, http.StatusBadRequest)
	_, err = c.DeleteKey(ctx, "ghost")
	wantStatus(t, "deleting an unknown key", err, http.StatusNotFound)
	got, err := c.DeleteKey(ctx, "solo")
	if err != nil || got.KeyID != keys["solo"].ID || !slices.Equal(got.Deleted, []uint16{1}) || len(got.Remaining) != 0 {
		t.Fatalf("deleting a key only party 1 holds: %+v, %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{keys["ecdsa"].ID, keys["solo"].ID}; !slices.Equal(deleted, want) {
		t.Fatalf("the enclave was asked to delete %v, want %v (by id, never the validator key)", deleted, want)
	}
}
