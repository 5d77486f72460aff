// Command movein moves today's datafruits data into the stack and keeps it safe there:
//
//	movein migrate-db   copy a PostgreSQL database (today's Heroku one) into an app's database
//	movein copy-bucket  copy an S3-compatible bucket into one of the stack's, resumably
//	movein backup       back up the app databases and media into the backups bucket (the nightly CronJob)
//	movein restore      restore a database or a bucket from a backup, and verify it
//	movein import-zone  turn today's DNS zone file into the stack's datafruits:dnsRecords
//
// Every command checks what it needs (servers reachable, versions, buckets
// readable, target empty) before it writes anything, has --dry-run where it
// writes, and never prints a credential. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/datafruits/infra/apps/movein/internal/backup"
	"github.com/datafruits/infra/apps/movein/internal/bucket"
	"github.com/datafruits/infra/apps/movein/internal/pg"
	"github.com/datafruits/infra/apps/movein/internal/redact"
	"github.com/datafruits/infra/apps/movein/internal/zone"
)

// PinnedMajor is the PostgreSQL major version the stack runs (components/postgres).
const PinnedMajor = 16

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr); err != nil {
		os.Exit(1)
	}
}

// run runs one subcommand with environ as its environment. Everything it
// prints passes through a redactor that knows every credential it was given
// (secret keys, URL passwords); its error is printed too.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) (err error) {
	red := &redact.Redactor{}
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
		if strings.HasPrefix(k, "MOVEIN_") && strings.Contains(k, "SECRET") {
			red.Add(v)
		}
		red.AddURL(v)
	}
	getenv := func(k string) string { return env[k] }
	for _, a := range args {
		red.AddURL(a)
		if _, v, ok := strings.Cut(a, "="); ok {
			red.AddURL(v)
		}
	}
	out, errOut := red.Writer(stdout), red.Writer(stderr)
	defer func() {
		if err != nil {
			fmt.Fprintln(errOut, "error:", err)
		}
	}()
	if len(args) == 0 {
		return errors.New("usage: movein migrate-db|copy-bucket|backup|restore|import-zone [flags] (movein <command> -h lists the flags)")
	}
	c := &command{getenv: getenv, out: out, red: red}
	switch args[0] {
	case "migrate-db":
		return c.migrateDB(ctx, args[1:])
	case "copy-bucket":
		return c.copyBucket(ctx, args[1:])
	case "backup":
		return c.backup(ctx, args[1:])
	case "restore":
		return c.restore(ctx, args[1:])
	case "import-zone":
		return c.importZone(args[1:])
	default:
		return fmt.Errorf("unknown command %q: want migrate-db, copy-bucket, backup, restore or import-zone", args[0])
	}
}

type command struct {
	getenv func(string) string
	out    io.Writer
	red    *redact.Redactor
}

func (c *command) printf(format string, a ...any) { fmt.Fprintf(c.out, format+"\n", a...) }

func (c *command) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("movein "+name, flag.ContinueOnError)
	fs.SetOutput(c.out)
	return fs
}

// orEnv is a flag's value, or when it is empty the environment variable's:
// URLs with passwords are better given in the environment than on a command line.
func (c *command) orEnv(v, env string) string {
	if v != "" {
		return v
	}
	return c.getenv(env)
}

// location opens a bucket URL with the keys in <prefix>_S3_KEY and <prefix>_S3_SECRET.
func (c *command) location(raw, what, prefix string) (*bucket.Location, error) {
	if raw == "" {
		return nil, fmt.Errorf("%s: no bucket URL given", what)
	}
	key, secret := c.getenv(prefix+"_S3_KEY"), c.getenv(prefix+"_S3_SECRET")
	c.red.Add(secret)
	l, err := bucket.Parse(raw, key, secret)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (keys: %s_S3_KEY, %s_S3_SECRET)", what, err, prefix, prefix)
	}
	return l, nil
}

