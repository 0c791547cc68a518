package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	becdsa "github.com/btcsuite/btcd/btcec/v2/ecdsa"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// TestSharedLibrary builds libmpcsigner-pkcs11.so, checks its exported symbols, and drives it
// from a small C program (testdata/client.c) against a fake host on 127.0.0.1.
func TestSharedLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a shared library")
	}
	for _, tool := range []string{"gcc", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	dir := t.TempDir()
	so := filepath.Join(dir, "libmpcsigner-pkcs11.so")
	mapFile, _ := filepath.Abs("exports.map")
	build := exec.Command("go", "build", "-buildmode=c-shared", "-o", so, "-ldflags=-extldflags=-Wl,--version-script="+mapFile, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the module: %v\n%s", err, out)
	}
	nm, err := exec.Command("nm", "-D", "--defined-only", so).Output()
	if err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(nm)), "\n") {
			if f := strings.Fields(line); len(f) == 3 && !strings.HasPrefix(f[2], "C_") {
				t.Errorf("exported symbol %s", f[2])
			}
		}
	}
	client := filepath.Join(dir, "client")
	cc := exec.Command("gcc", "-Wall", "-I../../include", "-o", client, "testdata/client.c", "-ldl")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("compiling the client: %v\n%s", err, out)
	}

	key, _ := btcec.NewPrivateKey()
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	var signs atomic.Int64
	var served servedBytes
	host := fakeHost(t, key, edKey, &signs, &served)
	token := "tok-123"
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte(token), 0o600)
	conf := filepath.Join(dir, "pkcs11.yaml")
	os.WriteFile(conf, []byte(fmt.Sprintf("api: %s\ntoken_file: %s\ntimeout: 5s\n", host, tokFile)), 0o600)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, client, so, token)
	cmd.Env = append(os.Environ(), "MPCSIGNER_PKCS11_CONF="+conf)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		t.Log(line)
		tag, val, _ := strings.Cut(line, " ")
		lines[tag] = val
		// Each length query is followed by a pause, so the host's count is exact here.
		if want, ok := map[string]int64{"QUERIES-DONE": 0, "EDDSA-QUERIES-DONE": 1}[tag]; ok {
			if n := signs.Load(); n != want {
				t.Errorf("%s: %d sign requests, want %d: a length query or short buffer reached the host", tag, n, want)
			}
			stdin.Write([]byte("\n"))
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("client: %v", err)
	}
	if _, ok := lines["OK"]; !ok {
		t.Fatal("client did not finish")
	}
	if _, ok := lines["FORK-OK"]; !ok {
		t.Fatal("fork check did not run")
	}
	if signs.Load() != 2 {
		t.Errorf("%d sign requests, want 2", signs.Load())
	}
	point, _ := hex.DecodeString(lines["POINT"])
	sig, _ := hex.DecodeString(lines["SIG"])
	pub, err := btcec.ParsePubKey(point[2:])
	if err != nil || !pub.IsEqual(key.PubKey()) {
		t.Fatalf("CKA_EC_POINT %x: %v", point, err)
	}
	var r, s btcec.ModNScalar
	r.SetByteSlice(sig[:32])
	s.SetByteSlice(sig[32:])
	d := sha256Sum([]byte("pay 1 BTC"))
	if !becdsa.NewSignature(&r, &s).Verify(d, key.PubKey()) {
		t.Fatal("signature from C_Sign does not verify with btcec")
	}
	checkEd25519(t, lines, edKey.Public().(ed25519.PublicKey))
	// cmd.Wait has returned, so the host served every random byte it will.
	if got, want := lines["RANDOM"], served.hexString(); got != want || len(got) != 2*5000 {
		t.Fatalf("C_GenerateRandom gave %d hex digits that are not the %d the host served", len(got), len(want))
	}
}

// checkEd25519 checks what the client read from slot 1: the public key as a DER OCTET STRING,
// the id-Ed25519 OID (06 03 2b 65 70, RFC 8410) as CKA_EC_PARAMS, and a multi-part CKM_EDDSA
// signature that crypto/ed25519 verifies over the joined parts.
func checkEd25519(t *testing.T, lines map[string]string, pub ed25519.PublicKey) {
	t.Helper()
	point, _ := hex.DecodeString(lines["EDPOINT"])
	if want := append([]byte{0x04, 0x20}, pub...); !bytes.Equal(point, want) {
		t.Fatalf("Ed25519 CKA_EC_POINT %x, want %x", point, want)
	}
	if lines["EDPARAMS"] != "06032b6570" {
		t.Fatalf("Ed25519 CKA_EC_PARAMS %s", lines["EDPARAMS"])
	}
	sig, _ := hex.DecodeString(lines["EDSIG"])
	if !ed25519.Verify(pub, []byte("pay 1 SOL to cold"), sig) {
		t.Fatalf("CKM_EDDSA signature %x does not verify with crypto/ed25519", sig)
	}
}

// servedBytes records the random bytes the fake host gave.
type servedBytes struct {
	mu sync.Mutex
	b  []byte
}

func (s *servedBytes) add(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, b...)
}

func (s *servedBytes) hexString() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hex.EncodeToString(s.b)
}

// fakeHost serves /v1/keys and /v1/keys/{key}/sign for one secp256k1 key ("k1", which signs
// digests) and one Ed25519 key ("e1", which signs whole messages), and /v1/random, recording in
// served the bytes it gave.
func fakeHost(t *testing.T, key *btcec.PrivateKey, edKey ed25519.PrivateKey, signs *atomic.Int64, served *servedBytes) string {
	keys := []api.Key{
		{ID: "k1", Label: "btc-hot", Scheme: "ecdsa-secp256k1", PublicKey: hex.EncodeToString(key.PubKey().SerializeCompressed())},
		{ID: "e1", Label: "sol-hot", Scheme: "ed25519", PublicKey: hex.EncodeToString(edKey.Public().(ed25519.PublicKey))},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(api.KeyList{Keys: keys})
	})
	mux.HandleFunc("GET /v1/keys/{key}", func(w http.ResponseWriter, r *http.Request) {
		for _, k := range keys {
			if k.ID == r.PathValue("key") {
				json.NewEncoder(w).Encode(k)
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
	})
	mux.HandleFunc("POST /v1/keys/{key}/sign", func(w http.ResponseWriter, r *http.Request) {
		signs.Add(1)
		var req api.SignRequest
		json.NewDecoder(r.Body).Decode(&req)
		var sig []byte
		switch r.PathValue("key") {
		case "k1":
			d, _ := hex.DecodeString(req.Digest)
			sig = becdsa.SignCompact(key, d, false)[1:]
		case "e1":
			msg, _ := hex.DecodeString(req.Message)
			sig = ed25519.Sign(edKey, msg)
		}
		json.NewEncoder(w).Encode(api.SignResponse{KeyID: r.PathValue("key"), Signature: hex.EncodeToString(sig)})
	})
	mux.HandleFunc("POST /v1/random", func(w http.ResponseWriter, r *http.Request) {
		var req api.RandomRequest
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.Bytes < 1 || req.Bytes > api.MaxRandomBytes {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		b := make([]byte, req.Bytes)
		_, _ = rand.Read(b)
		served.add(b)
		json.NewEncoder(w).Encode(api.RandomResponse{Random: hex.EncodeToString(b)})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}
