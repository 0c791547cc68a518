package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Eth2 signs ATTESTATION requests through a Web3Signer-compatible API
// (POST /api/v1/eth2/sign/{pubkey}), as a validator client does. Each key's attestations have
// strictly increasing source and target epochs, and each key belongs to one worker, so no two
// requests for a key are ever in flight at once and slashing protection allows every one.
type Eth2 struct {
	url    string
	client *http.Client
	keys   []benchKey
	// epochs[k] is the last target epoch used for key k; requests take the next one.
	epochs []atomic.Uint64
}

// Fork and genesis validators root of every bench attestation. The genesis validators root is
// mainnet's and never changes: an enclave binds a key to the first one it sees. Previous and
// current fork versions are equal, so the domain does not depend on the epoch.
var (
	eth2ForkVersion = [4]byte{0x05, 0x00, 0x00, 0x00} // Electra on mainnet
	eth2GVR         = mustHex32("4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95")
)

// SlotsPerEpoch is the mainnet preset's SLOTS_PER_EPOCH: an attestation's slot lies in its
// target epoch.
const SlotsPerEpoch = 32

// MaxEth2StartEpoch keeps every slot (epoch × 32) of a run far below 2^64.
const MaxEth2StartEpoch = 1 << 56

// NewEth2 makes the eth2 driver for the Web3Signer API at baseURL over BLS keys. startEpoch
// must exceed every target epoch these keys have signed before (slashing protection refuses
// anything else); the CLI uses the clock in microseconds, which no earlier run can have
// reached.
func NewEth2(baseURL string, client *http.Client, keys []api.Key, startEpoch uint64) (*Eth2, error) {
	bk, err := benchKeys(SchemeBLS, keys)
	if err != nil {
		return nil, err
	}
	if startEpoch == 0 || startEpoch > MaxEth2StartEpoch {
		return nil, fmt.Errorf("start epoch %d is not 1 to %d", startEpoch, uint64(MaxEth2StartEpoch))
	}
	e := &Eth2{url: strings.TrimRight(baseURL, "/") + "/api/v1/eth2/sign/", client: client, keys: bk, epochs: make([]atomic.Uint64, len(bk))}
	for i := range e.epochs {
		e.epochs[i].Store(startEpoch)
	}
	return e, nil
}

func (e *Eth2) Name() string { return "eth2" }
func (e *Eth2) Close() error { return nil }

// NewWorker gives worker id the keys k with k mod count == id. With fewer keys than workers
// some key would have two requests in flight, which a validator never does and slashing
// protection may refuse, so that is an error.
func (e *Eth2) NewWorker(_ context.Context, id, count int) (Worker, error) {
	if count > len(e.keys) {
		return nil, fmt.Errorf("%d workers need at least %d BLS keys (one request per key in flight, as a validator signs); have %d", count, count, len(e.keys))
	}
	w := &eth2Worker{e: e}
	for k := id; k < len(e.keys); k += count {
		w.owned = append(w.owned, k)
	}
	return w, nil
}

type eth2Worker struct {
	e     *Eth2
	owned []int
	turn  int
}

func (w *eth2Worker) Close() error { return nil }

func (w *eth2Worker) Sign(ctx context.Context) (Signed, error) {
	k := w.owned[w.turn%len(w.owned)]
	w.turn++
	target := w.e.epochs[k].Add(1)
	a := attestation{slot: target * SlotsPerEpoch, sourceEpoch: target - 1, targetEpoch: target}
	copy(a.beaconBlockRoot[:], random32())
	a.targetRoot = a.beaconBlockRoot
	root := a.signingRoot(eth2ForkVersion, eth2GVR)
	body, err := json.Marshal(a.request(root))
	if err != nil {
		return Signed{}, err
	}
	sig, err := w.post(ctx, "0x"+hex.EncodeToString(w.e.keys[k].pub), body)
	if err != nil {
		return Signed{}, err
	}
	return Signed{Scheme: SchemeBLS, PublicKey: w.e.keys[k].pub, Message: root[:], Signature: sig}, nil
}

func (w *eth2Worker) post(ctx context.Context, pub string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.e.url+pub, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := w.e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(resp)
	}
	return decodeEth2Signature(resp.Body)
}

// maxAnswerBytes caps a signing answer (a Web3Signer one is about 210 bytes).
const maxAnswerBytes = 4 << 10

// decodeEth2Signature decodes Web3Signer's JSON answer {"signature":"0x<96 bytes>"}, refusing
// anything else in it.
func decodeEth2Signature(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxAnswerBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxAnswerBytes {
		return nil, fmt.Errorf("%w: eth2 answer over %d bytes", ErrInvalid, maxAnswerBytes)
	}
	var out struct {
		Signature string `json:"signature"`
	}
	if err := decodeStrictJSON(raw, &out); err != nil {
		return nil, fmt.Errorf("eth2 answer: %w", err)
	}
	return decodeHex(out.Signature, 96, true)
}

