// Package pg dumps, restores and fingerprints PostgreSQL databases with the
// PostgreSQL tools (pg_dump, pg_restore) of a pinned major version.
//
// Connections are given as URLs. A password never reaches a command line:
// the tools get the URL without it in -d and the password in PGPASSWORD.
package pg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datafruits/infra/apps/movein/internal/redact"
)

// ConnectTimeout bounds how long an unreachable server can hold up a run.
const ConnectTimeout = 10 * time.Second

// Tools are the pg_dump and pg_restore of one PostgreSQL major version.
type Tools struct {
	// DumpBin and RestoreBin are the binaries' paths.
	DumpBin, RestoreBin string
	// Major is their major version (pg_dump --version).
	Major int
	// Progress, when set, receives a line as each table's data is dumped or restored.
	Progress io.Writer
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// FindTools finds pg_dump and pg_restore in dir, or on PATH when dir is empty,
// and reads their major version.
func FindTools(ctx context.Context, dir string) (*Tools, error) {
	find := func(name string) (string, error) {
		if dir != "" {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("%s not found in %s (the PostgreSQL bin directory given by --pg-bin)", name, dir)
			}
			return p, nil
		}
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%s not found on PATH: install the PostgreSQL client of the stack's major or give its bin directory with --pg-bin", name)
		}
		return p, nil
	}
	t := &Tools{}
	var err error
	if t.DumpBin, err = find("pg_dump"); err != nil {
		return nil, err
	}
	if t.RestoreBin, err = find("pg_restore"); err != nil {
		return nil, err
	}
	for _, bin := range []string{t.DumpBin, t.RestoreBin} {
		out, err := exec.CommandContext(ctx, bin, "--version").Output()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %w", bin, err)
		}
		m := versionRE.FindSubmatch(out)
		if m == nil {
			return nil, fmt.Errorf("%s --version printed %q: no PostgreSQL version in it", bin, bytes.TrimSpace(out))
		}
		major, _ := strconv.Atoi(string(m[1]))
		if t.Major != 0 && major != t.Major {
			return nil, fmt.Errorf("pg_dump is PostgreSQL %d but pg_restore is %d: use one installation's tools", t.Major, major)
		}
		t.Major = major
	}
	return t, nil
}

// Connect opens a connection, failing within ConnectTimeout. Its error names
// the URL without the password.
func Connect(ctx context.Context, rawURL string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PostgreSQL URL: %v", redact.URL(rawURL), errors.Unwrap(err))
	}
	cfg.ConnectTimeout = ConnectTimeout
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot connect: %w", redact.URL(rawURL), err)
	}
	// Fingerprints compare the text of rows: fix every setting that changes it.
	for _, set := range []string{
		"SET TimeZone TO 'UTC'", "SET DateStyle TO 'ISO, MDY'", "SET IntervalStyle TO 'postgres'",
		"SET extra_float_digits TO 1", "SET bytea_output TO 'hex'",
	} {
		if _, err := conn.Exec(ctx, set); err != nil {
			conn.Close(ctx)
			return nil, fmt.Errorf("%s: %s: %w", redact.URL(rawURL), set, err)
		}
	}
	return conn, nil
}

// ServerMajor is the major version of the server behind conn.
func ServerMajor(ctx context.Context, conn *pgx.Conn) (int, error) {
	var num int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return 0, err
	}
	return num / 10000, nil
}

// CurrentUser is the role conn is logged in as.
func CurrentUser(ctx context.Context, conn *pgx.Conn) (string, error) {
	var u string
	err := conn.QueryRow(ctx, "SELECT current_user").Scan(&u)
	return u, err
}

// userSchemas selects the namespaces that hold the application's objects.
const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`

// ObjectCount is how many relations and large objects the database holds
// outside the system schemas: zero for a fresh database.
func ObjectCount(ctx context.Context, conn *pgx.Conn) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE `+userSchemas+`)
		+ (SELECT count(*) FROM pg_largeobject_metadata)`).Scan(&n)
	return n, err
}

// Table is one table's fingerprint.
type Table struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	MD5   string `json:"md5"`
	Owner string `json:"owner"`
}

// Sequence is one sequence's state; LastValue is nil before its first nextval.
type Sequence struct {
	Name      string `json:"name"`
	LastValue *int64 `json:"lastValue"`
	Owner     string `json:"owner"`
}

