package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
)

func pgBin() string { return "--pg-bin=" + os.Getenv(envPGBin) }

// legacyMajor is the legacy server's major version, the one the drill uses.
func serverMajor(t *testing.T, adminURL string) int {
	t.Helper()
	var n int
	if err := connect(t, adminURL).QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int / 10000").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func objectCount(t *testing.T, conn *pgx.Conn) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%') + (SELECT count(*) FROM pg_largeobject_metadata)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMovingTheDatabaseIn copies today's database (on an older PostgreSQL,
// owned by Heroku's user) into the stack's database for the API, then runs
// again and changes nothing.
func TestMovingTheDatabaseIn(t *testing.T) {
	requireServers(t)
	legacy := newAppDatabase(t, os.Getenv(envLegacyAdmin), "heroku")
	rows := seedStation(t, connect(t, legacy.URL), 20000)
	target := newAppDatabase(t, os.Getenv(envStackAdmin), "api")
	targetAdmin := connect(t, target.AdminURL)

	out, err := movein(t, nil, "migrate-db", pgBin(), "--dry-run", "--from", legacy.URL, "--to", target.URL)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if !strings.Contains(out, fmt.Sprintf("would copy 3 tables (%d rows), 4 sequences and 6 large objects", rows)) {
		t.Errorf("the dry run does not say what it would copy (3 tables, %d rows, 4 sequences, 6 large objects)", rows)
	}
	if n := objectCount(t, targetAdmin); n != 0 {
		t.Fatalf("the dry run wrote %d objects into the target", n)
	}
	assertNoSecrets(t, out, legacy.Password, target.Password)

	started := time.Now()
	out, err = movein(t, nil, "migrate-db", pgBin(), "--from", legacy.URL, "--to", target.URL)
	elapsed := time.Since(started)
	if err != nil {
		t.Fatalf("migrate-db: %v", err)
	}
	assertNoSecrets(t, out, legacy.Password, target.Password)
	if !strings.Contains(out, "dumping: table 3,") || !strings.Contains(out, "restoring: table 3,") {
		t.Errorf("migrate-db shows no progress per table while it dumps and restores")
	}
	compareStations(t, readStation(t, connect(t, legacy.AdminURL)), readStation(t, targetAdmin))
	// Owners and grants: everything belongs to the app's user, nothing to Heroku's.
	var foreign int
	if err := targetAdmin.QueryRow(context.Background(), `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> $1`, target.User).Scan(&foreign); err != nil {
		t.Fatal(err)
	}
	if foreign != 0 {
		t.Errorf("%d relations in the target are not owned by the app's user %s", foreign, target.User)
	}
	var lo int
	targetAdmin.QueryRow(context.Background(), `SELECT count(*) FROM pg_largeobject_metadata WHERE pg_get_userbyid(lomowner) <> $1`, target.User).Scan(&lo)
	if lo != 0 {
		t.Errorf("%d large objects are not owned by the app's user", lo)
	}
	t.Logf("figure: migrated %d rows (plus 6 large objects) from PostgreSQL %d to %d in %s: %.0f rows/s",
		rows, serverMajor(t, legacy.AdminURL), serverMajor(t, target.AdminURL), elapsed.Round(time.Millisecond), float64(rows)/elapsed.Seconds())

	t.Run("a second run changes nothing", func(t *testing.T) {
		before := rowVersions(t, targetAdmin, "shows") + rowVersions(t, targetAdmin, "djs")
		out, err := movein(t, nil, "migrate-db", pgBin(), "--from", legacy.URL, "--to", target.URL)
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
		if !strings.Contains(out, "nothing to do") {
			t.Errorf("the second run does not say it had nothing to do")
		}
		if after := rowVersions(t, targetAdmin, "shows") + rowVersions(t, targetAdmin, "djs"); after != before {
			t.Errorf("the second run rewrote rows")
		}
	})

	t.Run("the app works with what was copied, with its own login", func(t *testing.T) {
		app := connect(t, target.URL)
		var id int
		if err := app.QueryRow(context.Background(), `INSERT INTO shows (dj_id, title, starts_at) VALUES (1, 'first show on the new stack', now()) RETURNING id`).Scan(&id); err != nil {
			t.Fatalf("the API's user cannot write to what was copied: %v", err)
		}
		if want := readStation(t, connect(t, legacy.AdminURL)).NextShowID; int64(id) != want {
			t.Errorf("the first new show got id %d, want %d (the legacy sequence's next value)", id, want)
		}
	})

	t.Run("a target holding other data is refused without --force", func(t *testing.T) {
		other := newAppDatabase(t, os.Getenv(envStackAdmin), "chat")
		otherApp := connect(t, other.URL)
		exec(t, otherApp, `CREATE TABLE shows (id serial PRIMARY KEY, title text)`)
		exec(t, otherApp, `INSERT INTO shows (title) VALUES ('written by the new app before the move')`)
		_, err := movein(t, nil, "migrate-db", pgBin(), "--from", legacy.URL, "--to", other.URL)
		if err == nil || !strings.Contains(err.Error(), "is not empty") || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("a non-empty target: got %v, want a refusal that names --force", err)
		}
		var n int
		otherApp.QueryRow(context.Background(), "SELECT count(*) FROM shows").Scan(&n)
		if n != 1 {
			t.Errorf("the refused run changed the target (%d rows in shows, want 1)", n)
		}
		out, err := movein(t, nil, "migrate-db", pgBin(), "--force", "--from", legacy.URL, "--to", other.URL)
		if err != nil {
			t.Fatalf("--force: %v", err)
		}
		if !strings.Contains(out, "verified") {
			t.Errorf("--force did not verify the copy")
		}
	})
}

