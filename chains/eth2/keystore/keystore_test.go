package keystore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// The EIP-2335 test vectors' password, its processed form, secret and public key.
const (
	vectorPassword        = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑"
	vectorEncodedPassword = "7465737470617373776f7264f09f9491"
	vectorSecret          = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
	vectorPubkey          = "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07"
)

// lightCost makes test keystores that decrypt in microseconds.
const lightCost = 16

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEIP2335Vectors(t *testing.T) {
	for _, tc := range []struct {
		file, kdf, path, uuid, description string
	}{
		{"eip2335_scrypt.json", "scrypt", "m/12381/60/3141592653/589793238", "1d85ae20-35c5-4611-98e8-aa14a633906f", "This is a test keystore that uses scrypt to secure the secret."},
		{"eip2335_pbkdf2.json", "pbkdf2", "m/12381/60/0/0", "64625def-3331-4eea-ab6f-782f3ed16a83", "This is a test keystore that uses PBKDF2 to secure the secret."},
	} {
		t.Run(tc.kdf, func(t *testing.T) {
			t.Parallel()
			k, err := Parse(readVector(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if k.kdf.function != tc.kdf || k.Path != tc.path || k.UUID != tc.uuid || k.Description != tc.description || k.Name != "" {
				t.Fatalf("metadata: %+v", k)
			}
			if !bytes.Equal(k.Pubkey, mustHex(t, vectorPubkey)) {
				t.Fatalf("pubkey %x", k.Pubkey)
			}
			secret, err := k.Decrypt([]byte(vectorPassword))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(secret, mustHex(t, vectorSecret)) {
				t.Fatalf("secret %x, want %s", secret, vectorSecret)
			}
			if tc.kdf == "pbkdf2" { // the cheaper KDF: also check the wrong-password path on a vector
				if _, err := k.Decrypt([]byte("testpassword")); !errors.Is(err, ErrWrongPassword) {
					t.Fatalf("Decrypt without the key emoji = %v, want ErrWrongPassword", err)
				}
			}
		})
	}
}

func TestNormalizePassword(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"EIP vector", vectorPassword, string(mustHex(t, vectorEncodedPassword))},
		{"ascii", "correct horse", "correct horse"}, // space is kept
		{"C0 codes", "\x00a\tb\nc\x1fd", "abcd"},
		{"DEL", "pass\x7fword", "password"},
		{"C1 codes", "a\u0080b\u0085c\u009fd", "abcd"},
		{"U+00A0 is not C1", "a\u00a0b", "a b"}, // NFKD turns no-break space into a space
		{"NFKD ligature", "\ufb01le", "file"},
		{"NFKD composed", "caf\u00e9", "cafe\u0301"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizePassword([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("NormalizePassword(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if _, err := NormalizePassword([]byte{'a', 0xff}); err == nil {
		t.Fatal("invalid UTF-8 accepted")
	}
	// The caller's password is left intact.
	in := []byte("caf\u00e9")
	if _, err := NormalizePassword(in); err != nil || string(in) != "caf\u00e9" {
		t.Fatalf("password changed to %q (%v)", in, err)
	}
}

// testRand is a deterministic randomness source for tests.
func testRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

// randomSecret returns a valid secret key drawn from rng (a uniform value below the group
// order; zero has negligible probability).
func randomSecret(t testing.TB, rng *rand.ChaCha8) []byte {
	t.Helper()
	var buf [48]byte
	if _, err := rng.Read(buf[:]); err != nil {
		t.Fatal(err)
	}
	x := new(big.Int).SetBytes(buf[:])
	x.Mod(x, fr.Modulus())
	return x.FillBytes(make([]byte, SecretSize))
}

// gnarkPubkey computes sk·G1 compressed with gnark-crypto, independently of blst.
func gnarkPubkey(secret []byte) []byte {
	var pk bls12381.G1Affine
	pk.ScalarMultiplicationBase(new(big.Int).SetBytes(secret))
	b := pk.Bytes()
	return b[:]
}

func TestEncryptRoundTrip(t *testing.T) {
	rng := testRand(1)
	password := []byte("ünïcødé pass\u00a0phrase")
	for i := range 8 {
		kdf := []string{"scrypt", "pbkdf2"}[i%2]
		secret := randomSecret(t, rng)
		b, err := EncryptWithCost(secret, password, kdf, lightCost, rng)
		if err != nil {
			t.Fatal(err)
		}
		k, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Encrypt output): %v\n%s", err, b)
		}
		if want := gnarkPubkey(secret); !bytes.Equal(k.Pubkey, want) {
			t.Fatalf("%s: pubkey %x, gnark sk·G1 %x", kdf, k.Pubkey, want)
		}
		if !validUUID(k.UUID) || k.UUID[14] != '4' || k.Path != "" {
			t.Fatalf("uuid %q path %q", k.UUID, k.Path)
		}
		got, err := k.Decrypt(password)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("%s: Decrypt = %x, %v", kdf, got, err)
		}
		if _, err := k.Decrypt([]byte("ünïcødé pass phrase!")); !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("%s: wrong password: %v", kdf, err)
		}
	}
}

