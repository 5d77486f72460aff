package icecast

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
)

func statusServer(t *testing.T, figures func() map[string]int, up *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if up != nil && !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		listeners := figures()
		doc := `{"icestats":{"server_id":"Icecast 2.4.4","source":[`
		first := true
		for _, m := range []string{"/datafruits.mp3", "/datafruits.ogg"} {
			n, ok := listeners[m]
			if !ok {
				continue
			}
			if !first {
				doc += ","
			}
			first = false
			doc += fmt.Sprintf(`{"listenurl":"http://x:8000%s","listeners":%d,"title":"LIVE -- dj"}`, m, n)
		}
		fmt.Fprint(w, doc+`]}}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFleetSumsListenersOverRelays: the source counts each relay as one listener per mount;
// the fleet reports the relays' listeners plus the source's direct ones, and keeps a
// restarting relay's last figures.
func TestFleetSumsListenersOverRelays(t *testing.T) {
	// Two relays connected to the source (one connection per mount each) and one direct listener.
	var relay2Up atomic.Bool
	relay2Up.Store(true)
	fixed := func(m map[string]int) func() map[string]int { return func() map[string]int { return m } }
	source := statusServer(t, func() map[string]int {
		if relay2Up.Load() {
			return map[string]int{"/datafruits.mp3": 3, "/datafruits.ogg": 2}
		}
		// The source no longer sees relay 2's connections either.
		return map[string]int{"/datafruits.mp3": 2, "/datafruits.ogg": 1}
	}, nil)
	relay1 := statusServer(t, fixed(map[string]int{"/datafruits.mp3": 6, "/datafruits.ogg": 4}), nil)
	relay2 := statusServer(t, fixed(map[string]int{"/datafruits.mp3": 4, "/datafruits.ogg": 6}), &relay2Up)
	u, _ := url.Parse(source.URL)
	fleet := NewFleet(NewClient(u, source.Client()), []string{relay1.URL, relay2.URL}, source.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	want := map[string]int{"/datafruits.mp3": 1 + 6 + 4, "/datafruits.ogg": 0 + 4 + 6}
	check := func(when string) {
		st, err := fleet.Fetch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st.Sources {
			if s.Listeners != want[s.Mount] {
				t.Errorf("%s: %s has %d listeners, want %d", when, s.Mount, s.Listeners, want[s.Mount])
			}
		}
	}
	check("all relays up")
	relay2Up.Store(false)
	check("relay 2 restarting")
}

func TestValidRelay(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://127.0.0.1:8000": true, "dns+http://relay-headless.ns.svc.cluster.local:8000": true,
		"dns+http://relay-headless": false, "relay:8000": false, "ftp://x": false,
	} {
		if err := ValidRelay(raw); (err == nil) != ok {
			t.Errorf("%s: got %v, want valid=%v", raw, err, ok)
		}
	}
}
