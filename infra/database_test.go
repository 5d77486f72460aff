package main

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// recordedJob is a Job the program declared, with what its pod would see.
type recordedJob struct {
	Job     pulumitest.Resource
	Command []string
	// Env is the container's environment: its ConfigMaps and Secrets, secrets unwrapped.
	Env map[string]string
	// Files are the files its ConfigMap volumes mount, by path.
	Files map[string]string
	// SecretKeys are the Env keys that came from a Secret.
	SecretKeys []string
}

// findJob returns the Job registered under logical name, with its env and files.
func findJob(t *testing.T, mocks *pulumitest.Mocks, name string) recordedJob {
	t.Helper()
	j, ok := mocks.Find("kubernetes:batch/v1:Job", name)
	if !ok {
		t.Fatalf("the program declares no Job %q", name)
	}
	c := pulumitest.Get(j.Inputs, "spec.template.spec.containers[0]").ObjectValue()
	r := recordedJob{Job: j, Command: stringsOf(c["command"]), Env: map[string]string{}, Files: map[string]string{}}
	byName := func(typ, objName string) resource.PropertyMap {
		for _, o := range mocks.ByType(typ) {
			if pulumitest.GetString(o.Outputs, "metadata.name") == objName {
				return o.Inputs
			}
		}
		t.Fatalf("Job %s references %s %s, which the program does not declare", name, typ, objName)
		return nil
	}
	for _, from := range pulumitest.Array(c, "envFrom") {
		f := from.ObjectValue()
		if cm := pulumitest.GetString(f, "configMapRef.name"); cm != "" {
			for k, v := range unwrapMap(byName("kubernetes:core/v1:ConfigMap", cm)["data"]) {
				r.Env[k] = v
			}
		}
		if s := pulumitest.GetString(f, "secretRef.name"); s != "" {
			for k, v := range unwrapMap(byName("kubernetes:core/v1:Secret", s)["stringData"]) {
				r.Env[k] = v
				r.SecretKeys = append(r.SecretKeys, k)
			}
		}
	}
	volumes := map[string]string{}
	for _, v := range pulumitest.Array(j.Inputs, "spec.template.spec.volumes") {
		if cm := pulumitest.GetString(v.ObjectValue(), "configMap.name"); cm != "" {
			volumes[pulumitest.GetString(v.ObjectValue(), "name")] = cm
		}
	}
	for _, m := range pulumitest.Array(c, "volumeMounts") {
		cm, ok := volumes[pulumitest.GetString(m.ObjectValue(), "name")]
		if !ok {
			continue
		}
		for file, content := range unwrapMap(byName("kubernetes:core/v1:ConfigMap", cm)["data"]) {
			r.Files[pulumitest.GetString(m.ObjectValue(), "mountPath")+"/"+file] = content
		}
	}
	return r
}

// dependsOn reports whether the resource with URN from reaches to through
// explicit dependencies, its own or its ancestors' (components pass theirs on).
func dependsOn(mocks *pulumitest.Mocks, from, to string) bool {
	byURN := map[string]pulumitest.Resource{}
	for _, r := range mocks.Resources() {
		byURN[r.URN] = r
	}
	seen := map[string]bool{}
	var walk func(urn string) bool
	walk = func(urn string) bool {
		if urn == "" || seen[urn] {
			return false
		}
		seen[urn] = true
		if urn == to {
			return true
		}
		r := byURN[urn]
		for _, d := range r.Dependencies {
			if walk(d) {
				return true
			}
		}
		return walk(r.Parent)
	}
	return walk(from)
}

func urnOf(t *testing.T, mocks *pulumitest.Mocks, typ, name string) string {
	t.Helper()
	r, ok := mocks.Find(typ, name)
	if !ok {
		t.Fatalf("no %s %s", typ, name)
	}
	return r.URN
}

