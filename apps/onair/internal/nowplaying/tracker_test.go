package nowplaying

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datafruits/infra/apps/onair/internal/icecast"
)

var t0 = time.Date(2026, 11, 22, 20, 0, 0, 0, time.UTC)

func live(mount, title string, listeners int) icecast.Source {
	return icecast.Source{Mount: mount, Title: title, Listeners: listeners, StreamStart: t0}
}

func status(sources ...icecast.Source) icecast.Status { return icecast.Status{Sources: sources} }

func kinds(as []Announcement) string {
	var ks []string
	for _, a := range as {
		ks = append(ks, string(a.Kind)+" "+a.Title)
	}
	return strings.Join(ks, ", ")
}

func TestSourceConnectingIsAnnouncedOnce(t *testing.T) {
	tr := NewTracker("datafruits", "https://stream.datafruits.fm", time.Minute, []string{"/live.mp3"})
	if r := tr.Observe(t0, status()); len(r.Announcements) != 0 || !r.Changed {
		t.Fatalf("first empty read: changed=%v announcements=%q; want a change (no longer stale) and no announcement", r.Changed, kinds(r.Announcements))
	}
	r := tr.Observe(t0.Add(5*time.Second), status(live("/live.mp3", "Vaporwave Hour", 0)))
	if !r.Changed || kinds(r.Announcements) != "live Vaporwave Hour" {
		t.Fatalf("source connected: changed=%v announcements=%q", r.Changed, kinds(r.Announcements))
	}
	if got := r.Announcements[0].Message(); got != "Vaporwave Hour is live on datafruits! Listen: https://stream.datafruits.fm/live.mp3" {
		t.Errorf("Message = %q", got)
	}
	m, _ := r.Snapshot.Find("/live.mp3")
	if !m.Live || m.Title != "Vaporwave Hour" || !m.Since.Equal(t0) || m.ListenURL != "https://stream.datafruits.fm/live.mp3" {
		t.Errorf("mount = %+v", m)
	}
	r = tr.Observe(t0.Add(10*time.Second), status(live("/live.mp3", "Vaporwave Hour", 0)))
	if r.Changed || len(r.Announcements) != 0 {
		t.Errorf("same state again: changed=%v announcements=%q; want neither", r.Changed, kinds(r.Announcements))
	}
	r = tr.Observe(t0.Add(15*time.Second), status(live("/live.mp3", "Vaporwave Hour", 7)))
	if !r.Changed || len(r.Announcements) != 0 {
		t.Errorf("listeners changed: changed=%v announcements=%q; want a change and no announcement", r.Changed, kinds(r.Announcements))
	}
}

func TestReconnectWithinGraceIsNotAnnounced(t *testing.T) {
	tr := NewTracker("datafruits", "https://s", time.Minute, nil)
	tr.Observe(t0, status())
	tr.Observe(t0.Add(time.Second), status(live("/live.mp3", "Show", 0)))

	r := tr.Observe(t0.Add(10*time.Second), status())
	if m, _ := r.Snapshot.Find("/live.mp3"); m.Live || !r.Changed || len(r.Announcements) != 0 {
		t.Fatalf("source gone: mount=%+v changed=%v announcements=%q; want not live, a change, no announcement yet", m, r.Changed, kinds(r.Announcements))
	}
	if r := tr.Observe(t0.Add(40*time.Second), status(live("/live.mp3", "Show", 0))); len(r.Announcements) != 0 {
		t.Fatalf("reconnect within grace announced %q", kinds(r.Announcements))
	}
	if r := tr.Observe(t0.Add(3*time.Minute), status(live("/live.mp3", "Show", 0))); len(r.Announcements) != 0 {
		t.Fatalf("still live after the grace period announced %q", kinds(r.Announcements))
	}
}

func TestDropIsAnnouncedAfterGrace(t *testing.T) {
	tr := NewTracker("datafruits", "https://s", time.Minute, nil)
	tr.Observe(t0, status())
	tr.Observe(t0.Add(time.Second), status(live("/live.mp3", "Show", 0)))
	tr.Observe(t0.Add(10*time.Second), status())
	if r := tr.Observe(t0.Add(69*time.Second), status()); len(r.Announcements) != 0 {
		t.Fatalf("announced before the grace period ended: %q", kinds(r.Announcements))
	}
	r := tr.Observe(t0.Add(70*time.Second), status())
	if kinds(r.Announcements) != "off_air Show" {
		t.Fatalf("announcements = %q, want the drop", kinds(r.Announcements))
	}
	if got := r.Announcements[0].Message(); got != "Show has gone off air on datafruits." {
		t.Errorf("Message = %q", got)
	}
	if r := tr.Observe(t0.Add(80*time.Second), status()); len(r.Announcements) != 0 {
		t.Errorf("drop announced twice: %q", kinds(r.Announcements))
	}
	if r := tr.Observe(t0.Add(90*time.Second), status(live("/live.mp3", "Show", 0))); kinds(r.Announcements) != "live Show" {
		t.Errorf("coming back after the drop: announcements = %q, want live again", kinds(r.Announcements))
	}
}

