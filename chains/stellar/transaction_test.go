package stellar

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/chains"
)

// sdkEnvelopes are signed envelopes from go-stellar-sdk v0.7.3's txnbuild tests (file:line of
// the expected base64), with the operation types they carry.
var sdkEnvelopes = []struct {
	source string
	b64    string
	ops    []uint32
	sigs   int
}{
	{"transaction_test.go:1185", hashHexEnvelope, []uint32{0}, 1},
	{"transaction_test.go:339", "AAAAAgAAAADg3G3hclysZlFitS+s5zWyiiJD5B0STWy5LXCj6i5yxQAAAGQAACS7AAAACwAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAACAAAAAAlyvHaD8duz+iEXkJUUbsHkklIlH46oMrMMYrt0odkfgAAAAAAAAAB6i5yxQAAAECf1HDoBOuPhkKcL9Ll12to6yrRXZg7MmemWf7nca8j0vHDQpti+/OIsT2DOF0YJKEAncQt2CvJ+cefgly8668A", []uint32{8}, 1},
	{"signers_test.go:70", "AAAAAgAAAAAlyvHaD8duz+iEXkJUUbsHkklIlH46oMrMMYrt0odkfgAAAGQAIiC6AAAACAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAABAAAAAODcbeFyXKxmUWK1L6znNbKKIkPkHRJNbLktcKPqLnLFAAAABwAAAAAlyvHaD8duz+iEXkJUUbsHkklIlH46oMrMMYrt0odkfgAAAAFBQkNEAAAAAQAAAAAAAAAC6i5yxQAAAEB5vvJHErjjFX7YWzUbuSLc6JwNAAry+fIeJQuitCRujgkkeYEWy1DjKlbtcaUGbvurfaR8CjfUKBD6F74k964A0odkfgAAAEAq9Ks21/ca6HhTs5YiYG+/nWSRI8mTKZhd2/dDcJRFrZuCj7vlNi76/dSJnjmLbdf1BpLA5Rgvt2hatxbGygYP", []uint32{7}, 2},
	{"transaction_test.go:643", "AAAAAgAAAADg3G3hclysZlFitS+s5zWyiiJD5B0STWy5LXCj6i5yxQAAAGQAACS7AAAAPQAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAABgAAAAFBQkNEAAAAACXK8doPx27P6IReQlRRuweSSUiUfjqgyswxiu3Sh2R+AAAAAAX14QAAAAAAAAAAAeoucsUAAABA+2EndVXXsBHbRFEQGLsgsvHVm8wCxH9byZ/PP4AhEeAjXSL6IzhGnyRIWIc2SYXRu6GvveVI3yPbzCTvKnVjCg==", []uint32{6}, 1},
	{"transaction_test.go:860", "AAAAAgAAAAAlyvHaD8duz+iEXkJUUbsHkklIlH46oMrMMYrt0odkfgAAAGQAACVqAAAADQAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAABAAAAAAAAAABQUJDRAAAAADg3G3hclysZlFitS+s5zWyiiJD5B0STWy5LXCj6i5yxQAAAAAF9eEAAAAAAQAAAAEAAAAAAAAAAdKHZH4AAABAIFA+zNVC+8dptptusks3Eh8SJ3jk+/6/rPxy7IFg4+gpqUotRma5b7QR/gjbnoAsL1tPU0WSYae2y8sJGhQqCg==", []uint32{4}, 1},
	{"transaction_test.go:616", "AAAAAgAAAAAlyvHaD8duz+iEXkJUUbsHkklIlH46oMrMMYrt0odkfgAAAMgAIiC6AAAACAAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIAAAAAAAAACQAAAAAAAAALACIgugAAAGwAAAAAAAAAAdKHZH4AAABA5n9wINh8OTXZb8yaaYeCpvmjSsvJH80tRAISFXSicFJzFVoTqX3V0of2npBFXaMV4dvoqKHK8XbZFgGX0t7DBQ==", []uint32{9, 11}, 1},
	{"transaction_test.go:390", "AAAAAgAAAADg3G3hclysZlFitS+s5zWyiiJD5B0STWy5LXCj6i5yxQAAAGQAACS7AAAAFgAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAACgAAABBGcnVpdCBwcmVmZXJlbmNlAAAAAAAAAAAAAAAB6i5yxQAAAEAfK5BWYLX31E3QgEs8Cd40XDAsx6VW27hW8nuyotnS2qOruXdmks89zNroDSYzRTH0rt4qPWnQqsFSio5NFCUA", []uint32{10}, 1},
	{"transaction_test.go:892", "AAAAAgAAAAB+Ecs01jX14asC1KAsPdWlpGbYCM2PEgFZCD3NLhVZmAAAAGQAAKpdAAAAAwAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAgAAAAAAAAAABfXhAAAAAAB+Ecs01jX14asC1KAsPdWlpGbYCM2PEgFZCD3NLhVZmAAAAAAAAAAAAJiWgAAAAAEAAAABQUJDRAAAAADg3G3hclysZlFitS+s5zWyiiJD5B0STWy5LXCj6i5yxQAAAAAAAAABLhVZmAAAAEBdpC1C/0aBSMtXJrfhl3Vp9rQ1IyWFd2MBeAPNsyAYamEjuqIDqCzzUbd8PiBggIH0eEPZaWsfsAl1qEBER0sO", []uint32{2}, 1},
	{"signers_test.go:39", "AAAAAgAAAADg3G3hclysZlFitS+s5zWyiiJD5B0STWy5LXCj6i5yxQAAAGQAIiCNAAAAGwAAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEAAAABAAAAACXK8doPx27P6IReQlRRuweSSUiUfjqgyswxiu3Sh2R+AAAAAQAAAAB+Ecs01jX14asC1KAsPdWlpGbYCM2PEgFZCD3NLhVZmAAAAAAAAAAABfXhAAAAAAAAAAAC6i5yxQAAAEB82JGXqIIh87Wp6kb6118YjUoR/2X+RFI4Gm62+sMIF9XjlAUY6eSfdqqvLP6NQdbMazDYj6VYgKuNLQ/8hn8I0odkfgAAAEDVQumCyGwJxbNxv63X+yMa1mBTsYzilEmbDdKtQZvzF5Pu8nYXAm2AYKvlRmunmX/AXJICHQLQyPFTVj6E8oQD", []uint32{1}, 2},
}

