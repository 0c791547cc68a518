package web3signer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains/eth2"
)

// attestationBody is Web3Signer's OpenAPI example of an ATTESTATION request, with its root.
const attestationBody = `{
  "type": "ATTESTATION",
  "signingRoot": "0x548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f0",
  "fork_info": {
    "fork": {"previous_version": "0x00000001", "current_version": "0x00000001", "epoch": "1"},
    "genesis_validators_root": "0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673"
  },
  "attestation": {
    "slot": "32", "index": "0",
    "beacon_block_root": "0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89",
    "source": {"epoch": "0", "root": "0x0000000000000000000000000000000000000000000000000000000000000000"},
    "target": {"epoch": "0", "root": "0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89"}
  }
}`

const pubHex = "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c"

// fakeBackend is an in-memory Backend and Keymanager: it "signs" by returning the signing root
// repeated three times, so tests can see which root reached it.
type fakeBackend struct {
	mu        sync.Mutex
	signErr   error
	signed    int
	keys      []PublicKey
	watermark *Watermark
	checks    []Check
	reloads   int
	imports   [][]string
	deleted   []PublicKey
}

func (f *fakeBackend) Sign(ctx context.Context, pk PublicKey, req *eth2.Request, root [32]byte, net *eth2.Network) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.signErr != nil {
		return nil, f.signErr
	}
	f.signed++
	return bytes.Repeat(root[:], 3), nil
}

func (f *fakeBackend) PublicKeys(context.Context) ([]PublicKey, error) { return f.keys, nil }
func (f *fakeBackend) Reload(context.Context) error                    { f.reloads++; return nil }
func (f *fakeBackend) HighWatermark(context.Context) (*Watermark, error) {
	return f.watermark, nil
}
func (f *fakeBackend) Checks(context.Context) []Check { return f.checks }

func (f *fakeBackend) ListKeystores(context.Context) ([]KeystoreEntry, error) {
	return []KeystoreEntry{{ValidatingPubkey: pubHex}}, nil
}

func (f *fakeBackend) ImportKeystores(ctx context.Context, keystores, passwords []string, slashing []byte) ([]ImportResult, error) {
	f.imports = append(f.imports, keystores)
	out := make([]ImportResult, len(keystores))
	for i := range out {
		out[i].Status = "imported"
	}
	return out, nil
}

func (f *fakeBackend) DeleteKeystores(ctx context.Context, pks []PublicKey) ([]DeleteResult, []byte, error) {
	f.deleted = append(f.deleted, pks...)
	out := make([]DeleteResult, len(pks))
	for i := range out {
		out[i].Status = "deleted"
	}
	return out, []byte(`{"metadata":{"interchange_format_version":"5","genesis_validators_root":"0x00"},"data":[]}`), nil
}

const testToken = "0123456789abcdef0123"

