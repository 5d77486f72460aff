package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/testenv"
	"github.com/jackc/pgx/v5"
)

func TestRunRejectsBadConfigurationWithClearErrors(t *testing.T) {
	env := map[string]string{"ARCHIVER_STATION": "Data Fruits!", "S3_SECRET": "s3cr3t", "ARCHIVER_QUIET_PERIOD": "-1s"}
	err := run(context.Background(), func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("run accepted an incomplete configuration")
	}
	for _, want := range []string{"ARCHIVER_WATCH_DIR is required", "DATABASE_URL is required", "S3_BUCKET is required",
		`ARCHIVER_STATION="Data Fruits!" is invalid`, `ARCHIVER_QUIET_PERIOD="-1s" is invalid`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error leaks S3_SECRET:\n%v", err)
	}
}

func TestArchivesFinishedRecordingsAndNeverTouchesOnesBeingWritten(t *testing.T) {
	w := newWorld(t)
	os.Mkdir(filepath.Join(w.watchDir, "lofi-hours"), 0o777)
	os.Chmod(filepath.Join(w.watchDir, "lofi-hours"), 0o777)
	want := map[string]string{
		"datafruits-2024-05-01-20-00-00.mp3":           writeRecording(t, filepath.Join(w.watchDir, "datafruits-2024-05-01-20-00-00.mp3"), 160000, 1),
		"2024-05-02-18-30-00.mp3":                      writeRecording(t, filepath.Join(w.watchDir, "lofi-hours", "2024-05-02-18-30-00.mp3"), 12<<20+77, 2),
		"Ünïcödé ☃ show (live) #1 'quoted' & more.mp3": writeRecording(t, filepath.Join(w.watchDir, "Ünïcödé ☃ show (live) #1 'quoted' & more.mp3"), 5000, 3),
	}
	os.WriteFile(filepath.Join(w.watchDir, "in-progress.mp3.part"), []byte("partial"), 0o644)

	// A recording still being written: it grows every 150 ms, within the 400 ms quiet period.
	growing := filepath.Join(w.watchDir, "live-2024-05-03-21-00-00.mp3")
	full := recordingBytes(3<<20, 4)
	var writer sync.WaitGroup
	writer.Go(func() {
		f, err := os.Create(growing)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for off := 0; off < len(full); off += 256 << 10 {
			f.Write(full[off:min(off+256<<10, len(full))])
			time.Sleep(150 * time.Millisecond)
		}
	})
	sum := sha256.Sum256(full)
	want["live-2024-05-03-21-00-00.mp3"] = hex.EncodeToString(sum[:])

	p := w.start(nil)
	eventually(t, 5*time.Second, "/readyz to answer 200", func() bool { code, _ := p.get("/readyz"); return code == 200 })
	if code, _ := p.get("/livez"); code != 200 {
		t.Errorf("/livez = %d", code)
	}
	writer.Wait()
	eventually(t, 60*time.Second, "four recordings archived", func() bool { return len(w.rows()) == 4 })
	eventually(t, 10*time.Second, "local copies removed", func() bool {
		entries, _ := os.ReadDir(w.watchDir)
		sub, _ := os.ReadDir(filepath.Join(w.watchDir, "lofi-hours"))
		return len(entries) == 2 && len(sub) == 0 // the .part file and the show directory stay
	})

	rows := w.rows()
	for name, sha := range want {
		r, ok := rows[name]
		switch {
		case !ok:
			t.Errorf("%s: no row", name)
		case r.sha != sha:
			t.Errorf("%s: row sha256 %s, want %s (a partial file was archived?)", name, r.sha, sha)
		case w.objectSHA256(r.key) != sha:
			t.Errorf("%s: object %s does not hold the file's content", name, r.key)
		case r.url != "https://cdn.example.test/media/"+r.key:
			t.Errorf("%s: public URL %s", name, r.url)
		}
	}
	if r := rows["2024-05-02-18-30-00.mp3"]; !strings.HasPrefix(r.key, "datafruits/2024/05/02/lofi-hours/") {
		t.Errorf("show directory recording stored at %s, want datafruits/2024/05/02/lofi-hours/...", r.key)
	}
	if r := rows["datafruits-2024-05-01-20-00-00.mp3"]; r.duration == nil || *r.duration < 9.9 || *r.duration > 10.1 {
		t.Errorf("duration of a 10 s CBR MP3 = %v", r.duration)
	}
	eventually(t, 10*time.Second, "four Discord announcements", func() bool { return len(w.discord.counts()) == 4 })
	for url, n := range w.discord.counts() {
		if n != 1 {
			t.Errorf("Discord got %d messages for %s, want 1", n, url)
		}
	}
	if got := p.metric("archiver_recordings_archived_total"); got != 4 {
		t.Errorf("archiver_recordings_archived_total = %v, want 4", got)
	}
	if got := p.metric("archiver_backlog_recordings"); got != 0 {
		t.Errorf("archiver_backlog_recordings = %v, want 0", got)
	}
	if got := p.metric("archiver_last_success_timestamp_seconds"); got < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("archiver_last_success_timestamp_seconds = %v", got)
	}
	if out := p.output(); strings.Contains(out, w.s3.Secret) || strings.Contains(out, "secret-token") {
		t.Error("logs contain a secret (S3 secret or webhook token)")
	}
	if exited, code := p.terminate(10 * time.Second); !exited || code != 0 {
		t.Errorf("SIGTERM: exited=%v code=%d, want a clean exit", exited, code)
	}
}