func TestEncryptEIPCost(t *testing.T) {
	secret := mustHex(t, vectorSecret)
	for _, kdf := range []string{"pbkdf2", "scrypt"} {
		t.Run(kdf, func(t *testing.T) {
			if kdf == "scrypt" && testing.Short() {
				t.Skip("scrypt at n=2^18 takes seconds under -race")
			}
			t.Parallel()
			b, err := Encrypt(secret, []byte(vectorPassword), kdf, testRand(2))
			if err != nil {
				t.Fatal(err)
			}
			k, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			want := kdfParams{function: kdf, c: DefaultPBKDF2C, salt: k.kdf.salt}
			if kdf == "scrypt" {
				want = kdfParams{function: kdf, n: DefaultScryptN, r: 8, p: 1, salt: k.kdf.salt}
			}
			if k.kdf.function != want.function || k.kdf.n != want.n || k.kdf.r != want.r || k.kdf.p != want.p || k.kdf.c != want.c || len(k.kdf.salt) != 32 {
				t.Fatalf("kdf params %+v", k.kdf)
			}
			got, err := k.Decrypt([]byte(vectorPassword))
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Decrypt = %x, %v", got, err)
			}
		})
	}
}

func TestEncryptRefuses(t *testing.T) {
	rng := testRand(3)
	secret := mustHex(t, vectorSecret)
	order := fr.Modulus().FillBytes(make([]byte, 32))
	for _, tc := range []struct {
		name   string
		secret []byte
		kdf    string
		cost   int
	}{
		{"zero secret", make([]byte, 32), "pbkdf2", lightCost},
		{"secret = group order", order, "pbkdf2", lightCost},
		{"short secret", secret[:31], "pbkdf2", lightCost},
		{"unknown kdf", secret, "argon2id", lightCost},
		{"scrypt n not a power of two", secret, "scrypt", 1000},
		{"scrypt n too large", secret, "scrypt", 2 * MaxScryptN},
		{"scrypt n = 1", secret, "scrypt", 1},
		{"pbkdf2 c = 0", secret, "pbkdf2", 0},
		{"pbkdf2 c too large", secret, "pbkdf2", MaxPBKDF2C + 1},
	} {
		if _, err := EncryptWithCost(tc.secret, []byte("pw"), tc.kdf, tc.cost, rng); err == nil {
			t.Errorf("%s: Encrypt succeeded", tc.name)
		}
	}
	if _, err := EncryptWithCost(secret, []byte("pw"), "pbkdf2", lightCost, bytes.NewReader(nil)); err == nil {
		t.Error("Encrypt without randomness succeeded")
	}
	if _, err := EncryptWithCost(secret, []byte{0xff}, "pbkdf2", lightCost, rng); err == nil {
		t.Error("Encrypt with a non-UTF-8 password succeeded")
	}
}