func TestDecodeSDKEnvelopes(t *testing.T) {
	for _, c := range sdkEnvelopes {
		b, _ := base64.StdEncoding.DecodeString(c.b64)
		env, err := DecodeEnvelope(b)
		if err != nil {
			t.Errorf("%s: %v", c.source, err)
			continue
		}
		var ops []uint32
		for _, op := range env.Operations {
			ops = append(ops, op.Type)
		}
		if !slicesEqual(ops, c.ops) || env.Signatures != c.sigs || !bytes.Equal(b[4:4+len(env.Transaction)], env.Transaction) {
			t.Errorf("%s: operations %v, %d signatures", c.source, ops, env.Signatures)
		}
	}
}

func slicesEqual(a, b []uint32) bool { return cmp.Equal(a, b) }

// sorobanTx is an INVOKE_HOST_FUNCTION with one SCVal of every kind, an authorization entry
// with delegates and sub-invocations, and Soroban data with every ledger key shape that
// references an SCVal or a pool, from source (muxed when id is set).
func sorobanTx(source [KeySize]byte, id *uint64) testTx {
	contract := sha256.Sum256([]byte("contract"))
	op := func(w *xdrWriter) {
		w.u32(0, 24)                                         // no op source, INVOKE_HOST_FUNCTION
		w.u32(0, 1).raw(contract[:]).str("transfer").u32(13) // invoke contract, 13 args:
		w.u32(18, 0).account(source)                         // address (account)
		w.u32(10).raw(make([]byte, 16))                      // i128
		w.u32(16, 1, 2, 0, 1, 15).str("abc")                 // vec [true, symbol abc]
		w.u32(17, 1, 1, 14).str("k").u32(13).opaque([]byte{1, 2, 3})
		w.u32(2, 3, 9)                                     // error: storage, unexpected size
		w.u32(19, 2, 1).raw(contract[:]).str("tag").u32(0) // instance: external ref, no storage
		w.u32(1, 20, 21).u64(7)                            // void, ledger key contract instance, nonce key
		w.u32(22).str("x")                                 // executable tag
		w.u32(18, 2).u64(9).raw(source[:])                 // address (muxed account)
		w.u32(16, 0, 17, 0)                                // absent vec, absent map
		w.u32(1)                                           // auth: one entry
		w.u32(3, 0).account(source).u64(1).u32(1000, 1)    // address credentials with delegates
		w.u32(1, 1).raw(contract[:]).u32(1, 0)             // one delegate, no nested ones
		w.u32(0, 1).raw(contract[:]).str("f").u32(0)       // root: invoke contract f()
		w.u32(1, 1, 1, 0, 1, 0)                            // one sub-invocation: create contract from native asset
	}
	soroban := func(w *xdrWriter) {
		pool := sha256.Sum256([]byte("pool"))
		w.u32(1)                                        // ext v1
		w.u32(1, 1, 7)                                  // archived entries [7]
		w.u32(2, 6, 1).raw(contract[:]).u32(20, 1)      // readOnly: contract data (instance key, persistent),
		w.u32(7).raw(contract[:])                       //   contract code
		w.u32(2, 1).account(source).u32(3).raw(pool[:]) // readWrite: pool-share trustline,
		w.u32(8, 20)                                    //   config setting
		w.u32(1000, 2000, 3000).u64(50_000)             // instructions, read bytes, write bytes, fee
	}
	return testTx{source: source, muxedID: id, nOps: 1, ops: op, soroban: soroban}
}

