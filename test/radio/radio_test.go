//go:build radio

// Package radio proves the audio path with the real daemons scripts/test/radio.sh starts
// on the configuration the program rendered: Icecast (source and two relays), Liquidsoap,
// nginx-rtmp, onair, the archiver (on a real PostgreSQL and S3-compatible server, with the
// API's recordings and tracks tables), and the stand-in for the API and Discord.
package radio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func env(t *testing.T, key string) string {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		t.Fatalf("%s is not set: run scripts/test/radio.sh", key)
	}
	return v
}

type mount struct {
	Listeners int
	Title     string
}

// mounts reads an Icecast's status-json.xsl: "source" is an object with one source and a
// list with several; the mount is the path of "listenurl".
func mounts(t *testing.T, base string) map[string]mount {
	t.Helper()
	body, err := get(base + "/status-json.xsl")
	if err != nil {
		return nil
	}
	var doc struct {
		Icestats struct {
			Source json.RawMessage `json:"source"`
		} `json:"icestats"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil
	}
	type src struct {
		ListenURL string `json:"listenurl"`
		Listeners int    `json:"listeners"`
		Title     any    `json:"title"`
	}
	var list []src
	if len(doc.Icestats.Source) > 0 && doc.Icestats.Source[0] == '{' {
		var one src
		_ = json.Unmarshal(doc.Icestats.Source, &one)
		list = []src{one}
	} else {
		_ = json.Unmarshal(doc.Icestats.Source, &list)
	}
	out := map[string]mount{}
	for _, s := range list {
		u, err := url.Parse(s.ListenURL)
		if err != nil {
			continue
		}
		title := ""
		if s.Title != nil {
			title = fmt.Sprint(s.Title)
		}
		out[u.Path] = mount{Listeners: s.Listeners, Title: title}
	}
	return out
}

func get(u string) ([]byte, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// eventually polls cond every 250 ms until it holds or within passes; it returns how long it took.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < within {
		ok, detail := cond()
		if ok {
			return time.Since(start)
		}
		last = detail
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last seen: %s)", what, within, last)
	return 0
}

type call struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Host      string `json:"host"`
	LiqSecret string `json:"liq_secret"`
	Body      string `json:"body"`
	Status    int    `json:"status"`
}

func calls(t *testing.T, base string) []call {
	t.Helper()
	body, err := get(base + "/_calls")
	if err != nil {
		t.Fatalf("stand-in: %v", err)
	}
	var out []call
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("stand-in calls: %v", err)
	}
	return out
}

func countCalls(cs []call, path string, status int) int {
	n := 0
	for _, c := range cs {
		if strings.TrimSuffix(c.Path, ".json") == path && (status == 0 || c.Status == status) {
			n++
		}
	}
	return n
}

// sourceClient streams a generated signal into the harbor as an Icecast source client
// would; owner stops it at its end.
func sourceClient(t, owner *testing.T, user, password, input string) *exec.Cmd {
	t.Helper()
	target := fmt.Sprintf("icecast://%s:%s@%s/%s", url.PathEscape(user), url.PathEscape(password), env(t, "RADIO_HARBOR"), env(t, "RADIO_STATION"))
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", input,
		"-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k", "-content_type", "audio/mpeg", "-f", "mp3", target)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	owner.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

type listener struct {
	cmd  *exec.Cmd
	file string
	kind string
}

func startListener(t, owner *testing.T, streamURL, file string) *listener {
	t.Helper()
	cmd := exec.Command("curl", "-sS", "-N", "-o", file, streamURL)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	owner.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return &listener{cmd: cmd, file: file, kind: filepath.Ext(streamURL)}
}

func (l *listener) size() int64 {
	st, err := os.Stat(l.file)
	if err != nil {
		return 0
	}
	return st.Size()
}

// validAudio checks the first bytes: Ogg pages start "OggS"; MP3 frames start with the
// 11-bit frame sync (an ID3 tag may come first).
func (l *listener) validAudio() error {
	f, err := os.Open(l.file)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch l.kind {
	case ".ogg":
		if !bytes.HasPrefix(head, []byte("OggS")) || !bytes.Contains(head, []byte("vorbis")) {
			return fmt.Errorf("%s: not an Ogg Vorbis stream: % x", l.file, head[:min(8, len(head))])
		}
	case ".mp3":
		for i := 0; i+1 < len(head); i++ {
			if head[i] == 0xFF && head[i+1]&0xE0 == 0xE0 {
				// Confirm a second frame sync one frame later (MPEG-1 layer III).
				return nil
			}
		}
		return fmt.Errorf("%s: no MP3 frame sync in the first %d bytes", l.file, len(head))
	}
	return nil
}

func metric(t *testing.T, name string) (float64, bool) {
	body, err := get(env(t, "RADIO_LIQ_METRICS"))
	if err != nil {
		return 0, false
	}
	re := regexp.MustCompile(`(?m)^` + name + `\{[^}]*\} ([0-9.]+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v, true
}

func liveTitle(dj string) string { return "LIVE -- " + dj }

// TestAudioPath runs the user stories in order; each step starts from the state the one
// before left (the station on its backup playlist, then a DJ live, ...).
func TestAudioPath(t *testing.T) {
	station := env(t, "RADIO_STATION")
	source := env(t, "RADIO_SOURCE_URL")
	relays := strings.Split(env(t, "RADIO_RELAY_URLS"), ",")
	api := env(t, "RADIO_API_URL")
	discord := env(t, "RADIO_DISCORD_URL")
	mp3, ogg := "/"+station+".mp3", "/"+station+".ogg"
	const dj, goodPassword = "dj-fruit", "good-password"
	work := t.TempDir()
	parent := t

	t.Run("TheBackupPlaylistIsOnAirOnSourceAndRelays", func(t *testing.T) {
		took := eventually(t, 90*time.Second, "both mounts on the source and both relays", func() (bool, string) {
			for _, base := range append([]string{source}, relays...) {
				m := mounts(t, base)
				if _, ok := m[mp3]; !ok {
					return false, fmt.Sprintf("%s: %v", base, m)
				}
				if _, ok := m[ogg]; !ok {
					return false, fmt.Sprintf("%s: %v", base, m)
				}
			}
			return true, ""
		})
		t.Logf("radio_test: both mounts up on the source and both relays after %s", took.Round(time.Millisecond))
		eventually(t, 30*time.Second, "the backup playlist's track on air", func() (bool, string) {
			m := mounts(t, source)[mp3]
			return m.Title == "backup playlist tone", m.Title
		})
	})

	t.Run("TestBadLoginNeverReachesAMount", func(t *testing.T) {
		before := countCalls(calls(t, api), "/dj_login", http.StatusUnauthorized)
		intruder := sourceClient(t, t, dj, "wrong-password", "sine=frequency=880")
		done := make(chan error, 1)
		go func() { done <- intruder.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the harbor kept a source client with a wrong password for 20 s")
		}
		if got := countCalls(calls(t, api), "/dj_login", http.StatusUnauthorized) - before; got < 1 {
			t.Errorf("Liquidsoap did not ask the API about the login (refused dj_login calls: %d)", got)
		}
		for _, base := range append([]string{source}, relays...) {
			if m := mounts(t, base)[mp3]; m.Title == liveTitle(dj) {
				t.Errorf("%s: a refused login went on air (%q)", base, m.Title)
			}
		}
		if v, _ := metric(t, "datafruits_live_dj"); v != 0 {
			t.Errorf("datafruits_live_dj = %v after a refused login", v)
		}
	})

	t.Run("TestLiqSecretMissingOrWrongIsRefused", func(t *testing.T) {
		for name, header := range map[string]string{"missing": "", "wrong": "not-the-liq-secret"} {
			req, _ := http.NewRequest(http.MethodPost, api+"/live_notification.json", strings.NewReader(`{"metadata":"LIVE -- intruder"}`))
			req.Host = station + ".datafruits.test"
			req.Header.Set("Content-Type", "application/json")
			// Past the API's force_ssl, as the ingress or Liquidsoap would be.
			req.Header.Set("X-Forwarded-Proto", "https")
			if header != "" {
				req.Header.Set("liq-secret", header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("liq-secret %s: the API stand-in answered %d, want 401", name, resp.StatusCode)
			}
		}
	})

	var listeners []*listener
	var djClient *exec.Cmd
	t.Run("TestDJGoesLive", func(t *testing.T) {
		discordBefore := len(calls(t, discord))
		start := time.Now()
		djClient = sourceClient(t, parent, dj, goodPassword, "sine=frequency=440")
		for _, base := range append([]string{source}, relays...) {
			eventually(t, 30*time.Second, base+": the DJ's title on both mounts", func() (bool, string) {
				m := mounts(t, base)
				return m[mp3].Title == liveTitle(dj) && m[ogg].Title == liveTitle(dj), fmt.Sprint(m)
			})
		}
		t.Logf("radio_test: DJ on air on the source and both relays %s after connecting", time.Since(start).Round(time.Millisecond))

		// 20 listeners spread over the relays: 5 on each mount of each relay.
		for r, base := range relays {
			for _, m := range []string{mp3, ogg} {
				for i := range 5 {
					listeners = append(listeners, startListener(t, parent, base+m, filepath.Join(work, fmt.Sprintf("relay%d-%d%s", r, i, m[len(station)+1:]))))
				}
			}
		}
		eventually(t, 20*time.Second, "20 listeners receiving audio", func() (bool, string) {
			receiving := 0
			for _, l := range listeners {
				if l.size() > 32*1024 {
					receiving++
				}
			}
			return receiving == len(listeners), fmt.Sprintf("%d of %d have 32 KiB", receiving, len(listeners))
		})
		for _, l := range listeners {
			if err := l.validAudio(); err != nil {
				t.Error(err)
			}
		}
		var total int64
		for _, l := range listeners {
			total += l.size()
		}
		t.Logf("radio_test: 20 listeners over 2 relays received %d KiB of valid MP3 and Ogg Vorbis", total/1024)

		took := eventually(t, 20*time.Second, "onair reports 20 listeners", func() (bool, string) {
			body, err := get(env(t, "RADIO_ONAIR_URL") + "/now-playing")
			if err != nil {
				return false, err.Error()
			}
			var np struct {
				Mounts []struct {
					Mount     string `json:"mount"`
					Listeners int    `json:"listeners"`
				} `json:"mounts"`
			}
			_ = json.Unmarshal(body, &np)
			sum := 0
			per := map[string]int{}
			for _, m := range np.Mounts {
				sum += m.Listeners
				per[m.Mount] = m.Listeners
			}
			return sum == 20 && per[mp3] == 10 && per[ogg] == 10, string(body)
		})
		t.Logf("radio_test: onair reported 10 + 10 listeners %s after they connected", took.Round(time.Millisecond))

		eventually(t, 20*time.Second, "one go-live message on Discord", func() (bool, string) {
			cs := calls(t, discord)[discordBefore:]
			return len(cs) >= 1, fmt.Sprint(cs)
		})
		time.Sleep(3 * time.Second) // a second message would have arrived by now
		cs := calls(t, discord)[discordBefore:]
		if len(cs) != 1 || !strings.Contains(cs[0].Body, liveTitle(dj)) || !strings.Contains(cs[0].Body, "is live") {
			t.Errorf("want exactly one go-live message naming %q, got %d: %v", liveTitle(dj), len(cs), cs)
		}
		var apiCalls []call
		for _, c := range calls(t, api) {
			if !strings.Contains(c.Body, "intruder") { // the previous step's own requests
				apiCalls = append(apiCalls, c)
			}
		}
		if n := countCalls(apiCalls, "/live_notification", http.StatusOK); n != 1 {
			t.Errorf("want one accepted live notification from Liquidsoap, got %d: %v", n, apiCalls)
		}
		for _, c := range apiCalls {
			if strings.HasPrefix(c.Path, "/live_notification") || strings.HasPrefix(c.Path, "/publish_metadata") {
				if c.LiqSecret != "ok" || c.Status != http.StatusOK || !strings.HasPrefix(c.Host, station+".") {
					t.Errorf("Liquidsoap called %s with liq-secret %s and Host %q: %d", c.Path, c.LiqSecret, c.Host, c.Status)
				}
			}
		}
	})
	if t.Failed() {
		return
	}

	t.Run("TestDJDisconnectFallsBackAndListenersStay", func(t *testing.T) {
		_ = djClient.Process.Kill()
		_, _ = djClient.Process.Wait()
		gone := time.Now()
		took := eventually(t, 15*time.Second, "the backup playlist back on air", func() (bool, string) {
			m := mounts(t, source)[mp3]
			return m.Title == "backup playlist tone", m.Title
		})
		t.Logf("radio_test: fallback on air %s after the DJ dropped", took.Round(time.Millisecond))
		sizes := map[*listener]int64{}
		for _, l := range listeners {
			sizes[l] = l.size()
		}
		time.Sleep(3 * time.Second)
		for _, l := range listeners {
			if l.cmd.ProcessState != nil || l.size() <= sizes[l] {
				t.Errorf("listener %s stopped receiving after the DJ dropped (%d bytes)", l.file, l.size())
			}
		}
		_ = gone
	})

	t.Run("TestTheSetIsRecorded", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(env(t, "RADIO_RECORDINGS"), station+"-"+dj+"-*.mp3"))
		if len(files) != 1 {
			t.Fatalf("want one recording of the set named %s-%s-<time>.mp3, got %v", station, dj, files)
		}
		l := &listener{file: files[0], kind: ".mp3"}
		if l.size() < 64*1024 {
			t.Errorf("recording %s has only %d bytes", files[0], l.size())
		}
		if err := l.validAudio(); err != nil {
			t.Error(err)
		}
		t.Logf("radio_test: the set was recorded to %s (%d KiB)", filepath.Base(files[0]), l.size()/1024)
	})

	t.Run("TestSilentSourceRaisesDeadAir", func(t *testing.T) {
		if v, ok := metric(t, "datafruits_dead_air"); !ok || v != 0 {
			t.Fatalf("datafruits_dead_air = %v (exported: %v) while the backup playlist plays", v, ok)
		}
		start := time.Now()
		sourceClient(t, t, dj, goodPassword, "anullsrc=r=44100:cl=stereo")
		took := eventually(t, 45*time.Second, "datafruits_dead_air = 1 while a DJ sends silence", func() (bool, string) {
			v, ok := metric(t, "datafruits_dead_air")
			return ok && v == 1, fmt.Sprint(v)
		})
		t.Logf("radio_test: dead air raised %s after a silent DJ connected (window 20 s)", (took + time.Since(start) - took).Round(time.Millisecond))
	})

	t.Run("TestVJPushBecomesHLSAndReachesLiquidsoap", func(t *testing.T) {
		rtmp := env(t, "RADIO_VIDEO_RTMP")
		bad := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
			"-f", "lavfi", "-i", "sine=frequency=550", "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "flv", rtmp+"/live/not-a-key")
		if err := bad.Run(); err == nil {
			t.Error("nginx-rtmp took a stream with an unknown key")
		}
		vj := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
			"-f", "lavfi", "-i", "sine=frequency=550", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
			"-c:a", "aac", "-ar", "44100", "-f", "flv", rtmp+"/live/vj-key-1")
		if err := vj.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = vj.Process.Kill(); _, _ = vj.Process.Wait() })
		hls := env(t, "RADIO_VIDEO_HTTP") + "/hls/vj-key-1.m3u8"
		var playlist []byte
		eventually(t, 30*time.Second, "the HLS playlist served by nginx", func() (bool, string) {
			var err error
			playlist, err = get(hls)
			return err == nil && bytes.Contains(playlist, []byte(".ts")), fmt.Sprint(err)
		})
		var segment string
		for _, line := range strings.Split(string(playlist), "\n") {
			if strings.HasSuffix(line, ".ts") {
				segment = line
			}
		}
		data, err := get(env(t, "RADIO_VIDEO_HTTP") + "/hls/" + segment)
		if err != nil || len(data) < 188 || data[0] != 0x47 {
			t.Errorf("HLS segment %s is not MPEG-TS (%d bytes, %v)", segment, len(data), err)
		}
		logFile := filepath.Join(env(t, "RADIO_LOGS"), "liquidsoap.log")
		eventually(t, 30*time.Second, "Liquidsoap's fallback switching to the VJ's stream", func() (bool, string) {
			b, _ := os.ReadFile(logFile)
			return bytes.Contains(b, []byte("Switch to vj_audio")), "no Switch to vj_audio in " + logFile
		})
		t.Logf("radio_test: VJ stream cut to HLS (%s, %d bytes) and its audio on air in Liquidsoap", segment, len(data))
	})

	t.Run("TestTheSetIsArchivedAndRegisteredOnce", func(t *testing.T) {
		// The archiver takes a recording once it has stayed unchanged for its rendered
		// quiet period, which outlasts Liquidsoap's reconnect window.
		quiet, err := time.ParseDuration(env(t, "RADIO_QUIET_PERIOD"))
		if err != nil {
			t.Fatalf("RADIO_QUIET_PERIOD: %v", err)
		}
		archiver := env(t, "RADIO_ARCHIVER_URL") + "/metrics"
		took := eventually(t, quiet+2*time.Minute, "the DJ's set archived and registered in the API's recordings", func() (bool, string) {
			archived, _ := promValue(archiver, "archiver_recordings_archived_total")
			registered, _ := promValue(archiver, "archiver_registered_total")
			return archived >= 1 && registered == archived, fmt.Sprintf("archived %v, registered %v", archived, registered)
		})
		archived, _ := promValue(archiver, "archiver_recordings_archived_total")
		counts := psql(t, `SELECT (SELECT count(*) FROM recordings) || '|' || (SELECT count(*) FROM tracks)`)
		if want := fmt.Sprintf("%.0f|%.0f", archived, archived); counts != want {
			t.Fatalf("recordings|tracks = %s for %.0f archived sets, want one of each per set", counts, archived)
		}
		for _, row := range strings.Split(psql(t, `SELECT r.processing_status, coalesce(u.username, ''), t.audio_file_name, t.filesize, r.path
			FROM recordings r JOIN tracks t ON t.id = r.track_id LEFT JOIN users u ON u.id = r.dj_id ORDER BY r.id`), "\n") {
			f := strings.Split(row, "|")
			if len(f) != 5 {
				t.Fatalf("unexpected row %q", row)
			}
			status, user, audio, size, key := f[0], f[1], f[2], f[3], f[4]
			if status != "2" || user != dj || audio != strings.TrimSuffix(env(t, "RADIO_PUBLIC_BASE_URL"), "/")+"/"+key {
				t.Errorf("recording %s: status %s (want 2, processed), DJ %q (want %q), audio_file_name %q", key, status, user, dj, audio)
			}
			object := filepath.Join(t.TempDir(), "set.mp3")
			fetch := exec.Command("curl", "-fsS", "--aws-sigv4", "aws:amz:"+env(t, "RADIO_S3_REGION")+":s3",
				"--user", env(t, "RADIO_S3_KEY")+":"+env(t, "RADIO_S3_SECRET"), "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-o", object,
				env(t, "RADIO_S3_ENDPOINT")+"/"+env(t, "RADIO_S3_BUCKET")+"/"+key)
			if out, err := fetch.CombinedOutput(); err != nil {
				t.Fatalf("the archived object %s is not in the bucket: %v %s", key, err, out)
			}
			l := &listener{file: object, kind: ".mp3"}
			if fmt.Sprint(l.size()) != size || l.size() < 64*1024 {
				t.Errorf("object %s has %d bytes, the track says %s", key, l.size(), size)
			}
			if err := l.validAudio(); err != nil {
				t.Error(err)
			}
			t.Logf("radio_test: set %s archived (%d KiB) and registered in the API's recordings and tracks, %s after the suite's last DJ session", key, l.size()/1024, took.Round(time.Second))
		}
	})
}

// promValue reads one unlabelled series from a Prometheus text page.
func promValue(page, name string) (float64, bool) {
	body, err := get(page)
	if err != nil {
		return 0, false
	}
	m := regexp.MustCompile(`(?m)^` + name + ` ([0-9.e+]+)$`).FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v, true
}

// psql runs a query on the API's database and returns its unaligned output.
func psql(t *testing.T, query string) string {
	t.Helper()
	out, err := exec.Command(env(t, "RADIO_PSQL"), "-XAt", env(t, "RADIO_API_DATABASE_URL"), "-c", query).CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}
