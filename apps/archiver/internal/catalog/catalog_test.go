package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/datafruits/infra/apps/archiver/internal/catalog"
	"github.com/datafruits/infra/apps/archiver/internal/testenv"
)

func open(t *testing.T) *catalog.Catalog {
	t.Helper()
	db, err := catalog.Open(context.Background(), testenv.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	for i := range 2 {
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("migrate (run %d): %v", i+1, err)
		}
	}
	return db
}

func sample(key, sum string) *catalog.Recording {
	d := 90 * time.Minute
	return &catalog.Recording{Station: "datafruits", ObjectKey: key, PublicURL: "https://cdn.example/" + key,
		OriginalName: "x.mp3", Show: "x", ContentType: "audio/mpeg", SizeBytes: 10, SHA256: sum, ETag: "e",
		StartedAt: time.Date(2024, 5, 1, 20, 0, 0, 0, time.UTC), Duration: &d, AnnounceState: catalog.AnnouncePending}
}

func TestInsertIsUniqueByContentAndKey(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	first, inserted, err := db.Insert(ctx, sample("a.mp3", "sum1"))
	if err != nil || !inserted {
		t.Fatalf("first insert: inserted=%v err=%v", inserted, err)
	}
	if first.Duration == nil || *first.Duration != 90*time.Minute {
		t.Errorf("duration round trip = %v, want 1h30m", first.Duration)
	}
	again, inserted, err := db.Insert(ctx, sample("a.mp3", "sum1"))
	if err != nil || inserted || again.ID != first.ID {
		t.Errorf("retried insert: inserted=%v id=%d err=%v, want the first row %d", inserted, again.ID, err, first.ID)
	}
	sameContent, inserted, err := db.Insert(ctx, sample("b.mp3", "sum1"))
	if err != nil || inserted || sameContent.ObjectKey != "a.mp3" {
		t.Errorf("same content, other key: inserted=%v row=%+v err=%v, want the a.mp3 row", inserted, sameContent, err)
	}
	sameKey, inserted, err := db.Insert(ctx, sample("a.mp3", "sum2"))
	if err != nil || inserted || sameKey.SHA256 != "sum1" {
		t.Errorf("same key, other content: inserted=%v row=%+v err=%v, want the sum1 row", inserted, sameKey, err)
	}
}

func TestAnnouncementsAreClaimedOnceAndInterruptedOnesAbandoned(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if _, _, err := db.Insert(ctx, sample(k, "sum-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	disabled := sample("d", "sum-d")
	disabled.AnnounceState = catalog.AnnounceDisabled
	db.Insert(ctx, disabled)

	a, attempts, err := db.ClaimAnnouncement(ctx)
	if err != nil || a == nil || a.ObjectKey != "a" || attempts != 1 {
		t.Fatalf("first claim = %+v, %d, %v; want a, attempt 1", a, attempts, err)
	}
	db.FinishAnnouncement(ctx, a.ID, catalog.AnnounceSent, 0)
	b, _, _ := db.ClaimAnnouncement(ctx)
	db.FinishAnnouncement(ctx, b.ID, catalog.AnnouncePending, time.Hour) // failed: retry in an hour
	c, _, _ := db.ClaimAnnouncement(ctx)                                 // then the process dies mid-send
	if c == nil || c.ObjectKey != "c" {
		t.Fatalf("third claim = %+v, want c", c)
	}
	if n, err := db.AbandonInterruptedAnnouncements(ctx); err != nil || n != 1 {
		t.Errorf("abandon = %d, %v; want 1 (c)", n, err)
	}
	if next, _, err := db.ClaimAnnouncement(ctx); err != nil || next != nil {
		t.Errorf("claim with nothing due = %+v, %v; want none (a sent, b later, c unknown, d disabled)", next, err)
	}
}
