// Package archiver moves finished recordings from Liquidsoap's directory into the media
// bucket and the database, in an order that survives a crash at any point:
//
//  1. a file is finished when its size, modification time and inode have not changed for
//     the quiet period (Liquidsoap gives a sidecar no other signal it can see);
//  2. it is uploaded and the stored object is verified (size and ETag);
//  3. a row is inserted (unique by content and by key);
//  4. only then is the local file removed, or kept until its retention has passed.
//
// Every step is idempotent, so a restart simply runs the same steps again on the files
// still present: object without row gets its row, row without object is uploaded again,
// and a file with both is removed.
package archiver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/apidb"
	"github.com/datafruits/infra/apps/archiver/internal/blobstore"
	"github.com/datafruits/infra/apps/archiver/internal/catalog"
	"github.com/datafruits/infra/apps/archiver/internal/metrics"
	"github.com/datafruits/infra/apps/archiver/internal/recording"
)

// Options configures an Archiver.
type Options struct {
	// Station is the first segment of object keys and the station column.
	Station string
	// WatchDir is scanned for recordings, top level and one level of show directories.
	WatchDir string
	// QuietPeriod is how long a file must stay unchanged to count as finished.
	QuietPeriod time.Duration
	// Retention is how long an archived file stays on disk; zero removes it at once.
	Retention time.Duration
	// ScanInterval is the time between two scans, and the first retry delay after a failure.
	ScanInterval time.Duration
	// ShutdownTimeout bounds how long the current recording may take once shutdown begins.
	ShutdownTimeout time.Duration
	// PublicURL turns an object key into its CDN link.
	PublicURL func(key string) string
	// Announce says whether new rows are due for a Discord announcement.
	Announce bool
	// Archived, if set, is told about each newly inserted row (it wakes the announcer).
	Archived func()
	// Register, if set, records an archived set where the API lists past
	// sets (apidb.DB.Register); it must be idempotent, as it runs again
	// whenever a file's row is reconciled. A file is done only once it succeeded.
	Register func(ctx context.Context, s apidb.Set) (created bool, err error)
}

// Metric names.
const (
	MetricArchived      = "archiver_recordings_archived_total"
	MetricArchivedBytes = "archiver_archived_bytes_total"
	MetricFailures      = "archiver_failures_total"
	MetricBacklog       = "archiver_backlog_recordings"
	MetricOldestAge     = "archiver_oldest_unarchived_age_seconds"
	MetricLastSuccess   = "archiver_last_success_timestamp_seconds"
	MetricSkipped       = "archiver_skipped_recordings"
	MetricReconciled    = "archiver_reconciled_total"
	MetricRegistered    = "archiver_registered_total"
	MetricRemoved       = "archiver_local_files_removed_total"
)

// DeclareMetrics declares the archiver's series in reg.
func DeclareMetrics(reg *metrics.Registry) {
	reg.Counter(MetricArchived, "Recordings newly stored in the bucket and the table.")
	reg.Counter(MetricArchivedBytes, "Bytes of newly archived recordings.")
	reg.Counter(MetricFailures, "Failed attempts to archive a recording, by stage (read, upload, verify, database, conflict, remove).")
	reg.Gauge(MetricBacklog, "Recordings in the watch directory not yet archived, including ones still being written.")
	reg.Gauge(MetricOldestAge, "Seconds since the oldest unarchived recording was last modified.")
	reg.Gauge(MetricLastSuccess, "Unix time of the last recording archived or reconciled.")
	reg.Gauge(MetricSkipped, "Files left alone because they cannot be a recording, by reason (empty, not_regular_file).")
	reg.Counter(MetricReconciled, "Crash leftovers repaired, by action (row_added, reuploaded, local_removed).")
	reg.Counter(MetricRemoved, "Local recordings removed after they were archived.")
	reg.Counter(MetricRegistered, "Archived sets added to the API's recordings and tracks tables.")
}

