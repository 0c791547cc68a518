package slashing

import (
	"errors"
	"testing"

	"github.com/mpcsigner/mpcsigner/enclave/store"
)

// step is one request in a rules test.
type step struct {
	kind     string // block, att, import, disable, enable, hwm
	pk       byte   // validator (testPK); 0 means 1
	gvr      *[32]byte
	slot     uint64 // block slot; hwm slot
	src, tgt uint64 // attestation; hwm epoch in tgt
	root     byte
	json     []byte // import
}

func block(slot uint64, root byte) step { return step{kind: "block", slot: slot, root: root} }
func att(src, tgt uint64, root byte) step {
	return step{kind: "att", src: src, tgt: tgt, root: root}
}
func importing(blocks, atts []string) step {
	return step{kind: "import", json: interchangeJSON(gvrA, testPK(1), blocks, atts)}
}
func (s step) on(gvr [32]byte) step { s.gvr = &gvr; return s }

func (s step) run(db *DB) error {
	pk := testPK(max(s.pk, 1))
	gvr := gvrA
	if s.gvr != nil {
		gvr = *s.gvr
	}
	switch s.kind {
	case "block":
		return db.SignBlock(gvr, pk, s.slot, testRoot(s.root))
	case "att":
		return db.SignAttestation(gvr, pk, s.src, s.tgt, testRoot(s.root))
	case "import":
		return db.Import(s.json)
	case "disable":
		return db.Disable(pk)
	case "enable":
		return db.Enable(pk)
	case "hwm":
		return db.SetHighWatermark(s.slot, s.tgt)
	}
	panic("unknown step " + s.kind)
}

