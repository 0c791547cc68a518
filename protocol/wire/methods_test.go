package wire

import (
	"strings"
	"testing"
)

func TestSortKeyInfos(t *testing.T) {
	infos := []KeyInfo{
		{ID: "b", Created: "2026-11-22T10:00:00Z"},
		{ID: "c", Created: "2026-11-21T10:00:00Z"},
		{ID: "a", Created: "2026-11-22T10:00:00Z"},
	}
	SortKeyInfos(infos)
	var got []string
	for _, k := range infos {
		got = append(got, k.ID)
	}
	if strings.Join(got, ",") != "c,a,b" {
		t.Fatalf("order %v, want oldest first, then by id: c,a,b", got)
	}
}
