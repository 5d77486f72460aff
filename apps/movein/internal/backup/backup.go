// Package backup writes nightly backups of the station's databases and media
// into the backups bucket, prunes them by count and age, and restores them.
//
// Layout under the backups location (a bucket, or a prefix in one):
//
//	runs/<id>/db/<database>.dump     pg_dump custom format, taken in one snapshot
//	runs/<id>/media/<bucket>.jsonl   the media bucket as of the run: key, size, sha256
//	runs/<id>/run.json               written last: a run without it did not finish
//	media/<bucket>/sha256/<hex>      media content, stored once whatever its key
//
// Media is stored by content, so each night copies only new or changed
// objects, a renamed file costs nothing, and restoring "as of" a run gives
// every key the content it had then, even if it was overwritten since.
package backup

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/datafruits/infra/apps/movein/internal/bucket"
	"github.com/datafruits/infra/apps/movein/internal/pg"
	"github.com/datafruits/infra/apps/movein/internal/redact"
)

// IDFormat names a run by its start time (UTC); IDs sort by time.
const IDFormat = "20060102T150405Z"

// Database is one app database to back up.
type Database struct {
	// Name is the app's name (api, chat, ...): the dump's file name.
	Name string
	// URL connects to it; its password never reaches the output.
	URL string
}

// Media is one bucket to back up.
type Media struct {
	// Name is the name its objects are kept under.
	Name string
	Loc  *bucket.Location
}

// Options describe a backup run.
type Options struct {
	Databases []Database
	Media     []Media
	// To is the backups location.
	To *bucket.Location
	// Copies are further backup locations (another provider) kept equal to To.
	Copies []*bucket.Location
	Tools  *pg.Tools
	// KeepCount is how many finished runs are always kept; KeepAge keeps every
	// finished run younger than it as well. Older runs beyond both are deleted.
	KeepCount int
	KeepAge   time.Duration
	Now       time.Time
	TempDir   string
	// Log receives one line per step.
	Log io.Writer
	Red *redact.Redactor
}

// DatabaseBackup is one dump in a run.
type DatabaseBackup struct {
	File        string          `json:"file"`
	Size        int64           `json:"size"`
	SHA256      string          `json:"sha256"`
	Fingerprint *pg.Fingerprint `json:"fingerprint"`
}

// MediaBackup is one bucket in a run.
type MediaBackup struct {
	Manifest string `json:"manifest"`
	Objects  int    `json:"objects"`
	Bytes    int64  `json:"bytes"`
	// New is how many objects this run stored (the others were stored before).
	New      int   `json:"new"`
	NewBytes int64 `json:"newBytes"`
}

// Run is run.json: what one backup holds.
type Run struct {
	ID        string                    `json:"id"`
	Started   time.Time                 `json:"started"`
	Finished  time.Time                 `json:"finished"`
	Databases map[string]DatabaseBackup `json:"databases"`
	Media     map[string]MediaBackup    `json:"media"`
	// Pruned lists the runs this run's retention deleted.
	Pruned []string `json:"pruned,omitempty"`
}