// TestRules checks each rule by name: setup steps must all succeed, then
// the last request must get the refusal named by want (nil: allowed).
func TestRules(t *testing.T) {
	tests := []struct {
		name  string
		setup []step
		do    step
		want  func(testing.TB, error)
	}{
		// Blocks.
		{"first block", nil, block(10, 1), allowed},
		{"double proposal", []step{block(10, 1)}, block(10, 2), refused[*DoubleProposal]},
		{"exact repeat block", []step{block(10, 1)}, block(10, 1), allowed},
		{"block below first signed slot", []step{block(10, 1)}, block(9, 1), refused[*BelowWatermark]},
		{"block after a later one, above the watermark", []step{block(10, 1), block(30, 1)}, block(20, 1), allowed},
		{"block below imported low watermark", []step{importing([]string{"20"}, nil)}, block(19, 1), refused[*BelowWatermark]},
		{"block at imported low watermark without root", []step{importing([]string{"20"}, nil)}, block(20, 0), refused[*DoubleProposal]},
		{"block at imported low watermark with the same root", []step{importing([]string{"20:5"}, nil)}, block(20, 5), allowed},
		{"block above imported low watermark", []step{importing([]string{"20"}, nil)}, block(21, 1), allowed},
		{"block in the gap between two imports", []step{importing([]string{"10"}, nil), importing([]string{"50"}, nil)}, block(30, 1), refused[*BelowWatermark]},
		{"older import keeps the higher watermark", []step{importing([]string{"50"}, nil), importing([]string{"10"}, nil)}, block(30, 1), refused[*BelowWatermark]},
		{"unknown root is never a repeat", []step{importing([]string{"20", "30"}, nil)}, block(30, 0), refused[*DoubleProposal]},
		{"merged conflicting roots refuse the slot", []step{importing([]string{"20:1"}, nil), importing([]string{"20:2"}, nil)}, block(20, 1), refused[*DoubleProposal]},

		// Attestations.
		{"first attestation", nil, att(1, 2, 1), allowed},
		{"double vote", []step{att(1, 2, 1)}, att(1, 2, 2), refused[*DoubleVote]},
		{"double vote with another source", []step{att(1, 3, 1)}, att(2, 3, 1), refused[*DoubleVote]},
		{"exact repeat attestation", []step{att(1, 2, 1)}, att(1, 2, 1), allowed},
		{"surrounding", []step{att(1, 2, 1), att(3, 4, 1)}, att(2, 5, 1), refused[*Surrounding]},
		{"surrounded", []step{att(1, 2, 1), att(2, 10, 1)}, att(3, 9, 1), refused[*Surrounded]},
		{"surrounded by an imported one", []step{importing(nil, []string{"0-1", "1-10"})}, att(2, 9, 1), refused[*Surrounded]},
		{"surrounding an imported one", []step{importing(nil, []string{"5-6", "6-7"})}, att(5, 8, 1), refused[*Surrounding]},
		{"source after target", nil, att(5, 4, 1), refused[*SourceAfterTarget]},
		{"source equals target", nil, att(4, 4, 1), allowed},
		{"source below watermark", []step{att(5, 6, 1)}, att(4, 7, 1), refused[*BelowWatermark]},
		{"target below watermark", []step{att(5, 7, 1)}, att(5, 6, 1), refused[*BelowWatermark]},
		{"source below imported watermark", []step{importing(nil, []string{"10-11"})}, att(9, 12, 1), refused[*BelowWatermark]},
		{"target at imported watermark without root", []step{importing(nil, []string{"10-11"})}, att(10, 11, 0), refused[*DoubleVote]},
		{"target after imported watermark", []step{importing(nil, []string{"10-11"})}, att(10, 12, 1), allowed},
		{"attestation in the gap between two imports", []step{importing(nil, []string{"2-3"}), importing(nil, []string{"20-21"})}, att(20, 15, 1), refused[*SourceAfterTarget]},
		{"target in the gap between two imports", []step{importing(nil, []string{"2-3"}), importing(nil, []string{"10-21"})}, att(10, 15, 1), refused[*BelowWatermark]},

		// Database-wide rules.
		{"wrong genesis root", []step{block(1, 1)}, block(2, 1).on(gvrB), refused[*WrongGenesis]},
		{"wrong genesis root, attestation", []step{att(1, 2, 1)}, att(2, 3, 1).on(gvrB), refused[*WrongGenesis]},
		{"wrong genesis root, import", []step{block(1, 1)},
			step{kind: "import", json: interchangeJSON(gvrB, testPK(1), []string{"5"}, nil)}, refused[*WrongGenesis]},
		{"genesis root bound by import", []step{importing(nil, nil)}, block(2, 1).on(gvrB), refused[*WrongGenesis]},
		{"disabled block", []step{block(1, 1), {kind: "disable"}}, block(2, 1), refused[*Disabled]},
		{"disabled attestation", []step{{kind: "disable"}}, att(1, 2, 1), refused[*Disabled]},
		{"disabled repeat", []step{block(1, 1), {kind: "disable"}}, block(1, 1), refused[*Disabled]},
		{"disabled stays refused after another validator's import", []step{{kind: "disable"},
			step{kind: "import", json: interchangeJSON(gvrA, testPK(2), nil, nil)}}, block(2, 1), refused[*Disabled]},
		{"re-enabled by Enable", []step{block(1, 1), {kind: "disable"}, {kind: "enable"}}, block(2, 1), allowed},
		{"re-enabled by Enable keeps the rules", []step{block(1, 1), {kind: "disable"}, {kind: "enable"}}, block(1, 2), refused[*DoubleProposal]},
		{"re-enabled by import", []step{block(1, 1), {kind: "disable"}, importing(nil, nil)}, block(2, 1), allowed},
		{"high watermark block", []step{{kind: "hwm", slot: 100, tgt: 10}}, block(100, 1), refused[*AboveHighWatermark]},
		{"below high watermark block", []step{{kind: "hwm", slot: 100, tgt: 10}}, block(99, 1), allowed},
		{"high watermark attestation", []step{{kind: "hwm", slot: 100, tgt: 10}}, att(9, 10, 1), refused[*AboveHighWatermark]},
		{"below high watermark attestation", []step{{kind: "hwm", slot: 100, tgt: 10}}, att(8, 9, 1), allowed},
		{"high watermark repeat", []step{block(100, 1), {kind: "hwm", slot: 100, tgt: 10}}, block(100, 1), refused[*AboveHighWatermark]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := newMemDB(t, Options{})
			for i, s := range tc.setup {
				if err := s.run(db); err != nil {
					t.Fatalf("setup step %d (%s): %v", i, s.kind, err)
				}
			}
			tc.want(t, tc.do.run(db))
		})
	}
}

func allowed(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
}

func refused[T error](t testing.TB, err error) {
	t.Helper()
	wantRefusal[T](t, err)
	t.Logf("refused as expected: %v", err)
}

