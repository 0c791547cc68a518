package host

import (
	"context"
	stdecdsa "crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	blst "github.com/supranational/blst/bindings/go"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Conditions a host reports; httpError maps each to one HTTP status.
var (
	ErrBadRequest = errors.New("bad request")
	ErrNotFound   = errors.New("not found")
	ErrConflict   = errors.New("conflict")
	// ErrRefused: an enclave's own rules (slashing protection) refuse the request.
	ErrRefused = errors.New("refused by the enclaves' rules")
	// ErrQuorum: fewer parties than the threshold could take part.
	ErrQuorum = errors.New("quorum unavailable")
	// ErrNotReady: the cluster is up but cannot serve this yet (e.g. pre-parameters).
	ErrNotReady = errors.New("not ready")
	// ErrProtocol: a protocol run failed; the error names culprits when known.
	ErrProtocol = errors.New("protocol failure")
	ErrInternal = errors.New("internal error")
	// ErrStaleKey: a party's share of the key is of another epoch than the host looked up (a
	// reshare happened in between); looking the key up again and retrying resolves it.
	ErrStaleKey = fmt.Errorf("the key was reshared since it was looked up: %w", ErrConflict)
)

// partyError is a failure attributed to the party that reported it (or failed to answer).
type partyError struct {
	party protocol.PartyID
	err   error
}

func (e *partyError) Error() string { return e.err.Error() }
func (e *partyError) Unwrap() error { return e.err }

// failedParty returns the party an error came from, if known.
func failedParty(err error) (protocol.PartyID, bool) {
	var pe *partyError
	if errors.As(err, &pe) {
		return pe.party, true
	}
	return 0, false
}

// fromRemote turns an enclave's wire error into a host error, keeping its message and culprits.
func fromRemote(p protocol.PartyID, err error) error {
	var pe *partyError
	if errors.As(err, &pe) {
		return err
	}
	return &partyError{party: p, err: classify(p, err)}
}

func classify(p protocol.PartyID, err error) error {
	var re *wire.RemoteError
	if !errors.As(err, &re) {
		if errors.Is(err, context.Canceled) {
			return err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s did not answer in time: %w", p, ErrQuorum)
		}
		return fmt.Errorf("%s is unreachable: %v: %w", p, err, ErrQuorum)
	}
	var kind error
	switch re.Code {
	case wire.CodeBadRequest:
		kind = ErrBadRequest
	case wire.CodeNotFound:
		kind = ErrNotFound
	case wire.CodeConflict:
		kind = ErrConflict
	case wire.CodeStaleKey:
		kind = ErrStaleKey
	case wire.CodeNotReady:
		kind = ErrNotReady
	case wire.CodePolicy:
		kind = ErrRefused
	case wire.CodeProtocol:
		return &culpritError{party: p, remote: re}
	case wire.CodeTimeout, wire.CodeUnavailable:
		kind = ErrQuorum
	default:
		kind = ErrInternal
	}
	return &kindError{msg: fmt.Sprintf("%s: %s", p, re.Message), kind: kind}
}

// kindError carries an enclave's message as it is, classified by kind for errors.Is.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// culpritError is a protocol failure reported by party `party`, naming the culprits.
type culpritError struct {
	party  protocol.PartyID
	remote *wire.RemoteError
}

func (e *culpritError) Error() string {
	return fmt.Sprintf("%s reports: %s", e.party, e.remote.Message)
}
func (e *culpritError) Unwrap() error { return ErrProtocol }

// Culprits returns the parties a protocol failure blames.
func Culprits(err error) []protocol.PartyID {
	var ce *culpritError
	if errors.As(err, &ce) {
		return slices.Clone(ce.remote.Culprits)
	}
	return nil
}

func newSessionID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// runSession prepares a run on every participant, then starts it on all of them, and returns
// each participant's result. If any participant cannot prepare, the others are told to abort.
func (h *Host) runSession(ctx context.Context, args wire.PrepareArgs) (map[protocol.PartyID]*wire.SessionResult, error) {
	op := args.Kind
	start := time.Now()
	res, err := h.runSessionOnce(ctx, args)
	result := "ok"
	if err != nil {
		result = resultLabel(err)
	}
	h.metrics.runs.WithLabelValues(op, string(args.Scheme), result).Inc()
	h.metrics.runSeconds.WithLabelValues(op, string(args.Scheme), result).Observe(time.Since(start).Seconds())
	return res, err
}

func (h *Host) runSessionOnce(ctx context.Context, args wire.PrepareArgs) (map[protocol.PartyID]*wire.SessionResult, error) {
	prepareTimeout := h.cfg.Timeouts.Call
	if args.Kind == wire.KindImport {
		// The dealer decrypts a keystore while preparing: scrypt at the EIP-2335 cost takes
		// about a second, several on a loaded machine.
		prepareTimeout = max(prepareTimeout, importPrepareTimeout)
	}
	if err := h.forEach(ctx, args.Parties, func(ctx context.Context, p protocol.PartyID) error {
		cctx, cancel := context.WithTimeout(ctx, prepareTimeout)
		defer cancel()
		_, err := h.callParty(cctx, p, wire.MethodPrepare, args)
		return err
	}); err != nil {
		h.abortAll(args)
		return nil, err
	}
	var mu sync.Mutex
	results := map[protocol.PartyID]*wire.SessionResult{}
	err := h.forEach(ctx, args.Parties, func(ctx context.Context, p protocol.PartyID) error {
		body, err := h.callParty(ctx, p, wire.MethodStart, wire.SessionRef{Session: args.Session})
		if err != nil {
			return err
		}
		var r wire.SessionResult
		if err := wire.DecodeJSON(body, &r); err != nil {
			return fmt.Errorf("%s returned an unreadable result: %v: %w", p, err, ErrInternal)
		}
		mu.Lock()
		results[p] = &r
		mu.Unlock()
		return nil
	})
	if err != nil {
		h.abortAll(args)
		return nil, err
	}
	return results, nil
}

// importPrepareTimeout bounds the prepare step of an import, where the dealer runs the
// keystore's KDF.
const importPrepareTimeout = 60 * time.Second

// failureGrace is how long forEach still waits for the other parties once one has failed.
const failureGrace = 2 * time.Second

// forEach calls f for every party at once. The first failure cancels the rest; the error
// returned is the most telling one (a protocol failure with culprits over a bare timeout).
func (h *Host) forEach(ctx context.Context, parties []protocol.PartyID, f func(context.Context, protocol.PartyID) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(parties))
	var wg sync.WaitGroup
	for i, p := range parties {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx, p); err != nil {
				errs[i] = fromRemote(p, err)
				// Stop waiting for the others, but not at once: the party that detected a
				// fault answers at the same moment its abort reaches the rest, and its answer
				// is the one that names the culprit.
				time.AfterFunc(failureGrace, cancel)
			}
		}()
	}
	wg.Wait()
	return mostTelling(errs, ctx)
}

