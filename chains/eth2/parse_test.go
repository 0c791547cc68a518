package eth2

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// attestationBody is a valid ATTESTATION request the malformed cases below are edits of.
const attestationBody = `{"type":"ATTESTATION","fork_info":{"fork":{"previous_version":"0x00000001","current_version":"0x00000001","epoch":"1"},` +
	`"genesis_validators_root":"0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673"},` +
	`"attestation":{"slot":"32","index":"0","beacon_block_root":"0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89",` +
	`"source":{"epoch":"0","root":"0x0000000000000000000000000000000000000000000000000000000000000000"},` +
	`"target":{"epoch":"0","root":"0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89"}}}`

// edit replaces the first old in attestationBody by new, insisting that it is there.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(attestationBody, old) {
		t.Fatalf("%q is not in the base body", old)
	}
	return strings.Replace(attestationBody, old, new, 1)
}

// editJSON decodes a golden body, lets change edit it, and encodes it again.
func editJSON(t *testing.T, file string, change func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readTestdata(t, file), &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// obj walks m along keys to a nested object.
func obj(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		m = m[k].(map[string]any)
	}
	return m
}

// TestParseRequestAcceptsBase makes sure the malformed cases fail for their own reason.
func TestParseRequestAcceptsBase(t *testing.T) {
	for name, body := range map[string]string{
		"base":                     attestationBody,
		"whitespace around":        " \n\t" + attestationBody + "\r\n ",
		"largest uint64":           edit(t, `"slot":"32"`, `"slot":"18446744073709551615"`),
		"uppercase hex":            edit(t, `0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89`, `0xB2EEDB01ADBD02C828D5EEC09B4C70CBBA12FFFFBA525EBF48ACA33028E8AD89`),
		"escaped key":              strings.Replace(attestationBody, `"type"`, `"\u0074ype"`, 1),
		"escaped value":            edit(t, `"slot":"32"`, `"slot":"3\u0032"`),
		"members in another order": `{"attestation":` + attestationBody[strings.Index(attestationBody, `{"slot"`):len(attestationBody)-1] + `,"type":"ATTESTATION","fork_info":` + forkInfoJSON(1) + `}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseRequest([]byte(body)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestParseRequestErrors is the strict decoder's refusals: each one an ErrBadRequest whose
// message names the field (or the body-level problem).
func TestParseRequestErrors(t *testing.T) {
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	tests := []struct {
		name string
		body string
		want string
	}{
		// Not JSON, or not one object.
		{"empty body", ``, "unexpected end of JSON"},
		{"truncated", attestationBody[:100], "unexpected end of JSON"},
		{"bad JSON", `{"type" "ATTESTATION"}`, "invalid JSON"},
		{"trailing comma", `{"type":"ATTESTATION",}`, "invalid JSON"},
		{"single quotes", `{'type':'ATTESTATION'}`, "invalid JSON"},
		{"top-level array", `[]`, "must be a JSON object, not an array"},
		{"top-level string", `"ATTESTATION"`, "must be a JSON object, not a string"},
		{"trailing object", attestationBody + `{}`, "trailing data"},
		{"trailing garbage", attestationBody + ` x`, "trailing data"},
		{"two bodies", attestationBody + attestationBody, "trailing data"},
		{"oversize", attestationBody + strings.Repeat(" ", MaxRequestBytes), "more than the limit of 1048576"},
		{"invalid UTF-8", edit(t, `"ATTESTATION"`, "\"ATTESTATION\xff\""), "not valid UTF-8"},
		{"nested too deep", edit(t, `"index":"0"`, `"index":`+deep), "nested deeper than 32"},
		{"duplicate key", edit(t, `"type":"ATTESTATION"`, `"type":"ATTESTATION","type":"RANDAO_REVEAL"`), `duplicate key "type"`},
		{"duplicate nested key", edit(t, `"slot":"32"`, `"slot":"32","slot":"33"`), `duplicate key "slot"`},
		{"duplicate key through an escape", edit(t, `"type":"ATTESTATION"`, `"type":"ATTESTATION","\u0074ype":"ATTESTATION"`), `duplicate key "type"`},
		{"escaped quote in a key", edit(t, `"type":"ATTESTATION"`, `"type":"ATTESTATION","a\"b":"1"`), `a"b: unknown field`},

		// Keys.
		{"unknown top-level field", edit(t, `"type":"ATTESTATION"`, `"type":"ATTESTATION","extra":"1"`), "extra: unknown field"},
		{"unknown nested field", edit(t, `"slot":"32"`, `"slot":"32","committee_index":"1"`), "attestation.committee_index: unknown field"},
		{"wrongly cased key", edit(t, `"type"`, `"Type"`), `type: missing (there is "Type"`},
		{"camelCase key", edit(t, `"beacon_block_root"`, `"beaconBlockRoot"`), `attestation.beacon_block_root: missing (there is "beaconBlockRoot"`},
		{"missing nested field", edit(t, `"index":"0",`, ``), "attestation.index: missing"},

		// Type.
		{"missing type", edit(t, `"type":"ATTESTATION",`, ``), "type: missing"},
		{"unknown type", edit(t, `"ATTESTATION"`, `"ATTESTATION_V3"`), `type: unknown type "ATTESTATION_V3"; supported types: AGGREGATE_AND_PROOF, AGGREGATE_AND_PROOF_V2, AGGREGATION_SLOT, ATTESTATION, BLOCK, BLOCK_V2, DEPOSIT, RANDAO_REVEAL, SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF, SYNC_COMMITTEE_MESSAGE, SYNC_COMMITTEE_SELECTION_PROOF, VALIDATOR_REGISTRATION, VOLUNTARY_EXIT`},
		{"lowercase type", edit(t, `"ATTESTATION"`, `"attestation"`), `unknown type "attestation"`},
		{"type not a string", edit(t, `"ATTESTATION"`, `1`), "type: must be a string, not a number"},

		// fork_info and payload.
		{"missing fork_info", `{"type":"ATTESTATION","attestation":{}}`, "fork_info: missing"},
		{"null fork_info", edit(t, `"fork_info":{`, `"fork_info":null,"x":{`), "fork_info: must be an object, not null"},
		{"missing payload", `{"type":"ATTESTATION","fork_info":` + forkInfoJSON(1) + `}`, "attestation: missing"},
		{"payload of another type", edit(t, `"type":"ATTESTATION"`, `"type":"RANDAO_REVEAL"`), `attestation: not allowed with type RANDAO_REVEAL, whose payload is "randao_reveal"`},
		{"extra payload of another type", edit(t, `"type":"ATTESTATION"`, `"type":"ATTESTATION","randao_reveal":{"epoch":"1"}`), "randao_reveal: not allowed with type ATTESTATION"},
		{"block payload for BLOCK_V2", `{"type":"BLOCK_V2","fork_info":` + forkInfoJSON(1) + `,"block":{}}`, `block: not allowed with type BLOCK_V2, whose payload is "beacon_block"`},
		{"payload not an object", edit(t, `"attestation":{`, `"attestation":"x","y":{`), "attestation: must be an object, not a string"},

		// Byte strings.
		{"root one byte short", edit(t, `0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89"`, `0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad"`), "attestation.beacon_block_root: has 31 bytes, want 32"},
		{"root one byte long", edit(t, `0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89"`, `0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad8900"`), "has 33 bytes, want 32"},
		{"odd hex", edit(t, `0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad89"`, `0xb2eedb01adbd02c828d5eec09b4c70cbba12ffffba525ebf48aca33028e8ad8"`), "attestation.beacon_block_root: is not valid hex"},
		{"hex without 0x", edit(t, `"0xb2eedb01`, `"b2eedb01`), "attestation.beacon_block_root: must be hex starting with 0x"},
		{"non-hex digit", edit(t, `0xb2eedb01`, `0xg2eedb01`), "is not valid hex"},
		{"fork version too long", edit(t, `"current_version":"0x00000001"`, `"current_version":"0x0000000100"`), "fork_info.fork.current_version: has 5 bytes, want 4"},
		{"genesis root too short", edit(t, `"0x04700007fabc`, `"0x0470`), "fork_info.genesis_validators_root: has"},

		// Integers.
		{"uint64 overflow", edit(t, `"slot":"32"`, `"slot":"18446744073709551616"`), `attestation.slot: "18446744073709551616" overflows uint64`},
		{"huge integer", edit(t, `"slot":"32"`, `"slot":"`+strings.Repeat("9", 100)+`"`), "overflows uint64"},
		{"number not string", edit(t, `"slot":"32"`, `"slot":32`), "attestation.slot: must be a string, not a number"},
		{"negative", edit(t, `"slot":"32"`, `"slot":"-1"`), `"-1" is not a decimal string`},
		{"plus sign", edit(t, `"slot":"32"`, `"slot":"+1"`), "is not a decimal string"},
		{"leading zero", edit(t, `"slot":"32"`, `"slot":"032"`), `"032" has a leading zero`},
		{"decimal point", edit(t, `"slot":"32"`, `"slot":"32.0"`), "is not a decimal string"},
		{"hex integer", edit(t, `"slot":"32"`, `"slot":"0x20"`), "is not a decimal string"},
		{"space", edit(t, `"slot":"32"`, `"slot":" 32"`), "is not a decimal string"},
		{"empty integer", edit(t, `"slot":"32"`, `"slot":""`), "not an empty string"},
		{"null integer", edit(t, `"slot":"32"`, `"slot":null`), "attestation.slot: must be a string, not null"},
		{"boolean integer", edit(t, `"slot":"32"`, `"slot":true`), "must be a string, not a boolean"},
		{"fork epoch overflow", edit(t, `"epoch":"1"`, `"epoch":"99999999999999999999"`), "fork_info.fork.epoch:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRefused(t, tt.body, tt.want)
		})
	}
}

