package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDiscord stands in for Discord's webhook endpoint: it fails the first
// failures requests with status, then accepts.
type fakeDiscord struct {
	mu       sync.Mutex
	failures int
	status   int
	calls    atomic.Int32
	received []map[string]any
}

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failures > 0 {
		f.failures--
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0.05")
		}
		w.WriteHeader(f.status)
		return
	}
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	f.received = append(f.received, body)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeDiscord) contents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.received {
		out = append(out, b["content"].(string))
	}
	return out
}

// syncBuffer is a log sink safe to read while the notifier writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func newNotifier(url string, logs *syncBuffer, results *[]string) *Notifier {
	var mu sync.Mutex
	n := NewNotifier(url, http.DefaultClient, slog.New(slog.NewJSONHandler(logs, nil)), 8)
	n.Backoff, n.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	n.Result = func(kind, result string) {
		mu.Lock()
		defer mu.Unlock()
		*results = append(*results, kind+":"+result)
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestFailuresAreRetriedInOrder(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusTooManyRequests} {
		fake := &fakeDiscord{failures: 2, status: status}
		srv := httptest.NewServer(fake)
		var logs syncBuffer
		var results []string
		n := newNotifier(srv.URL+"/api/webhooks/1/secret-token", &logs, &results)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { n.Run(ctx); close(done) }()

		n.Notify(Message{Kind: "live", Content: "Show is live on datafruits"})
		n.Notify(Message{Kind: "off_air", Content: "Show has gone off air"})
		waitFor(t, "both messages", func() bool { return len(fake.contents()) == 2 })
		cancel()
		<-done
		srv.Close()

		if got := strings.Join(fake.contents(), " | "); got != "Show is live on datafruits | Show has gone off air" {
			t.Errorf("HTTP %d: received %q, want both in order", status, got)
		}
		if fake.calls.Load() != 4 {
			t.Errorf("HTTP %d: %d calls, want 4 (2 failures, 2 successes)", status, fake.calls.Load())
		}
		if strings.Join(results, ",") != "live:sent,off_air:sent" {
			t.Errorf("results = %q", results)
		}
		if allowed, _ := fake.received[0]["allowed_mentions"].(map[string]any); allowed == nil {
			t.Errorf("payload %v does not disable mentions", fake.received[0])
		}
		if !strings.Contains(logs.String(), "will retry") {
			t.Errorf("no retry logged:\n%s", logs.String())
		}
	}
}

func TestGivesUpOnPermanentRejectionAndNeverLogsTheURL(t *testing.T) {
	fake := &fakeDiscord{failures: 100, status: http.StatusNotFound}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var logs syncBuffer
	var results []string
	n := newNotifier(srv.URL+"/api/webhooks/1/secret-token", &logs, &results)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	n.Notify(Message{Kind: "live", Content: "x"})
	waitFor(t, "the failure", func() bool { return strings.Contains(logs.String(), "giving up") })
	if fake.calls.Load() != 1 {
		t.Errorf("%d calls for a 404, want 1 (no retry)", fake.calls.Load())
	}

	// An unreachable webhook: net/http's error text would contain the URL.
	srv.Close()
	logs.Reset()
	n.Notify(Message{Kind: "live", Content: "x"})
	waitFor(t, "the failure", func() bool { return strings.Contains(logs.String(), "giving up") })
	if strings.Contains(logs.String(), "secret-token") {
		t.Errorf("logs reveal the webhook URL:\n%s", logs.String())
	}
}

func TestNotifyDoesNotBlockWhenDiscordHangs(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	var logs syncBuffer
	var results []string
	n := newNotifier(srv.URL, &logs, &results)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)

	start := time.Now()
	for range 20 {
		n.Notify(Message{Kind: "live", Content: "x"})
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Notify blocked for %s", elapsed)
	}
	if !strings.Contains(logs.String(), "queue full") {
		t.Errorf("overflow not logged:\n%s", logs.String())
	}
}
