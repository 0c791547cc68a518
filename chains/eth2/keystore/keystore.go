package keystore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	blst "github.com/supranational/blst/bindings/go"
)

const (
	// MaxSize is the largest keystore file Parse accepts. Real keystores are about 1 KiB.
	MaxSize = 32 << 10

	// Version is the only keystore version this package reads and writes.
	Version = 4

	// MaxScryptN bounds scrypt's cost parameter n (the EIP's keystores use 2^18).
	MaxScryptN = 1 << 18
	// MaxScryptRP bounds scrypt's r*p (the EIP's keystores use r=8, p=1).
	MaxScryptRP = 16
	// maxScryptNR bounds n*r so that scrypt's 128*n*r bytes of memory stay within 256 MiB.
	maxScryptNR = 1 << 21
	// MaxPBKDF2C bounds pbkdf2's iteration count c (the EIP's keystores use 2^18).
	MaxPBKDF2C = 1 << 22

	// SecretSize is the size of the encrypted secret: a big-endian BLS12-381 secret key.
	SecretSize = 32
	// PubkeySize is the size of a compressed G1 public key.
	PubkeySize = 48

	dkLen       = 32
	ivSize      = 16
	minSaltSize = 16
	maxSaltSize = 64
	maxPathLen  = 64 // components of an EIP-2334 path
)

// Errors callers branch on.
var (
	// ErrInvalid is matched (errors.Is) by every error of Parse: the keystore is malformed or
	// outside this package's bounds. The error itself is a *FieldError saying which field.
	ErrInvalid = errors.New("keystore: invalid keystore")
	// ErrWrongPassword means the password does not match the keystore's checksum.
	ErrWrongPassword = errors.New("keystore: wrong password (the checksum does not match)")
	// ErrInvalidSecret means the password matched but the decrypted secret is not a valid
	// BLS12-381 secret key (zero, or not below the group order).
	ErrInvalidSecret = errors.New("keystore: the decrypted secret is not a valid BLS12-381 secret key (zero or not below the group order)")
	// ErrPubkeyMismatch means the decrypted secret is not the secret key of the keystore's pubkey.
	ErrPubkeyMismatch = errors.New("keystore: the decrypted secret key does not belong to the keystore's pubkey")
)

// FieldError says which field of a keystore is wrong and why. Field is a dotted path such as
// "crypto.kdf.params.n"; it is empty for a problem with the file as a whole. Its message never
// quotes the keystore's bytes.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return "keystore: " + e.Reason
	}
	return "keystore: " + e.Field + ": " + e.Reason
}

// Is makes every FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Keystore is a decoded EIP-2335 keystore. Its exported fields are the public metadata; the
// encrypted secret and the KDF parameters are kept private and used by Decrypt.
type Keystore struct {
	// Pubkey is the 48-byte compressed G1 public key, nil if the keystore names none. Parse
	// checks that it is a valid point of the G1 subgroup.
	Pubkey []byte
	// Path is the EIP-2334 derivation path, "" when unknown.
	Path string
	// UUID is the keystore's RFC 4122 UUID as written, "" when absent.
	UUID string
	// Description is free text, "" when absent.
	Description string
	// Name is the non-standard name some tools (Prysm, ethdo) write, "" when absent.
	Name string

	kdf      kdfParams
	checksum [32]byte
	iv       [ivSize]byte
	message  [SecretSize]byte // the encrypted secret
}

// kdfParams are a keystore's KDF module, already checked against the bounds.
type kdfParams struct {
	function string // "scrypt" or "pbkdf2"
	n, r, p  int    // scrypt
	c        int    // pbkdf2
	salt     []byte
}

