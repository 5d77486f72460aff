// Package catalog keeps the table of archived broadcasts in PostgreSQL and the
// announcement state of each, so that both survive restarts.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Recording is one row of archived_recordings.
type Recording struct {
	ID            int64
	Station       string
	ObjectKey     string
	PublicURL     string
	OriginalName  string
	Show          string
	ContentType   string
	SizeBytes     int64
	SHA256        string
	ETag          string
	StartedAt     time.Time
	Duration      *time.Duration
	ArchivedAt    time.Time
	AnnounceState string
}

// Announcement states. A row goes pending → sending → sent; a definite failure puts it back
// to pending with a later announce_next_at; a send whose outcome is unknown (a crash or a
// timeout after the request went out) ends in unknown and is never sent again: at most once.
const (
	AnnounceDisabled = "disabled"
	AnnouncePending  = "pending"
	AnnounceSending  = "sending"
	AnnounceSent     = "sent"
	AnnounceUnknown  = "unknown"
)

// migrations are applied in order, each once; append, never edit.
var migrations = []string{
	`CREATE TABLE archived_recordings (
		id                bigserial PRIMARY KEY,
		station           text NOT NULL,
		object_key        text NOT NULL UNIQUE,
		public_url        text NOT NULL,
		original_name     text NOT NULL,
		show              text NOT NULL,
		content_type      text NOT NULL,
		size_bytes        bigint NOT NULL CHECK (size_bytes >= 0),
		sha256            text NOT NULL UNIQUE,
		etag              text NOT NULL,
		started_at        timestamptz NOT NULL,
		duration_seconds  double precision,
		archived_at       timestamptz NOT NULL DEFAULT now(),
		announce_state    text NOT NULL DEFAULT 'pending'
			CHECK (announce_state IN ('disabled', 'pending', 'sending', 'sent', 'unknown')),
		announce_attempts integer NOT NULL DEFAULT 0,
		announce_next_at  timestamptz NOT NULL DEFAULT now(),
		announced_at      timestamptz
	)`,
	`CREATE INDEX archived_recordings_station_started_at ON archived_recordings (station, started_at DESC)`,
	`CREATE INDEX archived_recordings_announce_due ON archived_recordings (announce_next_at) WHERE announce_state = 'pending'`,
}

// Catalog is the archiver's database.
type Catalog struct {
	pool *pgxpool.Pool
}

// Open connects to databaseURL. The pool connects lazily, so a database that is down at
// start-up does not stop the archiver: readiness reports it instead.
func Open(ctx context.Context, databaseURL string) (*Catalog, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, errors.New("DATABASE_URL cannot be parsed (value not shown: it holds a password)")
	}
	// One each for the archiving loop, the announcer and a readiness check:
	// the archiver never runs more queries at once. The stack's connection
	// budget counts them (stacks/connections.go ArchiverConnections).
	cfg.MaxConns = 3
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database pool: %w", err)
	}
	return &Catalog{pool: pool}, nil
}

// Close closes the pool.
func (c *Catalog) Close() { c.pool.Close() }

// Ping checks that the database answers.
func (c *Catalog) Ping(ctx context.Context) error { return c.pool.Ping(ctx) }

// Migrate creates or upgrades the schema. An advisory lock keeps two archivers starting at
// once from applying the same migration twice.
func (c *Catalog) Migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('datafruits-archiver-migrations'))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS archiver_schema_migrations (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var applied int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM archiver_schema_migrations`).Scan(&applied); err != nil {
			return err
		}
		for version := applied + 1; version <= len(migrations); version++ {
			if _, err := tx.Exec(ctx, migrations[version-1]); err != nil {
				return fmt.Errorf("migration %d: %w", version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO archiver_schema_migrations (version) VALUES ($1)`, version); err != nil {
				return err
			}
		}
		return nil
	})
}

const columns = `id, station, object_key, public_url, original_name, show, content_type, size_bytes,
	sha256, etag, started_at, duration_seconds, archived_at, announce_state`

