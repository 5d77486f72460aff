package watch

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datafruits/infra/apps/onair/internal/icecast"
	"github.com/datafruits/infra/apps/onair/internal/metrics"
	"github.com/datafruits/infra/apps/onair/internal/nowplaying"
)

// scriptedFetcher returns the next status or error on each Fetch.
type scriptedFetcher struct {
	steps []func() (icecast.Status, error)
}

func (f *scriptedFetcher) Fetch(context.Context) (icecast.Status, error) {
	step := f.steps[0]
	f.steps = f.steps[1:]
	return step()
}

func TestPollLogsBadInputOnceAndPublishesChanges(t *testing.T) {
	liveStatus := func() (icecast.Status, error) {
		return icecast.Status{Sources: []icecast.Source{
			{Mount: "/live.mp3", ServerName: "Show"},
			{Mount: "/test.mp3", ServerName: "Soundcheck"},
		}}, nil
	}
	truncated := func() (icecast.Status, error) {
		return icecast.Parse([]byte(`{"icestats":{"source":{"listenurl":"http://h/live.mp3"`))
	}
	fetcher := &scriptedFetcher{steps: []func() (icecast.Status, error){liveStatus, liveStatus, truncated, truncated, liveStatus}}
	var logs bytes.Buffer
	w := New(fetcher, nowplaying.NewTracker("datafruits", "https://s", time.Minute, []string{"/live.mp3"}),
		time.Second, time.Second, slog.New(slog.NewJSONHandler(&logs, nil)))
	w.Metrics = metrics.New(prometheus.NewRegistry(), "datafruits", w.Snapshot, func() int { return 0 }, func() uint64 { return 0 })
	var published []nowplaying.Snapshot
	w.Publish = func(id uint64, data []byte) {
		var s nowplaying.Snapshot
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatalf("published invalid JSON %s: %v", data, err)
		}
		published = append(published, s)
	}
	for range 5 {
		w.Poll(context.Background())
	}

	for line, times := range map[string]int{
		`"msg":"icecast reports mounts not in ONAIR_MOUNTS; ignoring them","unknown_mounts":["/test.mp3"]`: 1,
		`"msg":"icecast read failed; serving the last known state marked stale","reason":"malformed"`:      1,
		`"msg":"icecast readable again"`: 1,
	} {
		if n := strings.Count(logs.String(), line); n != times {
			t.Errorf("log line %s appears %d times, want %d:\n%s", line, n, times, logs.String())
		}
	}
	// Live, stale (still live), fresh again: three changes.
	if len(published) != 3 || !published[1].Stale || published[2].Stale {
		t.Errorf("published %+v; want live, stale, fresh", published)
	}
	if m, _ := published[1].Find("/live.mp3"); !m.Live {
		t.Errorf("stale state lost the last known mount: %+v", published[1])
	}
}