// TestRefusalRecordsNothing checks that a refused request leaves no record:
// a conflicting one after it is judged against the earlier history only.
func TestRefusalRecordsNothing(t *testing.T) {
	db := newMemDB(t, Options{})
	pk := testPK(1)
	mustNil(t, "block", db.SignBlock(gvrA, pk, 10, testRoot(1)))
	wantRefusal[*DoubleProposal](t, db.SignBlock(gvrA, pk, 10, testRoot(2)))
	mustNil(t, "repeat", db.SignBlock(gvrA, pk, 10, testRoot(1)))
	wantRefusal[*WrongGenesis](t, db.SignAttestation(gvrB, pk, 1, 2, testRoot(1)))
	mustNil(t, "attestation", db.SignAttestation(gvrA, pk, 1, 2, testRoot(1)))
	if g, ok := db.GenesisValidatorsRoot(); !ok || g != gvrA {
		t.Fatalf("genesis root %x %v, want %x", g, ok, gvrA)
	}
}

// TestPruningBoundsStorage signs a long history and checks that records
// per validator stay bounded while everything pruned stays protected.
func TestPruningBoundsStorage(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		db := openDB(t, st, Options{RetainBlocks: 4, RetainAttestations: 8})
		pk := testPK(1)
		for e := uint64(1); e <= 500; e++ {
			mustNil(t, "attestation", db.SignAttestation(gvrA, pk, e-1, e, testRoot(1)))
			if e%10 == 0 {
				mustNil(t, "block", db.SignBlock(gvrA, pk, e*32, testRoot(2)))
			}
		}
		names, err := st.List(testPrefix)
		mustNil(t, "List", err)
		// genesis + meta + at most 4+1 blocks + 8+2 attestations
		if len(names) > 2+5+10 {
			t.Fatalf("%d records after 500 attestations and 50 blocks, want at most 17: %q", len(names), names)
		}
		// Pruned targets, and anything surrounding a pruned attestation,
		// are refused; the next epoch is not.
		wantRefusal[*BelowWatermark](t, db.SignAttestation(gvrA, pk, 100, 101, testRoot(3)))
		wantRefusal[*BelowWatermark](t, db.SignAttestation(gvrA, pk, 100, 600, testRoot(3)))
		wantRefusal[*BelowWatermark](t, db.SignBlock(gvrA, pk, 32*10, testRoot(3)))
		mustNil(t, "next attestation", db.SignAttestation(gvrA, pk, 500, 501, testRoot(1)))
		mustNil(t, "next block", db.SignBlock(gvrA, pk, 501*32, testRoot(1)))

		// The same holds after reopening from the store.
		db2 := openDB(t, st, Options{RetainBlocks: 4, RetainAttestations: 8})
		wantRefusal[*BelowWatermark](t, db2.SignAttestation(gvrA, pk, 100, 600, testRoot(3)))
		wantRefusal[*DoubleVote](t, db2.SignAttestation(gvrA, pk, 500, 501, testRoot(9)))
		mustNil(t, "repeat after reopen", db2.SignAttestation(gvrA, pk, 500, 501, testRoot(1)))
	})
}

// TestPruningRaisesSourceWatermark: an attestation dropped by pruning
// still refuses a later one that would surround it, even when the history
// kept after it has lower sources (slashable imported data).
func TestPruningRaisesSourceWatermark(t *testing.T) {
	db := newMemDB(t, Options{RetainAttestations: 2})
	pk := testPK(1)
	// (50, 51) then two attestations with low sources that it does not
	// surround.
	mustNil(t, "import", db.Import(interchangeJSON(gvrA, pk, nil, []string{"50-51", "1-60", "1-61", "1-62"})))
	// (50, 51) was pruned; (10, 70) would surround it.
	err := db.SignAttestation(gvrA, pk, 10, 70, testRoot(1))
	if !errors.Is(err, ErrSlashable) {
		t.Fatalf("attestation surrounding a pruned one was allowed: %v", err)
	}
}

func TestOpenRefusesUnknownRecords(t *testing.T) {
	st := store.NewMem()
	mustNil(t, "put", st.Put(testPrefix+"something-else", []byte{1}))
	if _, err := Open(st, testPrefix); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open over an unknown record: %v, want ErrCorrupt", err)
	}
	st = store.NewMem()
	db := openDB(t, st, Options{})
	mustNil(t, "block", db.SignBlock(gvrA, testPK(1), 1, testRoot(1)))
	mustNil(t, "delete genesis", st.Delete(testPrefix+nameGenesis))
	if _, err := Open(st, testPrefix); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with records but no genesis root: %v, want ErrCorrupt", err)
	}
	for _, p := range []string{"", "slashing", string(make([]byte, 200)) + "/"} {
		if _, err := Open(store.NewMem(), p); err == nil {
			t.Errorf("Open with prefix %q succeeded", p)
		}
	}
}
