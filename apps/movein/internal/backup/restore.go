package backup

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/datafruits/infra/apps/movein/internal/bucket"
	"github.com/datafruits/infra/apps/movein/internal/pg"
	"github.com/datafruits/infra/apps/movein/internal/redact"
)

// Pick finds the run to restore: id itself, or with id "latest" the newest
// finished run no later than asOf (zero: the newest of all).
func Pick(ctx context.Context, from *bucket.Location, id string, asOf time.Time) (*Run, error) {
	if id != "" && id != "latest" {
		return ReadRun(ctx, from, id)
	}
	limit := ""
	if !asOf.IsZero() {
		limit = asOf.UTC().Format(IDFormat)
	}
	r, err := latestRun(ctx, from, limit)
	if err != nil {
		return nil, err
	}
	if r == nil {
		if limit != "" {
			return nil, fmt.Errorf("bucket %s: no finished backup run at or before %s", from, limit)
		}
		return nil, fmt.Errorf("bucket %s: no finished backup run", from)
	}
	return r, nil
}

// RestoreDatabase loads run's dump of name into the database at targetURL and
// verifies it against the fingerprint taken with the dump. The target must be
// empty unless inPlace, which replaces the dump's objects. The target's major
// version must be pinnedMajor.
func RestoreDatabase(ctx context.Context, from *bucket.Location, run *Run, name, targetURL string, inPlace bool, tools *pg.Tools, pinnedMajor int, tempDir string, red *redact.Redactor) (*pg.Fingerprint, error) {
	b, ok := run.Databases[name]
	if !ok {
		return nil, fmt.Errorf("run %s holds no database %q (it holds: %s)", run.ID, name, strings.Join(keys(run.Databases), ", "))
	}
	conn, err := pg.Connect(ctx, targetURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	major, err := pg.ServerMajor(ctx, conn)
	if err != nil {
		return nil, err
	}
	if major != pinnedMajor {
		return nil, fmt.Errorf("target %s runs PostgreSQL %d; the stack pins %d: nothing was restored", redact.URL(targetURL), major, pinnedMajor)
	}
	if n, err := pg.ObjectCount(ctx, conn); err != nil {
		return nil, err
	} else if n > 0 && !inPlace {
		return nil, fmt.Errorf("target %s is not empty (%d tables, sequences or large objects): restore into a fresh database, or give --in-place to replace its contents", redact.URL(targetURL), n)
	}
	f, err := fetchVerified(ctx, from, b.File, b.SHA256, tempDir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := tools.Restore(ctx, targetURL, f.File.Name(), inPlace, red); err != nil {
		return nil, err
	}
	got, err := pg.Take(ctx, conn)
	if err != nil {
		return nil, err
	}
	user, err := pg.CurrentUser(ctx, conn)
	if err != nil {
		return nil, err
	}
	if d := append(pg.Diff(b.Fingerprint, got), pg.Owners(got, user)...); len(d) > 0 {
		return got, fmt.Errorf("restored %s into %s but it differs from the backup: %s", name, redact.URL(targetURL), strings.Join(d, "; "))
	}
	return got, nil
}

// MediaRestore is what restoring one bucket did.
type MediaRestore struct {
	Objects, Copied, Unchanged int
	Bytes                      int64
	// Extra are objects in the target that the run does not hold (left alone).
	Extra int
}

// RestoreMedia puts every object of run's manifest for name into target with
// the content it had at the run, then verifies each one. The target must be
// empty unless inPlace.
func RestoreMedia(ctx context.Context, from *bucket.Location, run *Run, name string, target *bucket.Location, inPlace bool, tempDir string) (*MediaRestore, error) {
	mb, ok := run.Media[name]
	if !ok {
		return nil, fmt.Errorf("run %s holds no media %q (it holds: %s)", run.ID, name, strings.Join(keys(run.Media), ", "))
	}
	entries, err := readManifest(ctx, from, mb.Manifest)
	if err != nil {
		return nil, err
	}
	existing, err := target.List(ctx)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 && !inPlace {
		return nil, fmt.Errorf("target bucket %s is not empty (%d objects): restore into an empty bucket, or give --in-place", target, len(existing))
	}
	inRun := map[string]bool{}
	rep := &MediaRestore{Objects: len(entries)}
	for _, e := range entries {
		inRun[e.Key] = true
		size, meta, ok, err := target.Stat(ctx, e.Key)
		if err != nil {
			return nil, err
		}
		if ok && size == e.Size && meta[bucket.MetaSHA256] == e.SHA256 {
			rep.Unchanged++
			continue
		}
		f, err := fetchVerified(ctx, from, contentKey(name, e.SHA256), e.SHA256, tempDir)
		if err != nil {
			return nil, err
		}
		err = target.Put(ctx, e.Key, f.File, f.Size, f.ContentType, map[string]string{bucket.MetaSHA256: e.SHA256, bucket.MetaSourceETag: e.SourceETag})
		f.Close()
		if err != nil {
			return nil, err
		}
		rep.Copied++
		rep.Bytes += e.Size
	}
	for _, o := range existing {
		if !inRun[o.Key] {
			rep.Extra++
		}
	}
	return rep, bucket.Verify(ctx, target, entries)
}

// fetchVerified reads a backup object and checks its checksum.
func fetchVerified(ctx context.Context, from *bucket.Location, key, sum, tempDir string) (*bucket.Fetched, error) {
	f, err := from.Fetch(ctx, key, tempDir)
	if err != nil {
		return nil, err
	}
	if f.SHA256 != sum {
		f.Close()
		return nil, fmt.Errorf("bucket %s: %s has sha256 %s, the backup recorded %s: the backup is damaged", from, key, f.SHA256, sum)
	}
	if _, err := f.File.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