func TestHandoverToAnotherShowWithinGraceIsAnnounced(t *testing.T) {
	tr := NewTracker("datafruits", "https://s", time.Minute, nil)
	tr.Observe(t0, status())
	tr.Observe(t0.Add(time.Second), status(live("/live.mp3", "Early Show", 0)))
	tr.Observe(t0.Add(10*time.Second), status())
	r := tr.Observe(t0.Add(20*time.Second), status(live("/live.mp3", "Late Show", 0)))
	if kinds(r.Announcements) != "live Late Show" {
		t.Errorf("announcements = %q, want the new show", kinds(r.Announcements))
	}
	if r := tr.Observe(t0.Add(30*time.Second), status(live("/live.mp3", "Late Show: track 2", 0))); len(r.Announcements) != 0 {
		t.Errorf("title change while live announced %q", kinds(r.Announcements))
	}
}

func TestSourceLiveAtStartupIsNotAnnouncedButItsDropIs(t *testing.T) {
	tr := NewTracker("datafruits", "https://s", 0, nil)
	if r := tr.Observe(t0, status(live("/live.mp3", "", 0))); len(r.Announcements) != 0 {
		t.Fatalf("announced a show already live at start-up: %q", kinds(r.Announcements))
	}
	if r := tr.Observe(t0.Add(time.Second), status()); kinds(r.Announcements) != "off_air datafruits" {
		t.Errorf("announcements = %q, want the drop titled with the station name (no title, no stream name)", kinds(r.Announcements))
	}
}

func TestFailureKeepsLastKnownStateMarkedStale(t *testing.T) {
	tr := NewTracker("datafruits", "https://s", 0, nil)
	tr.Observe(t0, status(live("/live.mp3", "Show", 4)))
	r := tr.Fail(t0.Add(5*time.Second), errors.New("icecast unreachable: connection refused"))
	if !r.Changed || !r.Snapshot.Stale || r.Snapshot.Error != "icecast unreachable: connection refused" {
		t.Fatalf("snapshot = %+v changed=%v; want stale with the error", r.Snapshot, r.Changed)
	}
	if m, _ := r.Snapshot.Find("/live.mp3"); !m.Live || m.Listeners != 4 || !r.Snapshot.UpdatedAt.Equal(t0) {
		t.Errorf("snapshot = %+v; want the last known mount and updated_at", r.Snapshot)
	}
	if r := tr.Fail(t0.Add(10*time.Second), errors.New("again")); r.Changed || len(r.Announcements) != 0 {
		t.Errorf("second failure: changed=%v announcements=%q; want neither", r.Changed, kinds(r.Announcements))
	}
	r = tr.Observe(t0.Add(15*time.Second), status(live("/live.mp3", "Show", 4)))
	if !r.Changed || r.Snapshot.Stale || r.Snapshot.Error != "" || len(r.Announcements) != 0 {
		t.Errorf("recovered: snapshot = %+v changed=%v announcements=%q", r.Snapshot, r.Changed, kinds(r.Announcements))
	}
}

func TestUnknownMountsAreReportedNotTracked(t *testing.T) {
	tr := NewTracker("datafruits", "https://s", 0, []string{"/live.mp3"})
	if s := tr.Snapshot(); len(s.Mounts) != 1 || s.Mounts[0].Live || !s.Stale {
		t.Fatalf("before the first read: %+v; want the configured mount, off air, stale", s)
	}
	r := tr.Observe(t0, status(live("/test.mp3", "Test", 0), live("/live.mp3", "Show", 0)))
	if strings.Join(r.UnknownMounts, ",") != "/test.mp3" {
		t.Errorf("UnknownMounts = %q", r.UnknownMounts)
	}
	if _, ok := r.Snapshot.Find("/test.mp3"); ok || len(r.Snapshot.Mounts) != 1 {
		t.Errorf("unknown mount in snapshot: %+v", r.Snapshot.Mounts)
	}
}

// TestDJGoingLiveBehindLiquidsoapIsAnnouncedOnce: Liquidsoap keeps both mounts up, so a DJ
// taking over shows only as a "LIVE -- " title; it is announced once, on the first mount.
func TestDJGoingLiveBehindLiquidsoapIsAnnouncedOnce(t *testing.T) {
	tr := NewTracker("datafruits", "https://stream.datafruits.fm", time.Minute, []string{"/datafruits.mp3", "/datafruits.ogg"})
	tr.AnnounceLiveTitles("LIVE -- ", "/datafruits.mp3")
	backup := status(live("/datafruits.mp3", "backup tone", 0), live("/datafruits.ogg", "backup tone", 0))
	tr.Observe(t0, status())
	if r := tr.Observe(t0.Add(time.Second), backup); len(r.Announcements) != 0 {
		t.Fatalf("the automation coming up is no show: %q", kinds(r.Announcements))
	}
	liveDJ := status(live("/datafruits.mp3", "LIVE -- dj-fruit", 3), live("/datafruits.ogg", "LIVE -- dj-fruit", 2))
	if r := tr.Observe(t0.Add(2*time.Second), liveDJ); kinds(r.Announcements) != "live LIVE -- dj-fruit" {
		t.Fatalf("DJ live: announcements=%q, want one", kinds(r.Announcements))
	}
	if r := tr.Observe(t0.Add(3*time.Second), liveDJ); len(r.Announcements) != 0 {
		t.Errorf("same DJ again: %q", kinds(r.Announcements))
	}
	if r := tr.Observe(t0.Add(4*time.Second), backup); len(r.Announcements) != 0 {
		t.Errorf("back to the backup playlist: %q", kinds(r.Announcements))
	}
}
