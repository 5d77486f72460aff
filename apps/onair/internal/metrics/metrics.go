// Package metrics defines onair's Prometheus metrics.
//
// Per-mount gauges are computed from the current now-playing snapshot at
// scrape time, so a mount that went off air reports 0 rather than vanishing,
// and "seconds since the source connected" is exact at every scrape.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/datafruits/infra/apps/onair/internal/nowplaying"
)

// Metrics holds the counters and gauges the service updates as it runs.
type Metrics struct {
	// PollErrors counts failed reads of Icecast by reason.
	PollErrors *prometheus.CounterVec
	// InvalidSources counts source entries skipped as unusable.
	InvalidSources prometheus.Counter
	// UnknownMounts is the number of mounts Icecast reports that are not configured.
	UnknownMounts prometheus.Gauge
	// StateChanges counts now-playing changes published to event streams.
	StateChanges prometheus.Counter
	// DiscordMessages counts announcements by kind and result.
	DiscordMessages *prometheus.CounterVec
}

// New registers onair's metrics on reg, all labelled with station. snapshot
// returns the current state; streamClients and eventsSent report the event stream.
func New(reg prometheus.Registerer, station string, snapshot func() nowplaying.Snapshot,
	streamClients func() int, eventsSent func() uint64) *Metrics {
	labels := prometheus.Labels{"station": station}
	m := &Metrics{
		PollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onair_icecast_poll_errors_total", ConstLabels: labels,
			Help: "Failed reads of Icecast's status-json.xsl, by reason: unreachable, http_status, malformed, other.",
		}, []string{"reason"}),
		InvalidSources: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "onair_icecast_invalid_sources_total", ConstLabels: labels,
			Help: "Source entries in the status document skipped because they were unusable (no listenurl).",
		}),
		UnknownMounts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "onair_unknown_mounts", ConstLabels: labels,
			Help: "Mounts Icecast reports that are not in ONAIR_MOUNTS (not reported or announced).",
		}),
		StateChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "onair_state_changes_total", ConstLabels: labels,
			Help: "Now-playing changes published to event-stream clients.",
		}),
		DiscordMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onair_discord_messages_total", ConstLabels: labels,
			Help: "Discord announcements by kind (live, off_air) and result (sent, failed, dropped).",
		}, []string{"kind", "result"}),
	}
	// Series exist from the start, so rate() and alerts see the first increment.
	for _, reason := range []string{"unreachable", "http_status", "malformed", "other"} {
		m.PollErrors.WithLabelValues(reason)
	}
	for _, kind := range []string{"live", "off_air"} {
		for _, result := range []string{"sent", "failed", "dropped"} {
			m.DiscordMessages.WithLabelValues(kind, result)
		}
	}
	reg.MustRegister(
		m.PollErrors, m.InvalidSources, m.UnknownMounts, m.StateChanges, m.DiscordMessages,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "onair_sse_clients", ConstLabels: labels,
			Help: "Connected event-stream (GET /now-playing/events) clients.",
		}, func() float64 { return float64(streamClients()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "onair_sse_events_sent_total", ConstLabels: labels,
			Help: "Events written to event-stream clients.",
		}, func() float64 { return float64(eventsSent()) }),
		newSnapshotCollector(snapshot, labels),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

type snapshotCollector struct {
	snapshot                                                func() nowplaying.Snapshot
	listeners, connected, connectedSeconds, up, lastSuccess *prometheus.Desc
}

func newSnapshotCollector(snapshot func() nowplaying.Snapshot, labels prometheus.Labels) *snapshotCollector {
	mount := []string{"mount"}
	return &snapshotCollector{
		snapshot: snapshot,
		listeners: prometheus.NewDesc("onair_listeners",
			"Listeners connected to the mount (last known value while Icecast cannot be read).", mount, labels),
		connected: prometheus.NewDesc("onair_source_connected",
			"1 while a source is connected to the mount, else 0.", mount, labels),
		connectedSeconds: prometheus.NewDesc("onair_source_connected_seconds",
			"Seconds since the mount's source connected; 0 while no source is connected.", mount, labels),
		up: prometheus.NewDesc("onair_icecast_up",
			"1 if the last read of Icecast's status succeeded, else 0 (mount metrics are then last known values).", nil, labels),
		lastSuccess: prometheus.NewDesc("onair_icecast_last_success_timestamp_seconds",
			"Unix time of the last successful read of Icecast's status; 0 before the first.", nil, labels),
	}
}

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.listeners, c.connected, c.connectedSeconds, c.up, c.lastSuccess} {
		ch <- d
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	now := time.Now()
	gauge := func(d *prometheus.Desc, v float64, labelValues ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labelValues...)
	}
	gauge(c.up, boolValue(!s.Stale))
	lastSuccess := 0.0
	if !s.UpdatedAt.IsZero() {
		lastSuccess = float64(s.UpdatedAt.UnixNano()) / 1e9
	}
	gauge(c.lastSuccess, lastSuccess)
	for _, m := range s.Mounts {
		gauge(c.listeners, float64(m.Listeners), m.Mount)
		gauge(c.connected, boolValue(m.Live), m.Mount)
		seconds := 0.0
		if m.Live && !m.Since.IsZero() {
			seconds = max(0, now.Sub(m.Since).Seconds())
		}
		gauge(c.connectedSeconds, seconds, m.Mount)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
