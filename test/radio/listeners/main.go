// Command listeners holds N listener connections to a stream for a while and reports how
// many stayed connected and how fast each received: the load side of `make bench`'s relay
// figure (one process instead of N curls, so the load generator stays cheap).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	streamURL := flag.String("url", "", "stream URL, e.g. http://127.0.0.1:8000/datafruits.mp3")
	n := flag.Int("n", 100, "listeners")
	hold := flag.Duration("for", 20*time.Second, "how long to listen")
	flag.Parse()
	if *streamURL == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "listeners: -url and -n >= 1 are required")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *hold)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: *n, DisableCompression: true}}
	var connected atomic.Int64
	received := make([]int64, *n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, *streamURL, nil)
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return
			}
			connected.Add(1)
			buf := make([]byte, 16<<10)
			for {
				k, err := resp.Body.Read(buf)
				atomic.AddInt64(&received[i], int64(k))
				if err == io.EOF || err != nil {
					return
				}
			}
		}()
		time.Sleep(2 * time.Millisecond) // a ramp, not a thundering herd
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	rates := make([]float64, 0, *n)
	var total int64
	for _, b := range received {
		total += b
		rates = append(rates, float64(b)*8/1000/elapsed)
	}
	sort.Float64s(rates)
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"listeners": *n, "connected": connected.Load(), "bytes": total,
		"kbps_min": rates[0], "kbps_median": rates[len(rates)/2], "seconds": elapsed,
	})
}
