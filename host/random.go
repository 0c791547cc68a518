package host

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

// Random returns bytes from our own enclave's random generator. It never falls back to the
// host's generator: a client that asks the enclaves for randomness gets theirs or an error.
func (h *Host) Random(ctx context.Context, req api.RandomRequest) (*api.RandomResponse, error) {
	if req.Bytes < 1 || req.Bytes > api.MaxRandomBytes {
		return nil, fmt.Errorf("bytes must be 1 to %d, got %d: %w", api.MaxRandomBytes, req.Bytes, ErrBadRequest)
	}
	cctx, cancel := context.WithTimeout(ctx, h.cfg.Timeouts.Call)
	defer cancel()
	body, err := h.callParty(cctx, h.cfg.Party, wire.MethodRandom, wire.RandomArgs{Bytes: req.Bytes})
	if err != nil {
		return nil, fromRemote(h.cfg.Party, err)
	}
	var r wire.RandomReply
	if err := wire.DecodeJSON(body, &r); err != nil || len(r.Random) != req.Bytes {
		return nil, fmt.Errorf("our enclave returned an unusable random answer: %w", ErrInternal)
	}
	return &api.RandomResponse{Random: hex.EncodeToString(r.Random)}, nil
}

func (h *Host) handleRandom(w http.ResponseWriter, r *http.Request) (any, error) {
	var req api.RandomRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return h.Random(r.Context(), req)
}
