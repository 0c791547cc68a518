package eth1

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/mpcsigner/mpcsigner/chains/ethereum"
)

// JSON-RPC 2.0 error codes. The standard ones, and -32000 (the start of the range the
// specification leaves to servers) for everything the signer or the downstream node refuses or
// fails at; Web3Signer and Besu use -32000 in the same way.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	CodeServerError    = -32000
)

// Conditions of the JSON-RPC layer; rpcError maps them to codes.
var (
	errParse          = errors.New("parse error")
	errInvalidRequest = errors.New("invalid request")
	errMethodNotFound = errors.New("method not found")
	// errNoDownstream: the request needs the downstream node and none is configured.
	errNoDownstream = errors.New("no downstream node is configured")
	// errDownstream: the downstream node could not be reached or answered garbage.
	errDownstream = errors.New("downstream node failed")
	// errSigning: the backend failed to sign for a reason it did not classify.
	errSigning = errors.New("signing failed")
)

// errorObject is a JSON-RPC error object.
type errorObject struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// downstreamError is an error object the downstream node answered; it is passed on unchanged.
type downstreamError struct{ obj errorObject }

func (e *downstreamError) Error() string {
	return fmt.Sprintf("the downstream node answered error %d: %s", e.obj.Code, e.obj.Message)
}

// rpcError is the one place errors become JSON-RPC error objects.
func rpcError(err error) errorObject {
	var de *downstreamError
	switch {
	case errors.As(err, &de):
		return de.obj
	case errors.Is(err, errParse):
		return errorObject{Code: CodeParseError, Message: err.Error()}
	case errors.Is(err, errInvalidRequest), errors.Is(err, errTooLarge):
		return errorObject{Code: CodeInvalidRequest, Message: err.Error()}
	case errors.Is(err, errMethodNotFound), errors.Is(err, errNoDownstream):
		return errorObject{Code: CodeMethodNotFound, Message: err.Error()}
	case errors.Is(err, ethereum.ErrChainID): // before ErrInvalid, which it also wraps
		return errorObject{Code: CodeServerError, Message: err.Error()}
	case errors.Is(err, ErrBadRequest), errors.Is(err, ethereum.ErrInvalid):
		return errorObject{Code: CodeInvalidParams, Message: err.Error()}
	case errors.Is(err, ErrUnknownAccount), errors.Is(err, ethereum.ErrSignature),
		errors.Is(err, ErrUnavailable), errors.Is(err, errDownstream), errors.Is(err, errSigning):
		return errorObject{Code: CodeServerError, Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return errorObject{Code: CodeServerError, Message: "the request timed out: " + err.Error()}
	case errors.Is(err, context.Canceled):
		return errorObject{Code: CodeServerError, Message: "the request was cancelled"}
	}
	return errorObject{Code: CodeInternalError, Message: "internal error (the signer's log has the details)"}
}

// rpcStatus is the HTTP status of a single JSON-RPC answer: Web3Signer answers 400 to a parse
// error, an invalid request and invalid params and 200 otherwise (ResponseCodeSelector); the
// account_* methods answer 200 as go-ethereum's RPC server (clef) does, because go-ethereum's
// client turns any other status into an opaque HTTP error. A batch is always 200.
func rpcStatus(method string, code int) int {
	switch code {
	case CodeParseError:
		return http.StatusBadRequest
	case CodeInvalidRequest, CodeInvalidParams:
		if strings.HasPrefix(method, "account_") {
			return http.StatusOK
		}
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// request is one decoded JSON-RPC request.
type request struct {
	raw    []byte          // as received, for proxying unchanged
	id     json.RawMessage // nil when absent: a notification
	method string
	params json.RawMessage // nil when absent or null; else an array or an object
}

func (r *request) notification() bool { return r.id == nil }

// response is one JSON-RPC response.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *errorObject    `json:"error,omitempty"`
}

var jsonNull = json.RawMessage("null")

func errorResponse(id json.RawMessage, obj errorObject) *response {
	if id == nil {
		id = jsonNull
	}
	return &response{JSONRPC: "2.0", ID: id, Error: &obj}
}

// member is one member of a JSON object, in the order received.
type member struct {
	key   string
	value json.RawMessage
}

// strictObject splits a JSON object into its members, refusing a member that appears twice
// and anything after the object.
func strictObject(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("malformed object")
		}
		if seen[key] {
			return nil, fmt.Errorf("member %q appears twice", truncate(key, 60))
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key: key, value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return out, nil
}

// jsonKind is the first byte of a JSON value: '{', '[', '"', 'n', 't', 'f' or a number's.
func jsonKind(v json.RawMessage) byte {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// parseRequest decodes one request object strictly. On failure it still returns the id when
// it could be read, so the error response can carry it.
func parseRequest(raw []byte) (*request, error) {
	members, err := strictObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: a request must be a JSON object: %v", errInvalidRequest, err)
	}
	req := &request{raw: raw}
	for _, m := range members {
		if m.key != "id" {
			continue
		}
		switch k := jsonKind(m.value); {
		case k == '"', k == 'n', k == '-', k >= '0' && k <= '9':
			req.id = bytes.TrimSpace(m.value)
		default:
			return &request{id: jsonNull}, fmt.Errorf("%w: id must be a string, a number or null", errInvalidRequest)
		}
	}
	var version, method bool
	for _, m := range members {
		switch m.key {
		case "id":
		case "jsonrpc":
			var v string
			if json.Unmarshal(m.value, &v) != nil || v != "2.0" {
				return req, fmt.Errorf("%w: jsonrpc must be \"2.0\"", errInvalidRequest)
			}
			version = true
		case "method":
			if json.Unmarshal(m.value, &req.method) != nil || req.method == "" {
				return req, fmt.Errorf("%w: method must be a non-empty string", errInvalidRequest)
			}
			method = true
		case "params":
			switch jsonKind(m.value) {
			case '[', '{':
				req.params = m.value
			case 'n':
			default:
				return req, fmt.Errorf("%w: params must be an array or an object", errInvalidRequest)
			}
		default:
			return req, fmt.Errorf("%w: unknown member %q in the request object", errInvalidRequest, truncate(m.key, 60))
		}
	}
	if !version {
		return req, fmt.Errorf("%w: jsonrpc \"2.0\" is missing", errInvalidRequest)
	}
	if !method {
		return req, fmt.Errorf("%w: method is missing", errInvalidRequest)
	}
	return req, nil
}

// handleJSONRPC serves POST /: one request or a batch.
func (s *Server) handleJSONRPC(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r, MaxBodyBytes)
	if err != nil {
		s.rpcFail(w, "", nil, err)
		return
	}
	if !json.Valid(body) {
		s.rpcFail(w, "", nil, fmt.Errorf("%w: the body is not valid JSON", errParse))
		return
	}
	switch jsonKind(body) {
	case '[':
		s.serveBatch(w, r, body)
	case '{':
		s.serveSingle(w, r, body)
	default:
		s.rpcFail(w, "", nil, fmt.Errorf("%w: the body must be a request object or an array of them", errInvalidRequest))
	}
}

func (s *Server) serveSingle(w http.ResponseWriter, r *http.Request, body []byte) {
	req, err := parseRequest(body)
	if err != nil {
		var id json.RawMessage
		if req != nil {
			id = req.id
		}
		s.rpcFail(w, "", id, err)
		return
	}
	if s.handler(req.method) == nil {
		s.proxySingle(w, r, req)
		return
	}
	resp := s.call(r.Context(), req)
	if req.notification() {
		w.WriteHeader(http.StatusOK)
		return
	}
	code := http.StatusOK
	if resp.Error != nil {
		code = rpcStatus(req.method, resp.Error.Code)
	}
	writeJSON(w, code, resp)
}

// batchWorkers bounds how many members of one batch run at once.
const batchWorkers = 8

func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, body []byte) {
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		s.rpcFail(w, "", nil, fmt.Errorf("%w: %v", errParse, err))
		return
	}
	if len(elems) == 0 {
		s.rpcFail(w, "", nil, fmt.Errorf("%w: the batch is empty", errInvalidRequest))
		return
	}
	if len(elems) > MaxBatch {
		s.rpcFail(w, "", nil, fmt.Errorf("%w: a batch of %d requests exceeds the limit of %d", errInvalidRequest, len(elems), MaxBatch))
		return
	}
	out := make([]*response, len(elems))
	sem := make(chan struct{}, batchWorkers)
	var wg sync.WaitGroup
	for i, e := range elems {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = s.batchMember(r.Context(), e)
		})
	}
	wg.Wait()
	resps := make([]*response, 0, len(out))
	for _, o := range out {
		if o != nil {
			resps = append(resps, o)
		}
	}
	if len(resps) == 0 {
		w.WriteHeader(http.StatusOK) // only notifications: nothing to answer
		return
	}
	writeJSON(w, http.StatusOK, resps)
}