func mostTelling(errs []error, ctx context.Context) error {
	var best error
	bestRank := -1
	for _, err := range errs {
		if err == nil {
			continue
		}
		if r := errorRank(err); r > bestRank {
			best, bestRank = err, r
		}
	}
	return best
}

// errorRank orders failures by how well they explain what went wrong: a named culprit, then a
// party that dropped out, then anything else, then a bare protocol failure (often only the
// echo of another party's abort), then calls we cancelled ourselves.
func errorRank(err error) int {
	switch {
	case errors.Is(err, context.Canceled):
		return 0
	case len(Culprits(err)) > 0:
		return 4
	case errors.Is(err, ErrQuorum):
		return 3
	case errors.Is(err, ErrProtocol):
		return 1
	}
	return 2
}

// abortAll tells every participant to drop the session (best effort, bounded).
func (h *Host) abortAll(args wire.PrepareArgs) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, p := range args.Parties {
		go func() {
			_, _ = h.callParty(ctx, p, wire.MethodAbort, wire.SessionRef{Session: args.Session, Reason: "another participant failed"})
		}()
	}
}

// CreateKey runs a distributed key generation among all parties.
func (h *Host) CreateKey(ctx context.Context, req api.CreateKeyRequest) (*api.Key, error) {
	scheme, err := protocol.ParseScheme(req.Scheme)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrBadRequest)
	}
	if req.Label == "" {
		return nil, fmt.Errorf("a label is required: %w", ErrBadRequest)
	}
	pkcs11ID, err := parsePKCS11ID(req.PKCS11ID)
	if err != nil {
		return nil, err
	}
	parties, threshold, err := h.committee(req.Parties, req.Threshold, h.allParties(), h.cfg.Threshold, "parties")
	if err != nil {
		return nil, err
	}
	if down := h.unreachable(parties); len(down) > 0 {
		return nil, fmt.Errorf("a key generation needs all %d parties of its committee, and %s unreachable: %w", len(parties), describeParties(down), ErrQuorum)
	}
	if scheme == protocol.SchemeBLS12381 {
		if err := checkBLSThreshold(threshold, len(parties)); err != nil {
			return nil, err
		}
	}
	if waiting := h.withoutPreParams(parties); needsPreParams(scheme) && len(waiting) > 0 {
		// Asking now would only make the ready parties claim pre-parameters for nothing.
		return nil, fmt.Errorf("%s still generating pre-parameters (about a minute per set after a first start); try again shortly: %w", describeParties(waiting), ErrNotReady)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Keygen)
	defer cancel()
	args := wire.PrepareArgs{
		Session: newSessionID(), Kind: wire.KindKeygen, Scheme: scheme, Parties: parties,
		Threshold: threshold, KeyID: newSessionID(), Label: req.Label, PKCS11ID: pkcs11ID,
	}
	key, err := h.runKeygenSession(ctx, args)
	if err != nil {
		return nil, err
	}
	if derivable(scheme) {
		// The chain code for derivation below the key is drawn now, while every holder is
		// known to be up; if that fails, the first derivation request draws it.
		if withCC, err := h.drawChainCode(ctx, key); err != nil {
			h.log.Warn("drawing the chain code of a new key failed; the first derivation will retry", "key_id", key.ID, "err", err)
		} else {
			key = withCC
		}
	}
	out := toAPIKey(*key)
	return &out, nil
}

