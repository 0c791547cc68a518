package main

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/bnb-chain/tss-lib/v3/ecdsa/signing"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/ecdsa"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
)

// A party whose enclave misbehaves is named: party 3 alters the opening of its round-1
// commitment in its round-4 message, party 1 detects it, and the API answers 502 with party 3
// as the culprit. A run without party 3 still signs.
func TestMisbehavingPartyIsNamedInTheAPIError(t *testing.T) {
	var tampered atomic.Int64
	engineFor := func(p int) protocol.Engine {
		if p != 3 {
			return ecdsa.Engine{}
		}
		return protocoltest.InterceptEngine{Engine: ecdsa.Engine{}, OnOutgoing: func(o protocol.Outgoing) protocol.Outgoing {
			if b, ok := alterRound4Decommitment(o.Payload); ok {
				tampered.Add(1)
				o.Payload = b
			}
			return o
		}}
	}
	c := startInProcessCluster(t, engineFor, nil)
	ctx := context.Background()
	key, err := c.client.CreateKey(ctx, api.CreateKeyRequest{Scheme: "ecdsa-secp256k1", Label: "culprit"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.client.Sign(ctx, key.ID, api.SignRequest{Digest: randomHex32(), Parties: []uint16{1, 3}})
	if tampered.Load() == 0 {
		t.Fatal("party 3 sent no round-4 message to tamper with")
	}
	var apiErr *api.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("signing with a misbehaving party: %v", err)
	}
	if apiErr.Status != http.StatusBadGateway || !slices.Equal(apiErr.Culprits, []uint16{3}) {
		t.Fatalf("got HTTP %d %q culprits %v; want 502 naming party 3", apiErr.Status, apiErr.Message, apiErr.Culprits)
	}
	if _, err := c.client.Sign(ctx, key.ID, api.SignRequest{Digest: randomHex32(), Parties: []uint16{1, 2}}); err != nil {
		t.Fatalf("signing without party 3: %v", err)
	}
}

// alterRound4Decommitment flips a byte of the decommitment in a tss-lib signing round-4 payload.
func alterRound4Decommitment(payload []byte) ([]byte, bool) {
	var a anypb.Any
	if proto.Unmarshal(payload, &a) != nil {
		return nil, false
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return nil, false
	}
	r4, ok := m.(*signing.SignRound4Message)
	if !ok || len(r4.DeCommitment) == 0 || len(r4.DeCommitment[0]) == 0 {
		return nil, false
	}
	d := r4.DeCommitment[0]
	d[len(d)-1] ^= 0x01
	a2, err := anypb.New(r4)
	if err != nil {
		return nil, false
	}
	b, err := proto.Marshal(a2)
	return b, err == nil
}