// Backup takes one run. Everything it needs is checked before anything is written.
func Backup(ctx context.Context, o Options) (*Run, error) {
	logf := func(format string, a ...any) { fmt.Fprintf(o.Log, format+"\n", a...) }
	for _, db := range o.Databases {
		conn, err := pg.Connect(ctx, db.URL)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", db.Name, err)
		}
		major, err := pg.ServerMajor(ctx, conn)
		conn.Close(ctx)
		if err != nil {
			return nil, fmt.Errorf("database %s (%s): %w", db.Name, redact.URL(db.URL), err)
		}
		if major > o.Tools.Major {
			return nil, fmt.Errorf("database %s (%s) runs PostgreSQL %d; pg_dump %s is %d and cannot dump a newer server: use PostgreSQL %d's tools",
				db.Name, redact.URL(db.URL), major, o.Tools.DumpBin, o.Tools.Major, major)
		}
	}
	for _, m := range o.Media {
		if err := m.Loc.CheckReadable(ctx); err != nil {
			return nil, fmt.Errorf("media %s: %w", m.Name, err)
		}
	}
	for _, l := range append([]*bucket.Location{o.To}, o.Copies...) {
		if err := l.CheckBucket(ctx); err != nil {
			return nil, err
		}
	}

	run := &Run{ID: o.Now.UTC().Format(IDFormat), Started: o.Now.UTC(), Databases: map[string]DatabaseBackup{}, Media: map[string]MediaBackup{}}
	prefix := "runs/" + run.ID + "/"
	for _, db := range o.Databases {
		started := time.Now()
		b, err := dumpDatabase(ctx, o, db, prefix+"db/"+db.Name+".dump")
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", db.Name, err)
		}
		run.Databases[db.Name] = *b
		logf("database %s: %d tables, %d rows, %d sequences, %d large objects, %.1f MB dump in %s",
			db.Name, len(b.Fingerprint.Tables), b.Fingerprint.Rows(), len(b.Fingerprint.Sequences), b.Fingerprint.LargeObjects, float64(b.Size)/1e6, time.Since(started).Round(time.Millisecond))
	}
	previous, err := latestRun(ctx, o.To, "")
	if err != nil {
		return nil, err
	}
	for _, m := range o.Media {
		started := time.Now()
		var prev []bucket.Entry
		if previous != nil {
			if pm, ok := previous.Media[m.Name]; ok {
				if prev, err = readManifest(ctx, o.To, pm.Manifest); err != nil {
					return nil, err
				}
			}
		}
		mb, err := backupMedia(ctx, o, m, prev, prefix+"media/"+m.Name+".jsonl")
		if err != nil {
			return nil, fmt.Errorf("media %s: %w", m.Name, err)
		}
		run.Media[m.Name] = *mb
		logf("media %s: %d objects (%.1f MB), %d new (%.1f MB) in %s", m.Name, mb.Objects, float64(mb.Bytes)/1e6, mb.New, float64(mb.NewBytes)/1e6, time.Since(started).Round(time.Millisecond))
	}
	if run.Pruned, err = prune(ctx, o, run.ID); err != nil {
		return nil, err
	}
	run.Finished = time.Now().UTC()
	body, _ := json.MarshalIndent(run, "", "  ")
	if err := o.To.PutBytes(ctx, prefix+"run.json", body, "application/json"); err != nil {
		return nil, err
	}
	if len(run.Pruned) > 0 {
		logf("retention: deleted runs %s", strings.Join(run.Pruned, ", "))
	}
	for _, c := range o.Copies {
		n, removed, err := Mirror(ctx, o.To, c, o.TempDir)
		if err != nil {
			return nil, fmt.Errorf("second copy: %w", err)
		}
		logf("second copy %s: %d objects copied, %d deleted", c, n, removed)
	}
	return run, nil
}

