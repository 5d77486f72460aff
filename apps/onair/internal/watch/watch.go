// Package watch runs onair's poll loop: it reads Icecast at a fixed interval,
// updates the now-playing state, publishes changes and queues announcements.
package watch

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/datafruits/infra/apps/onair/internal/icecast"
	"github.com/datafruits/infra/apps/onair/internal/metrics"
	"github.com/datafruits/infra/apps/onair/internal/nowplaying"
)

// Fetcher reads Icecast's status.
type Fetcher interface {
	Fetch(ctx context.Context) (icecast.Status, error)
}

// Watcher polls Icecast and keeps the current now-playing snapshot.
type Watcher struct {
	fetcher  Fetcher
	tracker  *nowplaying.Tracker
	interval time.Duration
	timeout  time.Duration
	logger   *slog.Logger
	// Publish receives every changed snapshot as one line of JSON, with an increasing id.
	Publish func(id uint64, data []byte)
	// Announce receives every announcement due; it must not block.
	Announce func(nowplaying.Announcement)
	// Metrics, when set, is updated on every poll.
	Metrics *metrics.Metrics

	current  atomic.Pointer[nowplaying.Snapshot]
	version  uint64
	lastErr  string
	problems []string
	unknown  []string
}

// New returns a Watcher that reads fetcher every interval, each read bounded by timeout.
func New(fetcher Fetcher, tracker *nowplaying.Tracker, interval, timeout time.Duration, logger *slog.Logger) *Watcher {
	w := &Watcher{fetcher: fetcher, tracker: tracker, interval: interval, timeout: timeout, logger: logger}
	initial := tracker.Snapshot()
	w.current.Store(&initial)
	return w
}

// Snapshot returns the current state; safe for concurrent use.
func (w *Watcher) Snapshot() nowplaying.Snapshot { return *w.current.Load() }

// Run polls until ctx ends, starting at once.
func (w *Watcher) Run(ctx context.Context) {
	w.publish(w.Snapshot())
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for {
		w.Poll(ctx)
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return
		}
	}
}

// Poll reads Icecast once and applies the result.
func (w *Watcher) Poll(ctx context.Context) {
	fetchCtx, cancel := context.WithTimeout(ctx, w.timeout)
	status, err := w.fetcher.Fetch(fetchCtx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	prev := w.Snapshot()

	var result nowplaying.Result
	if err != nil {
		reason := icecast.ErrorReason(err)
		if w.Metrics != nil {
			w.Metrics.PollErrors.WithLabelValues(reason).Inc()
		}
		if msg := err.Error(); msg != w.lastErr {
			w.logger.Warn("icecast read failed; serving the last known state marked stale",
				"reason", reason, "error", msg)
			w.lastErr = msg
		}
		result = w.tracker.Fail(now, err)
	} else {
		if w.lastErr != "" {
			w.logger.Info("icecast readable again", "server_id", status.ServerID)
			w.lastErr = ""
		}
		w.noteProblems(status.Problems)
		result = w.tracker.Observe(now, status)
		w.noteUnknownMounts(result.UnknownMounts)
	}

	w.current.Store(&result.Snapshot)
	if result.Changed {
		w.logTransitions(prev, result.Snapshot)
		w.publish(result.Snapshot)
		if w.Metrics != nil {
			w.Metrics.StateChanges.Inc()
		}
	}
	for _, a := range result.Announcements {
		w.logger.Info("announcing", "kind", a.Kind, "mount", a.Mount, "title", a.Title)
		if w.Announce != nil {
			w.Announce(a)
		}
	}
}

func (w *Watcher) publish(s nowplaying.Snapshot) {
	if w.Publish == nil {
		return
	}
	data, err := json.Marshal(s)
	if err != nil {
		w.logger.Error("cannot encode the now-playing state", "error", err)
		return
	}
	w.version++
	w.Publish(w.version, data)
}

func (w *Watcher) noteProblems(problems []string) {
	if w.Metrics != nil {
		w.Metrics.InvalidSources.Add(float64(len(problems)))
	}
	if !slices.Equal(problems, w.problems) && len(problems) > 0 {
		w.logger.Warn("icecast status has unusable source entries; skipping them", "problems", problems)
	}
	w.problems = problems
}

func (w *Watcher) noteUnknownMounts(unknown []string) {
	if w.Metrics != nil {
		w.Metrics.UnknownMounts.Set(float64(len(unknown)))
	}
	if !slices.Equal(unknown, w.unknown) && len(unknown) > 0 {
		w.logger.Warn("icecast reports mounts not in ONAIR_MOUNTS; ignoring them", "unknown_mounts", unknown)
	}
	w.unknown = unknown
}

func (w *Watcher) logTransitions(prev, next nowplaying.Snapshot) {
	for _, m := range next.Mounts {
		before, _ := prev.Find(m.Mount)
		switch {
		case m.Live && !before.Live:
			w.logger.Info("source connected", "mount", m.Mount, "title", m.Title, "stale", next.Stale)
		case !m.Live && before.Live:
			w.logger.Info("source disconnected", "mount", m.Mount, "stale", next.Stale)
		}
	}
	w.logger.Debug("now-playing changed", "state", next)
}
