package bench

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/btcsuite/btcd/btcec/v2"
	"golang.org/x/crypto/sha3"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Eth1 signs random 32-byte messages with eth_sign (EIP-191 personal messages) through the
// eth1 JSON-RPC front door, spreading requests over its secp256k1 keys in turn. The digest is
// computed here, not taken from the server, and the answer's v must recover the key.
type Eth1 struct {
	url    string
	client *http.Client
	keys   []eth1Key
	next   atomic.Uint64
	id     atomic.Uint64
}

type eth1Key struct {
	benchKey
	address string // 0x + 40 lower-case hex digits
}

// NewEth1 makes the eth1 driver for the JSON-RPC endpoint at url over secp256k1 keys.
func NewEth1(url string, client *http.Client, keys []api.Key) (*Eth1, error) {
	bk, err := benchKeys(SchemeSecp256k1, keys)
	if err != nil {
		return nil, err
	}
	e := &Eth1{url: url, client: client}
	for _, k := range bk {
		addr, err := ethereumAddress(k.pub)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", k.id, err)
		}
		e.keys = append(e.keys, eth1Key{benchKey: k, address: addr})
	}
	return e, nil
}

func (e *Eth1) Name() string { return "eth1" }
func (e *Eth1) Close() error { return nil }

// NewWorker shares the driver's HTTP client: its transport pools the connections.
func (e *Eth1) NewWorker(context.Context, int, int) (Worker, error) { return eth1Worker{e}, nil }

type eth1Worker struct{ e *Eth1 }

func (w eth1Worker) Close() error { return nil }

func (w eth1Worker) Sign(ctx context.Context) (Signed, error) {
	e := w.e
	k := e.keys[(e.next.Add(1)-1)%uint64(len(e.keys))]
	msg := random32()
	body, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": e.id.Add(1), "method": "eth_sign",
		"params": []string{k.address, "0x" + hex.EncodeToString(msg)},
	})
	if err != nil {
		return Signed{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return Signed{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return Signed{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Signed{}, statusError(resp)
	}
	sig, err := decodeRPCSignature(resp.Body)
	if err != nil {
		return Signed{}, err
	}
	v := int(sig[64]) - 27
	return Signed{Scheme: SchemeSecp256k1, PublicKey: k.pub, Message: personalDigest(msg), Signature: sig[:64], RecoveryID: &v}, nil
}

// rpcError is a JSON-RPC 2.0 error object.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// decodeRPCSignature decodes a JSON-RPC answer to eth_sign: a result of 65 bytes r||s||v with v
// 27 or 28, or an error object, which becomes an error of kind "rpc <code>".
func decodeRPCSignature(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxAnswerBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxAnswerBytes {
		return nil, fmt.Errorf("%w: JSON-RPC answer over %d bytes", ErrInvalid, maxAnswerBytes)
	}
	var out struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  *string         `json:"result"`
		Error   *rpcError       `json:"error"`
	}
	if err := decodeStrictJSON(raw, &out); err != nil {
		return nil, fmt.Errorf("JSON-RPC answer: %w", err)
	}
	switch {
	case out.JSONRPC != "2.0":
		return nil, fmt.Errorf("%w: JSON-RPC answer without \"jsonrpc\":\"2.0\"", ErrInvalid)
	case out.Error != nil && out.Result == nil:
		return nil, &KindError{Kind: "rpc " + strconv.Itoa(out.Error.Code), Err: errors.New(truncate(out.Error.Message, 300))}
	case out.Result == nil || out.Error != nil:
		return nil, fmt.Errorf("%w: JSON-RPC answer needs exactly one of result and error", ErrInvalid)
	}
	sig, err := decodeHex(*out.Result, 65, true)
	if err != nil {
		return nil, fmt.Errorf("eth_sign result: %w", err)
	}
	if sig[64] != 27 && sig[64] != 28 {
		return nil, fmt.Errorf("%w: eth_sign result has v = %d, want 27 or 28", ErrInvalid, sig[64])
	}
	return sig, nil
}

// personalDigest is EIP-191 version 0x45: keccak256("\x19Ethereum Signed Message:\n" +
// len(msg) + msg), what eth_sign signs.
func personalDigest(msg []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	fmt.Fprintf(h, "\x19Ethereum Signed Message:\n%d", len(msg))
	h.Write(msg)
	return h.Sum(nil)
}

// ethereumAddress is the last 20 bytes of keccak256 of the uncompressed public key's X||Y.
func ethereumAddress(compressed []byte) (string, error) {
	pub, err := btcec.ParsePubKey(compressed)
	if err != nil {
		return "", err
	}
	h := sha3.NewLegacyKeccak256()
	h.Write(pub.SerializeUncompressed()[1:])
	return "0x" + hex.EncodeToString(h.Sum(nil)[12:]), nil
}
