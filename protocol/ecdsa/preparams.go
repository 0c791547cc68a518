package ecdsa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/bnb-chain/tss-lib/v3/ecdsa/keygen"
	"github.com/mpcsigner/mpcsigner/protocol"
)

const (
	// maxPreParamsSize bounds an encoded LocalPreParams (about 6 KiB in practice).
	maxPreParamsSize = 64 << 10
	// modulusBits is the size tss-lib requires of the Paillier modulus and of NTilde.
	modulusBits = 2048
	// primeRounds is the number of Miller-Rabin rounds (on top of Baillie-PSW) used to check
	// the primes of pre-params.
	primeRounds = 20
)

var (
	one = big.NewInt(1)
	two = big.NewInt(2)
)

// GeneratePreParams makes one party's keygen pre-params (a Paillier key pair and the safe
// primes behind NTilde, h1, h2) and returns them as the JSON encoding of
// keygen.LocalPreParams. It takes tens of seconds; ctx bounds it.
//
// The result contains secret keys: it must only ever be kept in a sealed store, and used for
// one keygen only (the keygen copies it into the share).
func GeneratePreParams(ctx context.Context) ([]byte, error) {
	// Concurrency 1 is the least tss-lib takes: it still searches for the Paillier primes and
	// the safe primes side by side (three goroutines in all).
	pp, err := keygen.GeneratePreParamsWithContext(ctx, 1)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("ecdsa: generating pre-params: %w", ctxErr)
		}
		return nil, fmt.Errorf("ecdsa: generating pre-params: %w", err)
	}
	if err := checkPreParams(pp); err != nil {
		return nil, fmt.Errorf("ecdsa: generated pre-params are invalid: %w", err)
	}
	b, err := json.Marshal(pp)
	if err != nil {
		return nil, fmt.Errorf("ecdsa: encoding pre-params: %w", err)
	}
	return b, nil
}

// ValidatePreParams checks that b is a strictly encoded keygen.LocalPreParams that tss-lib
// accepts (ValidateWithProof) and whose parts are consistent: the Paillier modulus and NTilde
// are 2048-bit products of the primes given, h2 = h1^alpha mod NTilde, alpha*beta = 1 mod pq.
func ValidatePreParams(b []byte) error {
	_, err := decodePreParams(b)
	return err
}

func decodePreParams(b []byte) (*keygen.LocalPreParams, error) {
	if len(b) == 0 {
		return nil, errors.New("ecdsa: pre-params are empty")
	}
	if len(b) > maxPreParamsSize {
		return nil, fmt.Errorf("ecdsa: pre-params are too large (%d bytes, limit %d)", len(b), maxPreParamsSize)
	}
	pp := new(keygen.LocalPreParams)
	if err := protocol.DecodeSecretJSON(b, pp); err != nil {
		return nil, fmt.Errorf("ecdsa: decoding pre-params: %w", err)
	}
	if err := checkPreParams(pp); err != nil {
		return nil, fmt.Errorf("ecdsa: invalid pre-params: %w", err)
	}
	return pp, nil
}