func dumpDatabase(ctx context.Context, o Options, db Database, key string) (*DatabaseBackup, error) {
	conn, err := pg.Connect(ctx, db.URL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	snap, err := pg.BeginSnapshot(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer snap.End(ctx)
	fp, err := pg.Take(ctx, conn)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(o.TempDir, "movein-dump-*")
	if err != nil {
		return nil, err
	}
	f.Close()
	defer os.Remove(f.Name())
	if err := o.Tools.Dump(ctx, db.URL, snap.ID, f.Name(), o.Red); err != nil {
		return nil, err
	}
	size, sum, err := hashFile(f.Name())
	if err != nil {
		return nil, err
	}
	file, err := os.Open(f.Name())
	if err != nil {
		return nil, err
	}
	defer file.Close()
	if err := o.To.Put(ctx, key, file, size, "application/octet-stream", map[string]string{bucket.MetaSHA256: sum}); err != nil {
		return nil, err
	}
	return &DatabaseBackup{File: key, Size: size, SHA256: sum, Fingerprint: fp}, nil
}

// contentKey is where media content with this checksum is stored.
func contentKey(media, sum string) string { return "media/" + media + "/sha256/" + sum }

func backupMedia(ctx context.Context, o Options, m Media, prev []bucket.Entry, manifestKey string) (*MediaBackup, error) {
	objs, err := m.Loc.List(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bucket.Entry{}
	for _, e := range prev {
		known[e.Key] = e
	}
	stored, err := o.To.Sub("media/" + m.Name + "/sha256").List(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, s := range stored {
		have[s.Key] = true
	}
	mb := &MediaBackup{Manifest: manifestKey, Objects: len(objs)}
	var manifest []bucket.Entry
	for _, obj := range objs {
		mb.Bytes += obj.Size
		if e, ok := known[obj.Key]; ok && e.SourceETag == obj.ETag && e.Size == obj.Size && have[e.SHA256] {
			manifest = append(manifest, e)
			continue
		}
		f, err := m.Loc.Fetch(ctx, obj.Key, o.TempDir)
		if err != nil {
			return nil, err
		}
		e := bucket.Entry{Key: obj.Key, Size: f.Size, SHA256: f.SHA256, SourceETag: obj.ETag}
		if !have[f.SHA256] {
			if err := o.To.Put(ctx, contentKey(m.Name, f.SHA256), f.File, f.Size, f.ContentType, map[string]string{bucket.MetaSHA256: f.SHA256}); err != nil {
				f.Close()
				return nil, err
			}
			have[f.SHA256] = true
			mb.New++
			mb.NewBytes += f.Size
		}
		f.Close()
		manifest = append(manifest, e)
	}
	var buf strings.Builder
	if err := bucket.WriteManifest(&buf, manifest); err != nil {
		return nil, err
	}
	if err := o.To.PutBytes(ctx, manifestKey, []byte(buf.String()), "application/x-ndjson"); err != nil {
		return nil, err
	}
	return mb, nil
}

// Runs lists the finished runs in loc, oldest first.
func Runs(ctx context.Context, loc *bucket.Location) ([]string, error) {
	objs, err := loc.Sub("runs").List(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, o := range objs {
		if id, ok := strings.CutSuffix(o.Key, "/run.json"); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// ReadRun reads a run's run.json.
func ReadRun(ctx context.Context, loc *bucket.Location, id string) (*Run, error) {
	b, err := loc.Read(ctx, "runs/"+id+"/run.json")
	if err != nil {
		return nil, err
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bucket %s: runs/%s/run.json: %w", loc, id, err)
	}
	return &r, nil
}

// latestRun is the newest finished run no later than asOf (an ID; "" for
// any), or nil when there is none.
func latestRun(ctx context.Context, loc *bucket.Location, asOf string) (*Run, error) {
	ids, err := Runs(ctx, loc)
	if err != nil {
		return nil, err
	}
	for i := len(ids) - 1; i >= 0; i-- {
		if asOf == "" || ids[i] <= asOf {
			return ReadRun(ctx, loc, ids[i])
		}
	}
	return nil, nil
}

func readManifest(ctx context.Context, loc *bucket.Location, key string) ([]bucket.Entry, error) {
	b, err := loc.Read(ctx, key)
	if err != nil {
		return nil, err
	}
	var out []bucket.Entry
	dec := json.NewDecoder(strings.NewReader(string(b)))
	for dec.More() {
		var e bucket.Entry
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("bucket %s: %s: %w", loc, key, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// prune applies retention: a finished run is kept if it is among the newest
// KeepCount or younger than KeepAge; the current run is always kept; an
// unfinished run older than the current one failed and is deleted. Media
// content no kept run refers to is deleted last.
func prune(ctx context.Context, o Options, current string) ([]string, error) {
	objs, err := o.To.Sub("runs").List(ctx)
	if err != nil {
		return nil, err
	}
	finished := map[string]bool{}
	all := map[string][]string{}
	for _, obj := range objs {
		id, _, _ := strings.Cut(obj.Key, "/")
		all[id] = append(all[id], obj.Key)
		if strings.HasSuffix(obj.Key, "/run.json") {
			finished[id] = true
		}
	}
	// The current run counts as one of KeepCount: it is finished once prune returns.
	done := []string{current}
	for id := range finished {
		if id != current {
			done = append(done, id)
		}
	}
	slices.SortFunc(done, func(a, b string) int { return cmp.Compare(b, a) }) // newest first
	keep := map[string]bool{current: true}
	for i, id := range done {
		t, err := time.Parse(IDFormat, id)
		if i < o.KeepCount || (err == nil && o.Now.Sub(t) < o.KeepAge) {
			keep[id] = true
		}
	}
	var pruned []string
	for id, keys := range all {
		if keep[id] || id > current {
			continue
		}
		// run.json goes first: a half-deleted run must not look finished.
		slices.SortFunc(keys, func(a, b string) int {
			return cmp.Compare(boolInt(!strings.HasSuffix(a, "/run.json")), boolInt(!strings.HasSuffix(b, "/run.json")))
		})
		for _, k := range keys {
			if err := o.To.Remove(ctx, "runs/"+k); err != nil {
				return nil, err
			}
		}
		pruned = append(pruned, id)
	}
	slices.Sort(pruned)
	// Content still referenced: by the kept finished runs and by this run's manifests.
	referenced := map[string]bool{}
	for id := range keep {
		for _, m := range o.Media {
			key := "runs/" + id + "/media/" + m.Name + ".jsonl"
			if _, _, ok, err := o.To.Stat(ctx, key); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
			entries, err := readManifest(ctx, o.To, key)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				referenced[contentKey(m.Name, e.SHA256)] = true
			}
		}
	}
	for _, m := range o.Media {
		stored, err := o.To.Sub("media/" + m.Name + "/sha256").List(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range stored {
			if k := contentKey(m.Name, s.Key); !referenced[k] {
				if err := o.To.Remove(ctx, k); err != nil {
					return nil, err
				}
			}
		}
	}
	return pruned, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Mirror makes dst hold exactly what src holds (by key and size), copying
// what is missing and deleting what src no longer has. It returns how many
// objects it copied and deleted.
func Mirror(ctx context.Context, src, dst *bucket.Location, tempDir string) (copied, removed int, err error) {
	want, err := src.List(ctx)
	if err != nil {
		return 0, 0, err
	}
	got, err := dst.List(ctx)
	if err != nil {
		return 0, 0, err
	}
	have := map[string]int64{}
	for _, g := range got {
		have[g.Key] = g.Size
	}
	// run.json last, so a run is finished on the copy only once all its files are there.
	slices.SortStableFunc(want, func(a, b bucket.Object) int {
		return cmp.Compare(boolInt(strings.HasSuffix(a.Key, "/run.json")), boolInt(strings.HasSuffix(b.Key, "/run.json")))
	})
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.Key] = true
		if size, ok := have[w.Key]; ok && size == w.Size {
			continue
		}
		f, err := src.Fetch(ctx, w.Key, tempDir)
		if err != nil {
			return copied, removed, err
		}
		err = dst.Put(ctx, w.Key, f.File, f.Size, f.ContentType, map[string]string{bucket.MetaSHA256: f.SHA256})
		f.Close()
		if err != nil {
			return copied, removed, err
		}
		copied++
	}
	for _, g := range got {
		if !wanted[g.Key] {
			if err := dst.Remove(ctx, g.Key); err != nil {
				return copied, removed, err
			}
			removed++
		}
	}
	return copied, removed, nil
}

func hashFile(name string) (int64, string, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}