func TestDecodeEnvelope(t *testing.T) {
	src := sha256.Sum256([]byte("source"))
	id := uint64(42)
	cond := func(w *xdrWriter) { // PRECOND_V2 with every part
		w.u32(2, 1).u64(1).u64(2).u32(1, 3, 4, 1).u64(5).u64(6).u32(7)
		w.u32(2, 0).raw(src[:]).u32(3).raw(src[:]).opaque([]byte("payload"))
	}
	env, err := DecodeEnvelope(testTx{
		source: src, muxedID: &id, cond: cond,
		memo: func(w *xdrWriter) { w.u32(1).str("twenty-eight bytes of memo!!") },
		nOps: 2, ops: func(w *xdrWriter) { payment(src)(w); w.u32(1).account(src).u32(9) },
	}.envelope())
	if err != nil {
		t.Fatal(err)
	}
	want := &Envelope{SourceAccount: src, MuxedID: &id, Fee: 100, SeqNum: 0x0000_1234_0000_0001,
		Operations: []Operation{{Type: 1}, {Type: 9, SourceAccount: &src}}}
	env.Transaction = nil
	if diff := cmp.Diff(want, env); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if _, err := DecodeEnvelope(sorobanTx(src, nil).envelope()); err != nil {
		t.Fatalf("Soroban transaction: %v", err)
	}
}

