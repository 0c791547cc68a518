// Package eth2 turns one Web3Signer eth2 signing request body (POST /api/v1/eth2/sign/{key})
// into a validated, typed Request, the 32-byte signing root a validator key signs, and the
// facts slashing protection checks.
//
// Both sides of the trust boundary import it. The untrusted host parses the body, refuses a bad
// one early and forwards Request.Canonical to the enclaves; each enclave parses those bytes again
// and recomputes the signing root itself, so a lying host cannot get a block signed under the
// name of a RANDAO reveal, or an attestation with other epochs than the ones its slashing
// protection checked.
//
// # Wire format
//
// The body is the JSON object of Web3Signer's OpenAPI spec (openapi-specs/eth2/signing in
// Consensys/web3signer): "type", "fork_info" {"fork" {"previous_version", "current_version",
// "epoch"}, "genesis_validators_root"}, an optional "signingRoot" (Web3Signer also reads the
// alias "signing_root"; so does this package, but never both at once), and exactly one payload
// field named by the type (see Type). Payload objects use the beacon API's JSON: unsigned
// integers are decimal strings without sign or leading zeros, byte strings are 0x-prefixed hex
// (either case) of exactly their SSZ length, bitlists are the hex of their SSZ serialization.
//
// BLOCK_V2 and AGGREGATE_AND_PROOF_V2 name a fork in "version", and the version alone decides
// the payload's shape (Web3Signer picks an aggregate's shape from its own network's fork at the
// aggregate's slot instead; for an honest client the two agree).
//
// ParseRequest is a strict decoder of untrusted input: bodies over MaxRequestBytes, invalid
// UTF-8, trailing data, nesting deeper than 32, duplicate keys, unknown or wrongly cased keys,
// nulls, JSON numbers where the beacon API has strings, wrong hex lengths, integers that
// overflow uint64, lists over their SSZ limit, a missing payload and a payload of another type
// are all errors wrapping ErrBadRequest that name the field at fault. (DEPOSIT and
// VALIDATOR_REGISTRATION need no fork_info; one sent with them is checked and dropped, as
// Web3Signer ignores it.) Canonical is its inverse: a deterministic re-encoding (fields in the
// order of the consensus specs, lowercase hex) that ParseRequest accepts and that hashes to
// the same root.
//
// The SSZ containers and their hash tree roots come from github.com/attestantio/go-eth2-client
// (mainnet preset); this package only writes the domain and signing-data arithmetic of the
// consensus specs around them.
//
// It must never do I/O on the signing path, hold a key, sign, or decide that a message is safe
// to sign: that is slashing protection's job in the enclave, fed by Request.Slashable. The one
// exception to "no I/O" is LookupNetwork, which reads the network configuration file an
// operator names at start-up.
package eth2
