package eth1

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// forward posts body to the downstream node and returns its status, content type and body.
func (s *Server) forward(ctx context.Context, body []byte) (int, string, []byte, error) {
	if s.downstream == "" {
		return 0, "", nil, errNoDownstream
	}
	ctx, cancel := context.WithTimeout(ctx, DownstreamTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.downstream, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: %v", errDownstream, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(hreq)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return 0, "", nil, fmt.Errorf("%w: connection to the downstream node timed out", errDownstream)
		}
		if errors.Is(err, context.Canceled) {
			return 0, "", nil, err
		}
		return 0, "", nil, fmt.Errorf("%w: failed to connect to the downstream node: %v", errDownstream, redactURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxDownstreamBytes+1))
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: reading the downstream node's answer: %v", errDownstream, redactURL(err))
	}
	if len(b) > MaxDownstreamBytes {
		return 0, "", nil, fmt.Errorf("%w: the downstream node's answer exceeds %d bytes", errDownstream, MaxDownstreamBytes)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// redactURL keeps the downstream URL (which may carry credentials) out of error messages.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// proxySingle forwards one request unchanged and passes the node's answer back unchanged.
func (s *Server) proxySingle(w http.ResponseWriter, r *http.Request, req *request) {
	if s.downstream == "" {
		s.rpcFail(w, req.method, req.id, noDownstream(req.method))
		return
	}
	code, ctype, body, err := s.forward(r.Context(), req.raw)
	if err != nil {
		s.rpcFail(w, req.method, req.id, err)
		return
	}
	if ctype == "" {
		ctype = "application/json"
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func noDownstream(method string) error {
	return fmt.Errorf("%w: method %s is not served by this signer and %w to proxy it to", errMethodNotFound, truncate(method, 60), errNoDownstream)
}

// proxyMember forwards one member of a batch unchanged; the node's answer must be one
// JSON-RPC response object.
func (s *Server) proxyMember(ctx context.Context, req *request) *response {
	if s.downstream == "" {
		err := noDownstream(req.method)
		s.logFailure(req.method, err)
		return errorResponse(req.id, rpcError(err))
	}
	code, _, body, err := s.forward(ctx, req.raw)
	if err == nil {
		var resp response
		switch {
		case req.notification():
			return nil
		case code < 200 || code > 299:
			err = fmt.Errorf("%w: the downstream node answered HTTP %d: %s", errDownstream, code, truncate(string(bytes.ToValidUTF8(body, nil)), 200))
		case jsonKind(body) != '{' || json.Unmarshal(body, &resp) != nil || (resp.Result == nil && resp.Error == nil):
			err = fmt.Errorf("%w: the downstream node's answer is not a JSON-RPC response", errDownstream)
		default:
			resp.JSONRPC = "2.0"
			resp.ID = idOrNull(req.id)
			return &resp
		}
	}
	s.logFailure(req.method, err)
	return errorResponse(req.id, rpcError(err))
}

var downstreamID atomic.Uint64

// callDownstream calls method on the downstream node and returns its result.
func (s *Server) callDownstream(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": downstreamID.Add(1), "method": method, "params": json.RawMessage(p)})
	if err != nil {
		return nil, err
	}
	code, _, b, err := s.forward(ctx, body)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *errorObject    `json:"error"`
	}
	if jsonKind(b) != '{' || json.Unmarshal(b, &resp) != nil {
		return nil, fmt.Errorf("%w: %s answered HTTP %d with something that is not a JSON-RPC response", errDownstream, method, code)
	}
	if resp.Error != nil {
		return nil, &downstreamError{obj: *resp.Error}
	}
	if resp.Result == nil {
		return nil, fmt.Errorf("%w: %s answered HTTP %d without a result", errDownstream, method, code)
	}
	return resp.Result, nil
}

// pendingNonce asks the node for eth_getTransactionCount(from, "pending"), as Web3Signer does.
func (s *Server) pendingNonce(ctx context.Context, from common.Address) (uint64, error) {
	res, err := s.callDownstream(ctx, "eth_getTransactionCount", from, "pending")
	if err != nil {
		return 0, err
	}
	var q string
	if err := json.Unmarshal(res, &q); err != nil {
		return 0, fmt.Errorf("%w: eth_getTransactionCount answered %s, not a hex quantity", errDownstream, truncate(string(res), 80))
	}
	n, err := hexutil.DecodeUint64(q)
	if err != nil {
		return 0, fmt.Errorf("%w: eth_getTransactionCount answered %q: %v", errDownstream, truncate(q, 80), err)
	}
	return n, nil
}

// maxNonceRetries bounds how often eth_sendTransaction fetches a fresh nonce and signs again
// when the node refuses a filled-in nonce (Web3Signer's NonceTooLowRetryMechanism retries on
// the same answers). Each retry costs a threshold signature.
const maxNonceRetries = 3

// nonceRefused reports whether the node refused a transaction because its nonce was taken.
func nonceRefused(err error) bool {
	var de *downstreamError
	if !errors.As(err, &de) {
		return false
	}
	m := strings.ToLower(de.obj.Message)
	for _, s := range []string{"nonce too low", "already known", "known transaction", "replacement transaction underpriced"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// lockSender serialises eth_sendTransaction per sender, from the nonce query to the node's
// answer, so two sends through this server do not take the same pending nonce.
func (s *Server) lockSender(ctx context.Context, from common.Address) (func(), error) {
	ch := s.sendLocks[from[19]%byte(len(s.sendLocks))]
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ethSendTransaction is eth_sendTransaction [tx]: fill a missing nonce from the node, sign,
// send with eth_sendRawTransaction and answer the node's result (the hash).
func (s *Server) ethSendTransaction(ctx context.Context, req *request) (any, error) {
	if s.downstream == "" {
		return nil, fmt.Errorf("eth_sendTransaction sends through the downstream node: %w", errNoDownstream)
	}
	obj, _, err := objectParam(req, 0, "[transaction]")
	if err != nil {
		return nil, err
	}
	args, from, err := s.parseTx(req, obj)
	if err != nil {
		return nil, err
	}
	// Everything but the nonce is checked before the node is asked for one.
	probe, zero := *args, hexutil.Uint64(0)
	if probe.Nonce == nil {
		probe.Nonce = &zero
	}
	if _, err := s.buildTx(req, &probe); err != nil {
		return nil, err
	}
	if _, err := s.findByAddress(ctx, from); err != nil {
		return nil, err
	}
	unlock, err := s.lockSender(ctx, from)
	if err != nil {
		return nil, err
	}
	defer unlock()
	fill := args.Nonce == nil
	for attempt := 0; ; attempt++ {
		if fill {
			n, err := s.pendingNonce(ctx, from)
			if err != nil {
				return nil, err
			}
			nonce := hexutil.Uint64(n)
			args.Nonce = &nonce
		}
		signed, err := s.signTx(ctx, req, args, from)
		if err != nil {
			return nil, err
		}
		raw, err := signed.MarshalBinary()
		if err != nil {
			return nil, err
		}
		res, err := s.callDownstream(ctx, "eth_sendRawTransaction", hexutil.Bytes(raw))
		if err == nil {
			if want, _ := json.Marshal(signed.Hash()); !bytes.Equal(bytes.ToLower(res), bytes.ToLower(want)) {
				s.cfg.Log.Warn("eth1: the downstream node answered a hash that is not the transaction's", "got", truncate(string(res), 80), "want", signed.Hash().Hex())
			}
			return res, nil
		}
		if !fill || attempt >= maxNonceRetries || !nonceRefused(err) {
			return nil, err
		}
		s.cfg.Log.Info("eth1: the node refused the filled-in nonce; fetching a fresh one", "from", from.Hex(), "nonce", signed.Nonce(), "err", err)
	}
}
