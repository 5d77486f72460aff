package icecast

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Fleet reads the source server and its listener relays and reports the source's mounts
// with the listeners of the whole fleet: a source attaches to one Icecast and listeners
// connect to relays, so the source alone counts the relays, not the listeners.
//
// Listeners of a mount = the source's listeners of it, less one connection per relay
// that relays it, plus each relay's listeners of it. A relay that cannot be read (it is
// restarting) counts with its last known figures for KeepFor, so a restart does not make
// the audience drop and come back.
// Fleet reads relays one after another within the poll's timeout.
type Fleet struct {
	source  *Client
	relays  []string
	http    *http.Client
	resolve func(ctx context.Context, host string) ([]string, error)
	logger  *slog.Logger
	// KeepFor is how long a relay's last figures count after it stops answering.
	KeepFor time.Duration

	mu   sync.Mutex
	last map[string]relayFigures
}

type relayFigures struct {
	at        time.Time
	listeners map[string]int
}

// NewFleet returns a Fleet over the source server at sourceURL and the relays. Each relay is
// an http(s) URL, or dns+http://name:port for every address name resolves to (a headless
// Service of autoscaled relays), resolved on every read.
func NewFleet(source *Client, relays []string, httpClient *http.Client, logger *slog.Logger) *Fleet {
	return &Fleet{
		source: source, relays: relays, http: httpClient, logger: logger, KeepFor: 30 * time.Second,
		resolve: net.DefaultResolver.LookupHost, last: map[string]relayFigures{},
	}
}

// ValidRelay says whether a relay entry can be read: http(s)://host[:port] or dns+http(s)://name:port.
func ValidRelay(raw string) error {
	u, err := url.Parse(strings.TrimPrefix(raw, "dns+"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want http(s)://host:port or dns+http://name:port")
	}
	if strings.HasPrefix(raw, "dns+") && u.Port() == "" {
		return fmt.Errorf("a dns+ relay needs a port")
	}
	return nil
}

// Fetch reads the source and every relay and returns the source's status with fleet-wide listeners.
func (f *Fleet) Fetch(ctx context.Context) (Status, error) {
	status, err := f.source.Fetch(ctx)
	if err != nil {
		return status, err
	}
	now := time.Now()
	relaying := map[string]int{}
	for _, base := range f.expand(ctx) {
		u, err := url.Parse(base)
		if err != nil {
			continue
		}
		st, err := NewClient(u, f.http).Fetch(ctx)
		if err != nil {
			f.logger.Debug("relay unreadable; keeping its last figures", "relay", base, "error", err)
			continue
		}
		figures := map[string]int{}
		for _, s := range st.Sources {
			figures[s.Mount] = s.Listeners
			relaying[s.Mount]++
		}
		f.mu.Lock()
		f.last[base] = relayFigures{at: now, listeners: figures}
		f.mu.Unlock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for base, fig := range f.last {
		// A relay silent past KeepFor (scaled in, or a restarted pod under a new address)
		// no longer counts; until then its listeners may be counted twice if they moved.
		if now.Sub(fig.at) > f.KeepFor {
			delete(f.last, base)
		}
	}
	for i := range status.Sources {
		s := &status.Sources[i]
		total := s.Listeners - relaying[s.Mount]
		if total < 0 {
			total = 0
		}
		for _, fig := range f.last {
			total += fig.listeners[s.Mount]
		}
		s.Listeners = total
	}
	return status, nil
}

// expand turns the relay entries into base URLs, resolving dns+ entries.
func (f *Fleet) expand(ctx context.Context) []string {
	var out []string
	for _, r := range f.relays {
		if !strings.HasPrefix(r, "dns+") {
			out = append(out, r)
			continue
		}
		u, err := url.Parse(strings.TrimPrefix(r, "dns+"))
		if err != nil {
			continue
		}
		addrs, err := f.resolve(ctx, u.Hostname())
		if err != nil {
			f.logger.Debug("relay lookup failed", "relay", r, "error", err)
			continue
		}
		sort.Strings(addrs)
		for _, a := range addrs {
			out = append(out, u.Scheme+"://"+net.JoinHostPort(a, u.Port()))
		}
	}
	return out
}