// Fingerprint is what a database holds, by counts and checksums: two databases
// with equal fingerprints hold the same rows, sequence values and large objects.
type Fingerprint struct {
	Tables       []Table    `json:"tables"`
	Sequences    []Sequence `json:"sequences"`
	LargeObjects int64      `json:"largeObjects"`
	// LargeObjectsMD5 covers every large object's OID and content.
	LargeObjectsMD5 string `json:"largeObjectsMD5"`
	// LargeObjectOwners are the distinct owners of the large objects.
	LargeObjectOwners []string `json:"largeObjectOwners"`
}

// Rows is the total row count.
func (f *Fingerprint) Rows() int64 {
	var n int64
	for _, t := range f.Tables {
		n += t.Rows
	}
	return n
}

// Take fingerprints the database behind conn, in conn's current transaction
// when one is open (so it sees the same snapshot as a dump taken with it).
func Take(ctx context.Context, conn *pgx.Conn) (*Fingerprint, error) {
	f := &Fingerprint{}
	rows, err := conn.Query(ctx, `SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND `+userSchemas+` ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	type qualified struct{ schema, name, owner string }
	var tables []qualified
	for rows.Next() {
		var q qualified
		if err := rows.Scan(&q.schema, &q.name, &q.owner); err != nil {
			return nil, err
		}
		tables = append(tables, q)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	for _, q := range tables {
		t := Table{Name: q.schema + "." + q.name, Owner: q.owner}
		// Rows are hashed one by one and the hashes sorted: the result does not
		// depend on physical order, which a restore does not keep.
		sql := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM (SELECT md5(t::text) AS h FROM %s t) rows`,
			pgx.Identifier{q.schema, q.name}.Sanitize())
		if err := conn.QueryRow(ctx, sql).Scan(&t.Rows, &t.MD5); err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.Name, err)
		}
		f.Tables = append(f.Tables, t)
	}
	rows, err = conn.Query(ctx, `SELECT s.schemaname || '.' || s.sequencename, s.last_value, s.sequenceowner FROM pg_sequences s ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("listing sequences: %w", err)
	}
	for rows.Next() {
		var s Sequence
		if err := rows.Scan(&s.Name, &s.LastValue, &s.Owner); err != nil {
			return nil, err
		}
		f.Sequences = append(f.Sequences, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing sequences: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(md5(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid)), ''),
		coalesce(array_agg(DISTINCT pg_get_userbyid(lomowner)), '{}') FROM pg_largeobject_metadata`).Scan(&f.LargeObjects, &f.LargeObjectsMD5, &f.LargeObjectOwners); err != nil {
		return nil, fmt.Errorf("reading large objects: %w", err)
	}
	return f, nil
}

// Diff lists how got differs from want in content (rows, sequence values,
// large objects); owners are not content and are checked by Owners.
func Diff(want, got *Fingerprint) []string {
	var d []string
	gotTables := map[string]Table{}
	for _, t := range got.Tables {
		gotTables[t.Name] = t
	}
	for _, w := range want.Tables {
		g, ok := gotTables[w.Name]
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("table %s: missing (want %d rows)", w.Name, w.Rows))
		case g.Rows != w.Rows:
			d = append(d, fmt.Sprintf("table %s: %d rows, want %d", w.Name, g.Rows, w.Rows))
		case g.MD5 != w.MD5:
			d = append(d, fmt.Sprintf("table %s: checksum %s, want %s (same row count, different content)", w.Name, g.MD5, w.MD5))
		}
		delete(gotTables, w.Name)
	}
	for name, g := range gotTables {
		d = append(d, fmt.Sprintf("table %s: not in the source (%d rows)", name, g.Rows))
	}
	gotSeqs := map[string]Sequence{}
	for _, s := range got.Sequences {
		gotSeqs[s.Name] = s
	}
	for _, w := range want.Sequences {
		g, ok := gotSeqs[w.Name]
		if !ok {
			d = append(d, fmt.Sprintf("sequence %s: missing", w.Name))
		} else if value(g.LastValue) != value(w.LastValue) {
			d = append(d, fmt.Sprintf("sequence %s: last value %s, want %s", w.Name, value(g.LastValue), value(w.LastValue)))
		}
	}
	if got.LargeObjects != want.LargeObjects || got.LargeObjectsMD5 != want.LargeObjectsMD5 {
		d = append(d, fmt.Sprintf("large objects: %d (checksum %s), want %d (checksum %s)", got.LargeObjects, got.LargeObjectsMD5, want.LargeObjects, want.LargeObjectsMD5))
	}
	return d
}