func TestDecodeEnvelopeRefuses(t *testing.T) {
	src := sha256.Sum256([]byte("source"))
	withOps := func(n uint32, ops func(*xdrWriter)) []byte { return testTx{source: src, nOps: n, ops: ops}.envelope() }
	deepVec := func(w *xdrWriter) {
		w.u32(0, 24, 0, 1).raw(src[:]).str("f").u32(1)
		for range maxDepth {
			w.u32(16, 1, 1)
		}
		w.u32(1, 0)
	}
	good := withOps(1, payment(src))
	cases := map[string][]byte{
		"muxed key type 1":         append(good[:4:4], append([]byte{0, 0, 0, 1}, good[8:]...)...),
		"101 operations":           withOps(101, nil),
		"operation type 27":        withOps(1, func(w *xdrWriter) { w.u32(0, 27) }),
		"operation source flag 2":  withOps(1, func(w *xdrWriter) { w.u32(2) }),
		"unknown asset type":       withOps(1, func(w *xdrWriter) { w.u32(0, 1).account(src).u32(3) }),
		"non-zero padding":         withOps(1, func(w *xdrWriter) { w.u32(0, 10, 1).raw([]byte{'a', 1, 0, 0}).u32(0) }),
		"data name over 64":        withOps(1, func(w *xdrWriter) { w.u32(0, 10).opaque(make([]byte, 65)).u32(0) }),
		"SCVal nested too deep":    withOps(1, deepVec),
		"unknown SCVal type":       withOps(1, func(w *xdrWriter) { w.u32(0, 24, 0, 1).raw(src[:]).str("f").u32(1, 23) }),
		"bool SCVal 2":             withOps(1, func(w *xdrWriter) { w.u32(0, 24, 0, 1).raw(src[:]).str("f").u32(1, 0, 2) }),
		"symbol over 32":           withOps(1, func(w *xdrWriter) { w.u32(0, 24, 0, 1).raw(src[:]).str("f").u32(1, 15).opaque(make([]byte, 33)) }),
		"unknown credentials":      withOps(1, func(w *xdrWriter) { w.u32(0, 24, 2, 0, 1, 4) }),
		"unknown config setting":   withOps(1, func(w *xdrWriter) { w.u32(0, 18, 0, 8, 21) }),
		"claim predicate too deep": withOps(1, deepPredicate(src)),
		"trailing bytes":           append(good, 0, 0, 0, 0),
		"truncated":                good[:len(good)-4],
		"21 signatures":            append(good[:len(good)-4:len(good)-4], 0, 0, 0, 21),
		"signature over 64 bytes":  append(good[:len(good)-4:len(good)-4], append([]byte{0, 0, 0, 1, 1, 2, 3, 4, 0, 0, 0, 65}, make([]byte, 68)...)...),
		"memo text over 28":        testTx{source: src, memo: func(w *xdrWriter) { w.u32(1).opaque(make([]byte, 29)) }}.envelope(),
		"unknown memo":             testTx{source: src, memo: func(w *xdrWriter) { w.u32(5) }}.envelope(),
		"unknown precondition":     testTx{source: src, cond: func(w *xdrWriter) { w.u32(3) }}.envelope(),
		"three extra signers":      testTx{source: src, cond: func(w *xdrWriter) { w.u32(2, 0, 0, 0).u64(0).u32(0, 3) }}.envelope(),
		"unknown transaction ext":  testTx{source: src, soroban: func(w *xdrWriter) { w.u32(2) }}.envelope(),
		"envelope type 5":          append([]byte{0, 0, 0, 5}, good[4:]...),
		"empty":                    nil,
		"larger than MaxEnvelope":  make([]byte, MaxEnvelopeBytes+1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeEnvelope(b); !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// deepPredicate is a CREATE_CLAIMABLE_BALANCE whose claimant's predicate is NOT nested past
// maxDepth.
func deepPredicate(dest [KeySize]byte) func(*xdrWriter) {
	return func(w *xdrWriter) {
		w.u32(0, 14, 0).u64(1).u32(1, 0).account(dest)
		for range maxDepth {
			w.u32(3, 1)
		}
		w.u32(0)
	}
}

// FuzzDecodeEnvelope checks that DecodeEnvelope never panics, that every refusal wraps
// ErrInvalid, and that it found the true end of the Transaction: re-signing an accepted
// unsigned envelope gives an envelope that decodes to the same Transaction.
func FuzzDecodeEnvelope(f *testing.F) {
	src := sha256.Sum256([]byte("source"))
	f.Add(testTx{source: src, nOps: 1, ops: payment(src)}.envelope())
	f.Add(sorobanTx(src, nil).envelope())
	for _, c := range sdkEnvelopes {
		b, _ := base64.StdEncoding.DecodeString(c.b64)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := DecodeEnvelope(b)
		if err != nil {
			if !errors.Is(err, chains.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if env.Signatures != 0 {
			return
		}
		again, err := DecodeEnvelope(SignedEnvelope(env.Transaction, src[:], make([]byte, SignatureSize)))
		if err != nil || again.Signatures != 1 || !bytes.Equal(again.Transaction, env.Transaction) {
			t.Fatalf("the signed envelope of an accepted one: %v", err)
		}
	})
}