// committee checks the parties and threshold asked for a key's committee; none asked means
// the defaults given (for a new key: every party of the cluster and the cluster's threshold;
// for a reshare: the key's own). noun names the parties in errors.
func (h *Host) committee(asked []uint16, threshold int, defaults []protocol.PartyID, defaultThreshold int, noun string) ([]protocol.PartyID, int, error) {
	all := h.allParties()
	parties := slices.Clone(defaults)
	if len(asked) > 0 {
		parties = make([]protocol.PartyID, 0, len(asked))
		for _, a := range asked {
			p := protocol.PartyID(a)
			if !slices.Contains(all, p) {
				return nil, 0, fmt.Errorf("%s is not in this cluster of %d parties: %w", p, len(all), ErrBadRequest)
			}
			if slices.Contains(parties, p) {
				return nil, 0, fmt.Errorf("%s is named twice: %w", p, ErrBadRequest)
			}
			parties = append(parties, p)
		}
		slices.Sort(parties)
	}
	if threshold == 0 {
		threshold = min(defaultThreshold, len(parties))
	}
	if len(parties) < 2 || threshold < 2 || threshold > len(parties) {
		return nil, 0, fmt.Errorf("threshold %d must be at least 2 and at most the %d %s (a key needs at least 2): %w", threshold, len(parties), noun, ErrBadRequest)
	}
	return parties, threshold, nil
}

