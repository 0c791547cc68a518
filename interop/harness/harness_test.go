package harness

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// stopper stands in for a test whose Fatal and Skip must be observed rather than obeyed: it
// records the message and ends the goroutine, as testing.T does.
type stopper struct {
	testing.TB
	how, msg string
}

func (s *stopper) Helper() {}
func (s *stopper) Fatalf(format string, args ...any) {
	s.how, s.msg = "fatal", fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (s *stopper) Fatal(args ...any) {
	s.how, s.msg = "fatal", fmt.Sprint(args...)
	runtime.Goexit()
}
func (s *stopper) Skipf(format string, args ...any) {
	s.how, s.msg = "skip", fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// stops runs fn with a stopper on its own goroutine and returns how it stopped ("fatal",
// "skip", or "" when fn returned) and the message.
func stops(t *testing.T, fn func(tb testing.TB)) (how, msg string) {
	t.Helper()
	s := &stopper{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(s)
	}()
	<-done
	return s.how, s.msg
}

func TestBinary(t *testing.T) {
	t.Run("unset: skips and says how to run", func(t *testing.T) {
		t.Setenv(BinEnv, "")
		how, msg := stops(t, func(tb testing.TB) { Binary(tb) })
		if how != "skip" || !strings.Contains(msg, "make interop") || !strings.Contains(msg, t.Name()) {
			t.Fatalf("Binary without %s: %s %q; want a skip naming the test and make interop", BinEnv, how, msg)
		}
	})
	t.Run("not executable: fails", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "mpcsigner")
		if err := os.WriteFile(path, []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv(BinEnv, path)
		if how, msg := stops(t, func(tb testing.TB) { Binary(tb) }); how != "fatal" {
			t.Fatalf("Binary with a non-executable file: %s %q; want a failure", how, msg)
		}
	})
	t.Run("executable: its absolute path", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "mpcsigner")
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		t.Chdir(dir)
		t.Setenv(BinEnv, "mpcsigner")
		want, err := filepath.EvalSymlinks(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := Binary(t); got != want {
			t.Fatalf("Binary = %q, want %q", got, want)
		}
	})
}

func TestInfoCheck(t *testing.T) {
	good := func() *Info {
		return &Info{
			Version: 1, API: "http://127.0.0.1:7001", TokenFile: "/tmp/api.token",
			Web3Signer: "http://127.0.0.1:7501", Parties: []Party{{Party: 1, API: "http://127.0.0.1:7001"}},
		}
	}
	if err := good().check(); err != nil {
		t.Fatalf("a loopback devnet.json: %v", err)
	}
	for name, spoil := range map[string]func(*Info){
		"unknown version":     func(i *Info) { i.Version = 2 },
		"no api":              func(i *Info) { i.API = "" },
		"no token file":       func(i *Info) { i.TokenFile = "" },
		"api off loopback":    func(i *Info) { i.API = "http://10.0.0.1:7001" },
		"eth1 by host name":   func(i *Info) { i.Eth1 = "http://localhost:7601" },
		"party off loopback":  func(i *Info) { i.Parties[0].Web3Signer = "http://192.0.2.1:7501" },
		"unparseable address": func(i *Info) { i.Web3Signer = "http://127.0.0.1:port" },
	} {
		info := good()
		spoil(info)
		if err := info.check(); err == nil {
			t.Errorf("%s: check accepted %+v", name, info)
		}
	}
}

func TestFixturesDir(t *testing.T) {
	src := t.TempDir()
	for p := 1; p <= 6; p++ {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("party-%d.json", p)), fmt.Appendf(nil, `{"from":%d}`, p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dst := FixturesDir(t, src)
	if dst == "" {
		t.Fatal("FixturesDir found no fixtures in a complete directory")
	}
	want := map[string]int{}
	for p := 1; p <= 3; p++ {
		want[fmt.Sprintf("party-%d.json", p)] = p
		want[fmt.Sprintf("party-%d-b.json", p)] = p + 3
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("FixturesDir wrote %d files, want %d", len(entries), len(want))
	}
	for name, from := range want {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || string(got) != fmt.Sprintf(`{"from":%d}`, from) {
			t.Errorf("%s holds %q (%v), want party-%d.json's content", name, got, err, from)
		}
	}

	if err := os.Remove(filepath.Join(src, "party-6.json")); err != nil {
		t.Fatal(err)
	}
	if dst := FixturesDir(t, src); dst != "" {
		t.Errorf("FixturesDir with party-6.json missing returned %s, want \"\"", dst)
	}
	if dst := FixturesDir(t, ""); dst != "" {
		t.Errorf("FixturesDir(\"\") returned %s, want \"\"", dst)
	}
}

func TestFindPreParams(t *testing.T) {
	// This module lives in the product's repository, two levels below its root.
	got := findPreParams(t)
	want, err := filepath.Abs(filepath.Join("..", "..", preParamsPath))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("findPreParams = %q, want %q", got, want)
	}
	t.Chdir(t.TempDir())
	if got := findPreParams(t); got != "" {
		t.Fatalf("findPreParams outside the repository = %q, want \"\"", got)
	}
}

