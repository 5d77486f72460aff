package bucket

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// User metadata movein puts on every object it writes: the content's SHA-256
// and the source object's ETag. A re-run skips an object whose target carries
// the source's current ETag, so an interrupted copy resumes where it stopped
// and a finished one changes nothing.
const (
	MetaSHA256     = "movein-sha256"
	MetaSourceETag = "movein-source-etag"
)

// Entry is one line of a checksum manifest.
type Entry struct {
	Key        string `json:"key"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	SourceETag string `json:"sourceETag"`
}

// WriteManifest writes entries as JSON lines, sorted by key.
func WriteManifest(w io.Writer, entries []Entry) error {
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) })
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// CopyOptions tunes Copy.
type CopyOptions struct {
	// DryRun reports what would be copied and writes nothing.
	DryRun bool
	// Force copies into a target that holds objects movein did not write.
	Force bool
	// Concurrency is how many objects are copied at once (default 4).
	Concurrency int
	// TempDir holds objects between download and upload (default os.TempDir).
	TempDir string
	// Progress receives a line every few seconds while objects are copied.
	Progress io.Writer
}

// CopyReport is what a copy did (or, in a dry run, would do).
type CopyReport struct {
	// Objects and Bytes are the source's.
	Objects int
	Bytes   int64
	// Copied objects and bytes were written in this run; Unchanged were already there.
	Copied      int
	CopiedBytes int64
	Unchanged   int
	// OnlyInTarget are keys movein wrote earlier that the source no longer has (left alone).
	OnlyInTarget int
	// Manifest is every source object with its checksum (in a dry run, only those already copied).
	Manifest []Entry
	Elapsed  time.Duration
}

// NotEmptyError is a target holding objects movein did not write.
type NotEmptyError struct {
	Target  string
	Foreign []string
}

func (e *NotEmptyError) Error() string {
	sample := e.Foreign[:min(3, len(e.Foreign))]
	return fmt.Sprintf("target bucket %s is not empty: %d object(s) not written by movein (%s); nothing was copied: give --force to copy into it anyway",
		e.Target, len(e.Foreign), strings.Join(sample, ", "))
}

// Copy copies every object under src to the same key under dst, then checks
// each copy's size and checksum on the target.
func Copy(ctx context.Context, src, dst *Location, opt CopyOptions) (*CopyReport, error) {
	start := time.Now()
	if err := src.CheckReadable(ctx); err != nil {
		return nil, err
	}
	if err := dst.CheckBucket(ctx); err != nil {
		return nil, err
	}
	srcObjs, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	dstObjs, err := dst.List(ctx)
	if err != nil {
		return nil, err
	}
	type written struct {
		size      int64
		sha, etag string
	}
	ours := map[string]written{}
	var foreign []string
	for _, o := range dstObjs {
		_, meta, ok, err := dst.Stat(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		if ok && meta[MetaSHA256] != "" {
			ours[o.Key] = written{o.Size, meta[MetaSHA256], meta[MetaSourceETag]}
		} else {
			foreign = append(foreign, o.Key)
		}
	}
	if len(foreign) > 0 && !opt.Force {
		return nil, &NotEmptyError{Target: dst.String(), Foreign: foreign}
	}
	rep := &CopyReport{Objects: len(srcObjs)}
	var todo []Object
	inSource := map[string]bool{}
	for _, o := range srcObjs {
		rep.Bytes += o.Size
		inSource[o.Key] = true
		if w, ok := ours[o.Key]; ok && w.etag == o.ETag && w.size == o.Size {
			rep.Unchanged++
			rep.Manifest = append(rep.Manifest, Entry{Key: o.Key, Size: o.Size, SHA256: w.sha, SourceETag: o.ETag})
			continue
		}
		todo = append(todo, o)
	}
	for k := range ours {
		if !inSource[k] {
			rep.OnlyInTarget++
		}
	}
	if opt.DryRun {
		rep.Copied = len(todo)
		for _, o := range todo {
			rep.CopiedBytes += o.Size
		}
		rep.Elapsed = time.Since(start)
		return rep, nil
	}

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		jobs     = make(chan Object)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopProgress := progress(opt.Progress, len(todo), func() (int, int64) {
		mu.Lock()
		defer mu.Unlock()
		return rep.Copied, rep.CopiedBytes
	})
	for range max(1, cmpOr(opt.Concurrency, 4)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range jobs {
				e, err := copyObject(ctx, src, dst, o, opt.TempDir)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				} else {
					rep.Copied++
					rep.CopiedBytes += e.Size
					rep.Manifest = append(rep.Manifest, e)
				}
				mu.Unlock()
			}
		}()
	}
	for _, o := range todo {
		if ctx.Err() != nil {
			break
		}
		jobs <- o
	}
	close(jobs)
	wg.Wait()
	stopProgress()
	if firstErr != nil {
		return rep, fmt.Errorf("after copying %d of %d objects: %w (run again to resume)", rep.Copied, len(todo), firstErr)
	}
	if err := Verify(ctx, dst, rep.Manifest); err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func copyObject(ctx context.Context, src, dst *Location, o Object, tempDir string) (Entry, error) {
	f, err := src.Fetch(ctx, o.Key, tempDir)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	if f.Size != o.Size {
		return Entry{}, fmt.Errorf("bucket %s: %s changed while it was read (%d bytes listed, %d read)", src, o.Key, o.Size, f.Size)
	}
	meta := map[string]string{MetaSHA256: f.SHA256, MetaSourceETag: o.ETag}
	if err := dst.Put(ctx, o.Key, f.File, f.Size, f.ContentType, meta); err != nil {
		return Entry{}, err
	}
	return Entry{Key: o.Key, Size: f.Size, SHA256: f.SHA256, SourceETag: o.ETag}, nil
}

// Verify checks that every manifest entry is on the target with its size and checksum.
func Verify(ctx context.Context, dst *Location, manifest []Entry) error {
	var bad []string
	for _, e := range manifest {
		size, meta, ok, err := dst.Stat(ctx, e.Key)
		switch {
		case err != nil:
			return err
		case !ok:
			bad = append(bad, e.Key+": missing")
		case size != e.Size || meta[MetaSHA256] != e.SHA256:
			bad = append(bad, fmt.Sprintf("%s: %d bytes sha256 %s, want %d bytes sha256 %s", e.Key, size, meta[MetaSHA256], e.Size, e.SHA256))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("bucket %s: %d object(s) fail verification: %s", dst, len(bad), strings.Join(bad[:min(5, len(bad))], "; "))
	}
	return nil
}

// progress prints done/total every 2 s to w until the returned stop is called.
func progress(w io.Writer, total int, done func() (int, int64)) (stop func()) {
	if w == nil || total == 0 {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				n, b := done()
				fmt.Fprintf(w, "  copied %d/%d objects, %.1f MB, %.0f objects/s\n", n, total, float64(b)/1e6, float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(quit); <-finished }
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