// parsePKCS11ID checks an optional application id and returns it in lowercase hex.
func parsePKCS11ID(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) > api.MaxPKCS11IDBytes {
		return "", fmt.Errorf("pkcs11_id must be 1 to %d bytes in hex, got %q: %w", api.MaxPKCS11IDBytes, truncate(s, 140), ErrBadRequest)
	}
	return hex.EncodeToString(b), nil
}

// runKeygenSession runs a keygen or import session and returns the key every party agrees on.
func (h *Host) runKeygenSession(ctx context.Context, args wire.PrepareArgs) (*wire.KeyInfo, error) {
	results, err := h.runSession(ctx, args)
	if err != nil {
		return nil, err
	}
	var key *wire.KeyInfo
	for _, p := range args.Parties {
		r := results[p]
		if r == nil || r.Key == nil {
			return nil, fmt.Errorf("%s returned no key: %w", p, ErrInternal)
		}
		if key != nil && r.Key.PublicKey != key.PublicKey {
			return nil, fmt.Errorf("parties disagree on the public key (%s says %s, another %s): %w", p, r.Key.PublicKey, key.PublicKey, ErrProtocol)
		}
		key = r.Key
	}
	return key, nil
}

// findKey asks reachable enclaves, ours first, for a key by id or label, and returns the
// first description found. A party that does not know the key does not settle the answer:
// keys live on committees (and after a partial deletion only some parties hold it), so another
// party may have it.
func (h *Host) findKey(ctx context.Context, ref string) (*wire.KeyInfo, error) {
	return h.lookKeyUp(ctx, ref, false)
}

// lookKeyUp asks the reachable parties, ours first, for a key: the first answer, or with
// freshest every reachable party's, keeping the highest epoch (a party a reshare missed, or
// retired, still reports the old one).
func (h *Host) lookKeyUp(ctx context.Context, ref string, freshest bool) (*wire.KeyInfo, error) {
	var best *wire.KeyInfo
	var notFound, lastErr error
	for _, p := range h.partyOrder() {
		if !h.reachable(p) {
			continue
		}
		info, err := h.askParty(ctx, p, ref)
		switch {
		case err == nil && !freshest:
			return info, nil
		case err == nil:
			if best == nil || info.Epoch > best.Epoch {
				best = info
			}
		case errors.Is(err, ErrBadRequest):
			return nil, err
		case errors.Is(err, ErrNotFound):
			notFound = err
		default:
			lastErr = err
		}
	}
	if best != nil {
		return best, nil
	}
	// A party that answered that it has no such key says more than one that did not answer.
	if notFound != nil {
		return nil, notFound
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no party is reachable: %w", ErrQuorum)
	}
	return nil, lastErr
}

// askParty asks one party for a key.
func (h *Host) askParty(ctx context.Context, p protocol.PartyID, ref string) (*wire.KeyInfo, error) {
	cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	body, err := h.callParty(cctx, p, wire.MethodKeyGet, wire.KeyRef{Key: ref})
	cancel()
	if err != nil {
		return nil, fromRemote(p, err)
	}
	var info wire.KeyInfo
	if err := wire.DecodeJSON(body, &info); err != nil {
		return nil, fmt.Errorf("%s returned an unreadable key: %w", p, ErrInternal)
	}
	return &info, nil
}

// GetKey describes one key.
func (h *Host) GetKey(ctx context.Context, ref string) (*api.Key, error) {
	info, err := h.findKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := toAPIKey(*info)
	return &out, nil
}

// ListKeys lists the keys known to the first reachable enclave (ours first).
func (h *Host) ListKeys(ctx context.Context) ([]api.Key, error) {
	infos, err := h.listKeyInfos(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.Key, len(infos))
	for i, k := range infos {
		out[i] = toAPIKey(k)
	}
	return out, nil
}

