package sim

import "crypto/sha512"

// Fixed inputs of the simulated PCR1 and PCR2: a sim "enclave" has no kernel or application
// image of its own to measure.
const (
	simKernel      = "mpcsigner sim kernel"
	simApplication = "mpcsigner sim application"
)

// MeasurementOf returns the PCRs a sim enclave running binary reports: PCR0 is the SHA-384 of
// binary (the devnet passes the running executable), PCR1 and PCR2 are fixed SHA-384 values.
// They are 48 bytes each, like Nitro's.
func MeasurementOf(binary []byte) map[int][]byte {
	pcr0 := sha512.Sum384(binary)
	pcr1 := sha512.Sum384([]byte(simKernel))
	pcr2 := sha512.Sum384([]byte(simApplication))
	return map[int][]byte{0: pcr0[:], 1: pcr1[:], 2: pcr2[:]}
}
