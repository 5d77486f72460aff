// Package httpapi serves onair's HTTP endpoints.
package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/datafruits/infra/apps/onair/internal/nowplaying"
)

// Handler returns the service's routes:
//
//	GET /now-playing         the current state; ?mount=/x for one mount
//	GET /now-playing/events  Server-Sent Events: the current state, then each change
//	GET /metrics             Prometheus metrics
//	GET /livez               200 while the process runs
//	GET /readyz              200 while the last read of Icecast succeeded
//
// The two now-playing endpoints answer cross-origin requests from allowedOrigins only.
func Handler(snapshot func() nowplaying.Snapshot, events http.Handler, gatherer prometheus.Gatherer, allowedOrigins []string) http.Handler {
	cors := corsFor(allowedOrigins)
	mux := http.NewServeMux()
	mux.Handle("GET /now-playing", cors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := snapshot()
		if mount := r.URL.Query().Get("mount"); mount != "" {
			m, ok := s.Find(mount)
			if !ok {
				known := make([]string, len(s.Mounts))
				for i, m := range s.Mounts {
					known[i] = m.Mount
				}
				writeJSON(w, http.StatusNotFound, map[string]any{"error": "unknown mount " + mount, "mounts": known})
				return
			}
			s.Mounts = []nowplaying.Mount{m}
		}
		writeJSON(w, http.StatusOK, s)
	})))
	mux.Handle("GET /now-playing/events", cors(events))
	mux.Handle("OPTIONS /now-playing", cors(http.NotFoundHandler()))
	mux.Handle("OPTIONS /now-playing/events", cors(http.NotFoundHandler()))
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s := snapshot(); s.Stale {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "icecast unreachable", "error": s.Error})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

// corsFor allows simple GET requests and their preflights from the given
// origins only. Requests from other origins get no CORS headers, so browsers
// keep the response from the page.
func corsFor(allowed []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Origin")
			origin := r.Header.Get("Origin")
			ok := origin != "" && slices.Contains(allowed, strings.TrimRight(origin, "/"))
			if ok {
				w.Header().Set("Access-Control-Allow-Origin", origin)
			}
			if r.Method == http.MethodOptions {
				if !ok {
					w.WriteHeader(http.StatusForbidden)
					return
				}
				w.Header().Set("Access-Control-Allow-Methods", "GET")
				w.Header().Set("Access-Control-Allow-Headers", "Last-Event-ID, Cache-Control")
				w.Header().Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