func (c *command) migrateDB(ctx context.Context, args []string) error {
	fs := c.flags("migrate-db")
	from := fs.String("from", "", "source database URL (or MOVEIN_FROM_DATABASE_URL)")
	to := fs.String("to", "", "target database URL, logged in as the app's user, who will own everything (or MOVEIN_TO_DATABASE_URL)")
	pgBin := fs.String("pg-bin", "", "bin directory of the PostgreSQL tools (default: pg_dump on PATH)")
	major := fs.Int("postgres-major", PinnedMajor, "PostgreSQL major version the target must run")
	dryRun := fs.Bool("dry-run", false, "check everything and say what would be copied; write nothing")
	force := fs.Bool("force", false, "replace the contents of a target that is not empty")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, dst := c.orEnv(*from, "MOVEIN_FROM_DATABASE_URL"), c.orEnv(*to, "MOVEIN_TO_DATABASE_URL")
	if src == "" || dst == "" {
		return errors.New("migrate-db needs --from and --to (or MOVEIN_FROM_DATABASE_URL and MOVEIN_TO_DATABASE_URL)")
	}
	c.red.AddURL(src)
	c.red.AddURL(dst)
	tools, err := pg.FindTools(ctx, *pgBin)
	if err != nil {
		return err
	}
	tools.Progress = c.out

	// Every check before anything is written.
	srcConn, err := pg.Connect(ctx, src)
	if err != nil {
		return fmt.Errorf("source %w", err)
	}
	defer srcConn.Close(ctx)
	srcMajor, err := pg.ServerMajor(ctx, srcConn)
	if err != nil {
		return fmt.Errorf("source %s: %w", redact.URL(src), err)
	}
	if srcMajor > tools.Major {
		return fmt.Errorf("source %s runs PostgreSQL %d; pg_dump %s is %d and cannot dump a newer server: give --pg-bin of PostgreSQL %d or later",
			redact.URL(src), srcMajor, tools.DumpBin, tools.Major, srcMajor)
	}
	dstConn, err := pg.Connect(ctx, dst)
	if err != nil {
		return fmt.Errorf("target %w", err)
	}
	defer dstConn.Close(ctx)
	dstMajor, err := pg.ServerMajor(ctx, dstConn)
	if err != nil {
		return fmt.Errorf("target %s: %w", redact.URL(dst), err)
	}
	if dstMajor != *major {
		return fmt.Errorf("target %s runs PostgreSQL %d; the stack pins %d: nothing was copied", redact.URL(dst), dstMajor, *major)
	}
	if tools.Major < srcMajor || tools.Major > dstMajor {
		return fmt.Errorf("pg_restore %s is PostgreSQL %d: a dump of %d restores into %d only with tools between the two", tools.RestoreBin, tools.Major, srcMajor, dstMajor)
	}
	appUser, err := pg.CurrentUser(ctx, dstConn)
	if err != nil {
		return err
	}
	c.printf("source %s (PostgreSQL %d) -> target %s (PostgreSQL %d, owner %s), tools %d", redact.URL(src), srcMajor, redact.URL(dst), dstMajor, appUser, tools.Major)

	snap, err := pg.BeginSnapshot(ctx, srcConn)
	if err != nil {
		return fmt.Errorf("source %s: %w", redact.URL(src), err)
	}
	defer snap.End(ctx)
	want, err := pg.Take(ctx, srcConn)
	if err != nil {
		return fmt.Errorf("source %s: %w", redact.URL(src), err)
	}
	objects, err := pg.ObjectCount(ctx, dstConn)
	if err != nil {
		return err
	}
	if objects > 0 {
		have, err := pg.Take(ctx, dstConn)
		if err != nil {
			return err
		}
		diff := append(pg.Diff(want, have), pg.Owners(have, appUser)...)
		if len(diff) == 0 {
			c.printf("target already holds the source's %d tables, %d rows, %d sequences and %d large objects: nothing to do", len(want.Tables), want.Rows(), len(want.Sequences), want.LargeObjects)
			return nil
		}
		if !*force {
			return fmt.Errorf("target %s is not empty (%d tables, sequences or large objects) and differs from the source (%s): nothing was copied; give --force to replace its contents",
				redact.URL(dst), objects, strings.Join(diff[:min(3, len(diff))], "; "))
		}
	}
	if *dryRun {
		c.printf("dry run: would copy %d tables (%d rows), %d sequences and %d large objects%s; nothing was written",
			len(want.Tables), want.Rows(), len(want.Sequences), want.LargeObjects, map[bool]string{true: ", replacing the target's contents", false: ""}[objects > 0])
		for _, t := range want.Tables {
			c.printf("  %-40s %8d rows", t.Name, t.Rows)
		}
		return nil
	}

	dir, err := os.MkdirTemp("", "movein-migrate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	started := time.Now()
	c.printf("dumping the source (pg_dump %d)...", tools.Major)
	file := dir + "/source.dump"
	if err := tools.Dump(ctx, src, snap.ID, file, c.red); err != nil {
		return err
	}
	dumped := time.Since(started)
	if st, err := os.Stat(file); err == nil {
		c.printf("  dump: %.1f MB in %s", float64(st.Size())/1e6, dumped.Round(time.Millisecond))
	}
	c.printf("restoring into the target as %s (one transaction)...", appUser)
	if err := tools.Restore(ctx, dst, file, objects > 0, c.red); err != nil {
		return err
	}
	elapsed := time.Since(started)
	got, err := pg.Take(ctx, dstConn)
	if err != nil {
		return err
	}
	if d := append(pg.Diff(want, got), pg.Owners(got, appUser)...); len(d) > 0 {
		return fmt.Errorf("the target differs from the source after the copy: %s", strings.Join(d, "; "))
	}
	c.printVerified(got)
	c.printf("migrated %d rows in %s: %.0f rows/s", got.Rows(), elapsed.Round(time.Millisecond), float64(got.Rows())/elapsed.Seconds())
	return nil
}

// printVerified prints the counts, sequence values and checksums that were compared.
func (c *command) printVerified(f *pg.Fingerprint) {
	c.printf("verified (equal in source and target):")
	for _, t := range f.Tables {
		c.printf("  table    %-40s %8d rows  md5 %s  owner %s", t.Name, t.Rows, t.MD5, t.Owner)
	}
	for _, s := range f.Sequences {
		v := "unset"
		if s.LastValue != nil {
			v = fmt.Sprint(*s.LastValue)
		}
		c.printf("  sequence %-40s last value %s", s.Name, v)
	}
	c.printf("  large objects: %d, md5 %s", f.LargeObjects, f.LargeObjectsMD5)
}

func (c *command) copyBucket(ctx context.Context, args []string) error {
	fs := c.flags("copy-bucket")
	from := fs.String("from", "", "source bucket URL http(s)://endpoint/bucket[/prefix] (keys: MOVEIN_FROM_S3_KEY, MOVEIN_FROM_S3_SECRET)")
	to := fs.String("to", "", "target bucket URL (keys: MOVEIN_TO_S3_KEY, MOVEIN_TO_S3_SECRET)")
	manifest := fs.String("manifest", "", "write the checksum manifest (JSON lines: key, size, sha256) to this file")
	dryRun := fs.Bool("dry-run", false, "check everything and say what would be copied; write nothing")
	force := fs.Bool("force", false, "copy into a target that holds objects movein did not write")
	concurrency := fs.Int("concurrency", 4, "objects copied at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := c.location(*from, "--from", "MOVEIN_FROM")
	if err != nil {
		return err
	}
	dst, err := c.location(*to, "--to", "MOVEIN_TO")
	if err != nil {
		return err
	}
	rep, err := bucket.Copy(ctx, src, dst, bucket.CopyOptions{DryRun: *dryRun, Force: *force, Concurrency: *concurrency, Progress: c.out})
	if err != nil {
		return err
	}
	if *dryRun {
		c.printf("dry run: %s -> %s: would copy %d of %d objects (%.1f MB); %d already there; nothing was written",
			src, dst, rep.Copied, rep.Objects, float64(rep.CopiedBytes)/1e6, rep.Unchanged)
		return nil
	}
	if *manifest != "" {
		f, err := os.Create(*manifest)
		if err != nil {
			return err
		}
		if err := bucket.WriteManifest(f, rep.Manifest); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	secs := rep.Elapsed.Seconds()
	c.printf("%s -> %s: %d objects (%.1f MB): %d copied (%.1f MB), %d unchanged, %d only in the target (left alone)",
		src, dst, rep.Objects, float64(rep.Bytes)/1e6, rep.Copied, float64(rep.CopiedBytes)/1e6, rep.Unchanged, rep.OnlyInTarget)
	c.printf("verified: %d objects on the target with the source's size and sha256 in %s: %.0f objects/s, %.1f MB/s",
		len(rep.Manifest), rep.Elapsed.Round(time.Millisecond), float64(rep.Copied)/secs, float64(rep.CopiedBytes)/1e6/secs)
	return nil
}

// keyValues parses name=value,name=value.
func keyValues(s string) (map[string]string, error) {
	out := map[string]string{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q: want name=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

func (c *command) backup(ctx context.Context, args []string) error {
	fs := c.flags("backup")
	to := fs.String("to", "", "backups bucket URL (keys: MOVEIN_TO_S3_KEY, MOVEIN_TO_S3_SECRET)")
	copyTo := fs.String("copy-to", "", "optional second backups bucket, at another provider (keys: MOVEIN_COPY_S3_KEY, MOVEIN_COPY_S3_SECRET)")
	databases := fs.String("databases", "", "app databases to dump, comma-separated; each one's URL is in MOVEIN_DATABASE_URL_<NAME>")
	media := fs.String("media", "", "media buckets to back up, name=URL comma-separated (keys: MOVEIN_MEDIA_S3_KEY, MOVEIN_MEDIA_S3_SECRET)")
	pgBin := fs.String("pg-bin", "", "bin directory of the PostgreSQL tools (default: pg_dump on PATH)")
	keepCount := fs.Int("keep-count", 7, "finished runs always kept")
	keepAge := fs.Duration("keep-age", 30*24*time.Hour, "finished runs younger than this are kept too")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keepCount < 1 {
		return fmt.Errorf("--keep-count: got %d; allowed: 1 or more (a backup must survive its own run)", *keepCount)
	}
	opts := backup.Options{KeepCount: *keepCount, KeepAge: *keepAge, Now: time.Now(), Log: c.out, Red: c.red}
	var err error
	if opts.To, err = c.location(*to, "--to", "MOVEIN_TO"); err != nil {
		return err
	}
	if *copyTo != "" {
		l, err := c.location(*copyTo, "--copy-to", "MOVEIN_COPY")
		if err != nil {
			return err
		}
		opts.Copies = append(opts.Copies, l)
	}
	for _, name := range strings.Split(*databases, ",") {
		if name == "" {
			continue
		}
		env := "MOVEIN_DATABASE_URL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		u := c.getenv(env)
		if u == "" {
			return fmt.Errorf("--databases names %s but %s is not set", name, env)
		}
		c.red.AddURL(u)
		opts.Databases = append(opts.Databases, backup.Database{Name: name, URL: u})
	}
	mediaURLs, err := keyValues(*media)
	if err != nil {
		return fmt.Errorf("--media: %w", err)
	}
	for name, raw := range mediaURLs {
		l, err := c.location(raw, "--media "+name, "MOVEIN_MEDIA")
		if err != nil {
			return err
		}
		opts.Media = append(opts.Media, backup.Media{Name: name, Loc: l})
	}
	if len(opts.Databases) == 0 && len(opts.Media) == 0 {
		return errors.New("nothing to back up: give --databases and/or --media")
	}
	if len(opts.Databases) > 0 {
		if opts.Tools, err = pg.FindTools(ctx, *pgBin); err != nil {
			return err
		}
		opts.Tools.Progress = c.out
	}
	started := time.Now()
	r, err := backup.Backup(ctx, opts)
	if err != nil {
		return err
	}
	c.printf("backup %s finished in %s into %s", r.ID, time.Since(started).Round(time.Millisecond), opts.To)
	return nil
}

func (c *command) restore(ctx context.Context, args []string) error {
	fs := c.flags("restore")
	from := fs.String("from", "", "backups bucket URL (keys: MOVEIN_FROM_S3_KEY, MOVEIN_FROM_S3_SECRET)")
	runID := fs.String("run", "latest", "backup run to restore (its ID), or latest")
	asOf := fs.String("as-of", "", "with --run latest: the newest run at or before this time (RFC 3339)")
	database := fs.String("database", "", "database to restore (its app name in the backup)")
	toDB := fs.String("to-db", "", "target database URL (or MOVEIN_TO_DATABASE_URL)")
	media := fs.String("media", "", "media bucket to restore (its name in the backup)")
	toBucket := fs.String("to-bucket", "", "target bucket URL (keys: MOVEIN_TO_S3_KEY, MOVEIN_TO_S3_SECRET)")
	inPlace := fs.Bool("in-place", false, "restore over a target that is not empty, replacing what the backup holds")
	pgBin := fs.String("pg-bin", "", "bin directory of the PostgreSQL tools (default: pg_restore on PATH)")
	major := fs.Int("postgres-major", PinnedMajor, "PostgreSQL major version the target must run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*database == "") == (*media == "") {
		return errors.New("restore needs exactly one of --database NAME (with --to-db) or --media NAME (with --to-bucket)")
	}
	loc, err := c.location(*from, "--from", "MOVEIN_FROM")
	if err != nil {
		return err
	}
	var at time.Time
	if *asOf != "" {
		if at, err = time.Parse(time.RFC3339, *asOf); err != nil {
			return fmt.Errorf("--as-of: got %q; allowed: an RFC 3339 time such as 2026-11-30T04:00:00Z", *asOf)
		}
	}
	started := time.Now()
	r, err := backup.Pick(ctx, loc, *runID, at)
	if err != nil {
		return err
	}
	if *database != "" {
		target := c.orEnv(*toDB, "MOVEIN_TO_DATABASE_URL")
		if target == "" {
			return errors.New("--database needs --to-db (or MOVEIN_TO_DATABASE_URL)")
		}
		c.red.AddURL(target)
		tools, err := pg.FindTools(ctx, *pgBin)
		if err != nil {
			return err
		}
		tools.Progress = c.out
		got, err := backup.RestoreDatabase(ctx, loc, r, *database, target, *inPlace, tools, *major, "", c.red)
		if err != nil {
			return err
		}
		c.printVerified(got)
		c.printf("restored database %s from run %s into %s in %s: %d rows, %.0f rows/s", *database, r.ID, redact.URL(target),
			time.Since(started).Round(time.Millisecond), got.Rows(), float64(got.Rows())/time.Since(started).Seconds())
		return nil
	}
	target, err := c.location(*toBucket, "--to-bucket", "MOVEIN_TO")
	if err != nil {
		return err
	}
	rep, err := backup.RestoreMedia(ctx, loc, r, *media, target, *inPlace, "")
	if err != nil {
		return err
	}
	elapsed := time.Since(started)
	c.printf("restored media %s from run %s into %s in %s: %d objects (%d copied, %d unchanged, %d not in the run left alone), all verified by sha256: %.0f objects/s",
		*media, r.ID, target, elapsed.Round(time.Millisecond), rep.Objects, rep.Copied, rep.Unchanged, rep.Extra, float64(rep.Copied)/elapsed.Seconds())
	return nil
}

func (c *command) importZone(args []string) error {
	fs := c.flags("import-zone")
	file := fs.String("zone-file", "", "today's zone file (the registrar's or BIND's export)")
	domain := fs.String("domain", "", "the zone's domain, e.g. datafruits.fm")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || *domain == "" {
		return errors.New("import-zone needs --zone-file and --domain")
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	records, skipped, err := zone.Parse(f, *domain)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		c.printf("# skipped %s %s: %s", s.Name, s.Type, s.Why)
	}
	c.printf("# %d records for Pulumi.<stack>.yaml; a name the stack serves itself is refused by the program, remove it here", len(records))
	fmt.Fprint(c.out, zone.StackYAML(records))
	return nil
}
