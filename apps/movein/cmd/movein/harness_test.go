package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/datafruits/infra/apps/movein/internal/redact"
)

// The real servers scripts/test/movein.sh starts, and the tools it found.
const (
	// envLegacyAdmin is a superuser URL of the "legacy" server (today's Heroku
	// database): an older PostgreSQL major than the stack's.
	envLegacyAdmin = "MOVEIN_TEST_LEGACY_ADMIN_URL"
	// envStackAdmin is a superuser URL of a PostgreSQL of the stack's pinned major.
	envStackAdmin = "MOVEIN_TEST_STACK_ADMIN_URL"
	// envPGBin is the bin directory of the pg_dump/pg_restore the suite found.
	envPGBin = "MOVEIN_TEST_PG_BIN"
	// envDrillAdmin is a superuser URL of the server the restore drill backs
	// up: one whose major the tools of envPGBin can dump.
	envDrillAdmin  = "MOVEIN_TEST_DRILL_ADMIN_URL"
	envS3Endpoint  = "MOVEIN_TEST_S3_ENDPOINT"
	envS3Key       = "MOVEIN_TEST_S3_KEY"
	envS3Secret    = "MOVEIN_TEST_S3_SECRET"
	scriptThatSets = "scripts/test/movein.sh"
)

func requireServers(t *testing.T) {
	t.Helper()
	var missing []string
	for _, n := range []string{envLegacyAdmin, envStackAdmin, envPGBin, envDrillAdmin, envS3Endpoint, envS3Key, envS3Secret} {
		if os.Getenv(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := t.Name() + " needs the real test servers: " + strings.Join(missing, ", ") + " not set (" + scriptThatSets + " sets them)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func suffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// secret makes a password that a leak check can find in any output.
func secret() string { return "pw-" + suffix() + suffix() + "-Zq" }

// movein runs the command in-process with the test's environment plus extra,
// and returns what it printed (stdout and stderr together) and its error.
func movein(t *testing.T, extra []string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	env := append(os.Environ(), extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := run(ctx, args, env, &out, &out)
	shown := make([]string, len(args))
	for i, a := range args {
		shown[i] = a
		if strings.Contains(a, "://") {
			shown[i] = redact.URL(a)
		}
	}
	t.Logf("movein %s:\n%s", strings.Join(shown, " "), out.String())
	return out.String(), err
}

// assertNoSecrets fails if any secret appears in output.
func assertNoSecrets(t *testing.T, output string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(output, s) {
			t.Errorf("a credential (%s...) reached movein's output", s[:4])
		}
	}
}

// appDatabase is one app's database, laid out as the stack lays it out on
// DigitalOcean (components/dbsetup): the admin owns the database, the app's
// user gets CONNECT, CREATE, TEMPORARY on it and USAGE, CREATE on schema public.
type appDatabase struct {
	Name, User, Password string
	// URL logs in as the app's user, with its password.
	URL string
	// AdminURL logs in as the superuser to the same database.
	AdminURL string
}

func newAppDatabase(t *testing.T, adminURL, app string) *appDatabase {
	t.Helper()
	ctx := context.Background()
	d := &appDatabase{Name: app + "_" + suffix(), Password: secret()}
	d.User = d.Name + "_user"
	admin := connect(t, adminURL)
	for _, sql := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", d.User, d.Password),
		"CREATE DATABASE " + d.Name,
		fmt.Sprintf("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %s TO %s", d.Name, d.User),
	} {
		exec(t, admin, sql)
	}
	u, _ := url.Parse(adminURL)
	u.Path = "/" + d.Name
	d.AdminURL = u.String()
	inDB := connect(t, d.AdminURL)
	exec(t, inDB, fmt.Sprintf("GRANT USAGE, CREATE ON SCHEMA public TO %s", d.User))
	inDB.Close(ctx)
	u.User = url.UserPassword(d.User, d.Password)
	d.URL = u.String()
	t.Cleanup(func() {
		exec(t, admin, "DROP DATABASE IF EXISTS "+d.Name+" WITH (FORCE)")
		exec(t, admin, "DROP ROLE IF EXISTS "+d.User)
		admin.Close(ctx)
	})
	return d
}

func connect(t *testing.T, rawURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// seedStation fills a database the way the API's would look: shows with a
// serial key and a sequence advanced past deleted rows, unicode everywhere
// (table names included), jsonb, bytea, timestamps, a view, foreign keys and
// large objects. It returns the number of rows it left.
func seedStation(t *testing.T, conn *pgx.Conn, shows int) int64 {
	t.Helper()
	for _, sql := range []string{
		`CREATE TABLE djs (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, bio text, avatar bytea, joined timestamptz NOT NULL)`,
		`CREATE TABLE shows (id serial PRIMARY KEY, dj_id bigint NOT NULL REFERENCES djs(id), title text NOT NULL,
			starts_at timestamptz NOT NULL, tags jsonb NOT NULL DEFAULT '[]', recording_oid oid, price numeric(8,2), rating real)`,
		`CREATE INDEX shows_starts_at ON shows (starts_at)`,
		`CREATE TABLE "チャット" (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "メッセージ" text NOT NULL)`,
		`CREATE SEQUENCE ticket_numbers START 1000 INCREMENT 7`,
		`CREATE VIEW upcoming AS SELECT s.title, d.name FROM shows s JOIN djs d ON d.id = s.dj_id WHERE s.starts_at > '2026-01-01'`,
		`INSERT INTO djs (name, bio, avatar, joined) SELECT 'dj ' || i || ' Ünïcødé 🎧', 'bio « ' || i || ' » 日本語 ' || repeat('x', i % 50),
			decode(md5(i::text), 'hex'), '2020-01-01 00:00:00+00'::timestamptz + i * interval '1 hour' FROM generate_series(1, 300) i`,
		fmt.Sprintf(`INSERT INTO shows (dj_id, title, starts_at, tags, price, rating) SELECT 1 + i %% 300, 'show №' || i || ' — ナイト 🎶',
			'2025-06-01 20:00:00+00'::timestamptz + i * interval '30 minutes', jsonb_build_array('tag' || i %% 7, 'ü'), (i %% 1000) / 7.0, i / 3.0
			FROM generate_series(1, %d) i`, shows),
		// Deleted rows leave the sequence ahead of max(id): a restore must keep the sequence, not recompute it.
		`DELETE FROM shows WHERE id > (SELECT max(id) - 25 FROM shows)`,
		`INSERT INTO "チャット" ("メッセージ") SELECT 'こんにちは ' || i || ' ❤️ ' || chr(8364) FROM generate_series(1, 500) i`,
		`SELECT nextval('ticket_numbers') FROM generate_series(1, 3)`,
		// Large objects: recordings' cue sheets, one of them binary with every byte value.
		`UPDATE shows SET recording_oid = lo_from_bytea(0, convert_to('cue sheet of show ' || id || ' ✓', 'UTF8')) WHERE id <= 5`,
		`SELECT lo_from_bytea(0, (SELECT string_agg(set_byte('\x00'::bytea, 0, b), ''::bytea) FROM generate_series(0, 255) b))`,
	} {
		exec(t, conn, sql)
	}
	var n int64
	if err := conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM djs) + (SELECT count(*) FROM shows) + (SELECT count(*) FROM "チャット")`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// station is what a test reads back from a database on its own, without
// movein's fingerprint: counts, the next values sequences hand out, a few rows
// verbatim and every large object's bytes.
type station struct {
	Counts       map[string]int64
	NextShowID   int64
	NextTicket   int64
	NextChatID   int64
	SomeRows     []string
	LargeObjects map[uint32]string
}

// readStation reads it without changing anything.
func readStation(t *testing.T, conn *pgx.Conn) station {
	t.Helper()
	ctx := context.Background()
	s := station{Counts: map[string]int64{}, LargeObjects: map[uint32]string{}}
	for _, table := range []string{"djs", "shows", `"チャット"`} {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		s.Counts[table] = n
	}
	q := func(sql string, dst any) {
		if err := conn.QueryRow(ctx, sql).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// The value the next nextval would return, read without calling it.
	next := func(seq string, dst *int64) {
		var name string
		q(fmt.Sprintf(`SELECT %s::regclass::text`, seq), &name)
		q(fmt.Sprintf(`SELECT CASE WHEN s.is_called THEN s.last_value + p.increment_by ELSE s.last_value END FROM %s s, pg_sequences p
			WHERE format('%%I.%%I', p.schemaname, p.sequencename) IN (%s, 'public.' || %s)`, name, quote(name), quote(name)), dst)
	}
	next(`'shows_id_seq'`, &s.NextShowID)
	next(`'ticket_numbers'`, &s.NextTicket)
	next(`pg_get_serial_sequence('"チャット"', 'id')`, &s.NextChatID)
	rows, err := conn.Query(ctx, `(SELECT title || '|' || tags::text || '|' || starts_at::text || '|' || price::text FROM shows ORDER BY id LIMIT 3)
		UNION ALL (SELECT name || '|' || bio || '|' || encode(avatar, 'hex') FROM djs ORDER BY id DESC LIMIT 2)
		UNION ALL (SELECT "メッセージ" FROM "チャット" ORDER BY id DESC LIMIT 2)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r string
		rows.Scan(&r)
		s.SomeRows = append(s.SomeRows, r)
	}
	rows, err = conn.Query(ctx, `SELECT oid, encode(lo_get(oid), 'hex') FROM pg_largeobject_metadata`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var oid uint32
		var hexBytes string
		rows.Scan(&oid, &hexBytes)
		s.LargeObjects[oid] = hexBytes
	}
	return s
}

func compareStations(t *testing.T, want, got station) {
	t.Helper()
	for table, n := range want.Counts {
		if got.Counts[table] != n {
			t.Errorf("table %s: %d rows, want %d (%d lost)", table, got.Counts[table], n, n-got.Counts[table])
		}
	}
	if got.NextShowID != want.NextShowID || got.NextTicket != want.NextTicket || got.NextChatID != want.NextChatID {
		t.Errorf("sequences hand out show %d, ticket %d, chat %d; the source would hand out %d, %d, %d",
			got.NextShowID, got.NextTicket, got.NextChatID, want.NextShowID, want.NextTicket, want.NextChatID)
	}
	if strings.Join(got.SomeRows, "\n") != strings.Join(want.SomeRows, "\n") {
		t.Errorf("rows differ:\n got %q\nwant %q", got.SomeRows, want.SomeRows)
	}
	if len(got.LargeObjects) != len(want.LargeObjects) {
		t.Errorf("%d large objects, want %d", len(got.LargeObjects), len(want.LargeObjects))
	}
	for oid, b := range want.LargeObjects {
		if got.LargeObjects[oid] != b {
			t.Errorf("large object %d: content differs or is missing", oid)
		}
	}
}

// s3 is the test's own client of the S3 server.
func s3(t *testing.T) *minio.Client {
	t.Helper()
	u, err := url.Parse(os.Getenv(envS3Endpoint))
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(os.Getenv(envS3Key), os.Getenv(envS3Secret), ""),
		Secure: u.Scheme == "https", Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newBucket makes an empty bucket and returns its movein URL.
func newBucket(t *testing.T, role string) (name, bucketURL string) {
	t.Helper()
	name = role + "-" + suffix()
	c := s3(t)
	if err := c.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("making bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for o := range c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			c.RemoveObject(ctx, name, o.Key, minio.RemoveObjectOptions{})
		}
		c.RemoveBucket(ctx, name)
	})
	return name, os.Getenv(envS3Endpoint) + "/" + name
}

