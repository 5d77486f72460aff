package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/datafruits/infra/internal/pulumitest"
)

// pgServer is the PostgreSQL 16 scripts/test/postgres.sh starts.
type pgServer struct {
	host, port, superuser string
}

func pg16(t *testing.T) pgServer {
	t.Helper()
	s := pgServer{os.Getenv("DATAFRUITS_TEST_PG16_HOST"), os.Getenv("DATAFRUITS_TEST_PG16_PORT"), os.Getenv("DATAFRUITS_TEST_PG16_SUPERUSER")}
	if s.host == "" || s.port == "" || s.superuser == "" {
		t.Skip("needs a real PostgreSQL 16: run scripts/test.sh postgres")
	}
	return s
}

// psql runs psql with env (PG* variables) and args, returning its output.
func (s pgServer) psql(env map[string]string, args ...string) (string, error) {
	cmd := exec.Command("psql", append([]string{"--no-psqlrc", "--no-align", "--tuples-only", "--set=ON_ERROR_STOP=1"}, args...)...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// super runs SQL as the test server's superuser, outside the model.
func (s pgServer) super(t *testing.T, database, sql string) string {
	t.Helper()
	out, err := s.psql(map[string]string{"PGHOST": s.host, "PGPORT": s.port, "PGUSER": s.superuser, "PGDATABASE": database, "PGSSLMODE": "disable"}, "-c", sql)
	if err != nil {
		t.Fatalf("as superuser on %s: %s: %v\n%s", database, sql, err, out)
	}
	return out
}

// reset drops what a previous run left: every app database and role, the admins.
func (s pgServer) reset(t *testing.T, admins ...string) {
	t.Helper()
	for _, db := range append(append([]string{}, databases...), "defaultdb") {
		s.super(t, "postgres", fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, db))
	}
	for _, role := range append(append([]string{}, databases...), admins...) {
		s.super(t, "postgres", fmt.Sprintf(`DROP ROLE IF EXISTS %q`, role))
	}
}

// local points a recorded URL at the test server, keeping user, password, database and sslmode.
func (s pgServer) local(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimPrefix(raw, "postgresql+"))
	if err != nil {
		return nil, err
	}
	u.Host = net.JoinHostPort(s.host, s.port)
	return u, nil
}

// appURLs are the direct database URLs the program hands the apps (the API's
// is its migration Job's; its pool URL reaches PgBouncer, not a database).
func appURLs(t *testing.T, mocks *pulumitest.Mocks) map[string]string {
	t.Helper()
	urls := map[string]string{}
	for _, s := range mocks.ByType("kubernetes:core/v1:Secret") {
		for k, v := range unwrapMap(s.Inputs["stringData"]) {
			if k != "DATABASE_URL" && k != "GOATCOUNTER_DB" && k != "GATUS_DATABASE_URL" && k != "DATA_SOURCE_NAME" {
				continue
			}
			u, err := url.Parse(strings.TrimPrefix(v, "postgresql+"))
			if err != nil {
				t.Fatalf("Secret %s: %s is no URL", s.Name, k)
			}
			app := strings.TrimPrefix(u.Path, "/")
			if strings.HasSuffix(app, "-pool") {
				continue
			}
			urls[app] = v
		}
	}
	for _, app := range databases {
		if urls[app] == "" {
			t.Fatalf("no workload of the program carries %s's database URL", app)
		}
	}
	return urls
}

// runSetup runs the set-up Job's own command and script against the test server.
func (s pgServer) runSetup(t *testing.T, job recordedJob) string {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{}, job.Command[1:]...)
	for path, content := range job.Files {
		local := filepath.Join(dir, filepath.Base(path))
		if err := os.WriteFile(local, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], path, local)
		}
	}
	if job.Command[0] != "psql" {
		t.Fatalf("the set-up Job runs %q; this test runs psql", job.Command[0])
	}
	env := map[string]string{}
	for k, v := range job.Env {
		env[k] = v
	}
	env["PGHOST"], env["PGPORT"] = s.host, s.port
	cmd := exec.Command("psql", args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the set-up Job's psql failed: %v\n%s", err, out)
	}
	return string(out)
}

// createTable is what each app's first migration does.
func (s pgServer) createTable(raw, table string) (string, error) {
	u, err := s.local(raw)
	if err != nil {
		return "", err
	}
	return s.psql(nil, "--dbname="+u.String(), "-c", "CREATE TABLE "+table+" (id bigint PRIMARY KEY); INSERT INTO "+table+" VALUES (1)")
}

