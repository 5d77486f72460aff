package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datafruits/infra/apps/onair/internal/nowplaying"
)

func TestMountGaugesFollowTheSnapshot(t *testing.T) {
	snapshot := nowplaying.Snapshot{
		Station:   "datafruits",
		Stale:     true,
		UpdatedAt: time.Unix(1_800_000_000, 0),
		Mounts: []nowplaying.Mount{
			{Mount: "/live.mp3", Live: true, Listeners: 12, Since: time.Now().Add(-90 * time.Second)},
			{Mount: "/backup.mp3", Live: false, Since: time.Now().Add(-time.Hour)},
		},
	}
	reg := prometheus.NewRegistry()
	New(reg, "datafruits", func() nowplaying.Snapshot { return snapshot }, func() int { return 3 }, func() uint64 { return 7 })
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "mount" {
					key += " " + l.GetValue()
				}
				if l.GetName() == "station" && l.GetValue() != "datafruits" {
					t.Errorf("%s has station=%q", f.GetName(), l.GetValue())
				}
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"onair_listeners /live.mp3":                    12,
		"onair_source_connected /live.mp3":             1,
		"onair_source_connected /backup.mp3":           0,
		"onair_source_connected_seconds /backup.mp3":   0,
		"onair_icecast_up":                             0,
		"onair_icecast_last_success_timestamp_seconds": 1_800_000_000,
		"onair_sse_clients":                            3,
		"onair_sse_events_sent_total":                  7,
	}
	for key, v := range want {
		if g, ok := got[key]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", key, g, ok, v)
		}
	}
	if s := got["onair_source_connected_seconds /live.mp3"]; s < 89 || s > 120 {
		t.Errorf("onair_source_connected_seconds /live.mp3 = %v, want about 90", s)
	}
}
