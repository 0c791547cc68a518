package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
	"github.com/mpcsigner/mpcsigner/enclave"
	"github.com/mpcsigner/mpcsigner/enclave/store"
	"github.com/mpcsigner/mpcsigner/host"
	"github.com/mpcsigner/mpcsigner/host/api"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/ecdsa"
	"github.com/mpcsigner/mpcsigner/protocol/protocoltest"
	"github.com/mpcsigner/mpcsigner/protocol/transport"
)

// observed is everything the hosts carried, by kind ("relay", "request:<method>",
// "response:<method>").
type observed struct {
	mu   sync.Mutex
	data map[string][][]byte
}

func (o *observed) add(kind string, b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.data[kind] = append(o.data[kind], bytes.Clone(b))
}

func (o *observed) all() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out [][]byte
	for _, bs := range o.data {
		out = append(out, bs...)
	}
	return bytes.Join(out, []byte{0})
}

// TestHostsRelayOnlyCiphertext runs three enclaves and three real hosts in one process, records
// every byte the hosts relay and every request and response body they carry through a key
// generation and two signings, and shows that no protocol payload and no part of any share is
// among them.
func TestHostsRelayOnlyCiphertext(t *testing.T) {
	rec := &protocoltest.Recorder{}
	obs := &observed{data: map[string][][]byte{}}
	c := startInProcessCluster(t, func(int) protocol.Engine { return rec.Engine(ecdsa.Engine{}) }, obs.add)
	ctx := context.Background()
	key, err := c.client.CreateKey(ctx, api.CreateKeyRequest{Scheme: "ecdsa-secp256k1", Label: "observed"})
	if err != nil {
		t.Fatal(err)
	}
	for _, signers := range [][]uint16{{1, 2}, {2, 3}} {
		if _, err := c.client.Sign(ctx, key.ID, api.SignRequest{Digest: randomHex32(), Parties: signers}); err != nil {
			t.Fatal(err)
		}
	}
	stores := c.stores

	seen := obs.all()
	obs.mu.Lock()
	relays := obs.data["relay"]
	obs.mu.Unlock()
	if len(relays) == 0 {
		t.Fatal("the hosts relayed nothing")
	}
	for _, r := range relays {
		// Every relayed frame is party-channel traffic: a Noise handshake, ciphertext, or reset.
		if r[0] < 1 || r[0] > 4 {
			t.Fatalf("a host relayed a frame of kind %d", r[0])
		}
	}
	payloads := rec.Payloads()
	if len(payloads) == 0 {
		t.Fatal("the engines emitted nothing")
	}
	for i, p := range payloads {
		for _, w := range protocoltest.Windows(p, 24) {
			if bytes.Contains(seen, w) {
				t.Fatalf("protocol payload %d passed through a host in the clear", i)
			}
		}
	}
	for i, st := range stores {
		names, err := st.List("key/")
		if err != nil || len(names) != 1 {
			t.Fatalf("party %d holds %v (%v)", i+1, names, err)
		}
		raw, err := st.Get(names[0])
		if err != nil {
			t.Fatal(err)
		}
		// The record's public half (id, label, public key) is meant to be shown; the share is not.
		var rec struct {
			Share []byte `json:"share"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil || len(rec.Share) < 100 {
			t.Fatalf("party %d's key record has no share (%v)", i+1, err)
		}
		for _, form := range [][]byte{rec.Share, []byte(base64.StdEncoding.EncodeToString(rec.Share)), []byte(hex.EncodeToString(rec.Share))} {
			for _, w := range protocoltest.Windows(form, 24) {
				if bytes.Contains(seen, w) {
					t.Fatalf("part of party %d's share passed through a host", i+1)
				}
			}
		}
	}
}

// inProcessCluster is three enclaves and three real hosts in this process: enclaves on the
// in-memory transport, hosts on loopback TCP.
type inProcessCluster struct {
	client *api.Client
	stores []store.Store
}

// startInProcessCluster starts the cluster with engineFor(party) as each party's engine and the
// engine's public fixture pre-parameters, and waits until host 1 reaches every party.
func startInProcessCluster(t testing.TB, engineFor func(party int) protocol.Engine, observe func(string, []byte)) *inProcessCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping an in-process cluster in -short mode")
	}
	ctx, cancel := context.WithCancel(context.Background())
	mem := transport.NewMem()
	dir := t.TempDir()
	for _, name := range []string{"api.token", "peer.token"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(randomToken()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	att := newSimAttestation(t, dir)
	c := &inProcessCluster{stores: startTestEnclaves(t, ctx, mem, engineFor, att)}
	var peerLs, apiLs, metricsLs []net.Listener
	var parties []host.PartyAddr
	for p := 1; p <= 3; p++ {
		for _, ls := range []*[]net.Listener{&peerLs, &apiLs, &metricsLs} {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			*ls = append(*ls, l)
		}
		parties = append(parties, host.PartyAddr{ID: protocol.PartyID(p), Peer: peerLs[p-1].Addr().String()})
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	for i := range 3 {
		cfg := &host.Config{
			Version: 1, Party: protocol.PartyID(i + 1), Threshold: 2,
			Enclave:     fmt.Sprintf("mem://enclave-%d", i+1),
			API:         host.APIConfig{Listen: apiLs[i].Addr().String(), TokenFile: filepath.Join(dir, "api.token")},
			Peer:        host.PeerConfig{Listen: peerLs[i].Addr().String(), TokenFile: filepath.Join(dir, "peer.token")},
			Metrics:     host.Listen{Listen: metricsLs[i].Addr().String()},
			Parties:     parties,
			Timeouts:    host.Timeouts{Sign: 30 * time.Second, Keygen: 2 * time.Minute, Call: 5 * time.Second, Reachable: 15 * time.Second}, // generous: -race on a loaded machine delays health polls
			Attestation: att.config,
		}
		h, err := host.New(cfg, host.Options{Logger: slog.New(slog.DiscardHandler), Mem: mem, Observe: observe, Verifier: att.verifier})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = h.Serve(ctx, peerLs[i], apiLs[i], metricsLs[i])
		}()
	}
	var err error
	c.client, err = api.NewClient(api.ClientOptions{URL: "http://" + apiLs[0].Addr().String(), TokenFile: filepath.Join(dir, "api.token")})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every party reachable and attested", 20*time.Second, func() bool {
		hc, err := c.healthcheck(ctx)
		return err == nil && allAttested(hc, 1) == ""
	})
	return c
}

func (c *inProcessCluster) healthcheck(ctx context.Context) (api.Healthcheck, error) {
	var hc api.Healthcheck
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.client.BaseURL+api.PathHealthcheck, nil)
	if err != nil {
		return hc, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return hc, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&hc)
	return hc, err
}

// simAttestation is a simulated CA saved where configurations can name it, an attester
// measuring a fixed test image, and the production Nitro verifier trusting only that CA.
type simAttestation struct {
	config   attestation.Config
	attester attestation.Attester
	verifier attestation.Verifier
}

func newSimAttestation(t testing.TB, dir string) *simAttestation {
	t.Helper()
	ca, err := sim.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caDir := filepath.Join(dir, "sim-ca")
	if err := ca.Save(caDir); err != nil {
		t.Fatal(err)
	}
	pcrs := sim.MeasurementOf([]byte("in-process test image"))
	cfg := attestation.Config{Kind: attestation.KindSim, Sim: attestation.SimConfig{CADir: caDir}, Policy: attestation.PolicyConfig{Measurements: map[int]string{}}}
	for i, m := range pcrs {
		cfg.Policy.Measurements[i] = hex.EncodeToString(m)
	}
	v, err := verifierFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &simAttestation{config: cfg, attester: &sim.Attester{CA: ca, PCRs: pcrs, ModuleID: "in-process"}, verifier: v}
}

// startTestEnclaves runs three enclaves on mem://enclave-N with in-memory stores and the
// engine's public fixture pre-parameters.
func startTestEnclaves(t testing.TB, ctx context.Context, mem *transport.Mem, engineFor func(int) protocol.Engine, att *simAttestation) []store.Store {
	t.Helper()
	roster := &enclave.Roster{Version: 1, ClusterID: "in-process", Threshold: 2, Epoch: 1, Parties: []protocol.PartyID{1, 2, 3}}
	var ids []*enclave.Identity
	var stores []store.Store
	for p := 1; p <= 3; p++ {
		st := store.NewMem()
		id, err := enclave.LoadIdentity(st, protocol.PartyID(p))
		if err != nil {
			t.Fatal(err)
		}
		ids, stores = append(ids, id), append(stores, st)
	}
	for i, id := range ids {
		pp, err := os.ReadFile(filepath.Join("..", "..", "protocol", "ecdsa", "testdata", "preparams", fmt.Sprintf("party-%d.json", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		e, err := enclave.New(enclave.Config{
			Identity: id, Roster: roster, Store: stores[i],
			Engines:           []protocol.Engine{engineFor(i + 1)},
			Attester:          att.attester,
			Verifier:          att.verifier,
			PreParamsFixtures: [][]byte{pp},
			Logger:            slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		l, err := mem.Listen(transport.Addr{Scheme: transport.SchemeMem, Host: fmt.Sprintf("enclave-%d", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		go e.Serve(ctx, l)
	}
	return stores
}
