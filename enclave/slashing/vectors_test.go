package slashing

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mpcsigner/mpcsigner/enclave/store"
)

// vectorsEnv names the directory that holds the independent test material;
// the EIP-3076 interchange tests are in its eip3076 subdirectory. They are
// not copied into the repository.
const vectorsEnv = "MPCSIGNER_VECTORS"

// eip3076Test is one file of the EIP-3076 interchange test suite.
type eip3076Test struct {
	Name  string `json:"name"`
	GVR   string `json:"genesis_validators_root"`
	Steps []struct {
		ShouldSucceed         bool            `json:"should_succeed"`
		ContainsSlashableData bool            `json:"contains_slashable_data"`
		Interchange           json.RawMessage `json:"interchange"`
		Blocks                []struct {
			Pubkey                string `json:"pubkey"`
			Slot                  string `json:"slot"`
			SigningRoot           string `json:"signing_root"`
			ShouldSucceed         bool   `json:"should_succeed"`
			ShouldSucceedComplete bool   `json:"should_succeed_complete"`
		} `json:"blocks"`
		Attestations []struct {
			Pubkey                string `json:"pubkey"`
			Source                string `json:"source_epoch"`
			Target                string `json:"target_epoch"`
			SigningRoot           string `json:"signing_root"`
			ShouldSucceed         bool   `json:"should_succeed"`
			ShouldSucceedComplete bool   `json:"should_succeed_complete"`
		} `json:"attestations"`
	} `json:"steps"`
}

// eip3076Files returns the suite's test files, or skips the test.
func eip3076Files(t testing.TB) []string {
	dir := os.Getenv(vectorsEnv)
	if dir == "" {
		t.Skipf("the EIP-3076 interchange suite was not run: set %s to the vectors directory (its eip3076 subdirectory holds the suite)", vectorsEnv)
	}
	files, err := filepath.Glob(filepath.Join(dir, "eip3076", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tests []string
	for _, f := range files {
		if filepath.Base(f) != "schema.json" {
			tests = append(tests, f)
		}
	}
	if len(tests) == 0 {
		t.Fatalf("%s is set but %s holds no EIP-3076 test files", vectorsEnv, filepath.Join(dir, "eip3076"))
	}
	return tests
}

// TestEIP3076 runs the EIP-3076 interchange suite over both stores. A
// message whose should_succeed_complete is false must be refused (with
// ErrSlashable); one whose should_succeed is true must be allowed; the
// others may go either way, but a refusal is still ErrSlashable. A failing
// import must change nothing.
func TestEIP3076(t *testing.T) {
	files := eip3076Files(t)
	if len(files) != 38 {
		t.Errorf("found %d test files, want 38 (39 with schema.json, EIP-3076 tests v5.3.0)", len(files))
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var tc eip3076Test
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		t.Run(tc.Name, func(t *testing.T) {
			backends(t, func(t *testing.T, st store.Store) { runEIP3076(t, st, &tc) })
		})
	}
}

func runEIP3076(t *testing.T, st store.Store, tc *eip3076Test) {
	db := openDB(t, st, Options{})
	var gvr [32]byte
	mustNil(t, "genesis root", parseHex(gvr[:], tc.GVR))
	mustNil(t, "BindGenesis", db.BindGenesis(gvr))
	for i, step := range tc.Steps {
		before, err := db.Export(nil)
		mustNil(t, "Export", err)
		err = db.Import(step.Interchange)
		switch {
		case step.ShouldSucceed && err != nil:
			t.Fatalf("step %d: import failed: %v", i, err)
		case !step.ShouldSucceed && err == nil:
			t.Fatalf("step %d: import succeeded, want it refused", i)
		case !step.ShouldSucceed:
			after, err2 := db.Export(nil)
			mustNil(t, "Export", err2)
			if !bytes.Equal(before, after) {
				t.Fatalf("step %d: refused import (%v) changed the database:\nbefore %s\nafter  %s", i, err, before, after)
			}
		}
		for j, b := range step.Blocks {
			var pk Pubkey
			var root [32]byte
			mustNil(t, "pubkey", parseHex(pk[:], b.Pubkey))
			mustNil(t, "root", parseHex(root[:], b.SigningRoot))
			slot, err := strconv.ParseUint(b.Slot, 10, 64)
			mustNil(t, "slot", err)
			err = db.SignBlock(gvr, pk, slot, root)
			check(t, "block", i, j, err, b.ShouldSucceed, b.ShouldSucceedComplete)
		}
		for j, a := range step.Attestations {
			var pk Pubkey
			var root [32]byte
			mustNil(t, "pubkey", parseHex(pk[:], a.Pubkey))
			mustNil(t, "root", parseHex(root[:], a.SigningRoot))
			src, err := strconv.ParseUint(a.Source, 10, 64)
			mustNil(t, "source", err)
			tgt, err := strconv.ParseUint(a.Target, 10, 64)
			mustNil(t, "target", err)
			err = db.SignAttestation(gvr, pk, src, tgt, root)
			check(t, "attestation", i, j, err, a.ShouldSucceed, a.ShouldSucceedComplete)
		}
	}
}

func check(t *testing.T, what string, step, i int, err error, minimal, complete bool) {
	t.Helper()
	switch {
	case err != nil && !errors.Is(err, ErrSlashable):
		t.Errorf("step %d %s %d: error that is not a refusal: %v", step, what, i, err)
	case !complete && err == nil:
		t.Errorf("step %d %s %d: allowed, but even a complete database must refuse it", step, what, i)
	case minimal && err != nil:
		t.Errorf("step %d %s %d: refused (%v), but even a minimal database must allow it", step, what, i, err)
	}
}
