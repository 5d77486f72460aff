package main

// These tests run the whole service (run) against a real Icecast, with ffmpeg
// as the source client. scripts/test/apps-onair.sh starts Icecast and sets
// ONAIR_TEST_ICECAST_URL and ONAIR_TEST_SOURCE_PASSWORD. A local HTTP server
// stands in for Discord.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/datafruits/infra/apps/onair/internal/nowplaying"
)

const (
	pollInterval = 200 * time.Millisecond
	gracePeriod  = 5 * time.Second
	// patience bounds every wait; generous because the machine may be loaded.
	patience  = 30 * time.Second
	listenURL = "https://stream.example.test"
	station   = "testfm"
	showTitle = "Tone Test"
)

// icecastServer is the real Icecast the tests push to.
type icecastServer struct {
	url            string
	hostPort       string
	sourcePassword string
}

// requireIcecast returns the test Icecast. Without one, the test fails in CI
// and is skipped elsewhere.
func requireIcecast(t *testing.T) icecastServer {
	t.Helper()
	base, password := os.Getenv("ONAIR_TEST_ICECAST_URL"), os.Getenv("ONAIR_TEST_SOURCE_PASSWORD")
	_, ffmpegErr := exec.LookPath("ffmpeg")
	if base == "" || password == "" || ffmpegErr != nil {
		msg := "needs a real Icecast and ffmpeg: run scripts/test/apps-onair.sh (sets ONAIR_TEST_ICECAST_URL, ONAIR_TEST_SOURCE_PASSWORD)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("ONAIR_TEST_ICECAST_URL: %v", err)
	}
	return icecastServer{url: base, hostPort: u.Host, sourcePassword: password}
}

// source is an ffmpeg process pushing a generated tone to one mount.
type source struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (ic icecastServer) startSource(t *testing.T, mount string) *source {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-c:a", "libmp3lame", "-b:a", "32k", "-f", "mp3", "-content_type", "audio/mpeg",
		"-ice_name", showTitle,
		fmt.Sprintf("icecast://source:%s@%s%s", ic.sourcePassword, ic.hostPort, mount))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting ffmpeg: %v", err)
	}
	s := &source{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	return s
}

// stop ends the source client by its PID and waits for it to exit.
func (s *source) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// fakeDiscord records the messages posted to its webhook.
type fakeDiscord struct {
	*httptest.Server
	mu       sync.Mutex
	messages []string
	times    []time.Time
}

func startFakeDiscord(t *testing.T) *fakeDiscord {
	f := &fakeDiscord{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Content string }
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.messages = append(f.messages, body.Content)
		f.times = append(f.times, time.Now())
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeDiscord) received() ([]string, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.messages...), append([]time.Time(nil), f.times...)
}

// startOnair runs the service with env until the test ends and returns its base URL.
func startOnair(t *testing.T, env map[string]string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	full := map[string]string{
		"ONAIR_STATION":            station,
		"ONAIR_LISTEN_URL":         listenURL,
		"ONAIR_LISTEN_ADDR":        addr,
		"ONAIR_POLL_INTERVAL":      pollInterval.String(),
		"ONAIR_ICECAST_TIMEOUT":    "2s",
		"ONAIR_GRACE_PERIOD":       gracePeriod.String(),
		"ONAIR_HEARTBEAT_INTERVAL": "1s",
		"ONAIR_ALLOWED_ORIGINS":    "https://datafruits.example",
	}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- run(ctx, func(k string) string { return full[k] }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-result:
			if err != nil {
				t.Errorf("run returned %v after shutdown", err)
			}
		case <-time.After(patience):
			t.Errorf("run did not return within %s of shutdown", patience)
		}
	})
	base := "http://" + addr
	waitFor(t, "onair to answer /livez", func() bool { code, _ := get(t, base+"/livez", nil); return code == 200 })
	return base
}