// Archiver watches a directory and archives what it finds.
type Archiver struct {
	opts    Options
	store   *blobstore.Store
	db      *catalog.Catalog
	log     *slog.Logger
	metrics *metrics.Registry
	now     func() time.Time

	mu    sync.Mutex
	files map[string]*fileState
	ready bool
}

// fileState is what the archiver remembers about one file between scans.
type fileState struct {
	size        int64
	modTime     time.Time
	inode       uint64
	stableSince time.Time
	skipped     string
	archived    bool
	archivedAt  time.Time
	digest      blobstore.Digest
	key         string
	failures    int
	retryAt     time.Time
}

// New returns an Archiver.
func New(opts Options, store *blobstore.Store, db *catalog.Catalog, log *slog.Logger, reg *metrics.Registry) *Archiver {
	return &Archiver{opts: opts, store: store, db: db, log: log, metrics: reg, now: time.Now, files: map[string]*fileState{}}
}

// Ready says whether start-up (schema migration, multipart clean-up) has finished.
func (a *Archiver) Ready() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ready
}

// Run prepares the database and bucket, then scans until ctx is done. When ctx ends during
// an upload, the upload gets ShutdownTimeout to finish; past that it is abandoned (the
// multipart upload aborted, the local file kept) and archived again on the next start.
func (a *Archiver) Run(ctx context.Context) error {
	workCtx, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(a.opts.ShutdownTimeout, abandon)
		<-workCtx.Done()
		t.Stop()
	})
	defer stop()

	if err := a.prepare(ctx); err != nil {
		return err
	}
	ticker := time.NewTicker(a.opts.ScanInterval)
	defer ticker.Stop()
	for {
		for _, rel := range a.scan() {
			if ctx.Err() != nil {
				return nil
			}
			a.archiveRecording(workCtx, rel)
			if workCtx.Err() != nil {
				a.log.Warn("shutdown timeout reached: current upload abandoned, the file stays and is archived on the next start",
					"timeout", a.opts.ShutdownTimeout.String())
				return nil
			}
		}
		a.updateGauges()
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// prepare migrates the schema and aborts multipart uploads a killed run left behind,
// retrying until both work, because the database or bucket may come up after the sidecar.
func (a *Archiver) prepare(ctx context.Context) error {
	delay := a.opts.ScanInterval
	for attempt := 1; ; attempt++ {
		err := a.db.Migrate(ctx)
		if err == nil {
			var n int
			n, err = a.store.AbortIncomplete(ctx, a.opts.Station+"/")
			if n > 0 {
				a.log.Info("aborted multipart uploads left by an earlier run", "count", n)
			}
		}
		if err == nil {
			a.mu.Lock()
			a.ready = true
			a.mu.Unlock()
			a.log.Info("archiver ready", "watch_dir", a.opts.WatchDir, "quiet_period", a.opts.QuietPeriod.String())
			return nil
		}
		a.log.Error("start-up failed, retrying", "error", err.Error(), "attempt", attempt, "retry_in", delay.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// scan lists the watch directory, updates what is known about each file and returns the
// files ready for work, oldest first.
func (a *Archiver) scan() []string {
	now := a.now()
	seen := map[string]bool{}
	err := filepath.WalkDir(a.opts.WatchDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == a.opts.WatchDir {
				return err
			}
			a.log.Error("cannot list part of the watch directory", "path", path, "error", err.Error())
			return nil
		}
		rel, _ := filepath.Rel(a.opts.WatchDir, path)
		if path == a.opts.WatchDir {
			return nil
		}
		if !recording.IsCandidate(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if strings.Count(rel, string(filepath.Separator)) >= 1 {
				return filepath.SkipDir
			}
			return nil
		}
		seen[rel] = true
		a.observe(rel, path, now)
		return nil
	})
	if err != nil {
		a.log.Error("cannot list the watch directory", "dir", a.opts.WatchDir, "error", err.Error())
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	var due []string
	for rel, st := range a.files {
		if !seen[rel] {
			delete(a.files, rel)
			continue
		}
		if st.skipped != "" || now.Before(st.retryAt) {
			continue
		}
		quiet := now.Sub(st.stableSince) >= a.opts.QuietPeriod && now.Sub(st.modTime) >= a.opts.QuietPeriod
		if !st.archived && quiet || st.archived && !now.Before(st.archivedAt.Add(a.opts.Retention)) {
			due = append(due, rel)
		}
	}
	slices.SortFunc(due, func(x, y string) int {
		return cmp.Or(a.files[x].modTime.Compare(a.files[y].modTime), strings.Compare(x, y))
	})
	return due
}

// observe records one file's current size, modification time and inode; any change
// restarts its quiet period and forgets that it was archived.
func (a *Archiver) observe(rel, path string, now time.Time) {
	info, err := os.Lstat(path)
	if err != nil {
		return // removed between listing and stat
	}
	var inode uint64
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		inode = sys.Ino
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.files[rel]
	if st != nil && st.size == info.Size() && st.modTime.Equal(info.ModTime()) && st.inode == inode {
		return
	}
	if st != nil && st.archived {
		a.log.Warn("archived recording changed on disk: archiving it again", "file", rel)
	}
	st = &fileState{size: info.Size(), modTime: info.ModTime(), inode: inode, stableSince: now}
	switch {
	case !info.Mode().IsRegular():
		st.skipped = "not_regular_file"
		a.log.Warn("not a regular file, left alone", "file", rel, "mode", info.Mode().String())
	case info.Size() == 0:
		st.skipped = "empty"
		a.log.Warn("empty recording (0 bytes), left alone: nothing to archive", "file", rel)
	}
	a.files[rel] = st
}

// updateGauges publishes backlog, oldest age and skipped counts.
func (a *Archiver) updateGauges() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	backlog, skipped := 0, map[string]int{"empty": 0, "not_regular_file": 0}
	var oldest time.Time
	for _, st := range a.files {
		switch {
		case st.skipped != "":
			skipped[st.skipped]++
		case !st.archived:
			backlog++
			if oldest.IsZero() || st.modTime.Before(oldest) {
				oldest = st.modTime
			}
		}
	}
	a.metrics.Set(MetricBacklog, float64(backlog))
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, now.Sub(oldest).Seconds())
	}
	a.metrics.Set(MetricOldestAge, age)
	for reason, n := range skipped {
		a.metrics.Set(MetricSkipped, float64(n), "reason", reason)
	}
}