// decodeStrictJSON decodes exactly one JSON value with no unknown fields and nothing after it.
func decodeStrictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the JSON value", ErrInvalid)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON value", ErrInvalid)
	}
	return nil
}

// attestation is phase0 AttestationData (consensus-specs, phase0/beacon-chain.md).
type attestation struct {
	slot, index              uint64
	beaconBlockRoot          [32]byte
	sourceEpoch, targetEpoch uint64
	sourceRoot, targetRoot   [32]byte
}

// The Web3Signer ATTESTATION request (its OpenAPI schema; numbers are decimal strings, byte
// strings 0x-prefixed hex).
type (
	w3sAttestationRequest struct {
		Type        string             `json:"type"`
		SigningRoot string             `json:"signingRoot"`
		ForkInfo    w3sForkInfo        `json:"fork_info"`
		Attestation w3sAttestationData `json:"attestation"`
	}
	w3sForkInfo struct {
		Fork w3sFork `json:"fork"`
		GVR  string  `json:"genesis_validators_root"`
	}
	w3sFork struct {
		Previous string `json:"previous_version"`
		Current  string `json:"current_version"`
		Epoch    string `json:"epoch"`
	}
	w3sAttestationData struct {
		Slot            string        `json:"slot"`
		Index           string        `json:"index"`
		BeaconBlockRoot string        `json:"beacon_block_root"`
		Source          w3sCheckpoint `json:"source"`
		Target          w3sCheckpoint `json:"target"`
	}
	w3sCheckpoint struct {
		Epoch string `json:"epoch"`
		Root  string `json:"root"`
	}
)

// request is the Web3Signer request for a, carrying its signing root (validator clients send
// it; the server recomputes it and refuses a mismatch).
func (a attestation) request(root [32]byte) w3sAttestationRequest {
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	h := func(b []byte) string { return "0x" + hex.EncodeToString(b) }
	version := h(eth2ForkVersion[:])
	return w3sAttestationRequest{
		Type:        "ATTESTATION",
		SigningRoot: h(root[:]),
		ForkInfo:    w3sForkInfo{Fork: w3sFork{Previous: version, Current: version, Epoch: "0"}, GVR: h(eth2GVR[:])},
		Attestation: w3sAttestationData{
			Slot: u(a.slot), Index: u(a.index), BeaconBlockRoot: h(a.beaconBlockRoot[:]),
			Source: w3sCheckpoint{Epoch: u(a.sourceEpoch), Root: h(a.sourceRoot[:])},
			Target: w3sCheckpoint{Epoch: u(a.targetEpoch), Root: h(a.targetRoot[:])},
		},
	}
}

// domainBeaconAttester is DOMAIN_BEACON_ATTESTER (phase0/beacon-chain.md, "Domain types").
var domainBeaconAttester = [4]byte{0x01, 0x00, 0x00, 0x00}

// signingRoot is compute_signing_root(a, compute_domain(DOMAIN_BEACON_ATTESTER, version, gvr)),
// computed here with SSZ hash_tree_root written out by hand, independently of the server's.
func (a attestation) signingRoot(version [4]byte, gvr [32]byte) [32]byte {
	// compute_fork_data_root: hash_tree_root(ForkData{current_version, genesis_validators_root}).
	var versionChunk [32]byte
	copy(versionChunk[:], version[:])
	forkDataRoot := sha256.Sum256(append(versionChunk[:], gvr[:]...))
	var domain [32]byte
	copy(domain[:4], domainBeaconAttester[:])
	copy(domain[4:], forkDataRoot[:28])
	objectRoot := a.hashTreeRoot()
	// hash_tree_root(SigningData{object_root, domain}).
	return sha256.Sum256(append(objectRoot[:], domain[:]...))
}

// hashTreeRoot merkleizes the five fields of AttestationData, padded to eight chunks.
func (a attestation) hashTreeRoot() [32]byte {
	checkpoint := func(epoch uint64, root [32]byte) [32]byte {
		c := uintChunk(epoch)
		return sha256.Sum256(append(c[:], root[:]...))
	}
	return merkleize([][32]byte{
		uintChunk(a.slot), uintChunk(a.index), a.beaconBlockRoot,
		checkpoint(a.sourceEpoch, a.sourceRoot), checkpoint(a.targetEpoch, a.targetRoot),
		{}, {}, {},
	})
}

// uintChunk is a uint64 as an SSZ chunk: little-endian, zero-padded to 32 bytes.
func uintChunk(v uint64) [32]byte {
	var c [32]byte
	binary.LittleEndian.PutUint64(c[:8], v)
	return c
}

// merkleize hashes a power-of-two number of chunks pairwise up to one root.
func merkleize(chunks [][32]byte) [32]byte {
	for len(chunks) > 1 {
		next := make([][32]byte, len(chunks)/2)
		for i := range next {
			next[i] = sha256.Sum256(append(chunks[2*i][:], chunks[2*i+1][:]...))
		}
		chunks = next
	}
	return chunks[0]
}

func mustHex32(s string) [32]byte {
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		panic("bench: bad constant " + s)
	}
	copy(out[:], b)
	return out
}