func get(t *testing.T, u string, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func nowPlaying(t *testing.T, base string) nowplaying.Snapshot {
	t.Helper()
	code, body := get(t, base+"/now-playing", nil)
	var s nowplaying.Snapshot
	if code != 200 || json.Unmarshal([]byte(body), &s) != nil {
		t.Fatalf("GET /now-playing = %d %s", code, body)
	}
	return s
}

// metric returns the value of one sample from /metrics, or "" if absent.
func metric(t *testing.T, base, series string) string {
	t.Helper()
	_, body := get(t, base+"/metrics", nil)
	for line := range strings.SplitSeq(body, "\n") {
		if value, ok := strings.CutPrefix(line, series+" "); ok {
			return value
		}
	}
	return ""
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(patience); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", patience, what)
}

// eventStream is a client of GET /now-playing/events.
type eventStream struct {
	events     chan nowplaying.Snapshot
	heartbeats atomic.Int32
}

func openEventStream(t *testing.T, base string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/now-playing/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /now-playing/events: %v %v", resp, err)
	}
	s := &eventStream{events: make(chan nowplaying.Snapshot, 100)}
	go func() {
		defer resp.Body.Close()
		scanner := bufio.NewScanner(resp.Body)
		for scanner.Scan() {
			line := scanner.Text()
			if line == ": heartbeat" {
				s.heartbeats.Add(1)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var snap nowplaying.Snapshot
				if json.Unmarshal([]byte(data), &snap) == nil {
					s.events <- snap
				}
			}
		}
	}()
	return s
}

// next returns the next event, failing the test after patience.
func (s *eventStream) next(t *testing.T, what string) nowplaying.Snapshot {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(patience):
		t.Fatalf("no event within %s (waiting for %s)", patience, what)
		return nowplaying.Snapshot{}
	}
}

// quiet fails the test if an event arrives within d.
func (s *eventStream) quiet(t *testing.T, d time.Duration, why string) {
	t.Helper()
	select {
	case e := <-s.events:
		t.Fatalf("unexpected event (%s): %+v", why, e)
	case <-time.After(d):
	}
}

func isLive(s nowplaying.Snapshot, mount string) bool {
	m, ok := s.Find(mount)
	return ok && m.Live
}