// stageError is a failure tagged with the step it happened in, for logs and metrics.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// at tags err with its stage; a local read failure is always the read stage, whichever step hit it.
func at(stage string, err error) error {
	if err == nil {
		return nil
	}
	var local *blobstore.LocalError
	if errors.As(err, &local) {
		stage = "read"
	}
	return &stageError{stage, err}
}

// archiveRecording runs one file through the steps; a failure is logged, counted and
// retried later with backoff, and the file stays where it is.
func (a *Archiver) archiveRecording(ctx context.Context, rel string) {
	a.mu.Lock()
	st := a.files[rel]
	snapshot := *st
	a.mu.Unlock()

	var err error
	if snapshot.archived {
		err = a.removeArchived(ctx, rel, &snapshot)
	} else {
		err = a.archiveFile(ctx, rel, &snapshot)
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.files[rel] != st {
		return // the file changed or vanished meanwhile; its new state wins
	}
	if err == nil {
		*st = snapshot
		st.failures, st.retryAt = 0, time.Time{}
		return
	}
	if ctx.Err() != nil {
		return
	}
	st.failures++
	delay := min(a.opts.ScanInterval<<min(st.failures-1, 16), time.Minute)
	st.retryAt = a.now().Add(delay)
	stage := "unknown"
	var se *stageError
	if errors.As(err, &se) {
		stage = se.stage
	}
	a.metrics.Add(MetricFailures, 1, "stage", stage)
	a.log.Error("archiving failed; the file stays and is retried", "file", rel, "stage", stage,
		"error", err.Error(), "attempt", st.failures, "retry_in", delay.String())
}

// archiveFile stores a finished file in the bucket and the table, then removes it if due.
func (a *Archiver) archiveFile(ctx context.Context, rel string, st *fileState) error {
	path := filepath.Join(a.opts.WatchDir, rel)
	duration, hasDuration := recording.Duration(path)
	info := recording.Describe(a.opts.Station, rel, st.modTime, duration)
	st.key = info.Key
	log := a.log.With("file", rel, "key", info.Key)

	row, err := a.db.ByKey(ctx, info.Key)
	if err != nil {
		return at("database", err)
	}
	if row != nil {
		// A row exists: an earlier run got this far. Prove the file is that content and that
		// the object is still there (upload it again if not) before the file may go.
		return a.reconcileRow(ctx, rel, path, st, row, log)
	}

	// Object without row: a run died between upload and insert. Keep the object if it is this file.
	var digest blobstore.Digest
	size, etag, found, err := a.store.Stat(ctx, info.Key)
	if err != nil {
		return at("upload", err)
	}
	reconciled := false
	if found && size == st.size {
		if digest, err = a.store.Hash(ctx, path); err != nil {
			return at("read", err)
		}
		reconciled = strings.EqualFold(etag, digest.ETag)
	}
	if !reconciled {
		start := a.now()
		if digest, err = a.store.HashAndUpload(ctx, path, info.Key, info.ContentType); err != nil {
			return at("upload", err)
		}
		elapsed := a.now().Sub(start)
		log.Info("uploaded", "bytes", digest.Size, "seconds", elapsed.Seconds(),
			"mib_per_second", float64(digest.Size)/(1<<20)/max(elapsed.Seconds(), 1e-9))
	}
	if digest.Size != st.size {
		return at("read", fmt.Errorf("file changed while it was read (%d bytes, then %d)", st.size, digest.Size))
	}
	if err := a.store.Verify(ctx, info.Key, digest); err != nil {
		return at("verify", err)
	}

	rec := &catalog.Recording{
		Station: a.opts.Station, ObjectKey: info.Key, PublicURL: a.opts.PublicURL(info.Key),
		OriginalName: info.Name, Show: info.Show, ContentType: info.ContentType, SizeBytes: digest.Size,
		SHA256: digest.SHA256, ETag: digest.ETag, StartedAt: info.StartedAt, AnnounceState: catalog.AnnounceDisabled,
	}
	if hasDuration {
		rec.Duration = &duration
	}
	if a.opts.Announce {
		rec.AnnounceState = catalog.AnnouncePending
	}
	row, inserted, err := a.db.Insert(ctx, rec)
	if err != nil {
		return at("database", err)
	}
	switch {
	case inserted:
		a.metrics.Add(MetricArchived, 1)
		a.metrics.Add(MetricArchivedBytes, float64(digest.Size))
		if reconciled {
			a.metrics.Add(MetricReconciled, 1, "action", "row_added")
		}
		log.Info("archived", "public_url", row.PublicURL, "bytes", digest.Size, "sha256", digest.SHA256,
			"started_at", row.StartedAt, "duration_seconds", duration.Seconds(), "reconciled", reconciled)
		if a.opts.Archived != nil {
			a.opts.Archived()
		}
	case row.SHA256 != digest.SHA256:
		return at("conflict", fmt.Errorf("key %s was archived meanwhile with other content", info.Key))
	case row.ObjectKey != info.Key:
		// The same content is archived under another name: keep the first object only.
		log.Warn("same content as an archived recording: removing the second object", "archived_as", row.ObjectKey)
		if err := a.store.Remove(ctx, info.Key); err != nil {
			return at("upload", err)
		}
		return a.reconcileRow(ctx, rel, path, st, row, log)
	}
	if err := a.register(ctx, row, log); err != nil {
		return err
	}
	st.archived, st.archivedAt, st.digest = true, row.ArchivedAt, digest
	a.metrics.Set(MetricLastSuccess, float64(a.now().Unix()))
	return a.removeIfDue(rel, st)
}

// reconcileRow finishes a file whose key already has a row.
func (a *Archiver) reconcileRow(ctx context.Context, rel, path string, st *fileState, row *catalog.Recording, log *slog.Logger) error {
	digest, err := a.store.Hash(ctx, path)
	if err != nil {
		return at("read", err)
	}
	if digest.SHA256 != row.SHA256 {
		return at("conflict", fmt.Errorf("key %s is archived with other content (sha256 %s, file %s); rename the file to archive it",
			row.ObjectKey, row.SHA256, digest.SHA256))
	}
	if err := a.store.Verify(ctx, row.ObjectKey, digest); err != nil {
		if !errors.Is(err, blobstore.ErrMismatch) {
			return at("verify", err)
		}
		log.Warn("row without object: uploading again", "reason", err.Error())
		if err := a.store.Upload(ctx, path, row.ObjectKey, row.ContentType, digest.Size); err != nil {
			return at("upload", err)
		}
		if err := a.store.Verify(ctx, row.ObjectKey, digest); err != nil {
			return at("verify", err)
		}
		a.metrics.Add(MetricReconciled, 1, "action", "reuploaded")
	}
	if err := a.register(ctx, row, log); err != nil {
		return err
	}
	st.archived, st.archivedAt, st.digest = true, row.ArchivedAt, digest
	a.metrics.Set(MetricLastSuccess, float64(a.now().Unix()))
	return a.removeIfDue(rel, st)
}

// register records row's set in the API's tables when Options.Register is set.
func (a *Archiver) register(ctx context.Context, row *catalog.Recording, log *slog.Logger) error {
	if a.opts.Register == nil {
		return nil
	}
	created, err := a.opts.Register(ctx, apidb.Set{
		Station: row.Station, DJ: recording.Describe(row.Station, row.OriginalName, row.StartedAt, 0).DJ,
		Path: row.ObjectKey, PublicURL: row.PublicURL, SizeBytes: row.SizeBytes, StartedAt: row.StartedAt,
	})
	if err != nil {
		return at("register", err)
	}
	if created {
		a.metrics.Add(MetricRegistered, 1)
		log.Info("registered in the API's recordings", "public_url", row.PublicURL)
	} else {
		log.Info("already registered in the API's recordings", "public_url", row.PublicURL)
	}
	return nil
}

// removeArchived removes a file kept for retention once that has passed, checking first
// that its row and object are still there.
func (a *Archiver) removeArchived(ctx context.Context, rel string, st *fileState) error {
	row, err := a.db.BySHA256(ctx, st.digest.SHA256)
	if err != nil {
		return at("database", err)
	}
	if row == nil {
		st.archived = false
		return at("verify", errors.New("row vanished before the retention ended; archiving again"))
	}
	if err := a.store.Verify(ctx, row.ObjectKey, st.digest); err != nil {
		st.archived = false
		return at("verify", err)
	}
	return a.removeIfDue(rel, st)
}

// removeIfDue removes the local file once its retention has passed; the caller has just
// proved that its object and row exist.
func (a *Archiver) removeIfDue(rel string, st *fileState) error {
	if a.now().Before(st.archivedAt.Add(a.opts.Retention)) {
		return nil
	}
	if err := os.Remove(filepath.Join(a.opts.WatchDir, rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return at("remove", err)
	}
	a.metrics.Add(MetricRemoved, 1)
	a.log.Info("local copy removed", "file", rel, "key", st.key)
	return nil
}