// seedMedia uploads n objects like today's assets and recordings: nested
// prefixes, unicode and spaces in keys, an empty file, a few MB-sized ones.
func seedMedia(t *testing.T, bucketName string, n int) (objects int, bytes int64) {
	t.Helper()
	c := s3(t)
	for i := range n {
		size := 4 << 10
		switch {
		case i%60 == 0:
			size = 3 << 20
		case i%10 == 0:
			size = 256 << 10
		case i == 7:
			size = 0
		}
		body := make([]byte, size)
		rand.Read(body)
		key := fmt.Sprintf("uploads/%03d/track %d — ナイト ü.mp3", i%17, i)
		if i%5 == 0 {
			key = fmt.Sprintf("avatars/dj-%d.png", i)
		}
		if _, err := c.PutObject(context.Background(), bucketName, key, bytesReader(body), int64(size), minio.PutObjectOptions{ContentType: "audio/mpeg"}); err != nil {
			t.Fatalf("seeding %s: %v", key, err)
		}
		bytes += int64(size)
	}
	return n, bytes
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// bucketContent hashes every object in a bucket itself: key -> sha256.
func bucketContent(t *testing.T, bucketName string) map[string]string {
	t.Helper()
	c := s3(t)
	ctx := context.Background()
	out := map[string]string{}
	for o := range c.ListObjects(ctx, bucketName, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("listing %s: %v", bucketName, o.Err)
		}
		obj, err := c.GetObject(ctx, bucketName, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, obj); err != nil {
			t.Fatalf("reading %s/%s: %v", bucketName, o.Key, err)
		}
		obj.Close()
		out[o.Key] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

func compareBuckets(t *testing.T, want, got map[string]string) {
	t.Helper()
	lost := 0
	for k, sum := range want {
		switch g, ok := got[k]; {
		case !ok:
			lost++
			if lost <= 3 {
				t.Errorf("object %q lost", k)
			}
		case g != sum:
			t.Errorf("object %q: sha256 %s, want %s", k, g, sum)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d objects lost", lost, len(want))
	}
	if len(got) != len(want) {
		t.Errorf("%d objects, want %d", len(got), len(want))
	}
}

// s3Env gives movein the test server's keys under the given prefixes.
func s3Env(prefixes ...string) []string {
	var env []string
	for _, p := range prefixes {
		env = append(env, p+"_S3_KEY="+os.Getenv(envS3Key), p+"_S3_SECRET="+os.Getenv(envS3Secret))
	}
	return env
}

// lastModified is every object's modification time in a bucket.
func lastModified(t *testing.T, bucketName string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for o := range s3(t).ListObjects(context.Background(), bucketName, minio.ListObjectsOptions{Recursive: true}) {
		out[o.Key] = o.LastModified
	}
	return out
}

// rowVersions is every row's xmin in a table: a rewritten row gets a new one.
func rowVersions(t *testing.T, conn *pgx.Conn, table string) string {
	t.Helper()
	var v string
	if err := conn.QueryRow(context.Background(), "SELECT string_agg(xmin::text, ',' ORDER BY ctid) FROM "+table).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// quote is s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