func TestSourceGoingLiveAndDroppingIsPushedAndAnnouncedOnce(t *testing.T) {
	ic := requireIcecast(t)
	const mount = "/onair-lifecycle.mp3"
	discord := startFakeDiscord(t)
	base := startOnair(t, map[string]string{
		"ONAIR_ICECAST_URL":   ic.url,
		"ONAIR_MOUNTS":        mount,
		"DISCORD_WEBHOOK_URL": discord.URL + "/api/webhooks/1/token",
	})
	waitFor(t, "/readyz to pass", func() bool { code, _ := get(t, base+"/readyz", nil); return code == 200 })

	events := openEventStream(t, base)
	if first := events.next(t, "the current state"); first.Stale || isLive(first, mount) {
		t.Fatalf("first event = %+v; want fresh state with %s off air", first, mount)
	}

	// Connecting the source: /now-playing flips, one event, one Discord message.
	src := ic.startSource(t, mount)
	if e := events.next(t, "the source going live"); !isLive(e, mount) {
		t.Fatalf("event after connecting the source = %+v; want %s live", e, mount)
	}
	events.quiet(t, 10*pollInterval, "nothing changed after going live")
	m, _ := nowPlaying(t, base).Find(mount)
	if !m.Live || m.Title != showTitle || m.ListenURL != listenURL+mount || m.Since.IsZero() || m.Listeners != 0 {
		t.Errorf("/now-playing mount = %+v", m)
	}
	waitFor(t, "the live message", func() bool { msgs, _ := discord.received(); return len(msgs) >= 1 })
	msgs, _ := discord.received()
	if want := showTitle + " is live on " + station + "! Listen: " + listenURL + mount; len(msgs) != 1 || msgs[0] != want {
		t.Errorf("discord messages = %q, want [%q]", msgs, want)
	}
	series := fmt.Sprintf(`{mount=%q,station=%q}`, mount, station)
	if v := metric(t, base, "onair_source_connected"+series); v != "1" {
		t.Errorf("onair_source_connected = %q, want 1", v)
	}
	if v := metric(t, base, "onair_listeners"+series); v != "0" {
		t.Errorf("onair_listeners = %q, want 0", v)
	}

	// A disconnect shorter than the grace period: pushed, not announced.
	src.stop()
	if e := events.next(t, "the source dropping"); isLive(e, mount) {
		t.Fatalf("event after stopping the source = %+v; want %s off air", e, mount)
	}
	droppedAt := time.Now()
	src = ic.startSource(t, mount)
	if e := events.next(t, "the source reconnecting"); !isLive(e, mount) {
		t.Fatalf("event after reconnecting = %+v; want %s live", e, mount)
	}
	if gap := time.Since(droppedAt); gap >= gracePeriod {
		t.Fatalf("reconnecting took %s, longer than the %s grace period: machine too loaded for this test", gap, gracePeriod)
	}
	time.Sleep(time.Until(droppedAt.Add(gracePeriod + 5*pollInterval)))
	if msgs, _ := discord.received(); len(msgs) != 1 {
		t.Errorf("after a reconnect within the grace period, discord messages = %q; want only the first", msgs)
	}

	// A disconnect longer than the grace period: the drop is announced once.
	src.stop()
	if e := events.next(t, "the source dropping for good"); isLive(e, mount) {
		t.Fatalf("event after stopping the source = %+v; want %s off air", e, mount)
	}
	droppedAt = time.Now()
	waitFor(t, "the drop message", func() bool { msgs, _ := discord.received(); return len(msgs) >= 2 })
	msgs, times := discord.received()
	if want := showTitle + " has gone off air on " + station + "."; len(msgs) != 2 || msgs[1] != want {
		t.Errorf("discord messages = %q, want the live message then %q", msgs, want)
	}
	if early := droppedAt.Add(gracePeriod - 2*pollInterval); times[1].Before(early) {
		t.Errorf("drop announced %s after the source left, before the %s grace period", times[1].Sub(droppedAt), gracePeriod)
	}
	if v := metric(t, base, "onair_source_connected"+series); v != "0" {
		t.Errorf("onair_source_connected after the drop = %q, want 0", v)
	}
	if v := metric(t, base, fmt.Sprintf(`onair_discord_messages_total{kind="off_air",result="sent",station=%q}`, station)); v != "1" {
		t.Errorf("off_air sent = %q, want 1", v)
	}
	if events.heartbeats.Load() == 0 {
		t.Error("no heartbeat on the event stream")
	}
}

// faultyProxy sits between onair and the real Icecast and can break the status document.
type faultyProxy struct {
	*httptest.Server
	mode atomic.Value // "pass", "truncated", "startup", "error", "cut"
}