// Sign signs a digest (or, with an Ed25519 key, a whole message) with a key, choosing
// reachable signers unless the caller named them. A failure caused by a party that dropped
// out is retried once without it.
func (h *Host) Sign(ctx context.Context, ref string, req api.SignRequest) (*api.SignResponse, error) {
	payload, err := parseSignPayload(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Sign)
	defer cancel()
	key, err := h.signingKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	if req.Path != "" {
		payload.path = req.Path
		if key, err = h.childKey(ctx, key, req.Path); err != nil {
			return nil, err
		}
	}
	return h.signKey(ctx, key, payload, req.Parties)
}

// signKey signs payload with a key already looked up.
func (h *Host) signKey(ctx context.Context, key *wire.KeyInfo, payload signPayload, parties []uint16) (*api.SignResponse, error) {
	if payload.isMessage && key.Scheme != protocol.SchemeEd25519 {
		return nil, fmt.Errorf("key %s is %s, which signs a 32-byte digest: only Ed25519 keys sign a whole message: %w", key.ID, key.Scheme, ErrBadRequest)
	}
	unlock := h.keyLocks.read(key.ID)
	defer unlock()
	resp, err := h.signAvoidingSilent(ctx, key, payload, parties)
	if (errors.Is(err, ErrStaleKey) || errors.Is(err, ErrNotFound)) && ctx.Err() == nil {
		// The key was reshared since we looked it up (a signer is at another epoch, or was
		// retired and holds nothing): look again, once. A deleted key stays not found.
		h.keyCache.forget(key.ID)
		if key, err = h.freshestKey(ctx, key.ID); err != nil {
			return nil, err
		}
		if payload.path != "" {
			if key, err = h.childKey(ctx, key, payload.path); err != nil {
				return nil, err
			}
		}
		resp, err = h.signAvoidingSilent(ctx, key, payload, parties)
	}
	return resp, err
}