// TestBadInputFailsBeforeWritingAnything: an unreachable source, a target on
// the wrong major version, tools too old for the source, and a bucket the
// keys cannot read each stop the run with the URL (never its password) and
// what is wrong, and the target stays untouched.
func TestBadInputFailsBeforeWritingAnything(t *testing.T) {
	requireServers(t)
	legacy := newAppDatabase(t, os.Getenv(envLegacyAdmin), "heroku")
	seedStation(t, connect(t, legacy.URL), 100)
	target := newAppDatabase(t, os.Getenv(envStackAdmin), "api")
	targetAdmin := connect(t, target.AdminURL)
	wrongMajor := newAppDatabase(t, os.Getenv(envLegacyAdmin), "api")

	unreachable := fmt.Sprintf("postgres://heroku:%s@127.0.0.1:1/legacy?sslmode=disable&connect_timeout=3", legacy.Password)
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"unreachable source", unreachable, target.URL, []string{"source postgres://heroku:xxxxx@127.0.0.1:1/legacy", "cannot connect"}},
		{"target on the wrong major", legacy.URL, wrongMajor.URL,
			[]string{"target " + strings.Replace(wrongMajor.URL, wrongMajor.Password, "xxxxx", 1), fmt.Sprintf("runs PostgreSQL %d; the stack pins %d", serverMajor(t, wrongMajor.AdminURL), PinnedMajor)}},
	}
	if serverMajor(t, target.AdminURL) > serverMajor(t, legacy.AdminURL) {
		cases = append(cases, struct {
			name, from, to string
			want           []string
		}{"a source newer than the tools", target.URL, wrongMajor.URL, []string{"cannot dump a newer server"}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := movein(t, nil, "migrate-db", pgBin(), "--from", c.from, "--to", c.to)
			if err == nil {
				t.Fatal("the run succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			assertNoSecrets(t, out, legacy.Password, target.Password, wrongMajor.Password)
			if n := objectCount(t, targetAdmin); n != 0 {
				t.Errorf("the failed run wrote %d objects into the target", n)
			}
		})
	}

	t.Run("a bucket the keys cannot read", func(t *testing.T) {
		srcName, srcURL := newBucket(t, "legacy-assets")
		seedMedia(t, srcName, 3)
		dstName, dstURL := newBucket(t, "assets")
		wrongSecret := secret()
		env := append(s3Env("MOVEIN_TO"), "MOVEIN_FROM_S3_KEY="+os.Getenv(envS3Key), "MOVEIN_FROM_S3_SECRET="+wrongSecret)
		out, err := movein(t, env, "copy-bucket", "--from", srcURL, "--to", dstURL)
		if err == nil || !strings.Contains(err.Error(), "bucket "+srcURL+": cannot list") {
			t.Fatalf("got %v, want an error naming bucket %s and that it cannot be listed", err, srcURL)
		}
		assertNoSecrets(t, out, wrongSecret, os.Getenv(envS3Secret))
		if n := len(bucketContent(t, dstName)); n != 0 {
			t.Errorf("the failed copy wrote %d objects", n)
		}
		_, err = movein(t, s3Env("MOVEIN_FROM", "MOVEIN_TO"), "copy-bucket", "--from", os.Getenv(envS3Endpoint)+"/no-such-bucket-"+suffix(), "--to", dstURL)
		if err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
			t.Errorf("a missing source bucket: got %v, want NoSuchBucket", err)
		}
	})

	t.Run("a backup with tools older than the database", func(t *testing.T) {
		if serverMajor(t, target.AdminURL) <= serverMajor(t, legacy.AdminURL) {
			t.Skip("the tools can dump the stack's major here")
		}
		backupsName, backupsURL := newBucket(t, "backups")
		env := append(s3Env("MOVEIN_TO"), "MOVEIN_DATABASE_URL_API="+target.URL)
		out, err := movein(t, env, "backup", pgBin(), "--databases", "api", "--to", backupsURL)
		if err == nil || !strings.Contains(err.Error(), "cannot dump a newer server") {
			t.Fatalf("got %v, want a refusal naming the versions", err)
		}
		assertNoSecrets(t, out, target.Password)
		if n := len(bucketContent(t, backupsName)); n != 0 {
			t.Errorf("the refused backup wrote %d objects", n)
		}
	})
}

