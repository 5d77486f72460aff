package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/blobstore"
	"github.com/minio/minio-go/v7"
)

// BenchmarkArchiver prints, for the same files in the same run against the real S3 server:
// the archiver's upload throughput (its blobstore: hash, multipart upload, verify)
// next to a direct upload with the same minio-go client (FPutObject, its defaults); and the
// peak resident memory (VmHWM) of the archiver binary archiving a 1 GiB recording.
// Run it once: go test -run '^$' -bench BenchmarkArchiver -benchtime 1x ./cmd/archiver/
// ARCHIVER_BENCH_FILES and ARCHIVER_BENCH_FILE_MIB set the throughput file set (default 8 × 128 MiB).
func BenchmarkArchiver(b *testing.B) {
	for b.Loop() {
		benchThroughput(b)
		benchPeakMemory(b)
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchThroughput(b *testing.B) {
	w := newWorld(b)
	files, mib := envInt("ARCHIVER_BENCH_FILES", 8), envInt("ARCHIVER_BENCH_FILE_MIB", 128)
	dir := b.TempDir()
	var paths []string
	for i := range files {
		p := filepath.Join(dir, fmt.Sprintf("bench-%02d.mp3", i))
		if err := os.WriteFile(p, recordingBytes(mib<<20, uint64(i)), 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	u, _ := url.Parse(w.s3.Endpoint)
	store, err := blobstore.New(blobstore.Options{Endpoint: u, Region: w.s3.Region, Bucket: w.bucket, AccessKey: w.s3.Key,
		SecretKey: w.s3.Secret, PathStyle: true, PartSize: int64(envInt("ARCHIVER_BENCH_PART_MIB", 16)) << 20,
		Concurrency: envInt("ARCHIVER_BENCH_CONCURRENCY", 4)})
	if err != nil {
		b.Fatal(err)
	}
	client := store.Client()
	ctx := context.Background()
	serverPID := envInt("ARCHIVER_BENCH_S3_PID", -1)
	var archiverTime, directTime, archiverCPU, directCPU, archiverServerCPU, directServerCPU time.Duration
	total := int64(files) * int64(mib) << 20
	// Alternate which goes first, so neither always meets a warmer server.
	for i, p := range paths {
		archive := func() {
			start, cpu, server := time.Now(), cpuTime(0), cpuTime(serverPID)
			defer func() { archiverCPU += cpuTime(0) - cpu; archiverServerCPU += cpuTime(serverPID) - server }()
			d, err := store.HashAndUpload(ctx, p, "archiver/"+filepath.Base(p), "audio/mpeg")
			if err == nil {
				err = store.Verify(ctx, "archiver/"+filepath.Base(p), d)
			}
			if err != nil {
				b.Fatal(err)
			}
			archiverTime += time.Since(start)
		}
		direct := func() {
			start, cpu, server := time.Now(), cpuTime(0), cpuTime(serverPID)
			defer func() { directCPU += cpuTime(0) - cpu; directServerCPU += cpuTime(serverPID) - server }()
			if _, err := client.FPutObject(ctx, w.bucket, "direct/"+filepath.Base(p), p, minio.PutObjectOptions{ContentType: "audio/mpeg"}); err != nil {
				b.Fatal(err)
			}
			directTime += time.Since(start)
		}
		if i%2 == 0 {
			archive()
			direct()
		} else {
			direct()
			archive()
		}
	}
	mibps := func(d time.Duration) float64 { return float64(total) / (1 << 20) / d.Seconds() }
	ratio := mibps(archiverTime) / mibps(directTime)
	fmt.Printf("throughput (%d files × %d MiB): archiver %.0f MiB/s, direct minio-go FPutObject %.0f MiB/s, ratio %.2f (goal ≥ 0.90)\n",
		files, mib, mibps(archiverTime), mibps(directTime), ratio)
	gib := float64(total) / (1 << 30)
	fmt.Printf("cpu seconds per GiB: archiver client %.2f + server %.2f, direct client %.2f + server %.2f (server counted when ARCHIVER_BENCH_S3_PID is set)\n",
		archiverCPU.Seconds()/gib, archiverServerCPU.Seconds()/gib, directCPU.Seconds()/gib, directServerCPU.Seconds()/gib)
	b.ReportMetric(mibps(archiverTime), "archiver-MiB/s")
	b.ReportMetric(mibps(directTime), "direct-MiB/s")
	b.ReportMetric(ratio, "ratio")
}

func benchPeakMemory(b *testing.B) {
	w := newWorld(b)
	name := "big-2024-05-01-20-00-00.mp3"
	path := filepath.Join(w.watchDir, name)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	chunk := recordingBytes(64<<20, 99)
	for i := range 16 { // 1 GiB
		chunk[100] = byte(i)
		f.Write(chunk)
	}
	f.Close()
	chunk = nil
	// The archiver's defaults: the figure is the one production gets.
	p := w.start(map[string]string{"ARCHIVER_PART_SIZE": "", "ARCHIVER_UPLOAD_CONCURRENCY": "", "ARCHIVER_QUIET_PERIOD": "200ms"})
	var uploaded map[string]any
	for end := time.Now().Add(5 * time.Minute); uploaded == nil; {
		if time.Now().After(end) {
			b.Fatalf("1 GiB recording not archived in 5 minutes:\n%s", p.output())
		}
		time.Sleep(100 * time.Millisecond)
		if p.findLog(map[string]string{"msg": "local copy removed"}) != nil {
			uploaded = p.findLog(map[string]string{"msg": "uploaded"})
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	var hwm string
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			hwm = strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	kb, _ := strconv.ParseFloat(strings.TrimSuffix(hwm, " kB"), 64)
	fmt.Printf("peak memory archiving a 1 GiB recording: %.1f MiB resident (VmHWM of the archiver process; goal < 64 MiB); its upload ran at %.0f MiB/s\n",
		kb/1024, uploaded["mib_per_second"])
	b.ReportMetric(kb/1024, "peak-RSS-MiB")
}

// cpuTime returns the user+system CPU time of a process (0: this one; negative: none).
func cpuTime(pid int) time.Duration {
	if pid < 0 {
		return 0
	}
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}
