package enclave

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"

	"github.com/mpcsigner/mpcsigner/chains/eth2"
	"github.com/mpcsigner/mpcsigner/protocol"
	"github.com/mpcsigner/mpcsigner/protocol/bls"
	"github.com/mpcsigner/mpcsigner/protocol/wire"
)

const testGVR = "0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673"

// blockRequest is a Bellatrix BLOCK_V2 request (a block header) for slot, varying body_root.
func blockRequest(slot uint64, body byte) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"BLOCK_V2","fork_info":{"fork":{"previous_version":"0x00000001","current_version":"0x00000001","epoch":"1"},"genesis_validators_root":%q},
"beacon_block":{"version":"BELLATRIX","block_header":{"slot":"%d","proposer_index":"7","parent_root":"0x%064x","state_root":"0x%064x","body_root":"0x%064x"}}}`, testGVR, slot, 1, 2, body))
}

// attestationRequest is an ATTESTATION for source and target epochs, varying the block root.
func attestationRequest(source, target uint64, root byte) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"ATTESTATION","fork_info":{"fork":{"previous_version":"0x00000001","current_version":"0x00000001","epoch":"1"},"genesis_validators_root":%q},
"attestation":{"slot":"%d","index":"0","beacon_block_root":"0x%064x","source":{"epoch":"%d","root":"0x%064x"},"target":{"epoch":"%d","root":"0x%064x"}}}`,
		testGVR, target*32, root, source, 0, target, root))
}

