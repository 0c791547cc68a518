package approval

import (
	"crypto/ed25519"
	"encoding/hex"
	"testing"
	"time"
)

// RFC 8032 section 7.1 test keys 1 to 3, so the public keys these tests expect come from the RFC,
// not from the code under test.
var rfc8032 = []struct{ seed, public string }{
	{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"},
	{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"},
	{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"},
}

// operator is a test operator: a key and its certificate.
type operator struct {
	name string
	key  ed25519.PrivateKey
	cert Certificate
}

var created = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newOperator(t testing.TB, name string, seedHex string) operator {
	t.Helper()
	seed, err := hex.DecodeString(seedHex)
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(seed)
	cert, err := NewCertificate(key, name, created)
	if err != nil {
		t.Fatalf("NewCertificate(%s): %v", name, err)
	}
	return operator{name: name, key: key, cert: cert}
}

// team is alice, bob and carol (RFC 8032 keys 1-3) and mallory, who is never configured.
func team(t testing.TB) (alice, bob, carol, mallory operator) {
	return newOperator(t, "alice", rfc8032[0].seed),
		newOperator(t, "bob", rfc8032[1].seed),
		newOperator(t, "carol", rfc8032[2].seed),
		newOperator(t, "mallory", "4242424242424242424242424242424242424242424242424242424242424242")
}

// policy2of3 is alice, bob and carol with quorum 2, built from their certificate texts as an
// enclave's configuration would.
func policy2of3(t testing.TB) *Policy {
	t.Helper()
	alice, bob, carol, _ := team(t)
	p, err := Config{Operators: []string{alice.cert.String(), bob.cert.String(), carol.cert.String()}, Quorum: 2}.Policy()
	if err != nil {
		t.Fatalf("2 of 3 policy: %v", err)
	}
	return p
}

// fixture is the statement the golden canonical bytes below describe.
func fixture() Statement {
	return Statement{
		Operation: OpKeyReshare,
		Cluster:   "prod-1",
		KeyID:     "0123456789abcdef0123456789abcdef",
		Params:    map[string]string{ParamNewParties: "1,2,3,4", ParamNewThreshold: "3"},
		Nonce:     "00112233445566778899aabbccddeeff",
		NotAfter:  time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// fixtureCanonical is written out by hand from the format in the package documentation.
const fixtureCanonical = "mpcsigner approval v1\n" +
	"operation 11:key.reshare\n" +
	"cluster 6:prod-1\n" +
	"key_id 32:0123456789abcdef0123456789abcdef\n" +
	"params 2\n" +
	"param 11:new_parties 7:1,2,3,4\n" +
	"param 13:new_threshold 1:3\n" +
	"nonce 32:00112233445566778899aabbccddeeff\n" +
	"not_after 1893553445\n"

// now is an hour before the fixture expires.
var now = time.Date(2030, 1, 2, 2, 4, 5, 0, time.UTC)

func mustSign(t testing.TB, op operator, s Statement) Approval {
	t.Helper()
	a, err := Sign(op.key, op.name, s)
	if err != nil {
		t.Fatalf("Sign as %s: %v", op.name, err)
	}
	return a
}
