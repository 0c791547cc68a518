package token

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// Error is a failure that already has its PKCS#11 return value.
type Error struct {
	RV  uint
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("CKR 0x%X: %s", e.RV, e.Msg) }

// ckr makes an *Error.
func ckr(rv uint, format string, a ...any) error {
	return &Error{RV: rv, Msg: fmt.Sprintf(format, a...)}
}

// Op names the PKCS#11 call an error came from, where the same API error means different
// things (a 401 at login is a wrong PIN; a 404 when signing is an invalid key handle).
type Op int

// The operations that interpret API errors differently.
const (
	OpOther Op = iota
	OpLogin
	OpSign
	OpFind
	OpGenerate
)

// ToCKR maps any error of this package or of the API client to a CKR_* value. It is the only
// place where that mapping is decided.
//
//   - *Error: its own RV (CKR_BUFFER_TOO_SMALL, CKR_KEY_HANDLE_INVALID, ...);
//   - *api.Error: 401/403 at login → CKR_PIN_INCORRECT, elsewhere 401 → CKR_DEVICE_ERROR (the
//     configured token stopped working) and 403 → CKR_FUNCTION_REJECTED (policy refused);
//     404 → CKR_KEY_HANDLE_INVALID when signing, CKR_OBJECT_HANDLE_INVALID otherwise;
//     400/422 → CKR_DATA_INVALID when signing, CKR_TEMPLATE_INCONSISTENT when generating,
//     CKR_ARGUMENTS_BAD otherwise; 409 → CKR_FUNCTION_REJECTED; anything else (503 lost
//     quorum, 5xx, 429) → CKR_DEVICE_ERROR;
//   - context cancellation (C_Finalize) → CKR_FUNCTION_CANCELED;
//   - deadline exceeded, network and decoding errors from the API client → CKR_DEVICE_ERROR;
//   - anything else → CKR_GENERAL_ERROR.
func ToCKR(op Op, err error) uint {
	if err == nil {
		return CKR_OK
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce.RV
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return apiStatusToCKR(op, ae.Status)
	}
	if errors.Is(err, context.Canceled) {
		return CKR_FUNCTION_CANCELED
	}
	var ue *url.Error
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, errBackend) {
		return CKR_DEVICE_ERROR
	}
	return CKR_GENERAL_ERROR
}

// errBackend marks an unusable answer from the host (bad hex, a signature that does not verify).
var errBackend = errors.New("unusable answer from the host")

func apiStatusToCKR(op Op, status int) uint {
	switch {
	case (status == http.StatusUnauthorized || status == http.StatusForbidden) && op == OpLogin:
		return CKR_PIN_INCORRECT
	case status == http.StatusUnauthorized:
		return CKR_DEVICE_ERROR
	case status == http.StatusForbidden, status == http.StatusConflict:
		return CKR_FUNCTION_REJECTED
	case status == http.StatusNotFound && op == OpSign:
		return CKR_KEY_HANDLE_INVALID
	case status == http.StatusNotFound:
		return CKR_OBJECT_HANDLE_INVALID
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		switch op {
		case OpSign:
			return CKR_DATA_INVALID
		case OpGenerate:
			return CKR_TEMPLATE_INCONSISTENT
		}
		return CKR_ARGUMENTS_BAD
	}
	return CKR_DEVICE_ERROR
}