// checkRefused asserts that ParseRequest refuses body with ErrBadRequest saying want.
func checkRefused(t *testing.T, body, want string) {
	t.Helper()
	req, err := ParseRequest([]byte(body))
	if err == nil {
		t.Fatalf("ParseRequest accepted it: %s", req.Canonical())
	}
	if !errors.Is(err, ErrBadRequest) {
		t.Errorf("error %v does not wrap ErrBadRequest", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}

// TestParseRequestShapeErrors covers the versioned payloads, lists and bitlists.
func TestParseRequestShapeErrors(t *testing.T) {
	const (
		phase0Block = "openapi/block_v2_phase_0.json"
		capella     = "openapi/block_v2_capella.json"
		aggV1       = "openapi/aggregate_and_proof_deprecated.json"
		aggDeneb    = "openapi/aggregate_and_proof_v2_deneb.json"
		aggElectra  = "openapi/aggregate_and_proof_v2_electra.json"
	)
	tests := []struct {
		name   string
		file   string
		change func(m map[string]any)
		want   string
	}{
		{"unknown block version", capella, func(m map[string]any) { obj(m, "beacon_block")["version"] = "GLOAS" },
			`beacon_block.version: "GLOAS" is not one of PHASE0, ALTAIR, BELLATRIX, CAPELLA, DENEB, ELECTRA, FULU`},
		{"lowercase block version", capella, func(m map[string]any) { obj(m, "beacon_block")["version"] = "capella" }, `"capella" is not one of`},
		{"missing block version", capella, func(m map[string]any) { delete(obj(m, "beacon_block"), "version") }, "beacon_block.version: missing"},
		{"full block after bellatrix", capella, func(m map[string]any) {
			b := obj(m, "beacon_block")
			b["block"] = b["block_header"]
			delete(b, "block_header")
		}, `beacon_block.block: not allowed here: from BELLATRIX on a request carries only "block_header"`},
		{"header and block", capella, func(m map[string]any) { obj(m, "beacon_block")["block"] = map[string]any{} }, "beacon_block.block: not allowed here"},
		{"header for phase0", phase0Block, func(m map[string]any) { obj(m, "beacon_block")["block_header"] = map[string]any{} },
			`beacon_block.block_header: not allowed here: a PHASE0 request carries the full block in "block"`},
		{"altair body for phase0", phase0Block, func(m map[string]any) {
			obj(m, "beacon_block", "block", "body")["sync_aggregate"] = map[string]any{}
		}, "beacon_block.block.body.sync_aggregate: unknown field"},
		{"too many attester slashings", phase0Block, func(m map[string]any) {
			b := obj(m, "beacon_block", "block", "body")
			s := b["attester_slashings"].([]any)
			b["attester_slashings"] = []any{s[0], s[0], s[0]}
		}, "beacon_block.block.body.attester_slashings: has 3 elements, more than the limit of 2"},
		{"too many attesting indices", phase0Block, func(m map[string]any) {
			a := obj(obj(m, "beacon_block", "block", "body")["attester_slashings"].([]any)[0].(map[string]any), "attestation_1")
			idx := make([]any, 2049)
			for i := range idx {
				idx[i] = "1"
			}
			a["attesting_indices"] = idx
		}, "beacon_block.block.body.attester_slashings[0].attestation_1.attesting_indices: has 2049 elements, more than the limit of 2048"},
		{"attesting index a number", phase0Block, func(m map[string]any) {
			a := obj(obj(m, "beacon_block", "block", "body")["attester_slashings"].([]any)[0].(map[string]any), "attestation_1")
			a["attesting_indices"] = []any{1}
		}, "attestation_1.attesting_indices[0]: must be a string, not a number"},
		{"attesting index overflow", phase0Block, func(m map[string]any) {
			a := obj(obj(m, "beacon_block", "block", "body")["attester_slashings"].([]any)[0].(map[string]any), "attestation_1")
			a["attesting_indices"] = []any{"1", "18446744073709551616"}
		}, "attestation_1.attesting_indices[1]: \"18446744073709551616\" overflows uint64"},
		{"short deposit proof", phase0Block, func(m map[string]any) {
			d := obj(m, "beacon_block", "block", "body")["deposits"].([]any)[0].(map[string]any)
			d["proof"] = d["proof"].([]any)[:32]
		}, "beacon_block.block.body.deposits[0].proof: has 32 elements, not 33"},
		{"deposit proof element short", phase0Block, func(m map[string]any) {
			d := obj(m, "beacon_block", "block", "body")["deposits"].([]any)[0].(map[string]any)
			d["proof"].([]any)[5] = "0x00"
		}, "deposits[0].proof[5]: has 1 bytes, want 32"},
		{"slashing not an object", phase0Block, func(m map[string]any) {
			obj(m, "beacon_block", "block", "body")["proposer_slashings"] = []any{"x"}
		}, "beacon_block.block.body.proposer_slashings[0]: must be an object, not a string"},
		{"bitlist ending in a zero byte", phase0Block, func(m map[string]any) {
			obj(m, "beacon_block", "block", "body")["attestations"].([]any)[0].(map[string]any)["aggregation_bits"] = "0x0100"
		}, "attestations[0].aggregation_bits: is not an SSZ bitlist"},
		{"empty bitlist", aggV1, func(m map[string]any) { obj(m, "aggregate_and_proof", "aggregate")["aggregation_bits"] = "0x" },
			"aggregate_and_proof.aggregate.aggregation_bits: is not an SSZ bitlist"},
		{"bitlist over its limit", aggV1, func(m map[string]any) {
			obj(m, "aggregate_and_proof", "aggregate")["aggregation_bits"] = "0x" + strings.Repeat("ff", 256) + "03"
		}, "has 2049 bits, more than the limit of 2048"},
		{"legacy aggregate with version", aggV1, func(m map[string]any) {
			m["aggregate_and_proof"] = map[string]any{"version": "DENEB", "data": m["aggregate_and_proof"]}
		}, "aggregate_and_proof.version: not allowed here: {version, data} is the AGGREGATE_AND_PROOF_V2 shape"},
		{"v2 aggregate in legacy shape", aggDeneb, func(m map[string]any) {
			m["aggregate_and_proof"] = obj(m, "aggregate_and_proof", "data")
		}, "aggregate_and_proof.version: missing"},
		{"unknown aggregate version", aggDeneb, func(m map[string]any) { obj(m, "aggregate_and_proof")["version"] = "SHANGHAI" }, `"SHANGHAI" is not one of`},
		{"electra aggregate without committee_bits", aggElectra, func(m map[string]any) {
			delete(obj(m, "aggregate_and_proof", "data", "aggregate"), "committee_bits")
		}, "aggregate_and_proof.data.aggregate.committee_bits: missing"},
		{"deneb aggregate with committee_bits", aggDeneb, func(m map[string]any) {
			obj(m, "aggregate_and_proof", "data", "aggregate")["committee_bits"] = "0x0000000000000001"
		}, "aggregate_and_proof.data.aggregate.committee_bits: unknown field"},
		{"committee_bits too short", aggElectra, func(m map[string]any) {
			obj(m, "aggregate_and_proof", "data", "aggregate")["committee_bits"] = "0x01"
		}, "committee_bits: has 1 bytes, want 8"},
		{"registration timestamp beyond time.Time", "openapi/validator_registration.json", func(m map[string]any) {
			obj(m, "validator_registration")["timestamp"] = "18446744073709551615"
		}, "validator_registration.timestamp: 18446744073709551615 is beyond the largest timestamp"},
		{"registration fee recipient short", "openapi/validator_registration.json", func(m map[string]any) {
			obj(m, "validator_registration")["fee_recipient"] = "0x6fdfab408c56b6105a76eff5c0435d09fc6ed7"
		}, "validator_registration.fee_recipient: has 19 bytes, want 20"},
		{"deposit pubkey short", "openapi/deposit.json", func(m map[string]any) {
			obj(m, "deposit")["pubkey"] = "0x8f82597c919c056571a05dfe83e6a7d32acf9ad8931be04d11384e95468cd68b40129864ae12745f774654bbac09b0"
		}, "deposit.pubkey: has 47 bytes, want 48"},
		{"deposit without genesis_fork_version", "openapi/deposit.json", func(m map[string]any) {
			delete(obj(m, "deposit"), "genesis_fork_version")
		}, "deposit.genesis_fork_version: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRefused(t, editJSON(t, tt.file, tt.change), tt.want)
		})
	}
}
