// Package ctsecp multiplies secret scalars by the secp256k1 generator in constant time:
// ScalarBaseMult computes k·G with a sequence of operations and memory accesses that does not
// depend on k. It exists because btcec's (decred's) ScalarBaseMultNonConst, the fast
// multiplication the rest of the repository uses, branches on the scalar's bytes and indexes
// its table with them, so that its timing and cache footprint reveal something about k; that
// is harmless for public scalars and not for nonces or key shares. Use it for every secret
// scalar; public scalars (verification, values a peer already knows) may keep the faster
// variable-time code.
//
// What it must never do: branch on secret data, index memory with secret data, or hand a
// secret to a function whose running time depends on it. Everything below keeps to that, and
// new code here must too.
//
// Technique. A fixed-window comb over the generator: a table (built once, lazily, from public
// data with variable-time code) holds T[i][j] = j·16^i·G for the 64 four-bit windows i and
// the 16 digits j, affine, with T[i][0] the identity. With k = Σ_i k_i·16^i, k·G = Σ_i T[i][k_i]:
// 64 point additions and no doublings. Per window:
//
//   - the entry is selected by reading all 16 entries of the row and keeping one with a mask
//     computed from the digit without a branch (crypto/subtle.ConstantTimeByteEq); the memory
//     touched is the whole row whatever the digit;
//   - it is added with the complete projective addition formula for short Weierstrass curves
//     with a = 0 (Renes, Costello and Batina, "Complete addition formulas for prime order
//     elliptic curves", Eurocrypt 2016, algorithm 7, with 3b = 21). The formula is correct for
//     every pair of inputs, equal points, opposite points and the identity (0:1:0) included, so
//     there is no special case to branch to: digit 0 selects the identity, whose projective Z
//     is 0, and the addition leaves the sum unchanged by arithmetic alone.
//
// The field arithmetic is decred's secp256k1.FieldVal (btcec.FieldVal, decred v4.2.0), whose
// methods used on secret-derived values here (Zero, Set, SetBytes, SetInt, Add, Add2, AddInt,
// Negate, NegateVal, MulInt, Mul2, SquareVal, Normalize, IsZeroBit) are each documented as
// "in constant time" in its field.go and are written without data-dependent branches or
// indices. FieldVal is fast because it leaves the caller to track each value's magnitude (how
// far its limbs may exceed their base) and checks nothing: add.go annotates every value's
// magnitude and keeps every multiplication's inputs within the documented bound of 8; a
// mistake there would give wrong points, not an error. The scalar's bytes come from
// ModNScalar.Bytes, also constant time. The result is converted from projective (X:Y:Z), which
// means (X/Z, Y/Z), to Jacobian coordinates (X·Z, Y·Z², Z) with multiplications only, so no
// inversion is needed (the caller's ToAffine does one, with decred's constant-time Inverse).
//
// What this cannot promise: Go gives no guarantee about the machine code it emits, so the
// argument above is about the source (as it is for any constant-time Go code, crypto/subtle
// included), and it assumes 64-bit multiplication takes the same time for all operands, as
// it does on the amd64 and arm64 processors the enclaves run on.
package ctsecp
