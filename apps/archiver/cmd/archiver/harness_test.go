package main

// Black-box harness: the tests in this package run the built archiver binary as a child
// process against the real Postgres and S3 servers, as the sidecar runs in production.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
)

// binary is the archiver built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "archiver-bin-")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "archiver")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the archiver failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is one test's database, bucket, watch directory and Discord stand-in.
type world struct {
	t        testing.TB
	s3       testenv.S3
	dbURL    string
	bucket   string
	watchDir string
	discord  *discordStub
	env      map[string]string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	s3 := testenv.Server(t)
	w := &world{t: t, s3: s3, dbURL: testenv.Database(t), bucket: s3.Bucket(t), discord: newDiscordStub(t)}
	// The archiver runs as an unprivileged user when the tests run as root (as in its image),
	// so a file it may not read is really unreadable; the directory must be writable to it.
	base, err := os.MkdirTemp("", "archiver-watch-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	w.watchDir = filepath.Join(base, "recordings")
	os.Mkdir(w.watchDir, 0o777)
	os.Chmod(w.watchDir, 0o777)
	w.env = map[string]string{
		"ARCHIVER_STATION": "datafruits", "ARCHIVER_WATCH_DIR": w.watchDir,
		"ARCHIVER_QUIET_PERIOD": "400ms", "ARCHIVER_SCAN_INTERVAL": "100ms", "ARCHIVER_PART_SIZE": strconv.Itoa(5 << 20),
		"ARCHIVER_SHUTDOWN_TIMEOUT": "10s",
		"DATABASE_URL":              w.dbURL, "S3_ENDPOINT": s3.Endpoint, "S3_REGION": s3.Region, "S3_BUCKET": w.bucket,
		"S3_KEY": s3.Key, "S3_SECRET": s3.Secret, "S3_FORCE_PATH_STYLE": "true",
		"PUBLIC_BASE_URL": "https://cdn.example.test/media", "DISCORD_WEBHOOK_URL": w.discord.server.URL + "/api/webhooks/1/secret-token",
	}
	return w
}

// proc is a running archiver.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	logs []map[string]any
	raw  strings.Builder
	done chan struct{}
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the archiver with the world's environment plus overrides.
func (w *world) start(overrides map[string]string) *proc {
	w.t.Helper()
	p := &proc{t: w.t, addr: freeAddr(w.t), done: make(chan struct{})}
	env := []string{"ARCHIVER_LISTEN_ADDR=" + p.addr}
	merged := map[string]string{}
	for k, v := range w.env {
		merged[k] = v
	}
	for k, v := range overrides {
		merged[k] = v
	}
	for k, v := range merged {
		env = append(env, k+"="+v)
	}
	p.cmd = exec.Command(binary)
	p.cmd.Env = env
	if os.Geteuid() == 0 {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	stdout, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line map[string]any
			p.mu.Lock()
			p.raw.WriteString(sc.Text() + "\n")
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				p.logs = append(p.logs, line)
			}
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.done)
	}()
	w.t.Cleanup(func() { p.kill() })
	return p
}

// kill ends the archiver with SIGKILL and waits for it.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// terminate sends SIGTERM and waits up to limit for a clean exit.
func (p *proc) terminate(limit time.Duration) (exited bool, code int) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true, p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		return false, -1
	}
}

// findLog returns the first log line whose fields contain every want pair (substring match).
func (p *proc) findLog(want map[string]string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
next:
	for _, line := range p.logs {
		for k, v := range want {
			if !strings.Contains(fmt.Sprint(line[k]), v) {
				continue next
			}
		}
		return line
	}
	return nil
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

func (p *proc) get(path string) (int, string) {
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var sampleLine = regexp.MustCompile(`^([a-z_]+(?:\{[^}]*\})?) (\S+)$`)

// metric reads one series from /metrics, like `archiver_failures_total{stage="read"}`; -1 if absent.
func (p *proc) metric(series string) float64 {
	_, body := p.get("/metrics")
	for _, line := range strings.Split(body, "\n") {
		if m := sampleLine.FindStringSubmatch(line); m != nil && m[1] == series {
			v, _ := strconv.ParseFloat(m[2], 64)
			return v
		}
	}
	return -1
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// row is what the tests read back from archived_recordings.
type row struct {
	key, url, name, sha string
	size                int64
	duration            *float64
	announce            string
}

func (w *world) rows() map[string]row {
	w.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.dbURL)
	if err != nil {
		w.t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[string]row{}
	rs, err := conn.Query(ctx, `SELECT object_key, public_url, original_name, sha256, size_bytes, duration_seconds, announce_state FROM archived_recordings`)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return out
		}
		w.t.Fatal(err)
	}
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.key, &r.url, &r.name, &r.sha, &r.size, &r.duration, &r.announce); err != nil {
			w.t.Fatal(err)
		}
		out[r.name] = r
	}
	return out
}

// objectSHA256 downloads an object and hashes it; "" if it is missing.
func (w *world) objectSHA256(key string) string {
	client := w.s3.Client(w.t, w.s3.Endpoint)
	obj, err := client.GetObject(context.Background(), w.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return ""
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (w *world) objectCount() int {
	n := 0
	for obj := range w.s3.Client(w.t, w.s3.Endpoint).ListObjects(context.Background(), w.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err == nil {
			n++
		}
	}
	return n
}

// discordStub stands in for Discord: it records each message and can be told to fail.
type discordStub struct {
	server   *httptest.Server
	mu       sync.Mutex
	messages map[string]int // by public URL
	failRate func() bool
}

var urlInMessage = regexp.MustCompile(`https://cdn\.example\.test/\S+`)

func newDiscordStub(t testing.TB) *discordStub {
	d := &discordStub{messages: map[string]int{}, failRate: func() bool { return false }}
	d.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Content string `json:"content"`
		}
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/secret-token") || json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		d.mu.Lock()
		fail := d.failRate()
		if !fail {
			d.messages[urlInMessage.FindString(body.Content)]++
		}
		d.mu.Unlock()
		if fail {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(d.server.Close)
	return d
}

func (d *discordStub) counts() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]int{}
	for k, v := range d.messages {
		out[k] = v
	}
	return out
}

// writeRecording writes a file whose content is derived from seed; it returns its sha256.
func writeRecording(t testing.TB, path string, size int, seed uint64) string {
	t.Helper()
	data := recordingBytes(size, seed)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// recordingBytes is a 128 kbit/s MP3 frame header followed by seeded noise.
func recordingBytes(size int, seed uint64) []byte {
	data := make([]byte, size)
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := range data {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		data[i] = byte(x)
	}
	if size >= 4 {
		copy(data, []byte{0xFF, 0xFB, 0x90, 0x64})
	}
	return data
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
