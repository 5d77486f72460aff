// Command ssebench measures how fast onair pushes a status change to many
// event-stream clients, and how much memory onair needs to hold them.
//
// It starts the onair binary as its own process (so its memory is measured
// alone), pointed at a status document this program serves and changes. It
// opens -clients connections to GET /now-playing/events on loopback, changes
// the document -changes times, and reports, per change, the time until the
// last client received the event, and onair's peak resident memory (VmHWM).
//
//	go build -o /tmp/onair ./cmd/onair && go run ./internal/ssebench -onair /tmp/onair
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ssebench:", err)
		os.Exit(1)
	}
}

// delivery is one event as one client received it.
type delivery struct {
	id       uint64
	received time.Time
}

// event is the part of onair's now-playing event the benchmark reads.
type event struct {
	ChangedAt time.Time `json:"changed_at"`
}

func run() error {
	onairBin := flag.String("onair", "", "path to the onair binary (required)")
	clients := flag.Int("clients", 5000, "concurrent event-stream clients")
	changes := flag.Int("changes", 40, "status changes to measure")
	poll := flag.Duration("poll", 100*time.Millisecond, "onair's poll interval")
	goalLatency := flag.Duration("goal-p99", 250*time.Millisecond, "goal for p99 status change to last client")
	goalMemMiB := flag.Int("goal-mem-mib", 200, "goal for onair's peak memory, MiB")
	flag.Parse()
	if *onairBin == "" {
		return errors.New("-onair is required")
	}
	if err := raiseFileLimit(*clients + 256); err != nil {
		return err
	}

	// The status document onair polls: one mount whose listener count is the change number.
	var listeners atomic.Int64
	var changedAt sync.Map // listeners count -> time the document changed
	statusListener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	statusServer := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"icestats":{"server_id":"Icecast 2.4.4","source":{"listeners":%d,"listenurl":"http://127.0.0.1:8000/live.mp3","server_name":"Bench Show","stream_start_iso8601":"2026-11-22T20:00:00+0000","dummy":null}}}`, listeners.Load())
	})}
	go statusServer.Serve(statusListener)
	defer statusServer.Close()

	onairAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(*onairBin)
	cmd.Env = append(os.Environ(),
		"ONAIR_STATION=bench",
		"ONAIR_ICECAST_URL=http://"+statusListener.Addr().String(),
		"ONAIR_LISTEN_URL=https://stream.example.test",
		"ONAIR_LISTEN_ADDR="+onairAddr,
		"ONAIR_POLL_INTERVAL="+poll.String(),
		"ONAIR_LOG_LEVEL=warn",
		"ONAIR_MAX_STREAM_CLIENTS="+strconv.Itoa(*clients+100),
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting onair: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	base := "http://" + onairAddr
	if err := waitReady(base, exited); err != nil {
		return err
	}

	// Connect every client; each records the arrival time of every event id.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	received := make([][]delivery, *clients)
	// publishedAt is when onair saw each change (the event's changed_at), by event id;
	// client 0 alone parses the events.
	publishedAt := map[uint64]time.Time{}
	var delivered atomic.Int64
	var connected sync.WaitGroup
	var streams sync.WaitGroup
	dialSlots := make(chan struct{}, 64)
	var connectErr atomic.Value
	connectStart := time.Now()
	for i := range *clients {
		connected.Add(1)
		streams.Add(1)
		dialSlots <- struct{}{}
		go func() {
			defer streams.Done()
			err := stream(ctx, onairAddr, func() { <-dialSlots; connected.Done() }, func(id uint64, at time.Time, data []byte) {
				received[i] = append(received[i], delivery{id: id, received: at})
				if i == 0 {
					var e event
					json.Unmarshal(data, &e)
					publishedAt[id] = e.ChangedAt
				}
				delivered.Add(1)
			})
			if err != nil && ctx.Err() == nil {
				connectErr.CompareAndSwap(nil, err)
			}
		}()
	}
	connected.Wait()
	if err, _ := connectErr.Load().(error); err != nil {
		return fmt.Errorf("client failed: %w", err)
	}
	// Every client gets the current state on connect; wait for all of them.
	if !waitCount(&delivered, int64(*clients), 30*time.Second) {
		return fmt.Errorf("only %d of %d clients got the initial event", delivered.Load(), *clients)
	}
	fmt.Printf("connected %d clients in %s\n", *clients, time.Since(connectStart).Round(time.Millisecond))

	// Change the document, one change at a time, waiting for every client to get it.
	for k := 1; k <= *changes; k++ {
		before := delivered.Load()
		changedAt.Store(int64(k), time.Now())
		listeners.Store(int64(k))
		if !waitCount(&delivered, before+int64(*clients), 30*time.Second) {
			return fmt.Errorf("change %d: only %d of %d clients got it within 30s", k, delivered.Load()-before, *clients)
		}
		// Let the loop settle so changes do not overlap.
		time.Sleep(*poll + 50*time.Millisecond)
	}
	peakKiB, rssKiB, err := memoryKiB(cmd.Process.Pid)
	if err != nil {
		return err
	}

	cancel()
	streams.Wait()
	// Client 0 saw the initial event, then one per change, in order.
	if len(received[0]) != *changes+1 {
		return fmt.Errorf("client 0 saw %d events, want %d", len(received[0]), *changes+1)
	}
	var lastEndToEnd, lastFanout, perDelivery []time.Duration
	missed := 0
	for k := 1; k <= *changes; k++ {
		id := received[0][k].id
		flipped, _ := changedAt.Load(int64(k))
		published := publishedAt[id]
		var last time.Time
		for c := range received {
			i := slices.IndexFunc(received[c], func(d delivery) bool { return d.id == id })
			if i < 0 {
				missed++
				continue
			}
			at := received[c][i].received
			perDelivery = append(perDelivery, at.Sub(published))
			if at.After(last) {
				last = at
			}
		}
		lastEndToEnd = append(lastEndToEnd, last.Sub(flipped.(time.Time)))
		lastFanout = append(lastFanout, last.Sub(published))
	}
	p99 := percentile(lastFanout, 99)
	peakMiB := float64(peakKiB) / 1024
	fmt.Printf("onair SSE benchmark: %d clients on loopback, %d status changes, poll interval %s, %d CPUs\n",
		*clients, *changes, *poll, numCPU())
	fmt.Printf("  status change -> last client, fan-out (from onair seeing the change): p50 %s  p99 %s  max %s\n",
		ms(percentile(lastFanout, 50)), ms(p99), ms(slices.Max(lastFanout)))
	fmt.Printf("  status change -> last client, end to end (from the Icecast document changing, includes up to one poll): p50 %s  p99 %s\n",
		ms(percentile(lastEndToEnd, 50)), ms(percentile(lastEndToEnd, 99)))
	fmt.Printf("  per delivery (fan-out): p50 %s  p99 %s; missed events: %d\n",
		ms(percentile(perDelivery, 50)), ms(percentile(perDelivery, 99)), missed)
	fmt.Printf("  onair peak memory (VmHWM): %.1f MiB; resident now with %d clients: %.1f MiB\n",
		peakMiB, *clients, float64(rssKiB)/1024)
	verdict := "met"
	if p99 >= *goalLatency || peakMiB >= float64(*goalMemMiB) || missed > 0 {
		verdict = "NOT met"
	}
	fmt.Printf("  goal (p99 < %s, peak < %d MiB, no missed events): %s\n", *goalLatency, *goalMemMiB, verdict)
	return nil
}

// stream reads one event stream over a raw connection until ctx ends.
// connected is called once the response headers arrived (or the attempt failed).
func stream(ctx context.Context, addr string, connected func(), onEvent func(id uint64, at time.Time, data []byte)) error {
	var once sync.Once
	done := func() { once.Do(connected) }
	defer done()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := fmt.Fprintf(conn, "GET /now-playing/events HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", addr); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /now-playing/events: HTTP %d", resp.StatusCode)
	}
	done()
	lines := bufio.NewReader(resp.Body)
	var id uint64
	var at time.Time
	for {
		line, err := lines.ReadSlice('\n')
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(string(line), "id: "):
			at = time.Now()
			id, _ = strconv.ParseUint(strings.TrimSpace(string(line[4:])), 10, 64)
		case strings.HasPrefix(string(line), "data: "):
			onEvent(id, at, line[6:])
		}
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitReady(base string, exited <-chan error) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			return fmt.Errorf("onair exited: %v", err)
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("onair not ready within 30s")
}

func waitCount(n *atomic.Int64, want int64, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if n.Load() >= want {
			return true
		}
	}
	return false
}

// memoryKiB reads a process's peak (VmHWM) and current (VmRSS) resident memory.
func memoryKiB(pid int) (peak, rss int64, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmHWM:":
			peak = v
		case "VmRSS:":
			rss = v
		}
	}
	return peak, rss, nil
}

// raiseFileLimit makes room for n open connections in this process. (onair,
// a Go program too, raises its own soft limit to the hard limit at start.)
func raiseFileLimit(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Max < uint64(n) {
		return fmt.Errorf("RLIMIT_NOFILE hard limit %d is below the %d needed; raise it (ulimit -Hn)", lim.Max, n)
	}
	lim.Cur = lim.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func numCPU() int { return runtime.NumCPU() }