// TestMovingTheMediaIn copies today's assets bucket into the stack's,
// resumes an interrupted copy, and a finished copy's re-run changes nothing.
func TestMovingTheMediaIn(t *testing.T) {
	requireServers(t)
	srcName, srcURL := newBucket(t, "legacy-media")
	objects, size := seedMedia(t, srcName, 240)
	dstName, dstURL := newBucket(t, "media")
	env := s3Env("MOVEIN_FROM", "MOVEIN_TO")
	manifest := filepath.Join(t.TempDir(), "media.manifest.jsonl")

	out, err := movein(t, env, "copy-bucket", "--dry-run", "--from", srcURL, "--to", dstURL)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if !strings.Contains(out, fmt.Sprintf("would copy %d of %d objects", objects, objects)) {
		t.Errorf("the dry run does not say it would copy %d objects", objects)
	}
	if n := len(bucketContent(t, dstName)); n != 0 {
		t.Fatalf("the dry run wrote %d objects", n)
	}

	started := time.Now()
	if _, err := movein(t, env, "copy-bucket", "--from", srcURL, "--to", dstURL, "--manifest", manifest); err != nil {
		t.Fatalf("copy-bucket: %v", err)
	}
	elapsed := time.Since(started)
	want := bucketContent(t, srcName)
	compareBuckets(t, want, bucketContent(t, dstName))
	lines, _ := os.ReadFile(manifest)
	for key, sum := range want {
		if !strings.Contains(string(lines), fmt.Sprintf(`"sha256":"%s"`, sum)) {
			t.Errorf("the manifest has no line with %s's sha256", key)
		}
	}
	if n := strings.Count(string(lines), "\n"); n != objects {
		t.Errorf("the manifest has %d lines, want %d", n, objects)
	}
	t.Logf("figure: copied %d objects (%.1f MB) in %s: %.0f objects/s, %.1f MB/s", objects, float64(size)/1e6,
		elapsed.Round(time.Millisecond), float64(objects)/elapsed.Seconds(), float64(size)/1e6/elapsed.Seconds())

	t.Run("an interrupted copy resumes", func(t *testing.T) {
		c := s3(t)
		// An interrupted run is a target that lacks some objects.
		removed := 0
		for key := range want {
			if removed == 9 {
				break
			}
			if err := c.RemoveObject(context.Background(), dstName, key, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
			removed++
		}
		out, err := movein(t, env, "copy-bucket", "--from", srcURL, "--to", dstURL)
		if err != nil {
			t.Fatalf("resume: %v", err)
		}
		if !strings.Contains(out, fmt.Sprintf("9 copied (")) || !strings.Contains(out, fmt.Sprintf("%d unchanged", objects-9)) {
			t.Errorf("the resumed copy did not copy exactly the 9 missing objects")
		}
		compareBuckets(t, want, bucketContent(t, dstName))
	})

	t.Run("a second run changes nothing", func(t *testing.T) {
		before := lastModified(t, dstName)
		time.Sleep(1100 * time.Millisecond) // a rewrite would show in LastModified's seconds
		out, err := movein(t, env, "copy-bucket", "--from", srcURL, "--to", dstURL)
		if err != nil {
			t.Fatalf("second run: %v", err)
		}
		if !strings.Contains(out, fmt.Sprintf("0 copied (0.0 MB), %d unchanged", objects)) {
			t.Errorf("the second run does not say it copied nothing")
		}
		after := lastModified(t, dstName)
		for k, t0 := range before {
			if !after[k].Equal(t0) {
				t.Errorf("object %q was rewritten", k)
			}
		}
	})

	t.Run("a target holding other objects is refused without --force", func(t *testing.T) {
		otherName, otherURL := newBucket(t, "media-other")
		seedMedia(t, otherName, 2)
		_, err := movein(t, env, "copy-bucket", "--from", srcURL, "--to", otherURL)
		if err == nil || !strings.Contains(err.Error(), "is not empty: 2 object(s) not written by movein") {
			t.Fatalf("got %v, want a refusal naming the 2 foreign objects", err)
		}
		if n := len(bucketContent(t, otherName)); n != 2 {
			t.Errorf("the refused copy changed the target: %d objects, want 2", n)
		}
	})
}

// TestRestoreDrill is the nightly backup and the day it is needed: back up
// the API's database and the media bucket, destroy both, restore both, and
// find every row, sequence value, large object and media object as it was.
func TestRestoreDrill(t *testing.T) {
	requireServers(t)
	drillStart := time.Now()
	drillAdmin := os.Getenv(envDrillAdmin)
	major := serverMajor(t, drillAdmin)
	db := newAppDatabase(t, drillAdmin, "api")
	rows := seedStation(t, connect(t, db.URL), 20000)
	mediaName, mediaURL := newBucket(t, "media")
	objects, _ := seedMedia(t, mediaName, 120)
	backupsName, backupsURL := newBucket(t, "backups")
	_, secondURL := newBucket(t, "offsite")
	env := append(s3Env("MOVEIN_TO", "MOVEIN_MEDIA", "MOVEIN_COPY", "MOVEIN_FROM"), "MOVEIN_DATABASE_URL_API="+db.URL)
	backupArgs := []string{"backup", pgBin(), "--databases", "api", "--media", "media=" + mediaURL, "--to", backupsURL, "--copy-to", secondURL,
		"--keep-count", "2", "--keep-age", "0s"}

	// What a restore must give back, read by the test itself. readStation
	// advances the sequences by one, so it runs before the backup too.
	before := readStation(t, connect(t, db.AdminURL))
	beforeMedia := bucketContent(t, mediaName)

	started := time.Now()
	out, err := movein(t, env, backupArgs...)
	backupTime := time.Since(started)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	assertNoSecrets(t, out, db.Password, os.Getenv(envS3Secret))
	// The second provider holds the same backup.
	compareBuckets(t, bucketContent(t, backupsName), bucketContent(t, strings.TrimPrefix(secondURL, os.Getenv(envS3Endpoint)+"/")))

	// Destroy: the app's tables, sequences and large objects, and every media object.
	app := connect(t, db.URL)
	exec(t, app, `SELECT lo_unlink(oid) FROM pg_largeobject_metadata`)
	exec(t, app, `DROP VIEW upcoming; DROP TABLE shows, djs, "チャット"; DROP SEQUENCE ticket_numbers`)
	c := s3(t)
	for key := range beforeMedia {
		if err := c.RemoveObject(context.Background(), mediaName, key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := objectCount(t, connect(t, db.AdminURL)); n != 0 {
		t.Fatalf("the database still holds %d objects after the destruction", n)
	}

	started = time.Now()
	out, err = movein(t, env, "restore", pgBin(), fmt.Sprintf("--postgres-major=%d", major), "--from", backupsURL, "--database", "api", "--to-db", db.URL)
	if err != nil {
		t.Fatalf("restoring the database: %v", err)
	}
	dbRestore := time.Since(started)
	assertNoSecrets(t, out, db.Password)
	started = time.Now()
	if _, err := movein(t, env, "restore", "--from", backupsURL, "--media", "media", "--to-bucket", mediaURL); err != nil {
		t.Fatalf("restoring the media: %v", err)
	}
	mediaRestore := time.Since(started)

	compareStations(t, before, readStation(t, connect(t, db.AdminURL)))
	compareBuckets(t, beforeMedia, bucketContent(t, mediaName))
	t.Logf("figure: drill on PostgreSQL %d: %d rows + 6 large objects + %d media objects: backup %s, database restore %s (%.0f rows/s), media restore %s (%.0f objects/s), whole drill %s",
		major, rows, objects, backupTime.Round(time.Millisecond), dbRestore.Round(time.Millisecond), float64(rows)/dbRestore.Seconds(),
		mediaRestore.Round(time.Millisecond), float64(objects)/mediaRestore.Seconds(), time.Since(drillStart).Round(time.Millisecond))

	t.Run("there is nothing to restore from before the first backup", func(t *testing.T) {
		_, err := movein(t, env, "restore", "--from", backupsURL, "--as-of", drillStart.Add(-time.Hour).UTC().Format(time.RFC3339), "--media", "media", "--to-bucket", mediaURL)
		if err == nil || !strings.Contains(err.Error(), "no finished backup run at or before") {
			t.Errorf("got %v, want a refusal saying no run is that old", err)
		}
	})

	t.Run("restoring over a live database needs --in-place", func(t *testing.T) {
		_, err := movein(t, env, "restore", pgBin(), fmt.Sprintf("--postgres-major=%d", major), "--from", backupsURL, "--database", "api", "--to-db", db.URL)
		if err == nil || !strings.Contains(err.Error(), "--in-place") {
			t.Fatalf("got %v, want a refusal naming --in-place", err)
		}
		exec(t, app, `UPDATE shows SET title = 'vandalised' WHERE id < 100`)
		if _, err := movein(t, env, "restore", pgBin(), fmt.Sprintf("--postgres-major=%d", major), "--from", backupsURL, "--database", "api", "--to-db", db.URL, "--in-place"); err != nil {
			t.Fatalf("--in-place: %v", err)
		}
		var n int
		connect(t, db.AdminURL).QueryRow(context.Background(), `SELECT count(*) FROM shows WHERE title = 'vandalised'`).Scan(&n)
		if n != 0 {
			t.Errorf("%d vandalised rows survived the restore", n)
		}
	})

	t.Run("retention keeps the newest runs and the media they need", func(t *testing.T) {
		// Two more nights; a media object is deleted and one overwritten between them.
		for night := range 2 {
			time.Sleep(1100 * time.Millisecond) // run IDs have one-second resolution
			if night == 0 {
				for key := range beforeMedia {
					c.RemoveObject(context.Background(), mediaName, key, minio.RemoveObjectOptions{})
					break
				}
			}
			if _, err := movein(t, env, backupArgs...); err != nil {
				t.Fatalf("backup %d: %v", night+2, err)
			}
		}
		runs := map[string]bool{}
		for o := range c.ListObjects(context.Background(), backupsName, minio.ListObjectsOptions{Prefix: "runs/", Recursive: true}) {
			runs[strings.Split(o.Key, "/")[1]] = true
		}
		if len(runs) != 2 {
			t.Errorf("%d runs kept, want 2 (--keep-count 2, --keep-age 0s): %v", len(runs), runs)
		}
		// The oldest kept run still restores completely, into a fresh bucket.
		freshName, freshURL := newBucket(t, "media-restored")
		var oldest string
		for id := range runs {
			if oldest == "" || id < oldest {
				oldest = id
			}
		}
		if _, err := movein(t, env, "restore", "--from", backupsURL, "--run", oldest, "--media", "media", "--to-bucket", freshURL); err != nil {
			t.Fatalf("restoring run %s: %v", oldest, err)
		}
		if n := len(bucketContent(t, freshName)); n != objects-1 {
			t.Errorf("run %s restored %d objects, want %d", oldest, n, objects-1)
		}
		// The deleted object's content went with the last run that held it.
		stored := 0
		for range c.ListObjects(context.Background(), backupsName, minio.ListObjectsOptions{Prefix: "media/media/sha256/", Recursive: true}) {
			stored++
		}
		if stored != objects-1 {
			t.Errorf("%d media contents kept, want %d (the runs kept refer to %d)", stored, objects-1, objects-1)
		}
	})
}