// fakeAPI serves what API is tested against: it requires the bearer token and echoes a JSON
// body back under "got".
func fakeAPI(t *testing.T) *Devnet {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/echo", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, `{"code":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		var in map[string]any
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"got": in})
	})
	mux.HandleFunc("GET /v1/garbled", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{not json") })
	mux.HandleFunc("GET /v1/huge", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte(" "), maxAPIResponse+1))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &Devnet{Info: &Info{API: srv.URL + "/"}, Token: "secret"}
}

func TestAPI(t *testing.T) {
	d := fakeAPI(t)

	var out struct {
		Got struct {
			A int `json:"a"`
		} `json:"got"`
	}
	if status := d.API(t, http.MethodPost, "/v1/echo", map[string]int{"a": 7}, &out); status != http.StatusOK || out.Got.A != 7 {
		t.Fatalf("API POST /v1/echo = %d, decoded %+v; want 200 and the body echoed", status, out)
	}

	untouched := struct{ Keep string }{"as it was"}
	if status := d.API(t, http.MethodGet, "/v1/missing", nil, &untouched); status != http.StatusNotFound || untouched.Keep != "as it was" {
		t.Fatalf("API GET /v1/missing = %d, out %+v; want 404 and out untouched", status, untouched)
	}

	wrong := &Devnet{Info: d.Info, Token: "guess"}
	if status := wrong.API(t, http.MethodPost, "/v1/echo", map[string]int{"a": 1}, nil); status != http.StatusUnauthorized {
		t.Fatalf("API with the wrong token = %d, want 401", status)
	}

	for _, c := range []struct{ name, path string }{
		{"undecodable 2xx", "/v1/garbled"},
		{"oversized answer", "/v1/huge"},
	} {
		if how, msg := stops(t, func(tb testing.TB) { d.API(tb, http.MethodGet, c.path, nil, &out) }); how != "fatal" {
			t.Errorf("%s: API %s, %q; want a failure", c.name, how, msg)
		}
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	gone := &Devnet{Info: &Info{API: closed.URL}, Token: "secret"}
	if how, msg := stops(t, func(tb testing.TB) { gone.API(tb, http.MethodGet, "/v1/keys", nil, nil) }); how != "fatal" {
		t.Errorf("API to a closed server: %s %q; want a failure", how, msg)
	}
}

func TestLoopbackOnly(t *testing.T) {
	client := &http.Client{Transport: loopbackTransport(0)}
	// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): the dial is refused before any packet is sent.
	_, err := client.Get("http://192.0.2.1:80/")
	if err == nil || !strings.Contains(err.Error(), "only loopback addresses") {
		t.Fatalf("GET of a non-loopback address: %v; want the loopback refusal", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET of 127.0.0.1: %v", err)
	}
	resp.Body.Close()
}

func TestRecorder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%s %s", r.URL.Path, body)
	}))
	defer srv.Close()
	rec := NewRecorder(loopbackTransport(0))
	client := &http.Client{Transport: rec}

	send := func(path string, body io.Reader) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	// A bytes.Reader body has GetBody; a plain reader is teed as it is sent.
	if got := send("/a", bytes.NewReader([]byte(`{"x":1}`))); got != `/a {"x":1}` {
		t.Errorf("the client read %q through the recorder", got)
	}
	mark := rec.Count()
	if got := send("/b", io.MultiReader(strings.NewReader("plain"))); got != "/b plain" {
		t.Errorf("the client read %q through the recorder", got)
	}

	all := rec.Since(0, "")
	if len(all) != 2 {
		t.Fatalf("recorded %d exchanges, want 2", len(all))
	}
	for i, want := range []struct{ url, req, resp string }{
		{srv.URL + "/a", `{"x":1}`, `/a {"x":1}`},
		{srv.URL + "/b", "plain", "/b plain"},
	} {
		ex := all[i]
		if ex.Method != http.MethodPost || ex.URL != want.url || string(ex.ReqBody) != want.req ||
			ex.Status != http.StatusAccepted || string(ex.RespBody) != want.resp || ex.RespHeader.Get("Content-Type") != "text/plain" || ex.Err != nil {
			t.Errorf("exchange %d: %+v; want POST %s sending %q, answered 202 %q", i, ex, want.url, want.req, want.resp)
		}
	}
	if got := rec.Since(mark, srv.URL+"/b"); len(got) != 1 || got[0].URL != srv.URL+"/b" {
		t.Errorf("Since(%d, /b) = %v, want the /b exchange", mark, got)
	}
	if got := rec.Since(0, "http://elsewhere"); len(got) != 0 {
		t.Errorf("Since with a prefix nothing has = %v, want none", got)
	}
	if s := all[0].String(); !strings.Contains(s, `"x": 1`) || !strings.Contains(s, "got: 202") {
		t.Errorf("an exchange shows as %q: want the indented request body and the status", s)
	}
}

