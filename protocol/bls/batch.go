package bls

import (
	"crypto/rand"
	"sync"

	blst "github.com/supranational/blst/bindings/go"
)

// BatchVerifier verifies signatures many at a time. Checking n signatures separately costs n
// hashes to G2, 2n Miller loops and n final exponentiations; checking them together, each
// weighted by a fresh random 64-bit scalar, costs n hashes, n+1 Miller loops and one final
// exponentiation, and a forged signature passes only with probability 2^-64. Callers block in
// Verify while one goroutine works through whatever has queued up, so batches grow with the
// load and a lone request is verified at once. A failed batch is re-checked one by one, so a
// bad signature never makes a good one fail.
type BatchVerifier struct {
	reqs      chan *verifyReq
	maxBatch  int
	closeOnce sync.Once
	done      chan struct{}
}

type verifyReq struct {
	pk     *blst.P1Affine
	msg    []byte
	sig    *blst.P2Affine
	result chan bool
}

// NewBatchVerifier starts a verifier that checks at most maxBatch signatures at once.
func NewBatchVerifier(maxBatch int) *BatchVerifier {
	if maxBatch < 1 {
		maxBatch = 1
	}
	v := &BatchVerifier{reqs: make(chan *verifyReq, 4*maxBatch), maxBatch: maxBatch, done: make(chan struct{})}
	go v.run()
	return v
}

// Close stops the verifier; Verify must not be called afterwards.
func (v *BatchVerifier) Close() { v.closeOnce.Do(func() { close(v.done) }) }

// verify reports whether sig is a valid signature of msg under pk; pk must already be
// validated (a group key is, when its GroupKey is made); sig's subgroup is checked here.
func (v *BatchVerifier) verify(pk *blst.P1Affine, msg []byte, sig *blst.P2Affine) bool {
	r := &verifyReq{pk: pk, msg: msg, sig: sig, result: make(chan bool, 1)}
	select {
	case v.reqs <- r:
	case <-v.done:
		return verifyOne(r)
	}
	select {
	case ok := <-r.result:
		return ok
	case <-v.done:
		return verifyOne(r)
	}
}

func (v *BatchVerifier) run() {
	for {
		var first *verifyReq
		select {
		case first = <-v.reqs:
		case <-v.done:
			return
		}
		batch := []*verifyReq{first}
	drain:
		for len(batch) < v.maxBatch {
			select {
			case r := <-v.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		verifyBatch(batch)
	}
}

func verifyOne(r *verifyReq) bool { return r.sig.Verify(true, r.pk, false, r.msg, dst) }

// verifyBatch answers every request of batch.
func verifyBatch(batch []*verifyReq) {
	if len(batch) == 1 {
		batch[0].result <- verifyOne(batch[0])
		return
	}
	sigs := make([]*blst.P2Affine, len(batch))
	pks := make([]*blst.P1Affine, len(batch))
	msgs := make([]blst.Message, len(batch))
	for i, r := range batch {
		sigs[i], pks[i], msgs[i] = r.sig, r.pk, r.msg
	}
	if new(blst.P2Affine).MultipleAggregateVerify(sigs, true, pks, false, msgs, dst, randomWeight, 64) {
		for _, r := range batch {
			r.result <- true
		}
		return
	}
	for _, r := range batch {
		r.result <- verifyOne(r)
	}
}

// randomWeight draws the batch weight of one signature.
func randomWeight(s *blst.Scalar) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	b[0] = 0   // below the group order; only the low 64 bits are used
	b[31] |= 1 // and those are never all zero, which would drop the signature from the check
	s.FromBEndian(b[:])
}