func newTestServer(t *testing.T, f *fakeBackend) *httptest.Server {
	t.Helper()
	net, err := eth2.LookupNetwork("mainnet")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(f, Config{Network: net, Keymanager: f, KeymanagerToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	status      int
	contentType string
	body        string
}

func do(t *testing.T, method, url, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

const wantSig = "0x548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f0548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f0548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f0"

func TestSignContentNegotiation(t *testing.T) {
	srv := newTestServer(t, &fakeBackend{})
	url := srv.URL + "/api/v1/eth2/sign/" + pubHex
	for _, tc := range []struct {
		accept   string
		wantJSON bool
	}{
		{"", false},
		{"text/plain", false},
		{"application/json", true},
		{"*/*", true},
		{"text/plain;q=0.9, application/json", true},
	} {
		r := do(t, "POST", url, attestationBody, "Content-Type", "application/json", "Accept", tc.accept)
		if r.status != 200 {
			t.Fatalf("Accept %q: status %d: %s", tc.accept, r.status, r.body)
		}
		if tc.wantJSON {
			var out map[string]string
			if err := json.Unmarshal([]byte(r.body), &out); err != nil || out["signature"] != wantSig || !strings.HasPrefix(r.contentType, "application/json") {
				t.Fatalf("Accept %q: got %s %q", tc.accept, r.contentType, r.body)
			}
		} else if r.body != wantSig || !strings.HasPrefix(r.contentType, "text/plain") {
			t.Fatalf("Accept %q: got %s %q", tc.accept, r.contentType, r.body)
		}
	}
}

func TestSignErrors(t *testing.T) {
	f := &fakeBackend{}
	srv := newTestServer(t, f)
	url := srv.URL + "/api/v1/eth2/sign/" + pubHex
	wrongRoot := strings.Replace(attestationBody, "0x548c", "0x648c", 1)
	for _, tc := range []struct {
		name    string
		url     string
		body    string
		signErr error
		want    int
		wantMsg string
	}{
		{"unknown type", url, `{"type":"NOT_A_TYPE"}`, nil, 400, "NOT_A_TYPE"},
		{"malformed json", url, `{"type":`, nil, 400, ""},
		{"unknown field", url, strings.Replace(attestationBody, `"type"`, `"extra":1,"type"`, 1), nil, 400, "extra"},
		{"wrong signing root", url, wrongRoot, nil, 400, "signingRoot"},
		{"huge body", url, `{"type":"ATTESTATION","x":"` + strings.Repeat("a", eth2.MaxRequestBytes) + `"}`, nil, 400, "exceeds"},
		{"bad identifier", srv.URL + "/api/v1/eth2/sign/0x1234", attestationBody, nil, 400, "48-byte"},
		{"unknown key", url, attestationBody, fmt.Errorf("no such key: %w", ErrUnknownKey), 404, ""},
		{"slashing", url, attestationBody, fmt.Errorf("double vote: %w", ErrSlashing), 412, "double vote"},
		{"unavailable", url, attestationBody, fmt.Errorf("2 of 3 down: %w", ErrUnavailable), 503, ""},
		{"internal", url, attestationBody, errors.New("disk on fire"), 500, "Internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.signErr, f.signed = tc.signErr, 0
			f.mu.Unlock()
			r := do(t, "POST", tc.url, tc.body)
			if r.status != tc.want || !strings.Contains(r.body, tc.wantMsg) {
				t.Fatalf("got %d %q, want %d containing %q", r.status, r.body, tc.want, tc.wantMsg)
			}
			if tc.want == 400 && f.signed != 0 {
				t.Fatal("a bad request reached the backend")
			}
			if tc.name == "internal" && strings.Contains(r.body, "fire") {
				t.Fatal("an internal error's detail leaked to the client")
			}
		})
	}
}

func TestReadEndpoints(t *testing.T) {
	pk, err := ParsePublicKey(pubHex)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBackend{keys: []PublicKey{pk}, checks: []Check{{ID: "quorum_reachable", OK: true}, {ID: "attestation_fresh", OK: true}}}
	srv := newTestServer(t, f)

	if r := do(t, "GET", srv.URL+"/api/v1/eth2/publicKeys", ""); r.status != 200 || r.body != `["`+pubHex+`"]`+"\n" {
		t.Fatalf("publicKeys: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/upcheck", ""); r.status != 200 || r.body != "OK" {
		t.Fatalf("upcheck: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/upcheck", "", "Accept", "application/json"); r.status != 200 || r.body != `{"status":"OK"}`+"\n" {
		t.Fatalf("upcheck as JSON: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/api/v1/eth2/highWatermark", ""); r.status != 200 || r.body != "{}\n" {
		t.Fatalf("highWatermark unset: %d %q", r.status, r.body)
	}
	f.watermark = &Watermark{Slot: 64, Epoch: 2}
	if r := do(t, "GET", srv.URL+"/api/v1/eth2/highWatermark", ""); r.status != 200 || r.body != `{"epoch":"2","slot":"64"}`+"\n" {
		t.Fatalf("highWatermark: %d %q", r.status, r.body)
	}
	for _, method := range []string{"GET", "POST"} {
		if r := do(t, method, srv.URL+"/reload", ""); r.status != 200 {
			t.Fatalf("%s /reload: %d %q", method, r.status, r.body)
		}
	}
	if f.reloads != 2 {
		t.Fatalf("%d reloads, want 2", f.reloads)
	}

	r := do(t, "GET", srv.URL+"/healthcheck", "")
	var hc healthReport
	if err := json.Unmarshal([]byte(r.body), &hc); err != nil || r.status != 200 || hc.Status != "UP" || len(hc.Checks) != 2 {
		t.Fatalf("healthcheck: %d %q", r.status, r.body)
	}
	f.checks[0].OK = false
	r = do(t, "GET", srv.URL+"/healthcheck", "")
	if err := json.Unmarshal([]byte(r.body), &hc); err != nil || r.status != 503 || hc.Status != "DOWN" || hc.Checks[0].Status != "DOWN" || hc.Checks[1].Status != "UP" {
		t.Fatalf("healthcheck with a failed check: %d %q", r.status, r.body)
	}
}

func TestKeymanager(t *testing.T) {
	f := &fakeBackend{}
	srv := newTestServer(t, f)
	url := srv.URL + "/eth/v1/keystores"
	auth := []string{"Authorization", "Bearer " + testToken}

	for _, method := range []string{"GET", "POST", "DELETE"} {
		if r := do(t, method, url, "{}"); r.status != 401 {
			t.Fatalf("%s without a token: %d", method, r.status)
		}
		if r := do(t, method, url, "{}", "Authorization", "Bearer wrong-token-0000000"); r.status != 401 {
			t.Fatalf("%s with a wrong token: %d", method, r.status)
		}
	}
	if r := do(t, "GET", url, "", auth...); r.status != 200 || r.body != `{"data":[{"validating_pubkey":"`+pubHex+`","readonly":false}]}`+"\n" {
		t.Fatalf("list: %d %q", r.status, r.body)
	}
	if r := do(t, "POST", url, `{"keystores":["{}","{}"],"passwords":["a"]}`, auth...); r.status != 400 || !strings.Contains(r.body, "2 keystores but 1 passwords") {
		t.Fatalf("import with too few passwords: %d %q", r.status, r.body)
	}
	if r := do(t, "POST", url, `{"keystores":["{}"],"passwords":["a"],"bogus":1}`, auth...); r.status != 400 {
		t.Fatalf("import with an unknown field: %d %q", r.status, r.body)
	}
	if len(f.imports) != 0 {
		t.Fatal("a refused import reached the backend")
	}
	r := do(t, "POST", url, `{"keystores":["{}"],"passwords":["a"]}`, auth...)
	if r.status != 200 || r.body != `{"data":[{"status":"imported"}]}`+"\n" {
		t.Fatalf("import: %d %q", r.status, r.body)
	}
	r = do(t, "DELETE", url, `{"pubkeys":["`+pubHex+`"]}`, auth...)
	var del struct {
		Data               []DeleteResult `json:"data"`
		SlashingProtection string         `json:"slashing_protection"`
	}
	if err := json.Unmarshal([]byte(r.body), &del); err != nil || r.status != 200 {
		t.Fatalf("delete: %d %q", r.status, r.body)
	}
	if diff := cmp.Diff([]DeleteResult{{Status: "deleted"}}, del.Data); diff != "" || !json.Valid([]byte(del.SlashingProtection)) {
		t.Fatalf("delete answer (-want +got):\n%s\nslashing_protection %q", diff, del.SlashingProtection)
	}
	if r := do(t, "DELETE", url, `{"pubkeys":["0x12"]}`, auth...); r.status != 400 {
		t.Fatalf("delete of a malformed key: %d %q", r.status, r.body)
	}
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	net, err := eth2.LookupNetwork("mainnet")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(nil, Config{Network: net}); err == nil {
		t.Fatal("no backend accepted")
	}
	if _, err := New(&fakeBackend{}, Config{}); err == nil {
		t.Fatal("no network accepted")
	}
	if _, err := New(&fakeBackend{}, Config{Network: net, Keymanager: &fakeBackend{}, KeymanagerToken: "short"}); err == nil {
		t.Fatal("a short keymanager token accepted")
	}
}