// checkPreParams checks everything tss-lib relies on in pre-params; it never reports values.
func checkPreParams(pp *keygen.LocalPreParams) error {
	if pp == nil || !pp.ValidateWithProof() {
		return errors.New("incomplete (tss-lib's ValidateWithProof fails)")
	}
	sk := pp.PaillierSK
	for _, f := range []struct {
		name string
		v    *big.Int
	}{
		{"PaillierSK.N", sk.N}, {"PaillierSK.LambdaN", sk.LambdaN}, {"PaillierSK.PhiN", sk.PhiN},
		{"PaillierSK.P", sk.P}, {"PaillierSK.Q", sk.Q}, {"NTildei", pp.NTildei}, {"H1i", pp.H1i},
		{"H2i", pp.H2i}, {"Alpha", pp.Alpha}, {"Beta", pp.Beta}, {"P", pp.P}, {"Q", pp.Q},
	} {
		if f.v == nil || f.v.Sign() <= 0 {
			return fmt.Errorf("%s is missing or not positive", f.name)
		}
	}

	// Paillier key: N = P*Q, 2048 bits, P != Q Blum primes (tss-lib's mod proof needs
	// P = Q = 3 mod 4), PhiN = (P-1)(Q-1), LambdaN = lcm(P-1, Q-1).
	if sk.N.BitLen() != modulusBits {
		return fmt.Errorf("Paillier modulus has %d bits, want %d", sk.N.BitLen(), modulusBits)
	}
	if sk.P.Cmp(sk.Q) == 0 || new(big.Int).Mul(sk.P, sk.Q).Cmp(sk.N) != 0 {
		return errors.New("Paillier modulus is not the product of its two distinct primes")
	}
	pm1, qm1 := new(big.Int).Sub(sk.P, one), new(big.Int).Sub(sk.Q, one)
	phi := new(big.Int).Mul(pm1, qm1)
	if phi.Cmp(sk.PhiN) != 0 {
		return errors.New("Paillier PhiN does not match its primes")
	}
	if new(big.Int).Div(phi, new(big.Int).GCD(nil, nil, pm1, qm1)).Cmp(sk.LambdaN) != 0 {
		return errors.New("Paillier LambdaN does not match its primes")
	}
	if sk.P.Bit(0) != 1 || sk.P.Bit(1) != 1 || sk.Q.Bit(0) != 1 || sk.Q.Bit(1) != 1 {
		return errors.New("Paillier primes are not 3 mod 4")
	}

	// NTilde = (2p+1)(2q+1), 2048 bits, with p, q, 2p+1, 2q+1 prime and p != q.
	if pp.NTildei.BitLen() != modulusBits {
		return fmt.Errorf("NTildei has %d bits, want %d", pp.NTildei.BitLen(), modulusBits)
	}
	safeP := new(big.Int).Add(new(big.Int).Lsh(pp.P, 1), one)
	safeQ := new(big.Int).Add(new(big.Int).Lsh(pp.Q, 1), one)
	if pp.P.Cmp(pp.Q) == 0 || new(big.Int).Mul(safeP, safeQ).Cmp(pp.NTildei) != 0 {
		return errors.New("NTildei is not (2P+1)(2Q+1) for distinct P, Q")
	}

	// h1, h2 in [2, NTilde), distinct, h1 a unit, h2 = h1^alpha; alpha*beta = 1 mod pq.
	for _, h := range []*big.Int{pp.H1i, pp.H2i} {
		if h.Cmp(two) < 0 || h.Cmp(pp.NTildei) >= 0 {
			return errors.New("H1i or H2i is out of range")
		}
	}
	if pp.H1i.Cmp(pp.H2i) == 0 {
		return errors.New("H1i equals H2i")
	}
	if new(big.Int).GCD(nil, nil, pp.H1i, pp.NTildei).Cmp(one) != 0 {
		return errors.New("H1i is not a unit mod NTildei")
	}
	pq := new(big.Int).Mul(pp.P, pp.Q)
	if pp.Alpha.Cmp(pp.NTildei) >= 0 || pp.Beta.Cmp(pq) >= 0 { // tss-lib draws alpha below NTilde
		return errors.New("Alpha or Beta is out of range")
	}
	if new(big.Int).Mod(new(big.Int).Mul(pp.Alpha, pp.Beta), pq).Cmp(one) != 0 {
		return errors.New("Beta is not the inverse of Alpha mod PQ")
	}
	if new(big.Int).Exp(pp.H1i, pp.Alpha, pp.NTildei).Cmp(pp.H2i) != 0 {
		return errors.New("H2i is not H1i^Alpha mod NTildei")
	}

	// Primality last: it is the expensive part.
	for _, f := range []struct {
		name string
		v    *big.Int
	}{
		{"PaillierSK.P", sk.P}, {"PaillierSK.Q", sk.Q}, {"P", pp.P}, {"Q", pp.Q},
		{"2P+1", safeP}, {"2Q+1", safeQ},
	} {
		if !f.v.ProbablyPrime(primeRounds) {
			return fmt.Errorf("%s is not prime", f.name)
		}
	}
	return nil
}