// Parse decodes and validates a keystore. It runs no KDF: its cost is linear in len(b).
func Parse(b []byte) (*Keystore, error) {
	if len(b) == 0 {
		return nil, fieldErr("", "empty input")
	}
	if len(b) > MaxSize {
		return nil, fieldErr("", "too large (%d bytes, limit %d)", len(b), MaxSize)
	}
	top, err := decodeObject(b, "", true,
		[]string{"crypto", "version"},
		[]string{"description", "pubkey", "path", "uuid", "name"})
	if err != nil {
		return nil, err
	}
	k := &Keystore{}
	version, err := intField(top, "", "version")
	if err != nil {
		return nil, err
	}
	if version != Version {
		return nil, fieldErr("version", "version %d is not supported (want %d)", version, Version)
	}
	if err := k.decodeCrypto(top["crypto"]); err != nil {
		return nil, err
	}
	if k.Description, err = optString(top, "", "description"); err != nil {
		return nil, err
	}
	if k.Name, err = optString(top, "", "name"); err != nil {
		return nil, err
	}
	if k.Path, err = optString(top, "", "path"); err != nil {
		return nil, err
	}
	if err := checkPath(k.Path); err != nil {
		return nil, fieldErr("path", "%v", err)
	}
	if k.UUID, err = optString(top, "", "uuid"); err != nil {
		return nil, err
	}
	if k.UUID != "" && !validUUID(k.UUID) {
		return nil, fieldErr("uuid", "not a UUID (want 8-4-4-4-12 hex digits)")
	}
	pub, err := optString(top, "", "pubkey")
	if err != nil {
		return nil, err
	}
	if pub != "" {
		if k.Pubkey, err = hexField("pubkey", pub, PubkeySize, PubkeySize); err != nil {
			return nil, err
		}
		if p := new(blst.P1Affine).Uncompress(k.Pubkey); p == nil || !p.KeyValidate() {
			return nil, fieldErr("pubkey", "not a valid BLS12-381 public key (bad encoding, not in the G1 subgroup, or the identity)")
		}
	}
	return k, nil
}

func (k *Keystore) decodeCrypto(raw json.RawMessage) error {
	crypto, err := decodeObject(raw, "crypto", false, []string{"kdf", "checksum", "cipher"}, nil)
	if err != nil {
		return err
	}

	// kdf
	kdf, err := decodeModule(crypto["kdf"], "crypto.kdf")
	if err != nil {
		return err
	}
	if kdf.message != "" {
		return fieldErr("crypto.kdf.message", "must be empty")
	}
	switch kdf.function {
	case "scrypt":
		err = k.decodeScrypt(kdf.params)
	case "pbkdf2":
		err = k.decodePBKDF2(kdf.params)
	default:
		return fieldErr("crypto.kdf.function", "unsupported function %s (want scrypt or pbkdf2)", strconv.Quote(clip(kdf.function)))
	}
	if err != nil {
		return err
	}

	// checksum
	sum, err := decodeModule(crypto["checksum"], "crypto.checksum")
	if err != nil {
		return err
	}
	if sum.function != "sha256" {
		return fieldErr("crypto.checksum.function", "unsupported function %s (want sha256)", strconv.Quote(clip(sum.function)))
	}
	if _, err := decodeObject(sum.params, "crypto.checksum.params", false, nil, nil); err != nil {
		return err
	}
	b, err := hexField("crypto.checksum.message", sum.message, len(k.checksum), len(k.checksum))
	if err != nil {
		return err
	}
	copy(k.checksum[:], b)

	// cipher
	ciph, err := decodeModule(crypto["cipher"], "crypto.cipher")
	if err != nil {
		return err
	}
	if ciph.function != "aes-128-ctr" {
		return fieldErr("crypto.cipher.function", "unsupported function %s (want aes-128-ctr)", strconv.Quote(clip(ciph.function)))
	}
	params, err := decodeObject(ciph.params, "crypto.cipher.params", false, []string{"iv"}, nil)
	if err != nil {
		return err
	}
	iv, err := stringField(params, "crypto.cipher.params", "iv")
	if err != nil {
		return err
	}
	if b, err = hexField("crypto.cipher.params.iv", iv, ivSize, ivSize); err != nil {
		return err
	}
	copy(k.iv[:], b)
	if b, err = hexField("crypto.cipher.message", ciph.message, SecretSize, SecretSize); err != nil {
		return err
	}
	copy(k.message[:], b)
	return nil
}

