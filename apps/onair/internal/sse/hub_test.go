package sse

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// stream is a test client reading one event stream line by line.
type stream struct {
	resp  *http.Response
	lines chan string
}

func connect(t *testing.T, url string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := &stream{resp: resp, lines: make(chan string, 100)}
	go func() {
		defer close(s.lines)
		scanner := bufio.NewScanner(resp.Body)
		for scanner.Scan() {
			s.lines <- scanner.Text()
		}
	}()
	return s
}

// next returns the next line starting with prefix, skipping others.
func (s *stream) next(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("stream ended while waiting for %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-deadline:
			t.Fatalf("no line starting with %q within 10s", prefix)
		}
	}
}

func TestEveryClientGetsTheCurrentAndEachNewEvent(t *testing.T) {
	hub := NewHub("now-playing", time.Hour, 10)
	hub.Publish(1, []byte(`{"n":1}`))
	srv := httptest.NewServer(hub)
	defer srv.Close()
	// Streams must end before srv.Close, which waits for every handler.
	defer hub.Close()

	a, b := connect(t, srv.URL), connect(t, srv.URL)
	if ct := a.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, s := range []*stream{a, b} {
		if got := s.next(t, "data:"); got != `data: {"n":1}` {
			t.Errorf("first event = %q, want the current state", got)
		}
	}
	hub.Publish(2, []byte(`{"n":2}`))
	for _, s := range []*stream{a, b} {
		if got := s.next(t, "id:"); got != "id: 2" {
			t.Errorf("id = %q", got)
		}
		if got := s.next(t, "event:"); got != "event: now-playing" {
			t.Errorf("event = %q", got)
		}
		if got := s.next(t, "data:"); got != `data: {"n":2}` {
			t.Errorf("second event = %q", got)
		}
	}
	// The hub counts an event after writing it, so the count may trail the clients briefly.
	for deadline := time.Now().Add(10 * time.Second); hub.EventsSent() < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if hub.Clients() != 2 || hub.EventsSent() != 4 {
		t.Errorf("Clients = %d, EventsSent = %d; want 2 and 4", hub.Clients(), hub.EventsSent())
	}
}

func TestIdleClientsGetHeartbeats(t *testing.T) {
	hub := NewHub("now-playing", time.Second, 10)
	srv := httptest.NewServer(hub)
	defer srv.Close()
	defer hub.Close()
	s := connect(t, srv.URL)
	s.next(t, ": heartbeat")
}

func TestClientsBeyondTheLimitAreRefused(t *testing.T) {
	hub := NewHub("now-playing", time.Hour, 1)
	srv := httptest.NewServer(hub)
	defer srv.Close()
	defer hub.Close()
	connect(t, srv.URL).next(t, "retry:")
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second client got %d, want 503", resp.StatusCode)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	hub := NewHub("now-playing", time.Hour, 10)
	srv := httptest.NewServer(hub)
	defer srv.Close()
	s := connect(t, srv.URL)
	s.next(t, "retry:")
	hub.Close()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-s.lines:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("stream still open 10s after Close")
		}
	}
}
