// Package announce posts each newly archived broadcast to a Discord webhook, at most once.
//
// The row is marked "sending" and committed before the request goes out. A definite failure
// (no connection, or an error status) puts it back as pending with backoff; a request whose
// fate is unknown (a timeout after it was sent, or a crash) is never sent again.
package announce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/catalog"
	"github.com/datafruits/infra/apps/archiver/internal/metrics"
)

// MetricAnnouncements counts webhook attempts by result (sent, retry, unknown).
const MetricAnnouncements = "archiver_announcements_total"

// DeclareMetrics declares the announcer's series in reg.
func DeclareMetrics(reg *metrics.Registry) {
	reg.Counter(MetricAnnouncements, "Discord announcement attempts by result: sent, retry (definitely not delivered), unknown (never retried).")
}

// Announcer sends due announcements.
type Announcer struct {
	db         *catalog.Catalog
	webhookURL string
	client     *http.Client
	log        *slog.Logger
	metrics    *metrics.Registry
	wake       chan struct{}
	poll       time.Duration
	maxBackoff time.Duration
}

// New returns an Announcer posting to webhookURL.
func New(db *catalog.Catalog, webhookURL string, log *slog.Logger, reg *metrics.Registry) *Announcer {
	return &Announcer{
		db: db, webhookURL: webhookURL, log: log, metrics: reg,
		client:     &http.Client{Timeout: 15 * time.Second},
		wake:       make(chan struct{}, 1),
		poll:       2 * time.Second,
		maxBackoff: 30 * time.Minute,
	}
}

// Wake tells the announcer a new row may be due; it never blocks.
func (a *Announcer) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Run sends announcements until ctx is done. ready reports when the schema exists.
func (a *Announcer) Run(ctx context.Context, ready func() bool) {
	abandoned := false
	for {
		if ready() {
			if !abandoned {
				n, err := a.db.AbandonInterruptedAnnouncements(ctx)
				if err == nil {
					abandoned = true
					if n > 0 {
						a.log.Warn("announcements interrupted by an earlier run are not sent again (at most once)", "count", n)
						a.metrics.Add(MetricAnnouncements, float64(n), "result", "unknown")
					}
				}
			}
			for abandoned && ctx.Err() == nil && a.sendNext(ctx) {
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		case <-time.After(a.poll):
		}
	}
}

// sendNext sends one due announcement and reports whether there might be more.
func (a *Announcer) sendNext(ctx context.Context) bool {
	rec, attempts, err := a.db.ClaimAnnouncement(ctx)
	if err != nil {
		a.log.Error("cannot read due announcements", "error", err.Error())
		return false
	}
	if rec == nil {
		return false
	}
	// The request must not be cut by shutdown halfway: that would make its outcome unknown.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	retryAfter, err := a.post(sendCtx, rec)
	state, result := catalog.AnnounceSent, "sent"
	var definite *definiteError
	switch {
	case err == nil:
		a.log.Info("announced on Discord", "key", rec.ObjectKey)
	case errors.As(err, &definite):
		state, result = catalog.AnnouncePending, "retry"
		if retryAfter == 0 {
			retryAfter = min(time.Duration(1<<min(attempts, 20))*time.Second, a.maxBackoff)
		}
		a.log.Error("Discord announcement failed; retrying later", "key", rec.ObjectKey, "error", err.Error(),
			"attempt", attempts, "retry_in", retryAfter.String())
	default:
		state, result = catalog.AnnounceUnknown, "unknown"
		a.log.Error("Discord announcement outcome unknown; not retried so it is never posted twice",
			"key", rec.ObjectKey, "error", err.Error())
	}
	a.metrics.Add(MetricAnnouncements, 1, "result", result)
	if err := a.db.FinishAnnouncement(sendCtx, rec.ID, state, retryAfter); err != nil {
		a.log.Error("cannot record the announcement outcome; it will not be sent again", "key", rec.ObjectKey, "error", err.Error())
	}
	return true
}

// definiteError is a failure after which Discord certainly did not post the message.
type definiteError struct{ err error }

func (e *definiteError) Error() string { return e.err.Error() }

// Message is the webhook body for one recording.
func Message(rec *catalog.Recording) ([]byte, error) {
	text := fmt.Sprintf("New in the archive: **%s** on %s, %s UTC", rec.Show, rec.Station, rec.StartedAt.UTC().Format("2006-01-02 15:04"))
	if rec.Duration != nil {
		text += fmt.Sprintf(" (%s)", rec.Duration.Round(time.Second))
	}
	text += "\n" + rec.PublicURL
	return json.Marshal(map[string]any{
		"content": text,
		// Show names come from file names: never let one ping @everyone.
		"allowed_mentions": map[string]any{"parse": []string{}},
	})
}

func (a *Announcer) post(ctx context.Context, rec *catalog.Recording) (time.Duration, error) {
	body, err := Message(rec)
	if err != nil {
		return 0, &definiteError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, &definiteError{errors.New("bad webhook request")}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		// Errors from http.Client carry the URL, which holds the webhook token: log only the cause.
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return 0, &definiteError{fmt.Errorf("cannot connect to the webhook: %v", opErr.Err)}
		}
		var urlErr interface{ Unwrap() error }
		if errors.As(err, &urlErr) {
			err = urlErr.Unwrap()
		}
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return 0, nil
	}
	var retryAfter time.Duration
	if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil && s > 0 {
		retryAfter = time.Duration(s * float64(time.Second))
	}
	return retryAfter, &definiteError{fmt.Errorf("webhook answered %s", resp.Status)}
}
