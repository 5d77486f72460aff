package apidb_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/apidb"
	"github.com/datafruits/infra/apps/archiver/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// apiDatabase is a fresh database with the API's tables, one radio and one DJ.
func apiDatabase(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	url := testenv.APIDatabase(t, "datafruits", "ovenrake")
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return url, conn
}

func set() apidb.Set {
	return apidb.Set{Station: "datafruits", DJ: "ovenrake", Path: "/recordings/datafruits-ovenrake-2026-11-30-20-00-00.mp3",
		PublicURL: "https://cdn.example/datafruits/2026/11/30/ovenrake/x.mp3", SizeBytes: 4_000_000_000,
		StartedAt: time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)}
}

// TestRegisterLeavesWhatTheAPIsProcessingLeaves: one processed recording
// pointing at one track with the public URL, uploaded by the DJ; registering
// again (a retry, a restart, two archivers at once) adds nothing.
func TestRegisterLeavesWhatTheAPIsProcessingLeaves(t *testing.T) {
	url, conn := apiDatabase(t)
	ctx := context.Background()
	db, err := apidb.Open(ctx, url, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var wg sync.WaitGroup
	ids := make([]int64, 4)
	created := make([]bool, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() { ids[i], created[i], errs[i] = db.Register(ctx, set()) })
	}
	wg.Wait()
	n := 0
	for i := range 4 {
		if errs[i] != nil {
			t.Fatalf("register %d: %v", i, errs[i])
		}
		if created[i] {
			n++
		}
		if ids[i] != ids[0] {
			t.Errorf("register %d returned recording %d, want %d", i, ids[i], ids[0])
		}
	}
	if n != 1 {
		t.Errorf("%d of 4 concurrent registrations created rows, want 1", n)
	}

	var recordings, tracks int
	conn.QueryRow(ctx, `SELECT count(*) FROM recordings`).Scan(&recordings)
	conn.QueryRow(ctx, `SELECT count(*) FROM tracks`).Scan(&tracks)
	if recordings != 1 || tracks != 1 {
		t.Fatalf("%d recordings and %d tracks, want 1 and 1", recordings, tracks)
	}
	var status int
	var audio, path, dj, uploader, station string
	var filesize int64
	var fileCreated time.Time
	err = conn.QueryRow(ctx, `SELECT r.processing_status, t.audio_file_name, r.path, u.username, up.username, ra.name, t.filesize, r.file_created_at
		FROM recordings r JOIN tracks t ON t.id = r.track_id JOIN users u ON u.id = r.dj_id JOIN users up ON up.id = t.uploaded_by_id
		JOIN radios ra ON ra.id = r.radio_id AND ra.id = t.radio_id`).Scan(&status, &audio, &path, &dj, &uploader, &station, &filesize, &fileCreated)
	if err != nil {
		t.Fatalf("the recording does not join to its track, DJ and radio: %v", err)
	}
	s := set()
	if status != 2 || audio != s.PublicURL || path != s.Path || dj != "ovenrake" || uploader != "ovenrake" || station != "datafruits" {
		t.Errorf("got status %d, audio %q, path %q, dj %q, uploader %q, radio %q", status, audio, path, dj, uploader, station)
	}
	if filesize != 2147483647 {
		t.Errorf("filesize %d: a 4 GB set must be capped at the column's maximum", filesize)
	}
	if !fileCreated.Equal(s.StartedAt) {
		t.Errorf("file_created_at %v, want %v", fileCreated, s.StartedAt)
	}
}

func TestRegisterUnknownDJAndStation(t *testing.T) {
	url, conn := apiDatabase(t)
	ctx := context.Background()
	db, err := apidb.Open(ctx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := set()
	s.DJ = "guest"
	if _, created, err := db.Register(ctx, s); err != nil || !created {
		t.Fatalf("a DJ the API does not know still gets the set registered: created=%v err=%v", created, err)
	}
	var nulls int
	conn.QueryRow(ctx, `SELECT count(*) FROM recordings r JOIN tracks t ON t.id = r.track_id WHERE r.dj_id IS NULL AND t.uploaded_by_id IS NULL`).Scan(&nulls)
	if nulls != 1 {
		t.Errorf("unknown DJ: want dj_id and uploaded_by_id NULL")
	}
	s.Station, s.Path = "nosuchradio", "/recordings/other.mp3"
	if _, _, err := db.Register(ctx, s); err == nil || !contains(err.Error(), `station "nosuchradio" has no row`) {
		t.Errorf("unknown station: want an error naming it, got %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
