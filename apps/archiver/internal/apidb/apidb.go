// Package apidb registers an archived recording where the API (datafruits/
// streampusher-api) reads past sets: a row in its `tracks` table, whose
// audio_file_name is the recording's public URL, and a row in its `recordings`
// table pointing at that track with processing_status "processed". That is
// what the API's own ProcessRecording service leaves behind after uploading a
// recording (app/services/process_recording.rb @ 1e83d9e), so the admin site
// and the archive see an archived set as if the API had processed it, and the
// API never processes it again (it skips a recording that has a track).
//
// The tables belong to the API (Rails migrations create them); this package
// only inserts into recordings and tracks and reads radios and users.
package apidb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// processed is Recording#processing_status "processed": the enum
// ['unprocessed', 'processing', 'processed', 'processing_failed'] of
// app/models/recording.rb @ 1e83d9e stores its index.
const processed = 2

// Set is one archived recording to register.
type Set struct {
	// Station is the radio's name (radios.name).
	Station string
	// DJ is the username Liquidsoap put in the file name (users.username); empty when unknown.
	DJ string
	// Path is the file as Liquidsoap wrote it; it identifies the set in recordings.path.
	Path string
	// PublicURL is where listeners fetch the archived file (tracks.audio_file_name).
	PublicURL string
	// SizeBytes is the file's size (tracks.filesize).
	SizeBytes int64
	// StartedAt is when the set began (recordings.file_created_at).
	StartedAt time.Time
}

// DB is the API's database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to the API's database at databaseURL, with at most maxConns
// connections (the stack's connection budget counts them).
func Open(ctx context.Context, databaseURL string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, errors.New("API_DATABASE_URL cannot be parsed (value not shown: it holds a password)")
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("API database: %w", err)
	}
	return &DB{pool: pool}, nil
}

// Close releases the connections.
func (d *DB) Close() { d.pool.Close() }

// Ping checks that the API's database answers.
func (d *DB) Ping(ctx context.Context) error { return d.pool.Ping(ctx) }

// Register records s once: a second call for the same Path changes nothing
// and returns the first call's recording id with created false. A station
// without a row in radios is an error (the API would not list the set).
func (d *DB) Register(ctx context.Context, s Set) (recordingID int64, created bool, err error) {
	if s.Station == "" || s.Path == "" || s.PublicURL == "" {
		return 0, false, fmt.Errorf("register: Station, Path and PublicURL are required")
	}
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// Two archivers (or a retry racing a slow first attempt) must not
		// both insert: serialise on the path for this transaction.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.Path); err != nil {
			return err
		}
		switch err := tx.QueryRow(ctx, `SELECT id FROM recordings WHERE path = $1 ORDER BY id LIMIT 1`, s.Path).Scan(&recordingID); {
		case err == nil:
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		var radioID int64
		if err := tx.QueryRow(ctx, `SELECT id FROM radios WHERE name = $1`, s.Station).Scan(&radioID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("station %q has no row in the API's radios table", s.Station)
			}
			return err
		}
		var userID *int64
		if s.DJ != "" {
			var id int64
			switch err := tx.QueryRow(ctx, `SELECT id FROM users WHERE username = $1`, s.DJ).Scan(&id); {
			case err == nil:
				userID = &id
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		// tracks.filesize is a 4-byte integer in the API's schema.
		size := min(s.SizeBytes, math.MaxInt32)
		var trackID int64
		if err := tx.QueryRow(ctx, `INSERT INTO tracks (audio_file_name, radio_id, uploaded_by_id, filesize, created_at, updated_at)
			VALUES ($1, $2, $3, $4, now(), now()) RETURNING id`, s.PublicURL, radioID, userID, size).Scan(&trackID); err != nil {
			return err
		}
		created = true
		return tx.QueryRow(ctx, `INSERT INTO recordings (radio_id, dj_id, path, processing_status, track_id, file_created_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, now(), now()) RETURNING id`,
			radioID, userID, s.Path, processed, trackID, s.StartedAt.UTC()).Scan(&recordingID)
	})
	if err != nil {
		return 0, false, fmt.Errorf("registering %s in the API's recordings: %w", s.Path, err)
	}
	return recordingID, created, nil
}
