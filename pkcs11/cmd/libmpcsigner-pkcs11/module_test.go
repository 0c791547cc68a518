package main

import (
	"bufio"
	"context"
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
	var signs atomic.Int64
	host := fakeHost(t, key, &signs)
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
		if tag == "QUERIES-DONE" {
			if n := signs.Load(); n != 0 {
				t.Errorf("length query / short buffer reached the host (%d sign requests)", n)
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
	if signs.Load() != 1 {
		t.Errorf("%d sign requests, want 1", signs.Load())
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
}

// fakeHost serves /v1/keys and /v1/keys/{key}/sign for one secp256k1 key.
func fakeHost(t *testing.T, key *btcec.PrivateKey, signs *atomic.Int64) string {
	k := api.Key{ID: "k1", Label: "btc-hot", Scheme: "ecdsa-secp256k1", PublicKey: hex.EncodeToString(key.PubKey().SerializeCompressed())}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(api.KeyList{Keys: []api.Key{k}})
	})
	mux.HandleFunc("GET /v1/keys/{key}", func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(k) })
	mux.HandleFunc("POST /v1/keys/{key}/sign", func(w http.ResponseWriter, r *http.Request) {
		signs.Add(1)
		var req api.SignRequest
		json.NewDecoder(r.Body).Decode(&req)
		d, _ := hex.DecodeString(req.Digest)
		sig := becdsa.SignCompact(key, d, false)[1:]
		json.NewEncoder(w).Encode(api.SignResponse{KeyID: "k1", Signature: hex.EncodeToString(sig)})
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
