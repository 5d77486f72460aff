package metrics

import (
	"strings"
	"testing"
)

func TestWriteToUsesTheTextFormat(t *testing.T) {
	r := NewRegistry()
	r.Counter("x_total", "Things.")
	r.Gauge("y", "Level.")
	r.Add("x_total", 2, "stage", `up"load`)
	r.Add("x_total", 1, "stage", `up"load`)
	r.Set("y", 1.5)
	var b strings.Builder
	r.WriteTo(&b)
	want := "# HELP x_total Things.\n# TYPE x_total counter\nx_total{stage=\"up\\\"load\"} 3\n# HELP y Level.\n# TYPE y gauge\ny 1.5\n"
	if b.String() != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", b.String(), want)
	}
}
