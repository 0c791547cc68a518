package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gnark "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/mpcsigner/mpcsigner/chains/eth2/keystore"
	"github.com/mpcsigner/mpcsigner/host/api"
)

// crashSlot is the slot at which the devnet's enclaves kill themselves right after recording a
// block (MPCSIGNER_TEST_CRASH_AT_SLOT), to crash between the slashing check and the signature.
const crashSlot = 777777

const exampleGVR = "0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673"

func forkInfo() string {
	return `"fork_info":{"fork":{"previous_version":"0x00000001","current_version":"0x00000001","epoch":"1"},"genesis_validators_root":"` + exampleGVR + `"}`
}

func blockBody(slot uint64, body byte) string {
	return fmt.Sprintf(`{"type":"BLOCK_V2",%s,"beacon_block":{"version":"DENEB","block_header":{"slot":"%d","proposer_index":"3","parent_root":"0x%064x","state_root":"0x%064x","body_root":"0x%064x"}}}`, forkInfo(), slot, 1, 2, body)
}

func attestationBody(source, target uint64, root byte) string {
	return fmt.Sprintf(`{"type":"ATTESTATION",%s,"attestation":{"slot":"%d","index":"0","beacon_block_root":"0x%064x","source":{"epoch":"%d","root":"0x%064x"},"target":{"epoch":"%d","root":"0x%064x"}}}`,
		forkInfo(), target*32, root, source, 0, target, root)
}

// w3sSign posts one signing request to a Web3Signer URL, asking for JSON.
func w3sSign(t testing.TB, base, pub, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/api/v1/eth2/sign/"+pub, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, string(b)
	}
	var out struct {
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("signature answer %q: %v", b, err)
	}
	return 200, strings.TrimPrefix(out.Signature, "0x")
}

