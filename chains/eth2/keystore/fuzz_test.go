package keystore

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it may refuse them, never panic, and whatever it
// accepts is within the KDF bounds. Accepted keystores with a cheap KDF are also decrypted.
func FuzzParse(f *testing.F) {
	f.Add(readVector(f, "eip2335_scrypt.json"))
	f.Add(readVector(f, "eip2335_pbkdf2.json"))
	f.Add(lightVector(f, "scrypt"))
	f.Add(lightVector(f, "pbkdf2"))
	f.Add([]byte(`{"version":4,"crypto":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v does not match ErrInvalid", err)
			}
			return
		}
		p := k.kdf
		switch p.function {
		case "scrypt":
			if p.n < 2 || p.n > MaxScryptN || p.n&(p.n-1) != 0 || p.r < 1 || p.p < 1 || p.r*p.p > MaxScryptRP || p.n*p.r > maxScryptNR {
				t.Fatalf("scrypt params out of bounds: n=%d r=%d p=%d", p.n, p.r, p.p)
			}
		case "pbkdf2":
			if p.c < 1 || p.c > MaxPBKDF2C {
				t.Fatalf("pbkdf2 c out of bounds: %d", p.c)
			}
		default:
			t.Fatalf("unknown kdf %q accepted", p.function)
		}
		if len(p.salt) < minSaltSize || len(p.salt) > maxSaltSize {
			t.Fatalf("salt of %d bytes accepted", len(p.salt))
		}
		if k.Pubkey != nil && len(k.Pubkey) != PubkeySize {
			t.Fatalf("pubkey of %d bytes accepted", len(k.Pubkey))
		}
		if (p.function == "scrypt" && p.n*p.r*p.p <= 1<<10) || (p.function == "pbkdf2" && p.c <= 1<<10) {
			secret, err := k.Decrypt([]byte(vectorPassword))
			switch {
			case err == nil:
				if len(secret) != SecretSize {
					t.Fatalf("secret of %d bytes", len(secret))
				}
			case errors.Is(err, ErrWrongPassword), errors.Is(err, ErrInvalidSecret), errors.Is(err, ErrPubkeyMismatch):
			default:
				t.Fatalf("Decrypt: unexpected error %v", err)
			}
		}
	})
}