// craft writes a light keystore holding secret, which may be invalid, with pubkey pk (nil:
// none).
func craft(t testing.TB, secret, pk []byte, password string) []byte {
	t.Helper()
	p := kdfParams{function: "pbkdf2", c: lightCost, salt: bytes.Repeat([]byte{7}, 32)}
	b, err := encrypt(secret, pk, []byte(password), p, [ivSize]byte{1, 2, 3}, "00000000-0000-4000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecryptChecksSecret(t *testing.T) {
	order := fr.Modulus().FillBytes(make([]byte, 32))
	above := new(big.Int).Add(fr.Modulus(), big.NewInt(1)).FillBytes(make([]byte, 32))
	secret := mustHex(t, vectorSecret)
	other := randomSecret(t, testRand(4))
	for _, tc := range []struct {
		name   string
		secret []byte
		pubkey []byte
		want   error
	}{
		{"zero secret", make([]byte, 32), nil, ErrInvalidSecret},
		{"secret = group order", order, nil, ErrInvalidSecret},
		{"secret above the order", above, nil, ErrInvalidSecret},
		{"all ones", bytes.Repeat([]byte{0xff}, 32), nil, ErrInvalidSecret},
		{"pubkey of another key", secret, gnarkPubkey(other), ErrPubkeyMismatch},
		{"no pubkey", secret, nil, nil},
		{"matching pubkey", secret, gnarkPubkey(secret), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Parse(craft(t, tc.secret, tc.pubkey, "pw"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Decrypt([]byte("pw"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decrypt error %v, want %v", err, tc.want)
			}
			if tc.want != nil && got != nil {
				t.Fatal("a secret came back with an error")
			}
			if tc.want == nil && !bytes.Equal(got, tc.secret) {
				t.Fatalf("secret %x", got)
			}
		})
	}
}

func TestDecryptErrorsDoNotQuotePassword(t *testing.T) {
	const password = "hunter2-very-secret"
	k, err := Parse(craft(t, mustHex(t, vectorSecret), nil, password))
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{password + "x", string([]byte{'h', 0xff}) + password} {
		_, err := k.Decrypt([]byte(pw))
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("Decrypt(%q) = %v", pw, err)
		}
	}
}

// lightVector returns a light keystore of the given kdf holding the EIP's secret under its
// password, with the EIP vectors' metadata.
func lightVector(t testing.TB, kdf string) []byte {
	t.Helper()
	b, err := EncryptWithCost(mustHex(t, vectorSecret), []byte(vectorPassword), kdf, lightCost, testRand(5))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutate decodes a keystore into generic JSON, applies f and re-encodes it.
func mutate(t testing.TB, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// obj returns the object at a dotted path of m.
func obj(m map[string]any, path string) map[string]any {
	for _, key := range strings.Split(path, ".") {
		m = m[key].(map[string]any)
	}
	return m
}

// set returns a mutation setting the key at a dotted path.
func set(path string, v any) func(map[string]any) {
	return func(m map[string]any) {
		i := strings.LastIndex(path, ".")
		if i < 0 {
			m[path] = v
			return
		}
		obj(m, path[:i])[path[i+1:]] = v
	}
}

// del returns a mutation deleting the key at a dotted path.
func del(path string) func(map[string]any) {
	return func(m map[string]any) {
		i := strings.LastIndex(path, ".")
		if i < 0 {
			delete(m, path)
			return
		}
		delete(obj(m, path[:i]), path[i+1:])
	}
}

func TestParseRejects(t *testing.T) {
	scrypt, pbkdf2 := lightVector(t, "scrypt"), lightVector(t, "pbkdf2")
	hexOf := func(n int) string { return strings.Repeat("ab", n) }
	notOnCurve := "8" + strings.Repeat("1", 95)
	identity := "c0" + strings.Repeat("00", 47)
	replace := func(b []byte, old, new string) []byte {
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%q not in the keystore", old)
		}
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
	for _, tc := range []struct {
		name  string
		b     []byte
		field string // the FieldError's Field
	}{
		// The file as a whole.
		{"empty", nil, ""},
		{"too large", append(bytes.Clone(pbkdf2), bytes.Repeat([]byte(" "), MaxSize)...), ""},
		{"not JSON", []byte("keystore"), ""},
		{"a JSON array", []byte("[1]"), ""},
		{"truncated", pbkdf2[:len(pbkdf2)/2], "crypto"},
		{"trailing data", append(bytes.Clone(pbkdf2), []byte(" {}")...), ""},
		{"unknown key", mutate(t, pbkdf2, set("extra", 1)), ""},
		{"wrongly cased key", replace(pbkdf2, `"version"`, `"Version"`), ""},
		{"duplicate key", replace(pbkdf2, `"path"`, `"path": "m/1", "path"`), "path"},
		{"null field", mutate(t, pbkdf2, set("description", nil)), "description"},
		// Top-level fields.
		{"missing crypto", mutate(t, pbkdf2, del("crypto")), "crypto"},
		{"missing version", mutate(t, pbkdf2, del("version")), "version"},
		{"version 3", mutate(t, pbkdf2, set("version", 3)), "version"},
		{"version as a string", mutate(t, pbkdf2, set("version", "4")), "version"},
		{"version 4.5", replace(pbkdf2, `"version": 4`, `"version": 4.5`), "version"},
		{"version 4e0", replace(pbkdf2, `"version": 4`, `"version": 4e0`), "version"},
		{"description not a string", mutate(t, pbkdf2, set("description", 5)), "description"},
		{"name not a string", mutate(t, pbkdf2, set("name", []int{1})), "name"},
		{"path without m", mutate(t, pbkdf2, set("path", "12381/3600/0")), "path"},
		{"path with an empty component", mutate(t, pbkdf2, set("path", "m//0")), "path"},
		{"path with a leading zero", mutate(t, pbkdf2, set("path", "m/01")), "path"},
		{"path index too large", mutate(t, pbkdf2, set("path", "m/4294967296")), "path"},
		{"path with a sign", mutate(t, pbkdf2, set("path", "m/+1")), "path"},
		{"path too deep", mutate(t, pbkdf2, set("path", "m"+strings.Repeat("/1", maxPathLen+1))), "path"},
		{"uuid malformed", mutate(t, pbkdf2, set("uuid", "1d85ae20-35c5-4611-98e8-aa14a633906")), "uuid"},
		{"uuid without dashes", mutate(t, pbkdf2, set("uuid", strings.Repeat("a", 36))), "uuid"},
		{"pubkey short", mutate(t, pbkdf2, set("pubkey", hexOf(47))), "pubkey"},
		{"pubkey long", mutate(t, pbkdf2, set("pubkey", hexOf(49))), "pubkey"},
		{"pubkey not hex", mutate(t, pbkdf2, set("pubkey", strings.Repeat("zz", 48))), "pubkey"},
		{"pubkey not on the curve", mutate(t, pbkdf2, set("pubkey", notOnCurve)), "pubkey"},
		{"pubkey the identity", mutate(t, pbkdf2, set("pubkey", identity)), "pubkey"},
		{"pubkey uncompressed flag", mutate(t, pbkdf2, set("pubkey", "1"+vectorPubkey[1:])), "pubkey"},
		// crypto and its modules.
		{"crypto not an object", mutate(t, pbkdf2, set("crypto", "x")), "crypto"},
		{"crypto unknown module", mutate(t, pbkdf2, set("crypto.mac", map[string]any{})), "crypto"},
		{"kdf missing", mutate(t, pbkdf2, del("crypto.kdf")), "crypto.kdf"},
		{"checksum missing", mutate(t, pbkdf2, del("crypto.checksum")), "crypto.checksum"},
		{"cipher missing", mutate(t, pbkdf2, del("crypto.cipher")), "crypto.cipher"},
		{"kdf function missing", mutate(t, pbkdf2, del("crypto.kdf.function")), "crypto.kdf.function"},
		{"kdf message missing", mutate(t, pbkdf2, del("crypto.kdf.message")), "crypto.kdf.message"},
		{"kdf params missing", mutate(t, pbkdf2, del("crypto.kdf.params")), "crypto.kdf.params"},
		{"kdf unknown function", mutate(t, pbkdf2, set("crypto.kdf.function", "argon2id")), "crypto.kdf.function"},
		{"kdf function as a number", mutate(t, pbkdf2, set("crypto.kdf.function", 1)), "crypto.kdf.function"},
		{"kdf message not empty", mutate(t, pbkdf2, set("crypto.kdf.message", "00")), "crypto.kdf.message"},
		{"kdf module unknown key", mutate(t, pbkdf2, set("crypto.kdf.extra", "")), "crypto.kdf"},
		{"kdf params not an object", mutate(t, pbkdf2, set("crypto.kdf.params", []int{})), "crypto.kdf.params"},
		// pbkdf2 params.
		{"pbkdf2 dklen 16", mutate(t, pbkdf2, set("crypto.kdf.params.dklen", 16)), "crypto.kdf.params.dklen"},
		{"pbkdf2 dklen 64", mutate(t, pbkdf2, set("crypto.kdf.params.dklen", 64)), "crypto.kdf.params.dklen"},
		{"pbkdf2 dklen missing", mutate(t, pbkdf2, del("crypto.kdf.params.dklen")), "crypto.kdf.params.dklen"},
		{"pbkdf2 c missing", mutate(t, pbkdf2, del("crypto.kdf.params.c")), "crypto.kdf.params.c"},
		{"pbkdf2 c = 0", mutate(t, pbkdf2, set("crypto.kdf.params.c", 0)), "crypto.kdf.params.c"},
		{"pbkdf2 c negative", mutate(t, pbkdf2, set("crypto.kdf.params.c", -1)), "crypto.kdf.params.c"},
		{"pbkdf2 c above the bound", mutate(t, pbkdf2, set("crypto.kdf.params.c", MaxPBKDF2C+1)), "crypto.kdf.params.c"},
		{"pbkdf2 c beyond int32", mutate(t, pbkdf2, set("crypto.kdf.params.c", int64(1)<<40)), "crypto.kdf.params.c"},
		{"pbkdf2 c as a string", mutate(t, pbkdf2, set("crypto.kdf.params.c", "16")), "crypto.kdf.params.c"},
		{"pbkdf2 prf sha512", mutate(t, pbkdf2, set("crypto.kdf.params.prf", "hmac-sha512")), "crypto.kdf.params.prf"},
		{"pbkdf2 prf missing", mutate(t, pbkdf2, del("crypto.kdf.params.prf")), "crypto.kdf.params.prf"},
		{"pbkdf2 with scrypt's n", mutate(t, pbkdf2, set("crypto.kdf.params.n", 16)), "crypto.kdf.params"},
		{"salt missing", mutate(t, pbkdf2, del("crypto.kdf.params.salt")), "crypto.kdf.params.salt"},
		{"salt not hex", mutate(t, pbkdf2, set("crypto.kdf.params.salt", strings.Repeat("g", 64))), "crypto.kdf.params.salt"},
		{"salt odd length", mutate(t, pbkdf2, set("crypto.kdf.params.salt", strings.Repeat("a", 63))), "crypto.kdf.params.salt"},
		{"salt too short", mutate(t, pbkdf2, set("crypto.kdf.params.salt", hexOf(minSaltSize-1))), "crypto.kdf.params.salt"},
		{"salt too long", mutate(t, pbkdf2, set("crypto.kdf.params.salt", hexOf(maxSaltSize+1))), "crypto.kdf.params.salt"},
		// scrypt params.
		{"scrypt n missing", mutate(t, scrypt, del("crypto.kdf.params.n")), "crypto.kdf.params.n"},
		{"scrypt n not a power of two", mutate(t, scrypt, set("crypto.kdf.params.n", 1000)), "crypto.kdf.params.n"},
		{"scrypt n = 1", mutate(t, scrypt, set("crypto.kdf.params.n", 1)), "crypto.kdf.params.n"},
		{"scrypt n = 0", mutate(t, scrypt, set("crypto.kdf.params.n", 0)), "crypto.kdf.params.n"},
		{"scrypt n = 2^19", mutate(t, scrypt, set("crypto.kdf.params.n", 2*MaxScryptN)), "crypto.kdf.params.n"},
		{"scrypt n = 2^31 overflow", mutate(t, scrypt, set("crypto.kdf.params.n", int64(1)<<31)), "crypto.kdf.params.n"},
		{"scrypt r = 0", mutate(t, scrypt, set("crypto.kdf.params.r", 0)), "crypto.kdf.params.r"},
		{"scrypt p = 0", mutate(t, scrypt, set("crypto.kdf.params.p", 0)), "crypto.kdf.params.p"},
		{"scrypt r above the bound", mutate(t, scrypt, set("crypto.kdf.params.r", MaxScryptRP+1)), "crypto.kdf.params.r"},
		{"scrypt p above the bound", mutate(t, scrypt, set("crypto.kdf.params.p", 1<<20)), "crypto.kdf.params.p"},
		{"scrypt r*p above the bound", mutate(t, scrypt, set("crypto.kdf.params.p", 3)), "crypto.kdf.params.p"}, // r = 8
		{"scrypt n*r above the memory bound", mutate(t, scrypt, func(m map[string]any) {
			set("crypto.kdf.params.n", MaxScryptN)(m)
			set("crypto.kdf.params.r", 16)(m)
			set("crypto.kdf.params.p", 1)(m)
		}), "crypto.kdf.params.r"},
		{"scrypt dklen 31", mutate(t, scrypt, set("crypto.kdf.params.dklen", 31)), "crypto.kdf.params.dklen"},
		{"scrypt with pbkdf2's c", mutate(t, scrypt, set("crypto.kdf.params.c", 16)), "crypto.kdf.params"},
		{"scrypt salt too short", mutate(t, scrypt, set("crypto.kdf.params.salt", "")), "crypto.kdf.params.salt"},
		// checksum.
		{"checksum function sha512", mutate(t, pbkdf2, set("crypto.checksum.function", "sha512")), "crypto.checksum.function"},
		{"checksum params not empty", mutate(t, pbkdf2, set("crypto.checksum.params.key", "x")), "crypto.checksum.params"},
		{"checksum params an array", mutate(t, pbkdf2, set("crypto.checksum.params", []int{})), "crypto.checksum.params"},
		{"checksum message short", mutate(t, pbkdf2, set("crypto.checksum.message", hexOf(31))), "crypto.checksum.message"},
		{"checksum message long", mutate(t, pbkdf2, set("crypto.checksum.message", hexOf(33))), "crypto.checksum.message"},
		{"checksum message not hex", mutate(t, pbkdf2, set("crypto.checksum.message", strings.Repeat("x", 64))), "crypto.checksum.message"},
		// cipher.
		{"cipher aes-128-gcm", mutate(t, pbkdf2, set("crypto.cipher.function", "aes-128-gcm")), "crypto.cipher.function"},
		{"cipher aes-256-ctr", mutate(t, pbkdf2, set("crypto.cipher.function", "aes-256-ctr")), "crypto.cipher.function"},
		{"cipher iv missing", mutate(t, pbkdf2, del("crypto.cipher.params.iv")), "crypto.cipher.params.iv"},
		{"cipher iv short", mutate(t, pbkdf2, set("crypto.cipher.params.iv", hexOf(15))), "crypto.cipher.params.iv"},
		{"cipher iv long", mutate(t, pbkdf2, set("crypto.cipher.params.iv", hexOf(17))), "crypto.cipher.params.iv"},
		{"cipher iv a number", mutate(t, pbkdf2, set("crypto.cipher.params.iv", 16)), "crypto.cipher.params.iv"},
		{"cipher params extra key", mutate(t, pbkdf2, set("crypto.cipher.params.tag", "")), "crypto.cipher.params"},
		{"cipher message short", mutate(t, pbkdf2, set("crypto.cipher.message", hexOf(31))), "crypto.cipher.message"},
		{"cipher message long", mutate(t, pbkdf2, set("crypto.cipher.message", hexOf(48))), "crypto.cipher.message"},
		{"cipher message empty", mutate(t, pbkdf2, set("crypto.cipher.message", "")), "crypto.cipher.message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Parse(tc.b)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", k)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %q names field %q, want %q", err, fe.Field, tc.field)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	base := lightVector(t, "pbkdf2")
	secret := mustHex(t, vectorSecret)
	upper := func(path string) func(map[string]any) {
		return func(m map[string]any) {
			i := strings.LastIndex(path, ".")
			o := obj(m, path[:i])
			o[path[i+1:]] = "0x" + strings.ToUpper(o[path[i+1:]].(string))
		}
	}
	for _, tc := range []struct {
		name string
		f    func(map[string]any)
	}{
		{"as written", func(map[string]any) {}},
		{"no pubkey", del("pubkey")},
		{"empty pubkey", set("pubkey", "")},
		{"no path, uuid or description", func(m map[string]any) { delete(m, "path"); delete(m, "uuid"); delete(m, "description") }},
		{"a name (Prysm, ethdo)", set("name", "my validator")},
		{"an EIP-2334 path", set("path", "m/12381/3600/0/0/0")},
		{"0x and upper-case hex", func(m map[string]any) {
			for _, p := range []string{"crypto.kdf.params.salt", "crypto.checksum.message", "crypto.cipher.params.iv", "crypto.cipher.message"} {
				upper(p)(m)
			}
			m["pubkey"] = "0x" + m["pubkey"].(string)
		}},
		{"upper-case uuid", set("uuid", "1D85AE20-35C5-4611-98E8-AA14A633906F")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := Parse(mutate(t, base, tc.f))
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Decrypt([]byte(vectorPassword))
			if err != nil || !bytes.Equal(got, secret) {
				t.Fatalf("Decrypt = %x, %v", got, err)
			}
		})
	}
}

// TestKDFBounds checks that Parse accepts the KDF parameters at each bound and refuses the
// next step beyond it (Parse runs no KDF, so the heavy settings cost nothing here).
func TestKDFBounds(t *testing.T) {
	scrypt, pbkdf2 := lightVector(t, "scrypt"), lightVector(t, "pbkdf2")
	scryptParams := func(n, r, p int) []byte {
		return mutate(t, scrypt, func(m map[string]any) {
			ps := obj(m, "crypto.kdf.params")
			ps["n"], ps["r"], ps["p"] = n, r, p
		})
	}
	salt := func(b []byte, size int) []byte {
		return mutate(t, b, set("crypto.kdf.params.salt", strings.Repeat("00", size)))
	}
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"scrypt EIP (2^18, 8, 1)", scryptParams(1<<18, 8, 1), true},
		{"scrypt 2^18, 8, 2", scryptParams(1<<18, 8, 2), true},
		{"scrypt 2^18, 8, 3", scryptParams(1<<18, 8, 3), false},
		{"scrypt 2^18, 9, 1", scryptParams(1<<18, 9, 1), false},
		{"scrypt 2^19, 1, 1", scryptParams(1<<19, 1, 1), false},
		{"scrypt 2^17, 16, 1", scryptParams(1<<17, 16, 1), true},
		{"scrypt 2^17, 16, 2", scryptParams(1<<17, 16, 2), false},
		{"scrypt 2^10, 1, 16", scryptParams(1<<10, 1, 16), true},
		{"scrypt 2^10, 1, 17", scryptParams(1<<10, 1, 17), false},
		{"scrypt 2, 1, 1", scryptParams(2, 1, 1), true},
		{"pbkdf2 c 2^22", mutate(t, pbkdf2, set("crypto.kdf.params.c", MaxPBKDF2C)), true},
		{"pbkdf2 c 2^22+1", mutate(t, pbkdf2, set("crypto.kdf.params.c", MaxPBKDF2C+1)), false},
		{"pbkdf2 c 1", mutate(t, pbkdf2, set("crypto.kdf.params.c", 1)), true},
		{"salt 16 bytes", salt(pbkdf2, 16), true},
		{"salt 15 bytes", salt(pbkdf2, 15), false},
		{"salt 64 bytes", salt(scrypt, 64), true},
		{"salt 65 bytes", salt(scrypt, 65), false},
	} {
		_, err := Parse(tc.b)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Parse error %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestPublicKey(t *testing.T) {
	got, err := PublicKey(mustHex(t, vectorSecret))
	if err != nil || !bytes.Equal(got, mustHex(t, vectorPubkey)) {
		t.Fatalf("PublicKey(EIP secret) = %x, %v", got, err)
	}
	secret := randomSecret(t, testRand(6))
	if got, err := PublicKey(secret); err != nil || !bytes.Equal(got, gnarkPubkey(secret)) {
		t.Fatalf("PublicKey = %x, %v; gnark %x", got, err, gnarkPubkey(secret))
	}
	for _, bad := range [][]byte{nil, make([]byte, 32), secret[:31], fr.Modulus().FillBytes(make([]byte, 32))} {
		if _, err := PublicKey(bad); !errors.Is(err, ErrInvalidSecret) {
			t.Fatalf("PublicKey(%x) error %v, want ErrInvalidSecret", bad, err)
		}
	}
}
