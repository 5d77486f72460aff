package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestCrashRecovery kills the archiver with SIGKILL at random moments while recordings
// arrive, restarts it each time, and then checks every recording: in the bucket and the
// table exactly once with the right content, the local file gone, and at most one Discord
// message. A watcher checks that no file disappears before its object and row exist.
// It takes a minute or two, so scripts/test/apps-archiver.sh runs it as its own step
// (ARCHIVER_CRASH_TEST=1; ARCHIVER_CRASH_RECORDINGS sets the count, default 60).
func TestCrashRecovery(t *testing.T) {
	if os.Getenv("ARCHIVER_CRASH_TEST") != "1" {
		t.Skip("TestCrashRecovery runs as its own step of scripts/test/apps-archiver.sh (set ARCHIVER_CRASH_TEST=1)")
	}
	count := 60
	if n, err := strconv.Atoi(os.Getenv("ARCHIVER_CRASH_RECORDINGS")); err == nil && n > 0 {
		count = n
	}
	w := newWorld(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	var rngMu sync.Mutex
	random := func(n int) int { rngMu.Lock(); defer rngMu.Unlock(); return rng.IntN(n) }
	// Discord fails one request in five: those must be retried, and none posted twice.
	w.discord.failRate = func() bool { return random(5) == 0 }

	type expected struct {
		name, sha string
		closed    bool
	}
	var mu sync.Mutex
	want := map[string]*expected{}
	var violations []string
	violate := func(format string, args ...any) {
		mu.Lock()
		violations = append(violations, fmt.Sprintf(format, args...))
		mu.Unlock()
	}

	// The producer writes recordings the way Liquidsoap does: open, append for a while, close.
	producerDone := make(chan struct{})
	go func() {
		defer close(producerDone)
		for i := range count {
			size := 1000 + random(600<<10)
			if i%5 == 0 {
				size = 6<<20 + random(10<<20) // multipart
			}
			name := fmt.Sprintf("show-%02d-2024-05-%02d-%02d-00-00.mp3", i%7, 1+i%28, i%24)
			data := recordingBytes(size, uint64(i)+1000)
			e := &expected{name: name}
			mu.Lock()
			want[name] = e
			mu.Unlock()
			f, err := os.Create(filepath.Join(w.watchDir, name))
			if err != nil {
				violate("create %s: %v", name, err)
				continue
			}
			chunks := 2 + random(4)
			step := (len(data) + chunks - 1) / chunks
			for off := 0; off < len(data); off += step {
				f.Write(data[off:min(off+step, len(data))])
				time.Sleep(time.Duration(20+random(100)) * time.Millisecond)
			}
			f.Close()
			mu.Lock()
			e.sha = sha256Hex(data)
			e.closed = true
			mu.Unlock()
			time.Sleep(time.Duration(random(80)) * time.Millisecond)
		}
	}()

	// The watcher: when a file disappears, its row and object must already exist with its content.
	stopWatch := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() {
		present := map[string]bool{}
		client := w.s3.Client(t, w.s3.Endpoint)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(5 * time.Millisecond):
			}
			entries, _ := os.ReadDir(w.watchDir)
			now := map[string]bool{}
			for _, e := range entries {
				now[e.Name()] = true
			}
			for name := range present {
				if now[name] {
					continue
				}
				mu.Lock()
				e := want[name]
				closed, sha := e.closed, e.sha
				mu.Unlock()
				if !closed {
					violate("%s disappeared while it was still being written", name)
					continue
				}
				r, ok := w.rows()[name]
				if !ok || r.sha != sha {
					violate("%s was removed before its row existed with its content (row %+v)", name, r)
					continue
				}
				if info, err := client.StatObject(context.Background(), w.bucket, r.key, minio.StatObjectOptions{}); err != nil || info.Size != r.size {
					violate("%s was removed before its object existed (%v)", name, err)
				}
			}
			present = now
		}
	})

	// The killer: run the archiver for a random while, SIGKILL it, start it again.
	kills := 0
	deadline := time.Now().Add(4 * time.Minute)
	for {
		p := w.start(nil)
		select {
		case <-producerDone:
		default:
		}
		time.Sleep(time.Duration(150+random(1500)) * time.Millisecond)
		p.kill()
		kills++
		producing := true
		select {
		case <-producerDone:
			producing = false
		default:
		}
		if !producing && kills >= 25 || time.Now().After(deadline) {
			break
		}
	}

	// A last run without kills finishes the backlog and the announcements.
	p := w.start(nil)
	finished := func() bool {
		entries, _ := os.ReadDir(w.watchDir)
		return len(entries) == 0 && len(w.rows()) >= count
	}
	for end := time.Now().Add(3 * time.Minute); !finished() && time.Now().Before(end); {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // let due announcements and their retries go out
	if exited, code := p.terminate(15 * time.Second); !exited || code != 0 {
		violate("final SIGTERM: exited=%v code=%d", exited, code)
	}
	close(stopWatch)
	watcher.Wait()

	rows := w.rows()
	discord := w.discord.counts()
	passed, failed, announced := 0, 0, 0
	for name, e := range want {
		var problems []string
		r, ok := rows[name]
		if !ok {
			problems = append(problems, "no row")
		} else {
			if r.sha != e.sha {
				problems = append(problems, "row has other content")
			}
			if got := w.objectSHA256(r.key); got != e.sha {
				problems = append(problems, "object missing or with other content")
			}
			switch n := discord[r.url]; {
			case n > 1:
				problems = append(problems, fmt.Sprintf("announced %d times", n))
			case n == 1:
				announced++
			}
		}
		if _, err := os.Stat(filepath.Join(w.watchDir, name)); err == nil {
			problems = append(problems, "local file still present")
		}
		if len(problems) == 0 {
			passed++
		} else {
			failed++
			t.Errorf("%s: %v", name, problems)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("%d rows for %d recordings", len(rows), len(want))
	}
	if n := w.objectCount(); n != len(want) {
		t.Errorf("%d objects for %d recordings", n, len(want))
	}
	for _, v := range violations {
		t.Error(v)
	}
	fmt.Printf("crash test: %d recordings, %d SIGKILLs, %d announced once on Discord (none twice; the rest were cut mid-send and are never resent), %d ordering violations\n",
		len(want), kills, announced, len(violations))
	fmt.Printf("crash: %d passed, %d failed\n", passed, failed)
}
