package slashing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mpcsigner/mpcsigner/enclave/store"
)

// decisions asks db about a grid of blocks and attestations for pk without
// recording anything, and returns which were refused.
func decisions(t *testing.T, db *DB, pk Pubkey) map[string]bool {
	t.Helper()
	out := make(map[string]bool)
	for _, root := range []byte{1, 2} {
		for slot := uint64(0); slot <= 60; slot++ {
			err := wouldBlock(db, gvrA, pk, slot, testRoot(root))
			if err != nil && !errors.Is(err, ErrSlashable) {
				t.Fatalf("block %d: %v", slot, err)
			}
			out[fmt.Sprintf("block %d root %d", slot, root)] = err != nil
		}
		for src := uint64(0); src <= 30; src++ {
			for tgt := uint64(0); tgt <= 35; tgt++ {
				err := wouldAtt(db, gvrA, pk, src, tgt, testRoot(root))
				if err != nil && !errors.Is(err, ErrSlashable) {
					t.Fatalf("attestation %d-%d: %v", src, tgt, err)
				}
				out[fmt.Sprintf("attestation %d-%d root %d", src, tgt, root)] = err != nil
			}
		}
	}
	return out
}

// TestExportImportRoundTrip exports a database, imports the export into a
// fresh one, and checks the fresh one refuses at least everything the
// first refuses (and, for an ordinary history, exactly that).
func TestExportImportRoundTrip(t *testing.T) {
	pk := testPK(1)
	tests := []struct {
		name  string
		opts  Options
		build func(t *testing.T, db *DB)
		exact bool
	}{
		{"ordinary history", Options{}, func(t *testing.T, db *DB) {
			for _, s := range []uint64{10, 12, 20, 15} {
				mustNil(t, "block", db.SignBlock(gvrA, pk, s, testRoot(1)))
			}
			for e := uint64(3); e <= 12; e++ {
				mustNil(t, "attestation", db.SignAttestation(gvrA, pk, e-2, e, testRoot(1)))
			}
		}, true},
		{"pruned history", Options{RetainBlocks: 2, RetainAttestations: 3}, func(t *testing.T, db *DB) {
			for s := uint64(5); s <= 40; s += 5 {
				mustNil(t, "block", db.SignBlock(gvrA, pk, s, testRoot(1)))
			}
			for e := uint64(3); e <= 20; e++ {
				mustNil(t, "attestation", db.SignAttestation(gvrA, pk, e-2, e, testRoot(1)))
			}
		}, false},
		{"imported slashable history", Options{RetainAttestations: 3}, func(t *testing.T, db *DB) {
			mustNil(t, "import", db.Import(interchangeJSON(gvrA, pk,
				[]string{"10", "10:1", "12:2", "14:3"},
				[]string{"20-4", "1-10:1", "2-10:2", "3-11", "4-12:1", "4-12:1", "18-19"})))
			mustNil(t, "attestation", db.SignAttestation(gvrA, pk, 20, 25, testRoot(1)))
			mustNil(t, "block", db.SignBlock(gvrA, pk, 30, testRoot(1)))
		}, false},
		{"two imports with a gap", Options{}, func(t *testing.T, db *DB) {
			mustNil(t, "import", db.Import(interchangeJSON(gvrA, pk, []string{"5:1"}, []string{"1-2:1"})))
			mustNil(t, "import", db.Import(interchangeJSON(gvrA, pk, []string{"40:1"}, []string{"10-20:1"})))
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := newMemDB(t, tc.opts)
			tc.build(t, db)
			export, err := db.Export(nil)
			mustNil(t, "Export", err)
			t.Logf("export: %s", export)

			fresh := newMemDB(t, Options{})
			mustNil(t, "Import", fresh.Import(export))
			want, got := decisions(t, db, pk), decisions(t, fresh, pk)
			for k, refused := range want {
				if refused && !got[k] {
					t.Errorf("%s: refused by the original, allowed after the round trip", k)
				}
				if tc.exact && !refused && got[k] {
					t.Errorf("%s: allowed by the original, refused after the round trip", k)
				}
			}
			// Exporting again gives an interchange that keeps the same
			// refusals (idempotence of the round trip).
			again, err := fresh.Export(nil)
			mustNil(t, "Export", err)
			fresh2 := newMemDB(t, Options{})
			mustNil(t, "Import", fresh2.Import(again))
			if d := cmp.Diff(got, decisions(t, fresh2, pk)); d != "" {
				t.Errorf("second round trip changed decisions (-first +second):\n%s", d)
			}
		})
	}
}