func (k *Keystore) decodeScrypt(raw json.RawMessage) error {
	const at = "crypto.kdf.params"
	params, err := decodeObject(raw, at, false, []string{"dklen", "n", "r", "p", "salt"}, nil)
	if err != nil {
		return err
	}
	if err := checkDKLen(params); err != nil {
		return err
	}
	n, err := intField(params, at, "n")
	if err != nil {
		return err
	}
	if n < 2 || n > MaxScryptN || n&(n-1) != 0 {
		return fieldErr(at+".n", "%d is not a power of two from 2 to %d", n, MaxScryptN)
	}
	r, err := intField(params, at, "r")
	if err != nil {
		return err
	}
	p, err := intField(params, at, "p")
	if err != nil {
		return err
	}
	switch {
	case r < 1 || r > MaxScryptRP:
		return fieldErr(at+".r", "%d is out of range [1, %d]", r, MaxScryptRP)
	case p < 1 || p > MaxScryptRP:
		return fieldErr(at+".p", "%d is out of range [1, %d]", p, MaxScryptRP)
	case r*p > MaxScryptRP:
		return fieldErr(at+".p", "r*p = %d exceeds %d", r*p, MaxScryptRP)
	case n*r > maxScryptNR:
		return fieldErr(at+".r", "n*r = %d exceeds %d (scrypt would need more than %d MiB)", n*r, maxScryptNR, 128*maxScryptNR>>20)
	}
	salt, err := saltField(params, at)
	if err != nil {
		return err
	}
	k.kdf = kdfParams{function: "scrypt", n: n, r: r, p: p, salt: salt}
	return nil
}

func (k *Keystore) decodePBKDF2(raw json.RawMessage) error {
	const at = "crypto.kdf.params"
	params, err := decodeObject(raw, at, false, []string{"dklen", "c", "prf", "salt"}, nil)
	if err != nil {
		return err
	}
	if err := checkDKLen(params); err != nil {
		return err
	}
	c, err := intField(params, at, "c")
	if err != nil {
		return err
	}
	if c < 1 || c > MaxPBKDF2C {
		return fieldErr(at+".c", "%d is out of range [1, %d]", c, MaxPBKDF2C)
	}
	prf, err := stringField(params, at, "prf")
	if err != nil {
		return err
	}
	if prf != "hmac-sha256" {
		return fieldErr(at+".prf", "unsupported prf %s (want hmac-sha256)", strconv.Quote(clip(prf)))
	}
	salt, err := saltField(params, at)
	if err != nil {
		return err
	}
	k.kdf = kdfParams{function: "pbkdf2", c: c, salt: salt}
	return nil
}

func checkDKLen(params map[string]json.RawMessage) error {
	const at = "crypto.kdf.params"
	dklen, err := intField(params, at, "dklen")
	if err != nil {
		return err
	}
	if dklen != dkLen {
		return fieldErr(at+".dklen", "%d is not supported (want %d)", dklen, dkLen)
	}
	return nil
}

func saltField(params map[string]json.RawMessage, at string) ([]byte, error) {
	s, err := stringField(params, at, "salt")
	if err != nil {
		return nil, err
	}
	return hexField(at+".salt", s, minSaltSize, maxSaltSize)
}

// module is a decoded EIP-2335 module: function, params (still raw) and message.
type module struct {
	function string
	params   json.RawMessage
	message  string
}