func scan(row pgx.Row) (*Recording, error) {
	var r Recording
	var seconds *float64
	err := row.Scan(&r.ID, &r.Station, &r.ObjectKey, &r.PublicURL, &r.OriginalName, &r.Show, &r.ContentType,
		&r.SizeBytes, &r.SHA256, &r.ETag, &r.StartedAt, &seconds, &r.ArchivedAt, &r.AnnounceState)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if seconds != nil {
		d := time.Duration(*seconds * float64(time.Second))
		r.Duration = &d
	}
	return &r, nil
}

// ByKey returns the recording stored at an object key, or nil.
func (c *Catalog) ByKey(ctx context.Context, key string) (*Recording, error) {
	return scan(c.pool.QueryRow(ctx, `SELECT `+columns+` FROM archived_recordings WHERE object_key = $1`, key))
}

// BySHA256 returns the recording with this content, or nil.
func (c *Catalog) BySHA256(ctx context.Context, sum string) (*Recording, error) {
	return scan(c.pool.QueryRow(ctx, `SELECT `+columns+` FROM archived_recordings WHERE sha256 = $1`, sum))
}

// Insert records r unless a row with the same content or key exists. It returns the row
// now in the table and whether it is the one just inserted; r.AnnounceState must be set.
func (c *Catalog) Insert(ctx context.Context, r *Recording) (*Recording, bool, error) {
	var seconds *float64
	if r.Duration != nil {
		s := r.Duration.Seconds()
		seconds = &s
	}
	row, err := scan(c.pool.QueryRow(ctx, `INSERT INTO archived_recordings
		(station, object_key, public_url, original_name, show, content_type, size_bytes, sha256, etag,
		 started_at, duration_seconds, announce_state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT DO NOTHING
		RETURNING `+columns,
		r.Station, r.ObjectKey, r.PublicURL, r.OriginalName, r.Show, r.ContentType, r.SizeBytes, r.SHA256, r.ETag,
		r.StartedAt, seconds, r.AnnounceState))
	if err != nil || row != nil {
		return row, row != nil, err
	}
	if row, err = c.BySHA256(ctx, r.SHA256); err != nil || row != nil {
		return row, false, err
	}
	row, err = c.ByKey(ctx, r.ObjectKey)
	if err == nil && row == nil {
		err = errors.New("insert conflicted but no conflicting row was found")
	}
	return row, false, err
}

// AbandonInterruptedAnnouncements marks announcements a previous run had started but
// not finished as unknown, so they are never sent twice. It returns how many there were.
func (c *Catalog) AbandonInterruptedAnnouncements(ctx context.Context) (int64, error) {
	tag, err := c.pool.Exec(ctx, `UPDATE archived_recordings SET announce_state = 'unknown' WHERE announce_state = 'sending'`)
	return tag.RowsAffected(), err
}

// ClaimAnnouncement takes the next due announcement and marks it as being sent. The mark is
// committed before the message goes out. It returns nil when none is due.
func (c *Catalog) ClaimAnnouncement(ctx context.Context) (*Recording, int, error) {
	var attempts int
	var seconds *float64
	var r Recording
	err := c.pool.QueryRow(ctx, `UPDATE archived_recordings
		SET announce_state = 'sending', announce_attempts = announce_attempts + 1
		WHERE id = (SELECT id FROM archived_recordings
			WHERE announce_state = 'pending' AND announce_next_at <= now()
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+columns+`, announce_attempts`).Scan(&r.ID, &r.Station, &r.ObjectKey, &r.PublicURL,
		&r.OriginalName, &r.Show, &r.ContentType, &r.SizeBytes, &r.SHA256, &r.ETag, &r.StartedAt, &seconds,
		&r.ArchivedAt, &r.AnnounceState, &attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if seconds != nil {
		d := time.Duration(*seconds * float64(time.Second))
		r.Duration = &d
	}
	return &r, attempts, nil
}

// FinishAnnouncement records the outcome of a claimed announcement: state is sent,
// unknown, or pending to try again after retryAfter.
func (c *Catalog) FinishAnnouncement(ctx context.Context, id int64, state string, retryAfter time.Duration) error {
	_, err := c.pool.Exec(ctx, `UPDATE archived_recordings
		SET announce_state = $2,
		    announce_next_at = now() + make_interval(secs => $3),
		    announced_at = CASE WHEN $2 = 'sent' THEN now() END
		WHERE id = $1 AND announce_state = 'sending'`, id, state, retryAfter.Seconds())
	return err
}