// batchMember answers one member of a batch; nil for a notification.
func (s *Server) batchMember(ctx context.Context, raw json.RawMessage) *response {
	req, err := parseRequest(raw)
	if err != nil {
		var id json.RawMessage
		if req != nil {
			id = req.id
		}
		s.logFailure("", err)
		return errorResponse(id, rpcError(err))
	}
	var resp *response
	if s.handler(req.method) == nil {
		resp = s.proxyMember(ctx, req)
	} else {
		resp = s.call(ctx, req)
	}
	if req.notification() {
		return nil
	}
	return resp
}

// call runs a method this signer serves.
func (s *Server) call(ctx context.Context, req *request) *response {
	result, err := s.handler(req.method)(ctx, req)
	if err == nil {
		var b []byte
		if b, err = json.Marshal(result); err == nil {
			return &response{JSONRPC: "2.0", ID: idOrNull(req.id), Result: b}
		}
	}
	s.logFailure(req.method, err)
	return errorResponse(req.id, rpcError(err))
}

func idOrNull(id json.RawMessage) json.RawMessage {
	if id == nil {
		return jsonNull
	}
	return id
}

func (s *Server) logFailure(method string, err error) {
	obj := rpcError(err)
	s.cfg.Log.Info("eth1 JSON-RPC request failed", "method", truncate(method, 60), "code", obj.Code, "err", err)
}

// rpcFail writes one error response.
func (s *Server) rpcFail(w http.ResponseWriter, method string, id json.RawMessage, err error) {
	s.logFailure(method, err)
	obj := rpcError(err)
	code := rpcStatus(method, obj.Code)
	if errors.Is(err, errTooLarge) {
		code = http.StatusRequestEntityTooLarge
	}
	writeJSON(w, code, errorResponse(id, obj))
}