func startFaultyProxy(t *testing.T, target string) *faultyProxy {
	u, _ := url.Parse(target)
	proxy := httputil.NewSingleHostReverseProxy(u)
	p := &faultyProxy{}
	p.mode.Store("pass")
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p.mode.Load() {
		case "truncated":
			w.Write([]byte(`{"icestats":{"admin":"x","source":{"listeners":0,"listenurl":"http://127.0.0.1`))
		case "startup":
			// What Icecast 2.4.4 serves right after start-up (xiph/Icecast-Server#38).
			w.Write([]byte(`{"icestats":"server_start":"Sun, 22 Nov 2026 10:51:58 +0000","dummy":null}}`))
		case "error":
			http.Error(w, "Could not parse XSLT file", http.StatusNotFound)
		case "cut":
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func TestBadIcecastInputKeepsTheLastKnownStateMarkedStale(t *testing.T) {
	ic := requireIcecast(t)
	const mount, unknownMount = "/onair-faults.mp3", "/onair-unknown.mp3"
	proxy := startFaultyProxy(t, ic.url)
	base := startOnair(t, map[string]string{"ONAIR_ICECAST_URL": proxy.URL, "ONAIR_MOUNTS": mount})
	ic.startSource(t, mount)
	ic.startSource(t, unknownMount)
	waitFor(t, mount+" live", func() bool { return isLive(nowPlaying(t, base), mount) })

	// An unknown mount is counted and logged, not reported.
	waitFor(t, "onair_unknown_mounts to count "+unknownMount, func() bool {
		return metric(t, base, fmt.Sprintf(`onair_unknown_mounts{station=%q}`, station)) == "1"
	})
	if s := nowPlaying(t, base); len(s.Mounts) != 1 {
		t.Errorf("/now-playing mounts = %+v, want only %s", s.Mounts, mount)
	}
	if code, body := get(t, base+"/now-playing?mount="+unknownMount, nil); code != 404 || !strings.Contains(body, "unknown mount") {
		t.Errorf("GET /now-playing?mount=%s = %d %s, want 404 naming the unknown mount", unknownMount, code, body)
	}

	for _, fault := range []struct{ mode, reason string }{
		{"truncated", "malformed"}, {"startup", "malformed"}, {"error", "http_status"}, {"cut", "unreachable"},
	} {
		errorsSeries := fmt.Sprintf(`onair_icecast_poll_errors_total{reason=%q,station=%q}`, fault.reason, station)
		before := metric(t, base, errorsSeries)
		proxy.mode.Store(fault.mode)
		waitFor(t, fault.mode+": /now-playing stale", func() bool { return nowPlaying(t, base).Stale })
		s := nowPlaying(t, base)
		if !isLive(s, mount) || !strings.Contains(s.Error, fault.reason) && !strings.Contains(s.Error, "HTTP 404") {
			t.Errorf("%s: /now-playing = %+v; want the last known state (live) and the error", fault.mode, s)
		}
		if code, _ := get(t, base+"/readyz", nil); code != 503 {
			t.Errorf("%s: /readyz = %d, want 503", fault.mode, code)
		}
		if v := metric(t, base, fmt.Sprintf(`onair_icecast_up{station=%q}`, station)); v != "0" {
			t.Errorf("%s: onair_icecast_up = %q, want 0", fault.mode, v)
		}
		if after := metric(t, base, errorsSeries); after == before {
			t.Errorf("%s: %s stayed at %s", fault.mode, errorsSeries, after)
		}
		proxy.mode.Store("pass")
		waitFor(t, fault.mode+": recovery", func() bool { return !nowPlaying(t, base).Stale })
	}
}

func TestIcecastDownFromTheStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().String()
	l.Close()
	base := startOnair(t, map[string]string{"ONAIR_ICECAST_URL": "http://" + closedPort, "ONAIR_MOUNTS": "/live.mp3"})
	series := fmt.Sprintf(`onair_icecast_poll_errors_total{reason="unreachable",station=%q}`, station)
	waitFor(t, series+" to count", func() bool { v := metric(t, base, series); return v != "" && v != "0" })
	s := nowPlaying(t, base)
	if !s.Stale || !strings.Contains(s.Error, "unreachable") || isLive(s, "/live.mp3") {
		t.Errorf("/now-playing = %+v; want stale, unreachable, /live.mp3 off air", s)
	}
	if code, body := get(t, base+"/readyz", nil); code != 503 || !strings.Contains(body, "unreachable") {
		t.Errorf("/readyz = %d %s, want 503 naming the cause", code, body)
	}
	if code, _ := get(t, base+"/livez", nil); code != 200 {
		t.Errorf("/livez = %d, want 200 (Icecast is not onair's liveness)", code)
	}
}

func TestCORSAllowsOnlyTheStationsOrigins(t *testing.T) {
	base := startOnair(t, map[string]string{"ONAIR_ICECAST_URL": "http://127.0.0.1:1"})
	for _, path := range []string{"/now-playing", "/now-playing/events"} {
		req, _ := http.NewRequest(http.MethodOptions, base+path, nil)
		req.Header.Set("Origin", "https://datafruits.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://datafruits.example" {
			t.Errorf("preflight %s from the station = %d %v", path, resp.StatusCode, resp.Header)
		}
		req.Header.Set("Origin", "https://evil.example")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %s from another origin = %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/now-playing", nil)
	req.Header.Set("Origin", "https://datafruits.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://datafruits.example" {
		t.Errorf("GET from the station: Access-Control-Allow-Origin = %q", got)
	}
}
