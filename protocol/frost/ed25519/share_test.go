package ed25519

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/bytemare/ecc"
)

// shareFields returns the share of party 1 of the 2-of-3 key as a generic JSON object.
func shareFields(t *testing.T) (map[string]any, []byte) {
	t.Helper()
	enc := getFixture(t, 3, 2).shares[1]
	var m map[string]any
	if err := json.Unmarshal(enc, &m); err != nil {
		t.Fatal(err)
	}
	return m, enc
}

func TestShareEncoding(t *testing.T) {
	fields, enc := shareFields(t)
	s, err := decodeShare(enc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.encode()
	if err != nil || !bytes.Equal(again, enc) {
		t.Fatalf("re-encoding differs: %v", err)
	}
	secret := fields["secret"].(string)
	raw, _ := base64.StdEncoding.DecodeString(secret)
	for _, str := range []string{s.String(), s.GoString(), fmt.Sprintf("%v %+v %#v", s, s, s), fmt.Sprintf("%v", *s)} {
		if strings.Contains(str, secret) || strings.Contains(str, hex.EncodeToString(raw)) {
			t.Fatalf("printing the share shows the secret: %s", str)
		}
	}
	if want := `"scheme":"ed25519"`; !strings.Contains(string(enc), want) || !strings.Contains(string(enc), `"version":1`) {
		t.Fatalf("share lacks version or scheme: %s", enc)
	}
	s.wipe()
	if !s.secret.IsZero() {
		t.Fatal("wipe left the secret")
	}

	b64 := base64.StdEncoding.EncodeToString
	otherSecret := b64(scalarOf(5).Encode())
	mutate := func(f func(map[string]any)) []byte {
		m, _ := shareFields(t)
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	order2, _ := hex.DecodeString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", enc[:len(enc)/2]},
		{"trailing data", append(bytes.Clone(enc), []byte(" {}")...)},
		{"oversized", append(bytes.Clone(enc), bytes.Repeat([]byte(" "), maxShareSize)...)},
		{"unknown field", mutate(func(m map[string]any) { m["extra"] = 1 })},
		{"wrong version", mutate(func(m map[string]any) { m["version"] = 2 })},
		{"wrong scheme", mutate(func(m map[string]any) { m["scheme"] = "bls12-381" })},
		{"missing secret", mutate(func(m map[string]any) { delete(m, "secret") })},
		{"secret not base64", mutate(func(m map[string]any) { m["secret"] = "!" + secret[1:] })},
		{"secret of another party", mutate(func(m map[string]any) { m["secret"] = otherSecret })},
		{"secret out of range", mutate(func(m map[string]any) { m["secret"] = b64(bytes.Repeat([]byte{0xff}, 32)) })},
		{"secret zero", mutate(func(m map[string]any) { m["secret"] = b64(make([]byte, 32)) })},
		{"secret short", mutate(func(m map[string]any) { m["secret"] = b64(raw[:31]) })},
		{"threshold above n", mutate(func(m map[string]any) { m["threshold"] = 4 })},
		{"threshold 1", mutate(func(m map[string]any) { m["threshold"] = 1 })},
		{"self changed", mutate(func(m map[string]any) { m["self"] = 2 })},
		{"parties unsorted", mutate(func(m map[string]any) { m["parties"] = []int{2, 1, 3} })},
		{"public share missing", mutate(func(m map[string]any) { m["public_shares"] = m["public_shares"].([]any)[:2] })},
		{"public share swapped", mutate(func(m map[string]any) {
			ps := m["public_shares"].([]any)
			ps[1], ps[2] = ps[2], ps[1]
		})},
		{"public share off the subgroup", mutate(func(m map[string]any) {
			e, _ := decodeElement(must(base64.StdEncoding.DecodeString(m["public_shares"].([]any)[2].(string))))
			t2 := group.NewElement()
			_ = t2.Decode(order2)
			m["public_shares"].([]any)[2] = b64(e.Add(t2).Encode())
		})},
		{"interpolation base off the subgroup", mutate(func(m map[string]any) {
			e, _ := decodeElement(must(base64.StdEncoding.DecodeString(m["public_shares"].([]any)[1].(string))))
			t2 := group.NewElement()
			_ = t2.Decode(order2)
			m["public_shares"].([]any)[1] = b64(e.Add(t2).Encode())
		})},
		{"public key off the subgroup", mutate(func(m map[string]any) {
			e, _ := decodeElement(must(base64.StdEncoding.DecodeString(m["public_key"].(string))))
			t2 := group.NewElement()
			_ = t2.Decode(order2)
			m["public_key"] = b64(e.Add(t2).Encode())
		})},
		{"public key not canonical", mutate(func(m map[string]any) {
			m["public_key"] = b64(must(hex.DecodeString("fcffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")))
		})},
		{"public key changed", mutate(func(m map[string]any) { m["public_key"] = b64(otherPoint(3)) })},
		{"public key identity", mutate(func(m map[string]any) { m["public_key"] = b64(append([]byte{1}, make([]byte, 31)...)) })},
		{"wrong type", mutate(func(m map[string]any) { m["threshold"] = "two" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeShare(tc.b)
			if err == nil {
				t.Fatal("decoded")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[1:12]) || strings.Contains(err.Error(), hex.EncodeToString(raw)[:16]) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			if _, _, err := PublicShares(tc.b); err == nil {
				t.Fatal("PublicShares accepted it")
			}
			if _, err := (Engine{}).PublicKey(tc.b); err == nil {
				t.Fatal("PublicKey accepted it")
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestPayloadEncoding(t *testing.T) {
	nonce := newNonce(t)
	b2, b3 := group.Base().Multiply(scalarOf(2)), group.Base().Multiply(scalarOf(3))

	m, err := decodePayload(encodeDKGCommit(nonce, 4, []*ecc.Element{b2, b3}, b3, scalarOf(6)))
	if err != nil || m.kind != kindDKGCommit || m.from != 4 || len(m.commitments) != 2 || !m.commitments[1].Equal(b3) ||
		!m.proofR.Equal(b3) || !m.proofZ.Equal(scalarOf(6)) || !bytes.Equal(m.nonce[:], nonce) {
		t.Fatalf("keygen commitments round trip: %+v, %v", m, err)
	}
	digests := [][digestSize]byte{{1}, {2}, {3}}
	m, err = decodePayload(encodeDKGShare(nonce, 4, 5, scalarOf(9), digests))
	if err != nil || m.kind != kindDKGShare || m.to != 5 || !m.share.Equal(scalarOf(9)) || len(m.digests) != 3 || m.digests[2] != digests[2] {
		t.Fatalf("keygen share round trip: %+v, %v", m, err)
	}
	m, err = decodePayload(encodeCommitment(nonce, 4, b2, b3))
	if err != nil || m.kind != kindCommitment || !m.hiding.Equal(b2) || !m.binding.Equal(b3) {
		t.Fatalf("commitment round trip: %+v, %v", m, err)
	}
	m, err = decodePayload(encodeSigShare(nonce, 4, scalarOf(8), []commitmentPair{pair(b2, b3)}))
	if err != nil || m.kind != kindSigShare || !m.sigShare.Equal(scalarOf(8)) || len(m.list) != 1 || m.list[0] != pair(b2, b3) {
		t.Fatalf("signature share round trip: %+v, %v", m, err)
	}

	zeroShare := encodeDKGShare(nonce, 4, 5, scalarOf(9), digests)
	clear(zeroShare[headerSize+2 : headerSize+2+scalarSize])
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"zero keygen share", zeroShare},
		{"keygen share to party 0", encodeDKGShare(nonce, 4, 0, scalarOf(9), digests)},
		{"keygen share without digests", encodeDKGShare(nonce, 4, 5, scalarOf(9), nil)},
		{"no keygen commitments", encodeDKGCommit(nonce, 4, nil, b3, scalarOf(6))},
		{"empty commitment list", encodeSigShare(nonce, 4, scalarOf(8), nil)},
		{"zero signature share", encodeSigShare(nonce, 4, group.NewScalar(), []commitmentPair{pair(b2, b3)})},
	} {
		if _, err := decodePayload(tc.b); err == nil {
			t.Errorf("%s decoded", tc.name)
		}
	}
	// A count that claims more commitments than the payload holds.
	lying := encodeSigShare(nonce, 4, scalarOf(8), []commitmentPair{pair(b2, b3)})
	lying[headerSize+scalarSize+1] = 2
	if _, err := decodePayload(lying); err == nil || !strings.Contains(err.Error(), "for 2 items") {
		t.Fatalf("lying count: %v", err)
	}
	if MaxPayloadSize > 1<<15 {
		t.Fatalf("MaxPayloadSize %d is unexpectedly large", MaxPayloadSize)
	}
}
