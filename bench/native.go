package bench

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// NativeSchemes are the schemes the native API signs raw digests with (BLS keys sign only
// through the eth2 door, where slashing protection sees what they sign).
var NativeSchemes = []string{SchemeSecp256k1, SchemeP256, SchemeEd25519, SchemeBIP340}

// Native signs random 32-byte digests through the native API (POST /v1/keys/{key}/sign),
// spreading requests over its keys in turn.
type Native struct {
	client *api.Client
	scheme string
	keys   []benchKey
	next   atomic.Uint64
}

// benchKey is a key to sign with and the public key its signatures are checked against.
type benchKey struct {
	id  string
	pub []byte
}

// NewNative makes the native-API driver over keys, which must all be of scheme.
func NewNative(client *api.Client, scheme string, keys []api.Key) (*Native, error) {
	bk, err := benchKeys(scheme, keys)
	if err != nil {
		return nil, err
	}
	return &Native{client: client, scheme: scheme, keys: bk}, nil
}

func benchKeys(scheme string, keys []api.Key) ([]benchKey, error) {
	if len(keys) == 0 {
		return nil, errors.New("no keys to sign with")
	}
	out := make([]benchKey, len(keys))
	for i, k := range keys {
		if k.Scheme != scheme {
			return nil, fmt.Errorf("key %s is %s, not %s", k.ID, k.Scheme, scheme)
		}
		pub, err := decodePublicKey(k)
		if err != nil {
			return nil, err
		}
		out[i] = benchKey{id: k.ID, pub: pub}
	}
	return out, nil
}

func (n *Native) Name() string { return "native" }
func (n *Native) Close() error { return nil }

// NewWorker shares the driver's HTTP client: its transport pools the connections.
func (n *Native) NewWorker(context.Context, int, int) (Worker, error) { return nativeWorker{n}, nil }

type nativeWorker struct{ n *Native }

func (w nativeWorker) Close() error { return nil }

func (w nativeWorker) Sign(ctx context.Context) (Signed, error) {
	n := w.n
	k := n.keys[(n.next.Add(1)-1)%uint64(len(n.keys))]
	msg := random32()
	resp, err := n.client.Sign(ctx, k.id, api.SignRequest{Digest: hex.EncodeToString(msg)})
	if err != nil {
		return Signed{}, classifyAPIError(err)
	}
	sig, err := decodeHex(resp.Signature, 64, false)
	if err != nil {
		return Signed{}, fmt.Errorf("signature: %w", err)
	}
	s := Signed{Scheme: n.scheme, PublicKey: k.pub, Message: msg, Signature: sig}
	if n.scheme == SchemeSecp256k1 {
		s.RecoveryID = resp.RecoveryID
	}
	return s, nil
}

// classifyAPIError names a native API error by its HTTP status and error code.
func classifyAPIError(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return &KindError{Kind: fmt.Sprintf("http %d %s", ae.Status, ae.Code), Err: err}
	}
	return err
}