// signAvoidingSilent signs with signers of our choosing, or the caller's (parties); when ours
// fail for want of a quorum, it tries once more without the parties that did not answer.
func (h *Host) signAvoidingSilent(ctx context.Context, key *wire.KeyInfo, payload signPayload, parties []uint16) (*api.SignResponse, error) {
	signers, err := h.chooseSigners(key, parties, nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.signWith(ctx, key, payload, signers)
	if err == nil || len(parties) > 0 || !errors.Is(err, ErrQuorum) || ctx.Err() != nil {
		return resp, err
	}
	h.log.Info("signing failed; retrying without the unresponsive parties", "err", err)
	excluded := h.unreachable(signers)
	if p, ok := failedParty(err); ok {
		excluded = append(excluded, p)
	}
	if signers, err = h.chooseSigners(key, parties, excluded); err != nil {
		return nil, err
	}
	return h.signWith(ctx, key, payload, signers)
}

// signPayload is what a signing signs: a 32-byte digest, or a whole message.
type signPayload struct {
	bytes     []byte
	isMessage bool
	// path, when set, signs with the key's child at this derivation path; the key given to
	// signKey is then the child (childKey), whose public key the signature is checked against.
	path string
}

// parseSignPayload checks that a sign request carries exactly one of a digest and a message,
// and decodes it.
func parseSignPayload(req api.SignRequest) (signPayload, error) {
	switch {
	case req.Digest != "" && req.Message != "":
		return signPayload{}, fmt.Errorf("give a digest or a message, not both: %w", ErrBadRequest)
	case req.Message != "":
		msg, err := hex.DecodeString(strings.TrimPrefix(req.Message, "0x"))
		if err != nil {
			return signPayload{}, fmt.Errorf("message must be hex: %w", ErrBadRequest)
		}
		if len(msg) > api.MaxMessageBytes {
			return signPayload{}, fmt.Errorf("message of %d bytes is over the limit of %d: %w", len(msg), api.MaxMessageBytes, ErrBadRequest)
		}
		return signPayload{bytes: msg, isMessage: true}, nil
	}
	digest, err := hex.DecodeString(strings.TrimPrefix(req.Digest, "0x"))
	if err != nil || len(digest) != 32 {
		return signPayload{}, fmt.Errorf("digest must be 32 bytes as 64 hex digits, got %q: %w", truncate(req.Digest, 80), ErrBadRequest)
	}
	if new(big.Int).SetBytes(digest).Sign() == 0 {
		return signPayload{}, fmt.Errorf("digest must not be zero: %w", ErrBadRequest)
	}
	return signPayload{bytes: digest}, nil
}

func (h *Host) signWith(ctx context.Context, key *wire.KeyInfo, payload signPayload, signers []protocol.PartyID) (*api.SignResponse, error) {
	var (
		sig string
		rid *int
		err error
	)
	switch {
	case h.presign.uses(key.Scheme):
		sig, rid, err = h.signPooled(ctx, key, payload, signers)
	case h.batch.batchesFROST(key.Scheme):
		sig, rid, err = h.batch.sign(ctx, key, payload, signers, "")
	default:
		sig, rid, err = h.signAlone(ctx, key, payload, signers)
	}
	if err != nil {
		return nil, err
	}
	if err := verifySignature(key.Scheme, key.PublicKey, payload.bytes, sig); err != nil {
		return nil, fmt.Errorf("the combined signature does not verify under key %s: %v: %w", key.ID, err, ErrProtocol)
	}
	out := &api.SignResponse{KeyID: key.ID, Signature: sig, RecoveryID: rid}
	for _, p := range signers {
		out.Parties = append(out.Parties, uint16(p))
	}
	return out, nil
}

// signAlone runs one signing as a session of its own, with the full protocol.
func (h *Host) signAlone(ctx context.Context, key *wire.KeyInfo, payload signPayload, signers []protocol.PartyID) (string, *int, error) {
	args := wire.PrepareArgs{
		Session: newSessionID(), Kind: wire.KindSign, Scheme: key.Scheme, Parties: signers, KeyID: key.ID,
		Epoch: key.Epoch, Path: payload.path,
	}
	setPayload(&args, payload)
	results, err := h.runSession(ctx, args)
	if err != nil {
		return "", nil, err
	}
	return agreedSignature(key.Scheme, signers, results, func(r *wire.SessionResult) (string, *int) { return r.Signature, r.RecoveryID })
}

// signPooled signs with a pooled presignature when there is one: only the online rounds, and
// batched with the other pooled signings of the key and signers in flight. An empty pool, or
// a presignature a signer no longer has, falls back to the full protocol: batched for FROST,
// alone for ECDSA (whose full protocol is nine rounds and a second of CPU). Either way it is
// foreground work, which the pool refills wait for.
func (h *Host) signPooled(ctx context.Context, key *wire.KeyInfo, payload signPayload, signers []protocol.PartyID) (string, *int, error) {
	h.presign.begin()
	defer h.presign.end()
	if id, ok := h.presign.claim(key, payload.path, signers); ok {
		sig, rid, err := h.batch.sign(ctx, key, payload, signers, id)
		if err == nil || !errors.Is(err, ErrNotFound) || ctx.Err() != nil {
			return sig, rid, err
		}
		// A signer no longer has it (its enclave restarted, or expired it); what else it had
		// parked is likely gone too. In a batch, the other items' presignatures were burned
		// with it, and their callers fall back here as well.
		if p, ok := failedParty(err); ok {
			h.presign.forgetParty(p)
		}
		h.log.Info("a pooled presignature was gone; signing with the full protocol", "err", err)
	}
	if h.batch.batchesFROST(key.Scheme) {
		return h.batch.sign(ctx, key, payload, signers, "")
	}
	return h.signAlone(ctx, key, payload, signers)
}

// chooseSigners picks threshold-many reachable holders of the key, ours first, or checks the
// caller's choice.
func (h *Host) chooseSigners(key *wire.KeyInfo, wanted []uint16, excluded []protocol.PartyID) ([]protocol.PartyID, error) {
	t := key.Threshold
	if len(wanted) > 0 {
		if len(wanted) != t {
			return nil, fmt.Errorf("key %s needs exactly %d signers, %d were named: %w", key.ID, t, len(wanted), ErrBadRequest)
		}
		out := make([]protocol.PartyID, 0, t)
		for _, w := range wanted {
			p := protocol.PartyID(w)
			if !slices.Contains(key.Parties, p) {
				return nil, fmt.Errorf("%s holds no share of key %s: %w", p, key.ID, ErrBadRequest)
			}
			if slices.Contains(out, p) {
				return nil, fmt.Errorf("%s is named twice: %w", p, ErrBadRequest)
			}
			if !h.usable(p) {
				return nil, fmt.Errorf("%s is unreachable or its attestation is not accepted: %w", p, ErrQuorum)
			}
			out = append(out, p)
		}
		slices.Sort(out)
		return out, nil
	}
	var out []protocol.PartyID
	for _, p := range h.partyOrder() {
		if len(out) < t && slices.Contains(key.Parties, p) && !slices.Contains(excluded, p) && h.usable(p) {
			out = append(out, p)
		}
	}
	if len(out) < t {
		var down []protocol.PartyID
		for _, p := range key.Parties {
			if !h.usable(p) {
				down = append(down, p)
			}
		}
		return nil, fmt.Errorf("key %s needs %d signers but only %d usable (%s unreachable or not attested): %w", key.ID, t, len(out), describeParties(down), ErrQuorum)
	}
	slices.Sort(out)
	return out, nil
}

// usable reports whether party p can sign with us: it answers, and (for a peer) our enclave
// has verified its attestation and uses its key.
func (h *Host) usable(p protocol.PartyID) bool {
	if !h.reachable(p) {
		return false
	}
	if p == h.cfg.Party {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := h.health[p]
	return ps != nil && ps.learnedBy != "" && ps.learnedErr == nil
}

// allParties lists every party of the cluster.
func (h *Host) allParties() []protocol.PartyID {
	out := make([]protocol.PartyID, len(h.cfg.Parties))
	for i, p := range h.cfg.Parties {
		out[i] = p.ID
	}
	return out
}

// partyOrder lists this host's party first, then the others in order.
func (h *Host) partyOrder() []protocol.PartyID {
	out := []protocol.PartyID{h.cfg.Party}
	for _, p := range h.cfg.Parties {
		if p.ID != h.cfg.Party {
			out = append(out, p.ID)
		}
	}
	return out
}

func (h *Host) unreachable(parties []protocol.PartyID) []protocol.PartyID {
	var out []protocol.PartyID
	for _, p := range parties {
		if !h.reachable(p) {
			out = append(out, p)
		}
	}
	return out
}

// withoutPreParams lists the parties whose last status showed no pre-parameters ready.
func (h *Host) withoutPreParams(parties []protocol.PartyID) []protocol.PartyID {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []protocol.PartyID
	for _, p := range parties {
		if ps := h.health[p]; ps != nil && ps.needsPreParams && ps.ready == 0 {
			out = append(out, p)
		}
	}
	return out
}

func describeParties(ps []protocol.PartyID) string {
	if len(ps) == 0 {
		return "none"
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	verb := " is"
	if len(ps) > 1 {
		verb = " are"
	}
	return strings.Join(names, ", ") + verb
}

// verifySignature checks a hex r||s signature against a hex compressed key, independently of
// the enclaves that made it.
func verifySignature(scheme protocol.Scheme, pubHex string, digest []byte, sigHex string) error {
	pubBytes, err := hex.DecodeString(pubHex)
	if err != nil {
		return err
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil {
		return errors.New("signature is not hex")
	}
	if want := signatureSize(scheme); len(sig) != want {
		return fmt.Errorf("signature is %d bytes, want %d", len(sig), want)
	}
	switch scheme {
	case protocol.SchemeECDSASecp256k1:
		return verifySecp256k1(pubBytes, digest, sig)
	case protocol.SchemeECDSAP256:
		return verifyP256(pubBytes, digest, sig)
	case protocol.SchemeBLS12381:
		return verifyBLS(pubBytes, digest, sig)
	case protocol.SchemeEd25519:
		return verifyEd25519(pubBytes, digest, sig)
	case protocol.SchemeBIP340:
		return verifyBIP340(pubBytes, digest, sig)
	}
	return fmt.Errorf("no verifier for scheme %q", scheme)
}

func signatureSize(scheme protocol.Scheme) int {
	if scheme == protocol.SchemeBLS12381 {
		return 96
	}
	return 64
}

func sameRecoveryID(a, b *int) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// blsDST is the ciphersuite Ethereum's consensus layer signs with (proof of possession).
var blsDST = []byte("BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_")

// verifyBLS checks a 96-byte compressed G2 signature over msg under a 48-byte compressed G1 key,
// with subgroup checks on both.
func verifyBLS(pubBytes, msg, sig []byte) error {
	pk := new(blst.P1Affine).Uncompress(pubBytes)
	if pk == nil || !pk.KeyValidate() {
		return errors.New("public key is not a valid compressed G1 point")
	}
	s := new(blst.P2Affine).Uncompress(sig)
	if s == nil || !s.SigValidate(false) {
		return errors.New("signature is not a valid compressed G2 point")
	}
	if !s.Verify(false, pk, false, msg, blsDST) {
		return errors.New("verification failed")
	}
	return nil
}

// verifyEd25519 checks a (FROST) Ed25519 signature over the 32-byte message with the standard
// library, which shares no code with the engine.
func verifyEd25519(pubBytes, msg, sig []byte) error {
	if len(pubBytes) != ed25519.PublicKeySize {
		return fmt.Errorf("public key is %d bytes, want %d", len(pubBytes), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(ed25519.PublicKey(pubBytes), msg, sig) {
		return errors.New("Ed25519 verification failed")
	}
	return nil
}

// verifyBIP340 checks a BIP340 Schnorr signature under a 32-byte x-only key with btcec.
func verifyBIP340(pubBytes, digest, sig []byte) error {
	pub, err := schnorr.ParsePubKey(pubBytes)
	if err != nil {
		return err
	}
	s, err := schnorr.ParseSignature(sig)
	if err != nil {
		return err
	}
	if !s.Verify(digest, pub) {
		return errors.New("BIP340 verification failed")
	}
	return nil
}

func verifyP256(pubBytes, digest, sig []byte) error {
	c := elliptic.P256()
	x, y := elliptic.UnmarshalCompressed(c, pubBytes)
	if x == nil {
		return errors.New("public key is not a compressed P-256 point")
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if s.Cmp(new(big.Int).Rsh(c.Params().N, 1)) > 0 {
		return errors.New("s is not low")
	}
	if !stdecdsa.Verify(&stdecdsa.PublicKey{Curve: c, X: x, Y: y}, digest, r, s) {
		return errors.New("verification failed")
	}
	return nil
}

func verifySecp256k1(pubBytes, digest, sig []byte) error {
	pub, err := btcec.ParsePubKey(pubBytes)
	if err != nil {
		return err
	}
	var r, s btcec.ModNScalar
	if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) {
		return errors.New("r or s is out of range")
	}
	if s.IsOverHalfOrder() {
		return errors.New("s is not low")
	}
	if !becdsa.NewSignature(&r, &s).Verify(digest, pub) {
		return errors.New("verification failed")
	}
	return nil
}

func toAPIKey(k wire.KeyInfo) api.Key {
	out := api.Key{ID: k.ID, Label: k.Label, Scheme: string(k.Scheme), PublicKey: k.PublicKey, Threshold: k.Threshold, Created: k.Created,
		InternalKey: k.InternalKey, PKCS11ID: k.PKCS11ID, Epoch: k.Epoch}
	for _, p := range k.Parties {
		out.Parties = append(out.Parties, uint16(p))
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
