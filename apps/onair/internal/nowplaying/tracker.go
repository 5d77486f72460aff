// Package nowplaying turns successive Icecast status reads into the station's
// now-playing state, and decides which changes deserve an announcement.
package nowplaying

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/datafruits/infra/apps/onair/internal/icecast"
)

// Snapshot is the station's state as served by GET /now-playing and pushed to event streams.
type Snapshot struct {
	// Station is the station's name.
	Station string `json:"station"`
	// Stale is true when the last read of Icecast failed: the mounts are the last known state.
	Stale bool `json:"stale"`
	// Error says why the state is stale.
	Error string `json:"error,omitempty"`
	// UpdatedAt is when Icecast was last read successfully.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// ChangedAt is when this state was first seen.
	ChangedAt time.Time `json:"changed_at,omitzero"`
	// Mounts are the known mounts, sorted by name.
	Mounts []Mount `json:"mounts"`
}

// Mount is the state of one mount.
type Mount struct {
	// Mount is the mount point, such as "/datafruits.mp3".
	Mount string `json:"mount"`
	// Live is true while a source is connected.
	Live bool `json:"live"`
	// Title is the show's title: the stream title, else the source's stream name.
	Title string `json:"title,omitempty"`
	// Listeners is the number of connected listeners.
	Listeners int `json:"listeners"`
	// Since is when the source connected (if live) or was last seen leaving (if not).
	Since time.Time `json:"since,omitzero"`
	// ListenURL is the public URL to listen to the mount.
	ListenURL string `json:"listen_url"`
}

// Find returns the named mount.
func (s Snapshot) Find(mount string) (Mount, bool) {
	i := slices.IndexFunc(s.Mounts, func(m Mount) bool { return m.Mount == mount })
	if i < 0 {
		return Mount{}, false
	}
	return s.Mounts[i], true
}

// AnnouncementKind says what an announcement is about.
type AnnouncementKind string

const (
	// WentLive is announced when a source connects.
	WentLive AnnouncementKind = "live"
	// WentOffAir is announced when a source has been gone for the grace period.
	WentOffAir AnnouncementKind = "off_air"
)

// Announcement is a change worth telling the community about.
type Announcement struct {
	Kind      AnnouncementKind
	Station   string
	Mount     string
	Title     string
	ListenURL string
}

// Message is the announcement as a Discord message.
func (a Announcement) Message() string {
	if a.Kind == WentLive {
		return fmt.Sprintf("%s is live on %s! Listen: %s", a.Title, a.Station, a.ListenURL)
	}
	return fmt.Sprintf("%s has gone off air on %s.", a.Title, a.Station)
}

// Result is what one observation changed.
type Result struct {
	// Snapshot is the state after the observation.
	Snapshot Snapshot
	// Changed is true when the state differs from the previous one in more than timestamps.
	Changed bool
	// Announcements are the announcements due now.
	Announcements []Announcement
	// UnknownMounts are mounts Icecast reports that are not configured, sorted.
	UnknownMounts []string
}

// Tracker keeps the station's state across Icecast reads. It is not safe for
// concurrent use: one poll loop owns it.
type Tracker struct {
	station     string
	listenBase  string
	grace       time.Duration
	configured  map[string]bool
	mounts      map[string]*mountState
	current     Snapshot
	initialized bool
	// livePrefix and announceMount: see AnnounceLiveTitles.
	livePrefix    string
	announceMount string
}

// AnnounceLiveTitles makes the tracker announce a DJ going live instead of a source
// connecting: behind Liquidsoap the mounts never drop (the fallback keeps them up), and a
// DJ taking over shows as a title starting with prefix (Liquidsoap's "LIVE -- <dj>").
// Only mount is announced, so a station with .mp3 and .ogg mounts says it once.
func (t *Tracker) AnnounceLiveTitles(prefix, mount string) {
	t.livePrefix, t.announceMount = prefix, mount
}

type mountState struct {
	Mount
	// announcedLive is true between a "live" announcement (or a source found
	// live at start-up) and its "off air" announcement.
	announcedLive  bool
	announcedTitle string
	// goneAt is when the source left; zero while live or once the drop is announced.
	goneAt time.Time
}

// NewTracker returns a Tracker for station. listenBase is the public listen URL
// base; grace is how long a source may be gone before its drop is announced;
// mounts, when not empty, are the only mounts tracked.
func NewTracker(station, listenBase string, grace time.Duration, mounts []string) *Tracker {
	t := &Tracker{
		station:    station,
		listenBase: listenBase,
		grace:      grace,
		mounts:     map[string]*mountState{},
	}
	if len(mounts) > 0 {
		t.configured = map[string]bool{}
		for _, m := range mounts {
			t.configured[m] = true
			t.mounts[m] = &mountState{Mount: Mount{Mount: m, ListenURL: listenBase + m}}
		}
	}
	t.current = Snapshot{Station: station, Stale: true, Error: "icecast not read yet", Mounts: t.mountList()}
	return t
}