func TestBadInputIsLoggedCountedAndKept(t *testing.T) {
	w := newWorld(t)
	unreadable := filepath.Join(w.watchDir, "locked-2024-05-01-20-00-00.mp3")
	writeRecording(t, unreadable, 1000, 5)
	os.Chmod(unreadable, 0o000)
	if os.Geteuid() != 0 {
		if _, err := os.ReadFile(unreadable); err == nil {
			t.Fatal("a mode 000 file is readable by this user: cannot test an unreadable recording")
		}
	}
	os.WriteFile(filepath.Join(w.watchDir, "empty-2024-05-01-21-00-00.mp3"), nil, 0o644)
	if err := syscall.Mkfifo(filepath.Join(w.watchDir, "pipe.mp3"), 0o666); err != nil {
		t.Fatal(err)
	}
	odd := "  ..-- 🎛️ b\\a/c\tk*s?l<a>s|h \"show\" .mp3"
	odd = strings.ReplaceAll(odd, "/", "_") // a slash cannot be part of a file name
	oddSHA := writeRecording(t, filepath.Join(w.watchDir, odd), 2000, 6)

	p := w.start(nil)
	eventually(t, 30*time.Second, "the odd name archived", func() bool { return w.rows()[odd].sha == oddSHA })
	eventually(t, 10*time.Second, "a read failure counted", func() bool { return p.metric(`archiver_failures_total{stage="read"}`) >= 1 })
	if line := p.findLog(map[string]string{"stage": "read", "file": "locked-2024-05-01-20-00-00.mp3", "error": "permission denied"}); line == nil {
		t.Errorf("no log line names the unreadable file and the read stage:\n%s", p.output())
	}
	if p.findLog(map[string]string{"msg": "empty recording", "file": "empty-2024-05-01-21-00-00.mp3"}) == nil {
		t.Errorf("no log line for the empty recording:\n%s", p.output())
	}
	if p.findLog(map[string]string{"msg": "not a regular file", "file": "pipe.mp3"}) == nil {
		t.Errorf("no log line for the named pipe:\n%s", p.output())
	}
	eventually(t, 5*time.Second, "gauges updated", func() bool {
		return p.metric(`archiver_skipped_recordings{reason="empty"}`) == 1 &&
			p.metric(`archiver_skipped_recordings{reason="not_regular_file"}`) == 1 &&
			p.metric("archiver_backlog_recordings") == 1 && p.metric("archiver_oldest_unarchived_age_seconds") > 0
	})
	for _, name := range []string{"locked-2024-05-01-20-00-00.mp3", "empty-2024-05-01-21-00-00.mp3", "pipe.mp3"} {
		if _, err := os.Lstat(filepath.Join(w.watchDir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	if n := len(w.rows()); n != 1 {
		t.Errorf("%d rows, want only the odd name's", n)
	}

	// Once the file is readable, it is archived on a later attempt: nothing was lost.
	os.Chmod(unreadable, 0o644)
	eventually(t, 90*time.Second, "the formerly unreadable file archived", func() bool {
		_, ok := w.rows()["locked-2024-05-01-20-00-00.mp3"]
		return ok
	})
}

func TestBucketThatRefusesWritesKeepsTheFileUntilItAccepts(t *testing.T) {
	w := newWorld(t)
	sha := writeRecording(t, filepath.Join(w.watchDir, "refused-2024-05-01-20-00-00.mp3"), 6<<20, 7)
	p := w.start(map[string]string{"S3_ENDPOINT": w.s3.ReadOnlyEndpoint})
	eventually(t, 20*time.Second, "an upload failure counted", func() bool { return p.metric(`archiver_failures_total{stage="upload"}`) >= 1 })
	if p.findLog(map[string]string{"msg": "archiving failed", "stage": "upload", "file": "refused-2024-05-01-20-00-00.mp3"}) == nil {
		t.Errorf("no log line for the refused upload:\n%s", p.output())
	}
	if _, err := os.Stat(filepath.Join(w.watchDir, "refused-2024-05-01-20-00-00.mp3")); err != nil {
		t.Fatalf("the file was removed although the bucket refused it: %v", err)
	}
	if len(w.rows()) != 0 || w.objectCount() != 0 {
		t.Fatalf("a refused upload left %d rows and %d objects", len(w.rows()), w.objectCount())
	}
	p.kill()

	p = w.start(nil)
	eventually(t, 30*time.Second, "archived once the bucket accepts writes", func() bool { return w.rows()["refused-2024-05-01-20-00-00.mp3"].sha == sha })
}

// tcpProxy forwards to a real server and can cut every connection, standing in for a network failure.
type tcpProxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func (x *tcpProxy) up() {
	x.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after down()
		if ln, err = net.Listen("tcp", x.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		x.t.Fatal(err)
	}
	x.mu.Lock()
	x.ln = ln
	x.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", x.target)
			if err != nil {
				c.Close()
				continue
			}
			x.mu.Lock()
			x.conns = append(x.conns, c, s)
			x.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (x *tcpProxy) down() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.ln.Close()
	for _, c := range x.conns {
		c.Close()
	}
	x.conns = nil
}

func TestDatabaseGoingAwayMidRunLosesNothing(t *testing.T) {
	w := newWorld(t)
	u := w.dbURL
	host := u[strings.Index(u, "@")+1:]
	host = host[:strings.Index(host, "/")]
	proxy := &tcpProxy{t: t, addr: freeAddr(t), target: host}
	proxy.up()
	t.Cleanup(proxy.down)

	writeRecording(t, filepath.Join(w.watchDir, "first-2024-05-01-20-00-00.mp3"), 3000, 8)
	p := w.start(map[string]string{"DATABASE_URL": strings.Replace(u, host, proxy.addr, 1)})
	eventually(t, 30*time.Second, "the first recording archived", func() bool { _, ok := w.rows()["first-2024-05-01-20-00-00.mp3"]; return ok })

	proxy.down()
	sha := writeRecording(t, filepath.Join(w.watchDir, "second-2024-05-01-21-00-00.mp3"), 7<<20, 9)
	eventually(t, 30*time.Second, "a database failure counted", func() bool { return p.metric(`archiver_failures_total{stage="database"}`) >= 1 })
	if p.findLog(map[string]string{"msg": "archiving failed", "stage": "database", "file": "second-2024-05-01-21-00-00.mp3"}) == nil {
		t.Errorf("no log line for the database failure:\n%s", p.output())
	}
	if code, body := p.get("/readyz"); code != 503 || !strings.Contains(body, "database") {
		t.Errorf("/readyz with the database gone = %d %q, want 503 naming the database", code, body)
	}
	if _, err := os.Stat(filepath.Join(w.watchDir, "second-2024-05-01-21-00-00.mp3")); err != nil {
		t.Fatalf("the file was removed while the database was away: %v", err)
	}

	proxy.up()
	eventually(t, 90*time.Second, "the second recording archived after the database came back", func() bool {
		return w.rows()["second-2024-05-01-21-00-00.mp3"].sha == sha
	})
	eventually(t, 10*time.Second, "the local copy removed", func() bool {
		_, err := os.Stat(filepath.Join(w.watchDir, "second-2024-05-01-21-00-00.mp3"))
		return os.IsNotExist(err)
	})
	if n := len(w.rows()); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
}

func TestRetentionKeepsTheLocalCopyThenRemovesIt(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(w.watchDir, "kept-2024-05-01-20-00-00.mp3")
	writeRecording(t, path, 4000, 10)
	p := w.start(map[string]string{"ARCHIVER_RETENTION": "3s"})
	eventually(t, 30*time.Second, "archived", func() bool { _, ok := w.rows()["kept-2024-05-01-20-00-00.mp3"]; return ok })
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("removed before the retention passed: %v", err)
	}
	eventually(t, 20*time.Second, "removed after the retention", func() bool { _, err := os.Stat(path); return os.IsNotExist(err) })
	if got := p.metric("archiver_recordings_archived_total"); got != 1 {
		t.Errorf("archived_total = %v, want 1", got)
	}
}

func TestShutdownDuringUploadExitsCleanlyAndKeepsOrArchivesTheFile(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(w.watchDir, "big-2024-05-01-20-00-00.mp3")
	sha := writeRecording(t, path, 200<<20, 11)
	p := w.start(map[string]string{"ARCHIVER_SHUTDOWN_TIMEOUT": "50ms"})
	eventually(t, 30*time.Second, "the upload to begin", func() bool {
		return p.findLog(map[string]string{"msg": "archiver ready"}) != nil && time.Since(mustModTime(t, path)) > 600*time.Millisecond
	})
	time.Sleep(100 * time.Millisecond)
	if exited, code := p.terminate(15 * time.Second); !exited || code != 0 {
		t.Fatalf("SIGTERM during upload: exited=%v code=%d\n%s", exited, code, p.output())
	}
	_, fileErr := os.Stat(path)
	r, archived := w.rows()["big-2024-05-01-20-00-00.mp3"]
	switch {
	case fileErr != nil && !archived:
		t.Fatal("the file is gone and not archived")
	case archived && w.objectSHA256(r.key) != sha:
		t.Fatal("archived with the wrong content")
	}
	// Whatever state it stopped in, the next run finishes the job.
	w.start(nil)
	eventually(t, 120*time.Second, "archived by the next run", func() bool { return w.rows()["big-2024-05-01-20-00-00.mp3"].sha == sha })
	eventually(t, 10*time.Second, "the local copy removed", func() bool { _, err := os.Stat(path); return os.IsNotExist(err) })
}

func mustModTime(t *testing.T, path string) time.Time {
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.ModTime()
}

// TestRegistersLiveSetsWhereTheAPIListsThem: a set recorded under the name
// Liquidsoap gives it lands in the API's recordings and tracks, once, joined
// to its DJ; a restart that reconciles the kept file adds nothing; until the
// API's database answers, the file is kept and retried.
func TestRegistersLiveSetsWhereTheAPIListsThem(t *testing.T) {
	w := newWorld(t)
	apiURL := testenv.APIDatabase(t, "datafruits", "ovenrake")
	name := "datafruits-ovenrake-2026-11-30-20-00-00.mp3"
	path := filepath.Join(w.watchDir, name)
	writeRecording(t, path, 160000, 21)

	// First the API's database refuses connections: archived, not registered, kept.
	refused := "postgres://nobody:x@" + freeAddr(t) + "/api"
	p := w.start(map[string]string{"API_DATABASE_URL": refused, "ARCHIVER_RETENTION": "1h"})
	eventually(t, 30*time.Second, "a register failure counted", func() bool {
		return p.metric(`archiver_failures_total{stage="register"}`) >= 1
	})
	if strings.Contains(p.output(), "nobody:x@") {
		t.Error("the API database URL's password reached the log")
	}
	p.terminate(10 * time.Second)

	p = w.start(map[string]string{"API_DATABASE_URL": apiURL, "ARCHIVER_RETENTION": "1h"})
	eventually(t, 30*time.Second, "registered", func() bool { return p.metric("archiver_registered_total") == 1 })
	p.terminate(10 * time.Second)
	// The file is kept (retention): a new process reconciles it and registers again, idempotently.
	p = w.start(map[string]string{"API_DATABASE_URL": apiURL, "ARCHIVER_RETENTION": "1h"})
	eventually(t, 30*time.Second, "reconciled after the restart", func() bool {
		return p.findLog(map[string]string{"msg": "already registered in the API's recordings"}) != nil
	})
	if p.metric("archiver_registered_total") != 0 {
		t.Error("the restarted archiver counted a second registration")
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, apiURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var recordings, tracks int
	conn.QueryRow(ctx, `SELECT count(*) FROM recordings`).Scan(&recordings)
	conn.QueryRow(ctx, `SELECT count(*) FROM tracks`).Scan(&tracks)
	if recordings != 1 || tracks != 1 {
		t.Fatalf("after a failure, a success and a restart: %d recordings and %d tracks, want 1 and 1", recordings, tracks)
	}
	var audio, dj string
	var status int
	if err := conn.QueryRow(ctx, `SELECT t.audio_file_name, u.username, r.processing_status FROM recordings r
		JOIN tracks t ON t.id = r.track_id JOIN users u ON u.id = r.dj_id`).Scan(&audio, &dj, &status); err != nil {
		t.Fatalf("the recording does not join to a track and its DJ: %v", err)
	}
	if want := w.rows()[name].url; audio != want || dj != "ovenrake" || status != 2 {
		t.Errorf("track %q (want %q), DJ %q, status %d (want processed = 2)", audio, want, dj, status)
	}
}