func (c *testCluster) blsKeygen(t *testing.T, label string) *wire.KeyInfo {
	t.Helper()
	res, err := c.run(wire.PrepareArgs{
		Session: newID(), Kind: wire.KindKeygen, Scheme: protocol.SchemeBLS12381,
		Parties: []protocol.PartyID{1, 2, 3}, Threshold: 2, KeyID: newID(), Label: label,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res[1].Key
}

// eth2Sign asks one party for its partial signature.
func (c *testCluster) eth2Sign(party int, key *wire.KeyInfo, req json.RawMessage) ([]byte, error) {
	body, err := c.call(party, wire.MethodEth2Sign, wire.Eth2SignArgs{PublicKey: key.PublicKey, Request: req, GenesisForkVersion: "00000000"})
	if err != nil {
		return nil, err
	}
	var p wire.Eth2Partial
	if err := wire.DecodeJSON(body, &p); err != nil {
		return nil, err
	}
	if int(p.Party) != party {
		return nil, fmt.Errorf("party %d answered as %s", party, p.Party)
	}
	return hex.DecodeString(p.Partial)
}

func groupOf(t *testing.T, c *testCluster, key *wire.KeyInfo) *bls.GroupKey {
	t.Helper()
	body, err := c.call(1, wire.MethodKeyGet, wire.KeyRef{Key: "0x" + key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	var info wire.KeyInfo
	if err := wire.DecodeJSON(body, &info); err != nil {
		t.Fatal(err)
	}
	shares := map[protocol.PartyID][]byte{}
	for p, s := range info.PublicShares {
		shares[p], _ = hex.DecodeString(s)
	}
	pub, _ := hex.DecodeString(info.PublicKey)
	g, err := bls.NewGroupKey(pub, info.Threshold, shares)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// gnarkVerifyBLS checks an Ethereum BLS signature with gnark-crypto, which shares no code with blst.
func gnarkVerifyBLS(t *testing.T, pubBytes, msg, sigBytes []byte) {
	t.Helper()
	var pk bls12381.G1Affine
	if _, err := pk.SetBytes(pubBytes); err != nil {
		t.Fatal(err)
	}
	var sig bls12381.G2Affine
	if _, err := sig.SetBytes(sigBytes); err != nil {
		t.Fatal(err)
	}
	h, err := bls12381.HashToG2(msg, []byte(bls.DST))
	if err != nil {
		t.Fatal(err)
	}
	_, _, g1, _ := bls12381.Generators()
	var neg bls12381.G1Affine
	neg.Neg(&g1)
	ok, err := bls12381.PairingCheck([]bls12381.G1Affine{pk, neg}, []bls12381.G2Affine{h, sig})
	if err != nil || !ok {
		t.Fatalf("gnark: signature does not verify (%v)", err)
	}
}

func TestEth2PartialsCombineToAVerifiedSignature(t *testing.T) {
	c := newTestCluster(t)
	key := c.blsKeygen(t, "validator")
	group := groupOf(t, c, key)
	// Web3Signer's OpenAPI example root for this ATTESTATION (see chains/eth2's golden tests).
	req := json.RawMessage(`{"type":"ATTESTATION","signingRoot":"0x548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f0","fork_info":{"fork":{"previous_version":"0x00000001","current_version":"0x00000001","epoch":"1"},"genesis_validators_root":"0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673"},"attestation":{"slot":"32","index":"0","beacon_block_root":"0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89","source":{"epoch":"0","root":"0x0000000000000000000000000000000000000000000000000000000000000000"},"target":{"epoch":"0","root":"0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89"}}}`)
	root, _ := hex.DecodeString("548c9a015f4c96cb8b1ddbbdfca85846f85bf9f344a434c140f378cdfb5341f0")
	partials := map[protocol.PartyID][]byte{}
	for _, p := range []int{1, 3} {
		partial, err := c.eth2Sign(p, key, req)
		if err != nil {
			t.Fatalf("party %d: %v", p, err)
		}
		partials[protocol.PartyID(p)] = partial
	}
	sig, err := group.Combine(root, partials)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := hex.DecodeString(key.PublicKey)
	gnarkVerifyBLS(t, pub, root, sig)
	// An exact repeat is allowed and gives the same partial.
	again, err := c.eth2Sign(1, key, req)
	if err != nil || hex.EncodeToString(again) != hex.EncodeToString(partials[1]) {
		t.Fatalf("repeat: %v", err)
	}
}

func TestEth2EnclaveRefusesSlashableAndForgedRequests(t *testing.T) {
	c := newTestCluster(t)
	key := c.blsKeygen(t, "validator")
	if _, err := c.eth2Sign(1, key, blockRequest(100, 1)); err != nil {
		t.Fatal(err)
	}
	_, err := c.eth2Sign(1, key, blockRequest(100, 2))
	assertCode(t, err, wire.CodePolicy)
	if !strings.Contains(err.Error(), "100") {
		t.Fatalf("refusal does not name the slot: %v", err)
	}
	// Party 2 never saw the first block, so it signs the second; with party 1 refusing, no
	// two parties ever sign both.
	if _, err := c.eth2Sign(2, key, blockRequest(100, 2)); err != nil {
		t.Fatal(err)
	}
	_, err = c.eth2Sign(2, key, blockRequest(100, 1))
	assertCode(t, err, wire.CodePolicy)

	if _, err := c.eth2Sign(1, key, attestationRequest(2, 5, 1)); err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]json.RawMessage{
		"double vote": attestationRequest(2, 5, 2),
		"surrounding": attestationRequest(1, 6, 1),
		"surrounded":  attestationRequest(3, 4, 1),
	} {
		_, err := c.eth2Sign(1, key, req)
		if err == nil {
			t.Fatalf("%s was signed", name)
		}
		assertCode(t, err, wire.CodePolicy)
	}

	// A host that lies about the root, the type or the key gets nothing.
	forged := json.RawMessage(strings.Replace(string(blockRequest(101, 1)), `"type":"BLOCK_V2",`, `"type":"BLOCK_V2","signingRoot":"0x`+strings.Repeat("ab", 32)+`",`, 1))
	_, err = c.eth2Sign(1, key, forged)
	assertCode(t, err, wire.CodeBadRequest)
	renamed := json.RawMessage(strings.Replace(string(blockRequest(102, 1)), `"type":"BLOCK_V2"`, `"type":"RANDAO_REVEAL"`, 1))
	_, err = c.eth2Sign(1, key, renamed)
	assertCode(t, err, wire.CodeBadRequest)
	_, err = c.call(1, wire.MethodEth2Sign, wire.Eth2SignArgs{PublicKey: strings.Repeat("aa", 48), Request: blockRequest(103, 1), GenesisForkVersion: "00000000"})
	assertCode(t, err, wire.CodeNotFound)
	_, err = c.call(1, wire.MethodEth2Sign, wire.Eth2SignArgs{PublicKey: key.PublicKey, Request: blockRequest(103, 1), GenesisForkVersion: "000000"})
	assertCode(t, err, wire.CodeBadRequest)
}

func TestEth2ConcurrentConflictsSignOnce(t *testing.T) {
	c := newTestCluster(t)
	key := c.blsKeygen(t, "validator")
	const n = 32
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.eth2Sign(1, key, blockRequest(500, byte(i+1)))
			mu.Lock()
			defer mu.Unlock()
			var re *wire.RemoteError
			switch {
			case err == nil:
				ok++
			case asRemote(err, &re) && re.Code == wire.CodePolicy:
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 || refused != n-1 {
		t.Fatalf("%d signed, %d refused; want exactly 1 signed", ok, refused)
	}
}

func TestEth2DisableExportImport(t *testing.T) {
	c := newTestCluster(t)
	key := c.blsKeygen(t, "validator")
	if _, err := c.eth2Sign(1, key, blockRequest(7, 1)); err != nil {
		t.Fatal(err)
	}
	pks := wire.Eth2Pubkeys{Pubkeys: []string{key.PublicKey}}
	body, err := c.call(1, wire.MethodEth2Disable, pks)
	if err != nil {
		t.Fatal(err)
	}
	var held wire.Eth2Pubkeys
	if err := wire.DecodeJSON(body, &held); err != nil || len(held.Pubkeys) != 1 {
		t.Fatalf("disable answered %s (%v)", body, err)
	}
	_, err = c.eth2Sign(1, key, blockRequest(8, 1))
	assertCode(t, err, wire.CodeNotFound)
	body, err = c.call(1, wire.MethodKeyGet, wire.KeyRef{Key: key.ID})
	var info wire.KeyInfo
	if err != nil || wire.DecodeJSON(body, &info) != nil || !info.Disabled {
		t.Fatalf("a disabled key is not reported as disabled: %s %v", body, err)
	}
	body, err = c.call(1, wire.MethodEth2Export, pks)
	if err != nil {
		t.Fatal(err)
	}
	var ex wire.Eth2Interchange
	if err := wire.DecodeJSON(body, &ex); err != nil || !strings.Contains(string(ex.Interchange), `"slot":"7"`) {
		t.Fatalf("export lacks the signed block: %s (%v)", body, err)
	}
	// Importing the interchange into party 2 makes it refuse the conflicting block too.
	if _, err := c.call(2, wire.MethodEth2Import, ex); err != nil {
		t.Fatal(err)
	}
	_, err = c.eth2Sign(2, key, blockRequest(7, 2))
	assertCode(t, err, wire.CodePolicy)
	if _, err := c.call(1, wire.MethodEth2Enable, pks); err != nil {
		t.Fatal(err)
	}
	if _, err := c.eth2Sign(1, key, blockRequest(9, 1)); err != nil {
		t.Fatalf("re-enabled key does not sign: %v", err)
	}
}

// asRemote is errors.As for *wire.RemoteError.
func asRemote(err error, re **wire.RemoteError) bool {
	r, ok := err.(*wire.RemoteError)
	if ok {
		*re = r
	}
	return ok
}

// A batch is answered item by item: each item is checked and recorded as a call of its own, a
// refused item (a double vote) fails alone, and the partials of the others combine into
// signatures gnark verifies.
func TestEth2SignBatch(t *testing.T) {
	c := newTestCluster(t)
	keyA, keyB := c.blsKeygen(t, "validator-a"), c.blsKeygen(t, "validator-b")
	for _, p := range []int{1, 3} {
		if _, err := c.eth2Sign(p, keyA, attestationRequest(0, 1, 0xaa)); err != nil {
			t.Fatal(err)
		}
	}
	items := []wire.Eth2SignArgs{
		{PublicKey: keyA.PublicKey, Request: attestationRequest(0, 2, 0xbb), GenesisForkVersion: "00000000"},
		{PublicKey: keyB.PublicKey, Request: attestationRequest(0, 1, 0xcc), GenesisForkVersion: "00000000"},
		{PublicKey: keyA.PublicKey, Request: attestationRequest(0, 1, 0xdd), GenesisForkVersion: "00000000"}, // a double vote
	}
	partials := map[int]map[protocol.PartyID][]byte{0: {}, 1: {}}
	for _, p := range []int{1, 3} {
		body, err := c.call(p, wire.MethodEth2SignBatch, wire.Eth2SignBatch{Items: items})
		if err != nil {
			t.Fatalf("party %d: %v", p, err)
		}
		var reply wire.Eth2PartialBatch
		if err := wire.DecodeJSON(body, &reply); err != nil || len(reply.Items) != len(items) {
			t.Fatalf("party %d: reply %+v, %v", p, reply, err)
		}
		for i := range 2 {
			r := reply.Items[i]
			if r.Error != nil || r.Partial == nil || int(r.Partial.Party) != p {
				t.Fatalf("party %d item %d: %+v %+v", p, i, r.Partial, r.Error)
			}
			partials[i][protocol.PartyID(p)], _ = hex.DecodeString(r.Partial.Partial)
		}
		if r := reply.Items[2]; r.Partial != nil || r.Error == nil || r.Error.Code != wire.CodePolicy {
			t.Fatalf("party %d signed a double vote in a batch: %+v %+v", p, r.Partial, r.Error)
		}
	}
	for i, key := range []*wire.KeyInfo{keyA, keyB} {
		req, err := eth2.ParseRequest(items[i].Request)
		if err != nil {
			t.Fatal(err)
		}
		network, err := networkOf(&items[i])
		if err != nil {
			t.Fatal(err)
		}
		root, err := req.SigningRoot(network)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := groupOf(t, c, key).Combine(root[:], partials[i])
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := hex.DecodeString(key.PublicKey)
		gnarkVerifyBLS(t, pub, root[:], sig)
	}
	_, err := c.call(1, wire.MethodEth2SignBatch, wire.Eth2SignBatch{})
	assertCode(t, err, wire.CodeBadRequest)
}