// snapshot is every fact the set-up could change: roles, databases, their
// owners and grants, schema public's owner and grants, tables.
func (s pgServer) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(s.super(t, "postgres", `SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolconnlimit, md5(coalesce(rolpassword, ''))
		FROM pg_authid WHERE rolname NOT LIKE 'pg\_%' ORDER BY 1`))
	b.WriteString(s.super(t, "postgres", `SELECT datname, pg_get_userbyid(datdba), datacl FROM pg_database ORDER BY 1`))
	dbs := append([]string{}, databases...)
	sort.Strings(dbs)
	for _, db := range dbs {
		b.WriteString(s.super(t, db, `SELECT current_database(), nspname, pg_get_userbyid(nspowner), nspacl FROM pg_namespace WHERE nspname = 'public'`))
		b.WriteString(s.super(t, db, `SELECT current_database(), tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 2`))
	}
	return b.String()
}

// TestDatabaseSetupOnManagedPostgres reproduces DigitalOcean's managed
// PostgreSQL 16 on a real server: the admin (doadmin, CREATEDB CREATEROLE,
// no superuser, TLS only) owns every database; the app users exist without
// any privilege. The program's own set-up Job (command, environment, script,
// as recorded for the committed staging stack) then lets every app create
// its tables, with the URL the program gives that app; a second run changes
// nothing.
func TestDatabaseSetupOnManagedPostgres(t *testing.T) {
	s := pg16(t)
	mocks, err := pulumitest.RunStack("staging", run, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := findJob(t, mocks, "dbsetup")
	urls := appURLs(t, mocks)
	admin, adminDB := job.Env["PGUSER"], job.Env["PGDATABASE"]
	s.reset(t, admin)
	t.Cleanup(func() { s.reset(t, admin) })

	// What DigitalOcean's API does: the cluster's admin and database, then a
	// DatabaseDb per app (created by the admin, so it owns them) and a
	// DatabaseUser per app with the password the program reads back.
	s.super(t, "postgres", fmt.Sprintf(`CREATE ROLE %q LOGIN CREATEDB CREATEROLE PASSWORD '%s'`, admin, job.Env["PGPASSWORD"]))
	asAdmin := map[string]string{"PGHOST": s.host, "PGPORT": s.port, "PGUSER": admin, "PGPASSWORD": job.Env["PGPASSWORD"], "PGDATABASE": "postgres", "PGSSLMODE": "require"}
	for _, db := range append([]string{adminDB}, databases...) {
		if out, err := s.psql(asAdmin, "-c", fmt.Sprintf(`CREATE DATABASE %q`, db)); err != nil {
			t.Fatalf("the admin could not create database %s: %v\n%s", db, err, out)
		}
	}
	for app, raw := range urls {
		u, _ := url.Parse(strings.TrimPrefix(raw, "postgresql+"))
		password, _ := u.User.Password()
		s.super(t, "postgres", fmt.Sprintf(`CREATE ROLE %q LOGIN PASSWORD '%s'`, app, password))
	}

	// The defect: PostgreSQL 15+ gives no CREATE on schema public to a user
	// that does not own the database.
	for _, app := range databases {
		out, err := s.createTable(urls[app], "before_setup")
		if err == nil || !strings.Contains(out, "permission denied for schema public") {
			t.Fatalf("%s created a table before the set-up (err %v): the model is not DigitalOcean's\n%s", app, err, out)
		}
	}
	t.Logf("before the set-up every app's first migration fails: permission denied for schema public (%d apps)", len(databases))

	s.runSetup(t, job)
	for _, app := range databases {
		if out, err := s.createTable(urls[app], app+"_first_migration"); err != nil {
			t.Errorf("%s could not create a table with the URL the program gives it after the set-up: %v\n%s", app, err, out)
		}
	}
	// Rails' migration lock is a session advisory lock: it works on the migration Job's direct URL.
	if u, err := s.local(findJob(t, mocks, "api-migrate").Env["DATABASE_URL"]); err != nil {
		t.Fatal(err)
	} else if out, err := s.psql(nil, "--dbname="+u.String(), "-c", "SELECT pg_advisory_lock(42); SELECT pg_advisory_unlock(42)"); err != nil {
		t.Errorf("the api migration URL cannot take an advisory lock: %v\n%s", err, out)
	}
	// One app's user stays out of another's database.
	if out, err := s.createTable(strings.Replace(urls["chat"], "/chat?", "/api?", 1), "chat_in_api"); err == nil {
		t.Errorf("chat could create a table in the api database\n%s", out)
	}

	before := s.snapshot(t)
	s.runSetup(t, job)
	if after := s.snapshot(t); after != before {
		t.Errorf("a second set-up changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	t.Logf("after the set-up each of %d apps created its table; a second run changed nothing (%d catalog lines compared)", len(databases), strings.Count(before, "\n"))

	exporterFeedsTheConnectionsAlert(t, s, mocks)
}

// exporterFeedsTheConnectionsAlert runs postgres_exporter (the pinned
// version, scripts/test/postgres.sh builds it) as the program deploys it:
// the image's entrypoint with no flag but the listen address, the rendered
// DATA_SOURCE_NAME pointed at the test server. Every metric the rendered
// DatabaseConnectionsNearLimit rule reads must be among what it exports.
func exporterFeedsTheConnectionsAlert(t *testing.T, s pgServer, mocks *pulumitest.Mocks) {
	t.Helper()
	bin := os.Getenv("DATAFRUITS_TEST_PG_EXPORTER")
	if bin == "" {
		t.Fatal("DATAFRUITS_TEST_PG_EXPORTER is not set: run scripts/test.sh postgres, which builds postgres_exporter")
	}
	dep, ok := mocks.Find("kubernetes:apps/v1:Deployment", "database-exporter")
	if !ok {
		t.Fatal("the program declares no database-exporter Deployment")
	}
	c := pulumitest.Get(dep.Inputs, "spec.template.spec.containers[0]").ObjectValue()
	if len(stringsOf(c["command"])) > 0 || len(stringsOf(c["args"])) > 0 {
		t.Fatalf("the exporter's container overrides the image's entrypoint; this test runs it as the image does")
	}
	var dsn string
	for _, from := range pulumitest.Array(c, "envFrom") {
		name := pulumitest.GetString(from.ObjectValue(), "secretRef.name")
		for _, sec := range mocks.ByType("kubernetes:core/v1:Secret") {
			if name != "" && pulumitest.GetString(sec.Outputs, "metadata.name") == name {
				dsn = unwrapMap(sec.Inputs["stringData"])["DATA_SOURCE_NAME"]
			}
		}
	}
	local, err := s.local(dsn)
	if dsn == "" || err != nil {
		t.Fatalf("the exporter's secret env has no usable DATA_SOURCE_NAME (%v)", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--web.listen-address="+addr)
	cmd.Env = append(os.Environ(), "DATA_SOURCE_NAME="+local.String())
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	rel, _ := mocks.Find("kubernetes:helm.sh/v3:Release", "observability-monitoring")
	var expr string
	for _, r := range pulumitest.Array(rel.Inputs, "values.additionalPrometheusRulesMap.datafruits.groups[0].rules") {
		if pulumitest.GetString(r.ObjectValue(), "alert") == "DatabaseConnectionsNearLimit" {
			expr = pulumitest.GetString(r.ObjectValue(), "expr")
		}
	}
	wanted := regexp.MustCompile(`\bpg_[a-z_]+\b`).FindAllString(expr, -1)
	if len(wanted) == 0 {
		t.Fatalf("the rendered DatabaseConnectionsNearLimit rule reads no pg_ metric: %q", expr)
	}
	var page string
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page = string(b)
			if strings.Contains(page, "\npg_up 1") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres_exporter did not report pg_up 1 within 20 s:\n%s\n%s", tail(page, 10), logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, m := range wanted {
		if !regexp.MustCompile(`(?m)^` + m + `[{ ]`).MatchString(page) {
			t.Errorf("the DatabaseConnectionsNearLimit rule reads %s, which postgres_exporter does not export", m)
		}
	}
	if strings.Contains(logs.String(), dsn) || strings.Contains(page, "PASSWORD") {
		t.Error("the exporter's output carries its connection string")
	}
	t.Logf("postgres_exporter exports %s, as the rendered DatabaseConnectionsNearLimit rule reads", strings.Join(wanted, ", "))
}

// tail is the last lines of s.
func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