// keymanager calls the Keymanager API with the devnet's token.
func keymanagerCall(t testing.TB, d *devnetProc, method, body string) (int, []byte) {
	t.Helper()
	tok, err := os.ReadFile(d.info.KeymanagerTokenFile)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, d.info.Web3Signer+"/eth/v1/keystores", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// startDevnetEnv is startDevnet with extra environment for the devnet and its children.
func startDevnetEnv(t testing.TB, data string, env []string, extra ...string) *devnetProc {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return startDevnet(t, data, extra...)
}

// newValidatorSecret draws a BLS secret key and returns it with its public key computed by
// gnark-crypto (independently of blst, which the product uses).
func newValidatorSecret(t testing.TB) ([]byte, string) {
	t.Helper()
	var s fr.Element
	if _, err := s.SetRandom(); err != nil {
		t.Fatal(err)
	}
	secret := s.Bytes()
	var pk gnark.G1Affine
	pk.ScalarMultiplicationBase(new(big.Int).SetBytes(secret[:]))
	pub := pk.Bytes()
	return secret[:], hex.EncodeToString(pub[:])
}

func TestEth2EndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	d := startDevnetEnv(t, data, []string{fmt.Sprintf("MPCSIGNER_TEST_CRASH_AT_SLOT=%d", crashSlot)}, "--restart-delay", "2s", "--sign-timeout", "15s")
	if d.info.Web3Signer == "" || len(d.info.Parties) != 3 || d.info.Parties[2].Web3Signer == "" {
		t.Fatalf("devnet.json lists no Web3Signer API: %+v", d.info)
	}
	w3s := d.info.Web3Signer
	var key api.Key
	d.cliJSON(t, &key, "key", "create", "--scheme", "bls12-381", "--label", "validator")
	pub := "0x" + key.PublicKey

	t.Run("raw digests are refused for validator keys", func(t *testing.T) {
		_, stderr, code := d.cli(t, "sign", "--key", "validator", "--digest", randomHex32())
		if code == 0 || !strings.Contains(stderr, "slashing protection") {
			t.Fatalf("a raw digest was signed with a validator key, or the refusal is unclear: exit %d %q", code, stderr)
		}
	})

	t.Run("read endpoints", func(t *testing.T) {
		resp, err := http.Get(w3s + "/upcheck")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "OK" {
			t.Fatalf("upcheck: %d %q", resp.StatusCode, b)
		}
		resp, err = http.Get(w3s + "/api/v1/eth2/publicKeys")
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		err = json.NewDecoder(resp.Body).Decode(&keys)
		resp.Body.Close()
		if err != nil || len(keys) != 1 || keys[0] != pub {
			t.Fatalf("publicKeys: %v %v", keys, err)
		}
		resp, err = http.Get(w3s + "/healthcheck")
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"quorum_reachable"`) || !strings.Contains(string(b), `"outcome":"UP"`) {
			t.Fatalf("healthcheck: %d %s", resp.StatusCode, b)
		}
	})

	t.Run("golden requests sign, verified by gnark over Web3Signer's own roots", func(t *testing.T) {
		for _, name := range []string{"attestation", "randao_reveal", "voluntary_exit", "deposit", "sync_committee_message",
			"sync_committee_selection_proof", "aggregate_and_proof_v2_deneb", "aggregate_and_proof_v2_phase_0", "block_v2_deneb"} {
			body, err := os.ReadFile(filepath.Join("..", "..", "chains", "eth2", "testdata", "openapi", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var ex struct {
				SigningRoot string `json:"signingRoot"`
			}
			if err := json.Unmarshal(body, &ex); err != nil || ex.SigningRoot == "" {
				t.Fatalf("%s: no signingRoot (%v)", name, err)
			}
			status, sig := w3sSign(t, w3s, pub, string(body))
			if status != 200 {
				t.Fatalf("%s: %d %s", name, status, sig)
			}
			verifyBLSWithGnark(t, key.PublicKey, strings.TrimPrefix(ex.SigningRoot, "0x"), sig)
		}
	})

	t.Run("text/plain without an Accept header", func(t *testing.T) {
		resp, err := http.Post(w3s+"/api/v1/eth2/sign/"+pub, "application/json", strings.NewReader(attestationBody(1, 2, 1)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || len(b) != 2+192 || !bytes.HasPrefix(b, []byte("0x")) {
			t.Fatalf("got %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	})

	t.Run("slashing protection through the API", func(t *testing.T) {
		status, first := w3sSign(t, w3s, pub, blockBody(100, 1))
		if status != 200 {
			t.Fatalf("first block: %d %s", status, first)
		}
		if status, msg := w3sSign(t, w3s, pub, blockBody(100, 2)); status != 412 {
			t.Fatalf("double proposal: %d %s", status, msg)
		}
		// Through another host, which may pick other signers: still refused.
		if status, msg := w3sSign(t, d.info.Parties[2].Web3Signer, pub, blockBody(100, 3)); status != 412 {
			t.Fatalf("double proposal through host 3: %d %s", status, msg)
		}
		if status, again := w3sSign(t, w3s, pub, blockBody(100, 1)); status != 200 || again != first {
			t.Fatalf("exact repeat: %d %s", status, again)
		}
		if status, msg := w3sSign(t, w3s, pub, attestationBody(10, 11, 1)); status != 200 {
			t.Fatalf("attestation: %d %s", status, msg)
		}
		for name, body := range map[string]string{
			"double vote": attestationBody(10, 11, 2),
			"surrounding": attestationBody(9, 12, 1),
		} {
			if status, msg := w3sSign(t, w3s, pub, body); status != 412 {
				t.Fatalf("%s: %d %s", name, status, msg)
			}
		}
		if status, msg := w3sSign(t, w3s, "0x"+strings.Repeat("ab", 48), blockBody(101, 1)); status != 404 {
			t.Fatalf("unknown key: %d %s", status, msg)
		}
	})

	t.Run("high watermark", func(t *testing.T) {
		var hw api.HighWatermark
		d.cliJSON(t, &hw, "eth2", "high-watermark", "--slot", "5000", "--epoch", "150")
		if !hw.Set || hw.Slot != 5000 || hw.Epoch != 150 {
			t.Fatalf("set: %+v", hw)
		}
		resp, err := http.Get(w3s + "/api/v1/eth2/highWatermark")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != `{"epoch":"150","slot":"5000"}`+"\n" {
			t.Fatalf("GET highWatermark: %q", b)
		}
		if status, msg := w3sSign(t, w3s, pub, blockBody(5000, 1)); status != 412 {
			t.Fatalf("a block at the high watermark: %d %s", status, msg)
		}
		if status, msg := w3sSign(t, w3s, pub, attestationBody(149, 150, 1)); status != 412 {
			t.Fatalf("an attestation at the high watermark: %d %s", status, msg)
		}
		if status, msg := w3sSign(t, w3s, pub, blockBody(4999, 1)); status != 200 {
			t.Fatalf("a block below the high watermark: %d %s", status, msg)
		}
		d.cliJSON(t, &hw, "eth2", "high-watermark", "--clear")
		if hw.Set {
			t.Fatalf("clear: %+v", hw)
		}
		if status, msg := w3sSign(t, w3s, pub, blockBody(5000, 1)); status != 200 {
			t.Fatalf("a block once the high watermark is cleared: %d %s", status, msg)
		}
	})

	t.Run("concurrent conflicting requests through every host sign once", func(t *testing.T) {
		const n = 24
		for _, tc := range []struct {
			name string
			body func(i int) string
		}{
			{"blocks at one slot", func(i int) string { return blockBody(200, byte(i+1)) }},
			{"attestations for one target", func(i int) string { return attestationBody(20, 21, byte(i+1)) }},
		} {
			var mu sync.Mutex
			var wg sync.WaitGroup
			counts := map[int]int{}
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, _ := w3sSign(t, d.info.Parties[i%3].Web3Signer, pub, tc.body(i))
					mu.Lock()
					counts[status]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if counts[200] != 1 || counts[412] != n-1 {
				t.Fatalf("%s: statuses %v, want exactly one 200 and the rest 412", tc.name, counts)
			}
		}
	})

	t.Run("bad input is refused and records nothing", func(t *testing.T) {
		good := blockBody(300, 1)
		for name, body := range map[string]string{
			"malformed json":   good[:len(good)-5],
			"unknown field":    strings.Replace(good, `"type"`, `"surprise":true,"type"`, 1),
			"short root":       strings.Replace(blockBody(300, 2), `"body_root":"0x`, `"body_root":"0x12`, 1)[:0] + strings.Replace(blockBody(300, 2), fmt.Sprintf("0x%064x", 2), "0x1234", 1),
			"slot overflow":    strings.Replace(blockBody(300, 3), `"slot":"300"`, `"slot":"18446744073709551616"`, 1),
			"wrong fork_info":  strings.Replace(blockBody(300, 4), `"current_version":"0x00000001"`, `"current_version":"0x0001"`, 1),
			"missing payload":  `{"type":"BLOCK_V2",` + forkInfo() + `}`,
			"wrong type":       strings.Replace(blockBody(300, 5), `"BLOCK_V2"`, `"ATTESTATION"`, 1),
			"huge body":        `{"type":"BLOCK_V2","pad":"` + strings.Repeat("x", 2<<20) + `"}`,
			"wrong root given": strings.Replace(blockBody(300, 6), `"type":"BLOCK_V2",`, `"type":"BLOCK_V2","signingRoot":"0x`+strings.Repeat("cd", 32)+`",`, 1),
		} {
			if status, msg := w3sSign(t, w3s, pub, body); status != 400 {
				t.Errorf("%s: %d %s", name, status, msg)
			}
		}
		// Had any of them been recorded for slot 300, this block would be a double proposal.
		if status, msg := w3sSign(t, w3s, pub, good); status != 200 {
			t.Fatalf("a valid block after the bad ones: %d %s", status, msg)
		}
	})

	t.Run("kill -9 between the slashing record and the signature", func(t *testing.T) {
		before := d.refresh()
		status, msg := w3sSign(t, w3s, pub, blockBody(crashSlot, 1))
		if status == 200 {
			t.Fatalf("the crash hook did not fire: %s", msg)
		}
		var killed []int
		waitFor(t, "the signers' enclaves to die", 10*time.Second, func() bool {
			killed = killed[:0]
			for _, p := range before.Parties {
				if !processAlive(p.EnclavePID) {
					killed = append(killed, p.Party)
				}
			}
			return len(killed) >= 2
		})
		waitFor(t, "the devnet to restart the killed enclaves", 60*time.Second, func() bool {
			now := d.refresh()
			for _, p := range killed {
				if now.Parties[p-1].EnclavePID == before.Parties[p-1].EnclavePID {
					return false
				}
			}
			return d.allHealthy()
		})
		for _, host := range []int{0, 1, 2} {
			if status, msg := w3sSign(t, d.info.Parties[host].Web3Signer, pub, blockBody(crashSlot, 2)); status != 412 {
				t.Fatalf("a conflicting block after the crash, through host %d: %d %s", host+1, status, msg)
			}
		}
		if status, msg := w3sSign(t, w3s, pub, blockBody(crashSlot+1, 1)); status != 200 {
			t.Fatalf("signing after the restart: %d %s", status, msg)
		}
	})

	t.Run("keymanager import with slashing data, delete, re-import", func(t *testing.T) {
		secret, vpub := newValidatorSecret(t)
		ks, err := keystore.EncryptWithCost(secret, []byte("correct horse"), "pbkdf2", 1024, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		interchange := fmt.Sprintf(`{"metadata":{"interchange_format_version":"5","genesis_validators_root":%q},"data":[{"pubkey":"0x%s","signed_blocks":[{"slot":"50"}],"signed_attestations":[]}]}`, exampleGVR, vpub)
		req, _ := json.Marshal(map[string]any{"keystores": []string{string(ks)}, "passwords": []string{"correct horse"}, "slashing_protection": interchange})
		status, b := keymanagerCall(t, d, "POST", string(req))
		if status != 200 || !strings.Contains(string(b), `"imported"`) {
			t.Fatalf("import: %d %s", status, b)
		}
		status, b = keymanagerCall(t, d, "GET", "")
		if status != 200 || !strings.Contains(string(b), vpub) {
			t.Fatalf("list: %d %s", status, b)
		}
		if status, msg := w3sSign(t, w3s, "0x"+vpub, blockBody(50, 9)); status != 412 {
			t.Fatalf("a block the imported protection forbids: %d %s", status, msg)
		}
		status, sig := w3sSign(t, w3s, "0x"+vpub, `{"type":"RANDAO_REVEAL",`+forkInfo()+`,"randao_reveal":{"epoch":"3"}}`)
		if status != 200 {
			t.Fatalf("sign with the imported key: %d %s", status, sig)
		}
		status, blockSig := w3sSign(t, w3s, "0x"+vpub, blockBody(60, 1))
		if status != 200 {
			t.Fatalf("block with the imported key: %d %s", status, blockSig)
		}
		// The imported key is the keystore's: gnark, from the secret, gives the same key.
		var ex struct {
			SigningRoot string `json:"signingRoot"`
		}
		golden, _ := os.ReadFile(filepath.Join("..", "..", "chains", "eth2", "testdata", "openapi", "attestation.json"))
		_ = json.Unmarshal(golden, &ex)
		status, asig := w3sSign(t, w3s, "0x"+vpub, string(golden))
		if status != 200 {
			t.Fatalf("golden attestation with the imported key: %d %s", status, asig)
		}
		verifyBLSWithGnark(t, vpub, strings.TrimPrefix(ex.SigningRoot, "0x"), asig)

		status, b = keymanagerCall(t, d, "DELETE", `{"pubkeys":["0x`+vpub+`"]}`)
		var del struct {
			Data []struct {
				Status string `json:"status"`
			} `json:"data"`
			SlashingProtection string `json:"slashing_protection"`
		}
		if err := json.Unmarshal(b, &del); err != nil || status != 200 || len(del.Data) != 1 || del.Data[0].Status != "deleted" {
			t.Fatalf("delete: %d %s", status, b)
		}
		if !strings.Contains(del.SlashingProtection, `"60"`) || !strings.Contains(del.SlashingProtection, vpub) {
			t.Fatalf("the exported protection lacks the signed block: %s", del.SlashingProtection)
		}
		if status, msg := w3sSign(t, w3s, "0x"+vpub, blockBody(61, 1)); status != 404 {
			t.Fatalf("a deleted key signed: %d %s", status, msg)
		}
		resp, err := http.Get(w3s + "/api/v1/eth2/publicKeys")
		if err != nil {
			t.Fatal(err)
		}
		listed, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(listed), vpub) {
			t.Fatalf("publicKeys still lists the deleted key: %s", listed)
		}
		status, b = keymanagerCall(t, d, "DELETE", `{"pubkeys":["0x`+vpub+`"]}`)
		if status != 200 || !strings.Contains(string(b), `"not_active"`) {
			t.Fatalf("second delete: %d %s", status, b)
		}
		req, _ = json.Marshal(map[string]any{"keystores": []string{string(ks)}, "passwords": []string{"correct horse"}, "slashing_protection": del.SlashingProtection})
		if status, b := keymanagerCall(t, d, "POST", string(req)); status != 200 || !strings.Contains(string(b), `"imported"`) {
			t.Fatalf("re-import: %d %s", status, b)
		}
		if status, msg := w3sSign(t, w3s, "0x"+vpub, blockBody(60, 2)); status != 412 {
			t.Fatalf("a conflicting block after re-import: %d %s", status, msg)
		}
		req, _ = json.Marshal(map[string]any{"keystores": []string{string(ks), string(ks)}, "passwords": []string{"correct horse", "wrong"}})
		status, b = keymanagerCall(t, d, "POST", string(req))
		if status != 200 || !strings.Contains(string(b), `{"status":"duplicate"}`) || !strings.Contains(string(b), "wrong password") {
			t.Fatalf("import of an active key, and with a wrong password: %d %s", status, b)
		}
	})

	t.Run("CLI import sealed to the dealer's attested key", func(t *testing.T) {
		secret, vpub := newValidatorSecret(t)
		ks, err := keystore.EncryptWithCost(secret, []byte("pässwörd"), "scrypt", 1024, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		ksPath, pwPath, badPath := filepath.Join(dir, "keystore.json"), filepath.Join(dir, "password"), filepath.Join(dir, "wrong")
		for path, b := range map[string][]byte{ksPath: ks, pwPath: []byte("pässwörd\n"), badPath: []byte("nope\n")} {
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, stderr, code := d.cli(t, "key", "import", "--keystore", ksPath, "--password-file", badPath)
		if code == 0 || !strings.Contains(stderr, "password") {
			t.Fatalf("wrong password: exit %d %q", code, stderr)
		}
		var k api.Key
		d.cliJSON(t, &k, "key", "import", "--keystore", ksPath, "--password-file", pwPath, "--label", "imported-1")
		if k.PublicKey != vpub || k.Scheme != "bls12-381" || k.Label != "imported-1" {
			t.Fatalf("imported %+v, want public key %s", k, vpub)
		}
		golden, _ := os.ReadFile(filepath.Join("..", "..", "chains", "eth2", "testdata", "openapi", "randao_reveal.json"))
		var ex struct {
			SigningRoot string `json:"signingRoot"`
		}
		_ = json.Unmarshal(golden, &ex)
		status, sig := w3sSign(t, w3s, "0x"+vpub, string(golden))
		if status != 200 {
			t.Fatalf("sign with the imported key: %d %s", status, sig)
		}
		verifyBLSWithGnark(t, vpub, strings.TrimPrefix(ex.SigningRoot, "0x"), sig)
		_, stderr, code = d.cli(t, "key", "import", "--keystore", ksPath, "--password-file", pwPath, "--label", "imported-2")
		if code == 0 || !strings.Contains(stderr, "409") {
			t.Fatalf("importing the same key twice: exit %d %q", code, stderr)
		}
	})
}