// Snapshot returns the current state.
func (t *Tracker) Snapshot() Snapshot { return t.current }

// Observe records a successful read of Icecast at now.
//
// A source already live at the first read is not announced: onair restarting
// during a show must not announce it again. A source that reconnects within
// the grace period is not announced again unless its title changed (another
// show took over the mount).
func (t *Tracker) Observe(now time.Time, status icecast.Status) Result {
	var announcements []Announcement
	var unknown []string
	seen := map[string]bool{}
	for _, source := range status.Sources {
		if t.configured != nil && !t.configured[source.Mount] {
			unknown = append(unknown, source.Mount)
			continue
		}
		seen[source.Mount] = true
		m := t.mounts[source.Mount]
		if m == nil {
			m = &mountState{Mount: Mount{Mount: source.Mount, ListenURL: t.listenBase + source.Mount}}
			t.mounts[source.Mount] = m
		}
		title := firstNonEmpty(source.Title, source.ServerName, t.station)
		previousTitle := m.Title
		wasLive := m.Live
		if !wasLive {
			m.Since = now
		}
		if !source.StreamStart.IsZero() {
			m.Since = source.StreamStart
		}
		m.Live, m.Title, m.Listeners, m.goneAt = true, title, source.Listeners, time.Time{}

		switch {
		case !t.initialized:
			m.announcedLive, m.announcedTitle = true, title
		case t.livePrefix != "":
			m.announcedLive = true
			if source.Mount == t.announceMount && strings.HasPrefix(title, t.livePrefix) && title != previousTitle {
				announcements = append(announcements, t.announce(WentLive, source.Mount, title))
			}
			m.announcedTitle = title
		case !m.announcedLive || !wasLive && title != m.announcedTitle:
			announcements = append(announcements, t.announce(WentLive, source.Mount, title))
			m.announcedLive, m.announcedTitle = true, title
		}
	}

	for name, m := range t.mounts {
		if seen[name] {
			continue
		}
		if m.Live {
			m.Live, m.Listeners, m.Since, m.goneAt = false, 0, now, now
		}
		if m.announcedLive && !m.goneAt.IsZero() && now.Sub(m.goneAt) >= t.grace && (t.announceMount == "" || name == t.announceMount) {
			announcements = append(announcements, t.announce(WentOffAir, name, m.announcedTitle))
			m.announcedLive, m.goneAt = false, time.Time{}
		}
	}
	t.initialized = true
	slices.Sort(unknown)
	return t.commit(now, Snapshot{Station: t.station, UpdatedAt: now, Mounts: t.mountList()}, announcements, unknown)
}

// Fail records a failed read of Icecast at now. The last known mounts are kept,
// marked stale, and no announcement is made: a source cannot be judged gone
// while Icecast cannot be read.
func (t *Tracker) Fail(now time.Time, err error) Result {
	next := t.current
	next.Stale, next.Error = true, err.Error()
	return t.commit(now, next, nil, nil)
}

func (t *Tracker) commit(now time.Time, next Snapshot, announcements []Announcement, unknown []string) Result {
	prev := t.current
	changed := prev.Stale != next.Stale || !slices.Equal(prev.Mounts, next.Mounts)
	next.ChangedAt = prev.ChangedAt
	if changed || next.ChangedAt.IsZero() {
		next.ChangedAt = now
	}
	if next.UpdatedAt.IsZero() {
		next.UpdatedAt = prev.UpdatedAt
	}
	t.current = next
	return Result{Snapshot: next, Changed: changed, Announcements: announcements, UnknownMounts: unknown}
}

func (t *Tracker) announce(kind AnnouncementKind, mount, title string) Announcement {
	return Announcement{Kind: kind, Station: t.station, Mount: mount, Title: title, ListenURL: t.listenBase + mount}
}

func (t *Tracker) mountList() []Mount {
	list := make([]Mount, 0, len(t.mounts))
	for _, m := range t.mounts {
		list = append(list, m.Mount)
	}
	slices.SortFunc(list, func(a, b Mount) int {
		if a.Mount < b.Mount {
			return -1
		}
		if a.Mount > b.Mount {
			return 1
		}
		return 0
	})
	return list
}

// unspecifiedName is what Icecast reports for a source that sent no ice-name.
const unspecifiedName = "Unspecified name"

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" && v != unspecifiedName {
			return v
		}
	}
	return ""
}
