package main

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/mpcsigner/mpcsigner/attestation"
	"github.com/mpcsigner/mpcsigner/attestation/nitro"
	"github.com/mpcsigner/mpcsigner/attestation/sevsnp"
	"github.com/mpcsigner/mpcsigner/attestation/sim"
)

// verifierFor builds the verifier an `attestation:` section describes.
func verifierFor(c attestation.Config) (attestation.Verifier, error) {
	policy, err := c.Policy.Policy()
	if err != nil {
		return nil, err
	}
	switch c.Kind {
	case attestation.KindSim:
		root, err := sim.LoadRoot(c.Sim.CADir)
		if err != nil {
			return nil, err
		}
		// The production Nitro verifier, with only the trusted root changed.
		return nitro.NewVerifier([]*x509.Certificate{root}, policy)
	case attestation.KindNitro:
		// Only the AWS root: a document anchored anywhere else is not a Nitro Enclave's.
		root, err := nitro.LoadAWSRoot(c.Nitro.RootFileOrDefault())
		if err != nil {
			return nil, fmt.Errorf("attestation.nitro.root_file: %w", err)
		}
		return nitro.NewVerifier([]*x509.Certificate{root}, policy)
	case attestation.KindSEVSNP:
		return sevsnp.NewVerifier(policy)
	}
	return nil, fmt.Errorf("attestation.kind %q is not nitro, sevsnp or sim", c.Kind)
}

// attesterFor builds the attester an enclave uses.
func attesterFor(c attestation.Config, party int) (attestation.Attester, error) {
	switch c.Kind {
	case attestation.KindSim:
		ca, err := sim.LoadCA(c.Sim.CADir)
		if err != nil {
			return nil, err
		}
		measured := c.Sim.MeasureFile
		if measured == "" {
			if measured, err = os.Executable(); err != nil {
				return nil, err
			}
		}
		image, err := os.ReadFile(measured)
		if err != nil {
			return nil, fmt.Errorf("measuring %s: %w", measured, err)
		}
		return &sim.Attester{CA: ca, PCRs: sim.MeasurementOf(image), ModuleID: fmt.Sprintf("mpcsigner-sim-party-%d", party)}, nil
	case attestation.KindNitro:
		return &nitro.Attester{}, nil
	case attestation.KindSEVSNP:
		return &sevsnp.Attester{}, nil
	}
	return nil, fmt.Errorf("attestation.kind %q is not nitro, sevsnp or sim", c.Kind)
}