// TestDatabaseSetupRunsBeforeTheApps: on DigitalOcean and in the cluster, a
// Job gives every app its database before any app that migrates starts, with
// the admin's credentials in a Secret of its own namespace, never in the script.
func TestDatabaseSetupRunsBeforeTheApps(t *testing.T) {
	for _, stack := range []string{"prod", "local"} {
		t.Run(stack, func(t *testing.T) {
			mocks, err := pulumitest.RunStack(stack, run, nil)
			if err != nil {
				t.Fatal(err)
			}
			setup := findJob(t, mocks, "dbsetup")
			if ns := pulumitest.GetString(setup.Job.Inputs, "metadata.namespace"); ns != dataNamespace {
				t.Errorf("the set-up Job runs in %q, want %q (the admin's Secret stays out of the apps' namespaces)", ns, dataNamespace)
			}
			script := setup.Files["/etc/dbsetup/setup.psql"]
			for _, app := range databases {
				if !strings.Contains(script, `GRANT USAGE, CREATE ON SCHEMA public TO "`+app+`"`) {
					t.Errorf("the set-up script does not let %s create in its schema public:\n%s", app, script)
				}
			}
			for _, k := range []string{"PGPASSWORD", "PGUSER", "PGHOST"} {
				if !slices.Contains(setup.SecretKeys, k) {
					t.Errorf("%s must come from a Secret", k)
				}
				if strings.Contains(script, setup.Env["PGPASSWORD"]) {
					t.Error("the script carries the admin's password")
				}
			}
			wantSSL := map[string]string{"prod": "require", "local": "disable"}[stack]
			if setup.Env["PGSSLMODE"] != wantSSL {
				t.Errorf("PGSSLMODE = %q, want %q", setup.Env["PGSSLMODE"], wantSSL)
			}
			if !strings.HasPrefix(strings.Join(setup.Command, " "), "psql --no-psqlrc --file=/etc/dbsetup/setup.psql") {
				t.Errorf("set-up command = %v", setup.Command)
			}
			setupURN := urnOf(t, mocks, "kubernetes:batch/v1:Job", "dbsetup")
			for _, w := range []string{"api", "worker", "chat", "analytics", "statuspage"} {
				if !dependsOn(mocks, urnOf(t, mocks, "kubernetes:apps/v1:Deployment", w), setupURN) {
					t.Errorf("Deployment %s may start before the database set-up", w)
				}
			}
			if !dependsOn(mocks, urnOf(t, mocks, "kubernetes:apps/v1:Deployment", "radio-datafruits-liquidsoap"), setupURN) {
				t.Error("the archiver (liquidsoap's sidecar) may start before the database set-up")
			}
		})
	}
}

// TestAPIMigratesOnADirectConnection: the API's migrations run once per
// deploy, before the API and workers, on the database itself; the app keeps
// PgBouncer's transaction pool.
func TestAPIMigratesOnADirectConnection(t *testing.T) {
	mocks := runProd(t, nil)
	migrate := findJob(t, mocks, "api-migrate")
	if got := strings.Join(migrate.Command, " "); got != "bundle exec rails db:migrate" {
		t.Errorf("migration command = %q, want bundle exec rails db:migrate", got)
	}
	if migrate.Env["RAILS_ENV"] != "production" {
		t.Errorf("migrations run with RAILS_ENV=%q", migrate.Env["RAILS_ENV"])
	}
	direct, err := url.Parse(migrate.Env["DATABASE_URL"])
	if err != nil || direct.Port() != "25060" || direct.Path != "/api" || strings.HasPrefix(direct.Hostname(), "private-pool-") || direct.Query().Has("prepared_statements") {
		t.Errorf("migrations must use the api database directly, got %q", redact(migrate.Env["DATABASE_URL"]))
	}
	api, _ := mocks.Find("kubernetes:apps/v1:Deployment", "api")
	apiEnv := secretEnvOf(t, mocks, container(api, 0))
	if pooled, _ := url.Parse(apiEnv["DATABASE_URL"]); pooled == nil || pooled.Path != "/api-pool" {
		t.Errorf("the API itself must keep the PgBouncer pool, got %q", redact(apiEnv["DATABASE_URL"]))
	}
	migrateURN := urnOf(t, mocks, "kubernetes:batch/v1:Job", "api-migrate")
	for _, w := range []string{"api", "worker"} {
		if !dependsOn(mocks, urnOf(t, mocks, "kubernetes:apps/v1:Deployment", w), migrateURN) {
			t.Errorf("Deployment %s may start before the migrations ran", w)
		}
	}
	if !dependsOn(mocks, migrateURN, urnOf(t, mocks, "kubernetes:batch/v1:Job", "dbsetup")) {
		t.Error("migrations may run before the database set-up")
	}
}

// secretEnvOf collects the values of the Secrets a container loads.
func secretEnvOf(t *testing.T, mocks *pulumitest.Mocks, c resource.PropertyMap) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range pulumitest.Array(c, "envFrom") {
		name := pulumitest.GetString(from.ObjectValue(), "secretRef.name")
		for _, s := range mocks.ByType("kubernetes:core/v1:Secret") {
			if name != "" && pulumitest.GetString(s.Outputs, "metadata.name") == name {
				for k, v := range unwrapMap(s.Inputs["stringData"]) {
					env[k] = v
				}
			}
		}
	}
	return env
}

// redact hides a URL's password in messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