func TestLogWriter(t *testing.T) {
	w := NewLogWriter(t)
	if n, err := w.Write([]byte("a library's line\n")); err != nil || n != 17 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("too late\n")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// TestStart starts a devnet of the real binary (with MPCSIGNER_BIN set) and checks what the
// harness gives a test: devnet.json, the token, the native API, the CLI and the Web3Signer API.
func TestStart(t *testing.T) {
	d := Start(t)
	if d.Info.Version != infoVersion || len(d.Info.Parties) != 3 || d.Info.Threshold != 2 || d.Token == "" {
		t.Fatalf("devnet.json %+v, token %d bytes: want version %d, three parties, threshold 2, and a token", d.Info, len(d.Token), infoVersion)
	}
	type keyList struct {
		Keys []Key `json:"keys"`
	}
	var before keyList
	if status := d.API(t, http.MethodGet, "/v1/keys", nil, &before); status != http.StatusOK || len(before.Keys) != 0 {
		t.Fatalf("GET /v1/keys on a new devnet = %d, %+v; want 200 and no keys", status, before)
	}
	if status := (&Devnet{Info: d.Info, Token: "not-the-token"}).API(t, http.MethodGet, "/v1/keys", nil, nil); status != http.StatusUnauthorized {
		t.Fatalf("GET /v1/keys with a wrong token = %d, want 401", status)
	}

	key := d.CreateKey(t, "ed25519", "harness-self-test")
	if pub, err := hex.DecodeString(strings.TrimPrefix(key.PublicKey, "0x")); err != nil || len(pub) != 32 {
		t.Fatalf("key create printed public key %q: want 32 bytes of hex (%v)", key.PublicKey, err)
	}
	var shown Key
	if status := d.API(t, http.MethodGet, "/v1/keys/harness-self-test", nil, &shown); status != http.StatusOK || shown.ID != key.ID || shown.PublicKey != key.PublicKey {
		t.Fatalf("GET /v1/keys/harness-self-test = %d, %+v; want the key the CLI created, %+v", status, shown, key)
	}
	WaitUpcheck(t, d.Web3SignerURL(t))
}

// FuzzInfoCheck feeds arbitrary devnet.json contents to the decoder and check: neither may
// panic, and whatever check accepts names only 127.0.0.1.
func FuzzInfoCheck(f *testing.F) {
	f.Add([]byte(`{"version":1,"api":"http://127.0.0.1:7001","token_file":"/t","parties":[{"party":1,"eth1":"http://127.0.0.1:7601"}]}`))
	f.Add([]byte(`{"version":1,"api":"http://127.0.0.1:7001","token_file":"/t","web3signer":"http://[::1]:7501"}`))
	f.Add([]byte(`{"version":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var info Info
		if json.Unmarshal(raw, &info) != nil || info.check() != nil {
			return
		}
		for name, u := range info.urls() {
			if u == "" {
				continue
			}
			parsed, err := url.Parse(u)
			if err != nil || parsed.Hostname() != "127.0.0.1" {
				t.Fatalf("check accepted %s %q, which is not on 127.0.0.1", name, u)
			}
		}
	})
}