// TestExport covers filters, disabled validators and an unbound database.
func TestExport(t *testing.T) {
	db := newMemDB(t, Options{})
	if _, err := db.Export(nil); !errors.Is(err, ErrNoGenesis) {
		t.Fatalf("Export of an empty database: %v, want ErrNoGenesis", err)
	}
	pk1, pk2, pk3 := testPK(1), testPK(2), testPK(3)
	mustNil(t, "block", db.SignBlock(gvrA, pk1, 1, testRoot(1)))
	mustNil(t, "attestation", db.SignAttestation(gvrA, pk2, 1, 2, testRoot(2)))
	mustNil(t, "disable", db.Disable(pk2))
	// A refused request does not make a validator appear.
	wantRefusal[*WrongGenesis](t, db.SignBlock(gvrB, pk3, 1, testRoot(1)))

	all, err := db.Export(nil)
	mustNil(t, "Export", err)
	want := fmt.Sprintf(`{"metadata":{"interchange_format_version":"5","genesis_validators_root":"0x%x"},"data":[`+
		`{"pubkey":"0x%x","signed_blocks":[{"slot":"1","signing_root":"0x%x"}],"signed_attestations":[]},`+
		`{"pubkey":"0x%x","signed_blocks":[],"signed_attestations":[{"source_epoch":"1","target_epoch":"2","signing_root":"0x%x"}]}]}`,
		gvrA, pk1, testRoot(1), pk2, testRoot(2))
	if string(all) != want {
		t.Fatalf("Export:\n got %s\nwant %s", all, want)
	}
	only2, err := db.Export([]Pubkey{pk2, pk3, pk2})
	mustNil(t, "Export", err)
	var ic struct {
		Data []struct {
			Pubkey string `json:"pubkey"`
		} `json:"data"`
	}
	mustNil(t, "unmarshal", json.Unmarshal(only2, &ic))
	if len(ic.Data) != 1 || ic.Data[0].Pubkey != "0x"+hexPK(pk2) {
		t.Fatalf("Export of the disabled validator: %s", only2)
	}
}

// TestImportRefusesMalformed checks the strict decoder: every one of these
// fails with ErrInvalidInterchange and changes nothing.
func TestImportRefusesMalformed(t *testing.T) {
	pk := testPK(1)
	good := string(interchangeJSON(gvrA, pk, []string{"5:1"}, []string{"1-2:1"}))
	replace := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("%q not in %s", old, good)
		}
		return strings.Replace(good, old, new, 1)
	}
	cases := map[string]string{
		"empty":                 "",
		"not json":              "slashing",
		"version 4":             replace(`"interchange_format_version":"5"`, `"interchange_format_version":"4"`),
		"version as number":     replace(`"interchange_format_version":"5"`, `"interchange_format_version":5`),
		"no version":            replace(`"interchange_format_version":"5",`, ``),
		"unknown field":         replace(`"data":[`, `"extra":1,"data":[`),
		"unknown field in item": replace(`{"slot":"5"`, `{"slot":"5","epoch":"1"`),
		"trailing data":         good + "{}",
		"short gvr":             replace(fmt.Sprintf("0x%x", gvrA), "0x00"),
		"gvr without 0x":        replace(fmt.Sprintf("0x%x", gvrA), fmt.Sprintf("%x", gvrA)),
		"bad pubkey hex":        replace(fmt.Sprintf("0x%x", pk), "0x"+strings.Repeat("zz", 48)),
		"short pubkey":          replace(fmt.Sprintf("0x%x", pk), "0x1234"),
		"slot as number":        replace(`"slot":"5"`, `"slot":5`),
		"negative slot":         replace(`"slot":"5"`, `"slot":"-5"`),
		"leading zero":          replace(`"slot":"5"`, `"slot":"05"`),
		"slot overflow":         replace(`"slot":"5"`, `"slot":"18446744073709551616"`),
		"empty slot":            replace(`"slot":"5"`, `"slot":""`),
		"no slot":               replace(`"slot":"5",`, ``),
		"no target":             replace(`"target_epoch":"2",`, ``),
		"bad root":              replace(fmt.Sprintf("0x%x", testRoot(1)), "0x1"),
		"no signed_blocks":      replace(`"signed_blocks":[{"slot":"5","signing_root":"`+fmt.Sprintf("0x%x", testRoot(1))+`"}],`, ``),
		"no data":               replace(`,"data":[`, `,"x":[`),
		"too large":             good + strings.Repeat(" ", MaxInterchangeSize),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			db := newMemDB(t, Options{})
			mustNil(t, "block", db.SignBlock(gvrA, testPK(2), 1, testRoot(1)))
			before, _ := db.Export(nil)
			err := db.Import([]byte(in))
			if !errors.Is(err, ErrInvalidInterchange) {
				t.Fatalf("Import: %v, want ErrInvalidInterchange", err)
			}
			after, _ := db.Export(nil)
			if !bytes.Equal(before, after) {
				t.Fatalf("refused import changed the database")
			}
		})
	}
	db := newMemDB(t, Options{})
	mustNil(t, "good interchange", db.Import([]byte(good)))
}

