package ethereum

import (
	"strings"
	"testing"
)

func BenchmarkBigArray(b *testing.B) {
	items := strings.TrimSuffix(strings.Repeat(`1,`, 500000), ",")
	doc := []byte(typedDoc(`{"name":"v","type":"uint8[]"}`, `[`+items+`]`))
	for b.Loop() {
		ParseTypedData(doc)
	}
}
