package host

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mpcsigner/mpcsigner/host/api"
)

// identityMaxAge is how old a checked identity may be and still count as fresh: the host
// fetches one every identityRefresh, so anything older means fetching has been failing.
const identityMaxAge = 3 * identityRefresh

// Healthcheck reports every party's reachability and attestation.
func (h *Host) Healthcheck() api.Healthcheck {
	out := api.Healthcheck{Status: "ok"}
	good := 0
	for _, p := range h.cfg.Parties {
		pa := api.PartyAttestation{Party: uint16(p.ID), Reachable: h.reachable(p.ID)}
		h.mu.Lock()
		if ps := h.health[p.ID]; ps != nil {
			fillAttestation(&pa, ps, p.ID == h.cfg.Party)
			if pa.Verified {
				// sim documents have the Nitro format (and verifier); say which trust anchor it is.
				pa.Kind = h.cfg.Attestation.Kind
			}
		}
		h.mu.Unlock()
		if pa.Reachable && pa.Verified && pa.Fresh && (pa.Accepted || p.ID == h.cfg.Party) {
			good++
		}
		out.Parties = append(out.Parties, pa)
	}
	reachable := h.reachableCount()
	out.Checks = append(out.Checks,
		check("quorum_reachable", reachable >= h.cfg.Threshold, fmt.Sprintf("%d of %d parties reachable, %d needed", reachable, len(h.cfg.Parties), h.cfg.Threshold)),
		check("attestation_fresh", good >= h.cfg.Threshold, fmt.Sprintf("%d parties reachable with a verified, fresh attestation, %d needed", good, h.cfg.Threshold)),
	)
	for _, c := range out.Checks {
		if c.Status != "ok" {
			out.Status = "degraded"
		}
	}
	return out
}

func fillAttestation(pa *api.PartyAttestation, ps *partyState, self bool) {
	switch {
	case ps.attested != nil:
		d := ps.attested
		pa.Kind, pa.Verified = d.Kind, true
		pa.Fresh = time.Since(ps.fetched) < identityMaxAge && time.Now().Before(d.NotAfter)
		pa.Timestamp = d.Timestamp.UTC().Format(time.RFC3339)
		pa.NotAfter = d.NotAfter.UTC().Format(time.RFC3339)
		pa.Measurements = map[string]string{}
		for i, m := range d.Measurements {
			pa.Measurements[strconv.Itoa(i)] = hex.EncodeToString(m)
		}
	case ps.attestErr != nil:
		pa.Error = ps.attestErr.Error()
	}
	pa.Accepted = !self && ps.learnedBy != "" && ps.learnedErr == nil
	if ps.learnedErr != nil && pa.Error == "" {
		pa.Error = "our enclave refused it: " + ps.learnedErr.Error()
	}
}

func check(name string, ok bool, detail string) api.Check {
	status := "ok"
	if !ok {
		status = "failed"
	}
	return api.Check{Name: name, Status: status, Detail: detail}
}

func (h *Host) handleHealthcheck(w http.ResponseWriter, r *http.Request) {
	hc := h.Healthcheck()
	writeHealth(w, hc.Status == "ok", hc)
}