// TestImportMergeKeepsStricter imports overlapping histories in both
// orders and checks the result refuses what either did.
func TestImportMergeKeepsStricter(t *testing.T) {
	pk := testPK(1)
	a := interchangeJSON(gvrA, pk, []string{"10:1", "20:1"}, []string{"1-5:1", "5-9:1"})
	b := interchangeJSON(gvrA, pk, []string{"20:2", "30:1"}, []string{"2-7:1", "6-12:1"})
	onlyA, onlyB := newMemDB(t, Options{}), newMemDB(t, Options{})
	mustNil(t, "import", onlyA.Import(a))
	mustNil(t, "import", onlyB.Import(b))
	ab, ba := newMemDB(t, Options{}), newMemDB(t, Options{})
	mustNil(t, "import", ab.Import(a))
	mustNil(t, "import", ab.Import(b))
	mustNil(t, "import", ba.Import(b))
	mustNil(t, "import", ba.Import(a))
	dA, dB, dAB, dBA := decisions(t, onlyA, pk), decisions(t, onlyB, pk), decisions(t, ab, pk), decisions(t, ba, pk)
	for k := range dA {
		if (dA[k] || dB[k]) && !(dAB[k] && dBA[k]) {
			t.Errorf("%s: refused by one import alone (a %v, b %v) but allowed after merging (a+b %v, b+a %v)",
				k, dA[k], dB[k], dAB[k], dBA[k])
		}
	}
	if d := cmp.Diff(dAB, dBA); d != "" {
		t.Errorf("merge depends on the order of imports (-a,b +b,a):\n%s", d)
	}
}

// TestImportLargeUnsorted imports many records out of order for one
// validator: it must be quick (no quadratic merging) and keep only the
// bounded recent history.
func TestImportLargeUnsorted(t *testing.T) {
	const n = 20_000
	atts := make([]string, 0, n)
	blocks := make([]string, 0, n)
	for e := n; e > 0; e-- {
		atts = append(atts, fmt.Sprintf("%d-%d:1", e-1, e))
		blocks = append(blocks, fmt.Sprintf("%d:1", e*32))
	}
	data := interchangeJSON(gvrA, testPK(1), blocks, atts)
	if len(data) > MaxInterchangeSize {
		t.Fatalf("test interchange of %d bytes is over the limit", len(data))
	}
	st := &slowStore{Store: store.NewMem()}
	db := openDB(t, st, Options{})
	mustNil(t, "Import", db.Import(data))
	names, err := st.List(testPrefix)
	mustNil(t, "List", err)
	if len(names) > 2+DefaultRetainBlocks+DefaultRetainAttestations {
		t.Fatalf("%d records after importing %d, want the retained history only", len(names), 2*n)
	}
	wantRefusal[*BelowWatermark](t, db.SignAttestation(gvrA, testPK(1), n-100, n+1, testRoot(2)))
	mustNil(t, "next", db.SignAttestation(gvrA, testPK(1), n, n+1, testRoot(2)))
}
