package slashing

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzImport feeds arbitrary bytes to Import over a database that already
// holds some history. Import must never panic; a refused import must leave
// Export unchanged; an accepted one must leave a database whose export
// imports again into a fresh one.
func FuzzImport(f *testing.F) {
	pk := testPK(1)
	base := interchangeJSON(gvrA, pk, []string{"10:1", "12"}, []string{"1-2:1", "2-3"})
	f.Add(base)
	f.Add(interchangeJSON(gvrA, pk, []string{"11:1", "12:2"}, []string{"3-1", "1-10", "2-9:4"}))
	f.Add(interchangeJSON(gvrA, testPK(2), nil, []string{"0-0"}))
	f.Add(interchangeJSON(gvrB, pk, []string{"1"}, nil))
	f.Add([]byte(`{"metadata":{"interchange_format_version":"5","genesis_validators_root":"0x0a00000000000000000000000000000000000000000000000000000000000000"},"data":[]}`))
	f.Add([]byte(`{"metadata":null,"data":null}`))
	// The EIP-3076 suite's interchanges, when the vectors are available
	// (they are not copied into the repository).
	if dir := os.Getenv(vectorsEnv); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "eip3076", "*.json"))
		for _, file := range files {
			raw, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			var tc eip3076Test
			if json.Unmarshal(raw, &tc) != nil {
				continue
			}
			for _, s := range tc.Steps {
				f.Add([]byte(s.Interchange))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		db := newMemDB(t, Options{RetainBlocks: 3, RetainAttestations: 3})
		if err := db.Import(base); err != nil {
			t.Fatal(err)
		}
		before, err := db.Export(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Import(data); err != nil {
			after, err2 := db.Export(nil)
			if err2 != nil {
				t.Fatal(err2)
			}
			if !bytes.Equal(before, after) {
				t.Fatalf("refused import (%v) changed the database:\nbefore %s\nafter  %s", err, before, after)
			}
			return
		}
		export, err := db.Export(nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := newMemDB(t, Options{}).Import(export); err != nil {
			t.Fatalf("export does not import again: %v\n%s", err, export)
		}
	})
}