func decodeModule(raw json.RawMessage, at string) (*module, error) {
	obj, err := decodeObject(raw, at, false, []string{"function", "params", "message"}, nil)
	if err != nil {
		return nil, err
	}
	m := &module{params: obj["params"]}
	if m.function, err = stringField(obj, at, "function"); err != nil {
		return nil, err
	}
	if m.message, err = stringField(obj, at, "message"); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeObject decodes one JSON object whose keys must be exactly named: every required key
// present, no key outside required and optional, none repeated (case matters, unlike
// encoding/json's). The values are returned undecoded. top also refuses trailing data.
func decodeObject(b []byte, at string, top bool, required, optional []string) (map[string]json.RawMessage, error) {
	where := func(key string) string {
		if at == "" {
			return key
		}
		return at + "." + key
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, fieldErr(at, "%s", jsonReason(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fieldErr(at, "must be a JSON object")
	}
	known := make(map[string]bool, len(required)+len(optional))
	for _, key := range required {
		known[key] = true
	}
	for _, key := range optional {
		known[key] = true
	}
	obj := make(map[string]json.RawMessage, len(known))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fieldErr(at, "%s", jsonReason(err))
		}
		key := tok.(string) // object keys are strings
		if !known[key] {
			return nil, fieldErr(at, "unknown key %s", strconv.Quote(clip(key)))
		}
		if _, dup := obj[key]; dup {
			return nil, fieldErr(where(key), "appears twice")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fieldErr(where(key), "%s", jsonReason(err))
		}
		if string(v) == "null" {
			return nil, fieldErr(where(key), "is null")
		}
		obj[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fieldErr(at, "%s", jsonReason(err))
	}
	for _, key := range required {
		if _, ok := obj[key]; !ok {
			return nil, fieldErr(where(key), "missing")
		}
	}
	if top {
		if _, err := dec.Token(); err != io.EOF {
			return nil, fieldErr("", "trailing data after the JSON object")
		}
	}
	return obj, nil
}

// jsonReason describes a JSON decoding error without quoting the input.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	}
	return "malformed JSON"
}

func stringField(obj map[string]json.RawMessage, at, key string) (string, error) {
	field := key
	if at != "" {
		field = at + "." + key
	}
	raw, ok := obj[key]
	if !ok {
		return "", fieldErr(field, "missing")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fieldErr(field, "must be a string")
	}
	return s, nil
}

func optString(obj map[string]json.RawMessage, at, key string) (string, error) {
	if _, ok := obj[key]; !ok {
		return "", nil
	}
	return stringField(obj, at, key)
}

// intField decodes a non-negative JSON integer no larger than 2^31-1 (no fraction, no
// exponent, no quotes).
func intField(obj map[string]json.RawMessage, at, key string) (int, error) {
	field := key
	if at != "" {
		field = at + "." + key
	}
	raw, ok := obj[key]
	if !ok {
		return 0, fieldErr(field, "missing")
	}
	var v int32
	if err := json.Unmarshal(raw, &v); err != nil || v < 0 {
		return 0, fieldErr(field, "must be a non-negative integer below 2^31")
	}
	return int(v), nil
}

// hexField decodes a hex string (an optional 0x prefix, either case) of min to max bytes.
func hexField(field, s string, minLen, maxLen int) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) > 2*maxLen || len(s) < 2*minLen {
		if minLen == maxLen {
			return nil, fieldErr(field, "%d hex digits (want %d bytes)", len(s), minLen)
		}
		return nil, fieldErr(field, "%d hex digits (want %d to %d bytes)", len(s), minLen, maxLen)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fieldErr(field, "not a hex string")
	}
	return b, nil
}

// checkPath accepts "" and EIP-2334 paths: "m" followed by /-separated decimal indices below
// 2^32.
func checkPath(p string) error {
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	if parts[0] != "m" {
		return errors.New(`not an EIP-2334 path (must start with "m")`)
	}
	if len(parts)-1 > maxPathLen {
		return fmt.Errorf("deeper than %d levels", maxPathLen)
	}
	for i, part := range parts[1:] {
		if part == "" || (len(part) > 1 && part[0] == '0') {
			return fmt.Errorf("component %d is not a decimal index", i+1)
		}
		if _, err := strconv.ParseUint(part, 10, 32); err != nil {
			return fmt.Errorf("component %d is not a decimal index below 2^32", i+1)
		}
	}
	return nil
}

// validUUID reports whether s is 8-4-4-4-12 hex digits (RFC 4122 reads either case).
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// clip shortens an attacker-chosen string before it goes into an error message.
func clip(s string) string {
	const limit = 32
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