// Owners lists every table, sequence and large-object owner in f other than user.
func Owners(f *Fingerprint, user string) []string {
	var d []string
	for _, t := range f.Tables {
		if t.Owner != user {
			d = append(d, fmt.Sprintf("table %s is owned by %s, want %s", t.Name, t.Owner, user))
		}
	}
	for _, s := range f.Sequences {
		if s.Owner != user {
			d = append(d, fmt.Sprintf("sequence %s is owned by %s, want %s", s.Name, s.Owner, user))
		}
	}
	for _, o := range f.LargeObjectOwners {
		if o != user {
			d = append(d, fmt.Sprintf("large objects are owned by %s, want %s", o, user))
		}
	}
	return d
}

func value(v *int64) string {
	if v == nil {
		return "unset"
	}
	return strconv.FormatInt(*v, 10)
}

// Snapshot is a repeatable-read transaction whose snapshot pg_dump shares, so
// that a dump and a fingerprint describe the same moment of a live database.
type Snapshot struct {
	Conn *pgx.Conn
	ID   string
}

// BeginSnapshot opens the transaction on conn and exports its snapshot. The
// caller ends it with conn's Exec("COMMIT") after the dump.
func BeginSnapshot(ctx context.Context, conn *pgx.Conn) (*Snapshot, error) {
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return nil, err
	}
	s := &Snapshot{Conn: conn}
	if err := conn.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&s.ID); err != nil {
		return nil, fmt.Errorf("exporting a snapshot: %w", err)
	}
	return s, nil
}

// End closes the snapshot's transaction.
func (s *Snapshot) End(ctx context.Context) error {
	_, err := s.Conn.Exec(ctx, "COMMIT")
	return err
}

// Dump writes the database at rawURL to file in pg_dump's custom format
// (compressed, restorable table by table, large objects included). Owners and
// privileges are left out: a restore gives everything to the user it logs in as.
func (t *Tools) Dump(ctx context.Context, rawURL, snapshotID, file string, red *redact.Redactor) error {
	args := []string{"--format=custom", "--no-owner", "--no-acl", "--file=" + file}
	if snapshotID != "" {
		args = append(args, "--snapshot="+snapshotID)
	}
	return t.run(ctx, t.DumpBin, args, rawURL, red)
}

// Restore loads a custom-format dump into the database at rawURL in one
// transaction (all or nothing). clean drops the dump's objects first, for a
// restore in place.
func (t *Tools) Restore(ctx context.Context, rawURL, file string, clean bool, red *redact.Redactor) error {
	args := []string{"--no-owner", "--no-acl", "--exit-on-error", "--single-transaction"}
	if clean {
		args = append(args, "--clean", "--if-exists")
	}
	return t.run(ctx, t.RestoreBin, append(args, file), rawURL, red)
}

func (t *Tools) run(ctx context.Context, bin string, args []string, rawURL string, red *redact.Redactor) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%s: not a URL", redact.URL(rawURL))
	}
	password, _ := u.User.Password()
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	if t.Progress != nil {
		args = append(args, "--verbose")
	}
	cmd := exec.CommandContext(ctx, bin, append(args, "--dbname="+u.String())...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=10", "PGAPPNAME=movein")
	stderr := &progressWriter{progress: t.Progress, red: red, started: time.Now()}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), redact.URL(rawURL), err, strings.TrimSpace(red.String(stderr.errors.String())))
	}
	return nil
}

// progressWriter reads the tools' stderr: with --verbose, the lines naming a
// table whose data is being dumped or restored become progress lines; the
// other lines are kept for an error message (verbose chatter is dropped).
type progressWriter struct {
	progress io.Writer
	red      *redact.Redactor
	started  time.Time
	partial  []byte
	errors   bytes.Buffer
	tables   int
}

var tableLineRE = regexp.MustCompile(`(dumping contents of table|processing data for table) "?([^"]+)"?`)

func (w *progressWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if m := tableLineRE.FindStringSubmatch(line); m != nil && w.progress != nil {
			w.tables++
			verb := "restoring"
			if strings.HasPrefix(m[1], "dumping") {
				verb = "dumping"
			}
			fmt.Fprintf(w.progress, "  %s: table %d, %s (%s)\n", verb, w.tables, m[2], time.Since(w.started).Round(time.Second))
			continue
		}
		if w.progress == nil || strings.Contains(line, "error") || strings.Contains(line, "warning") || strings.Contains(line, "FATAL") {
			w.errors.WriteString(line + "\n")
		}
	}
	return len(p), nil
}
