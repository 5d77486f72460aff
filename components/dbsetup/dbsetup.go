// Package dbsetup gives each app what it needs on its own PostgreSQL
// database before the apps start: a Job in the cluster (the only place that
// can reach the private database; a CI runner cannot) runs psql as the admin
// user with a script rendered by Script.
//
// On DigitalOcean the databases and users already exist (DatabaseDb and
// DatabaseUser) and the script only grants. The in-cluster stand-in has no
// API to create them, so there the script also creates each missing user and
// database first, like DigitalOcean would.
package dbsetup

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"github.com/datafruits/infra/components/job"
	"github.com/datafruits/infra/components/netpol"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

//go:embed setup.psql.tmpl
var scriptTemplate string

var scriptTmpl = template.Must(template.New("setup.psql").Parse(scriptTemplate))

// ScriptFile is the script's file name in the Job; ScriptDir is where it is mounted.
const (
	ScriptFile = "setup.psql"
	ScriptDir  = "/etc/dbsetup"
)

// appNameRe is what an app's database and user may be called: the script
// quotes them as SQL identifiers and psql's \connect takes them bare.
var appNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Spec is what the script sets up.
type Spec struct {
	// Apps name each app's database and user (the same name).
	Apps []string
	// CreateMissing creates each user (password from the env var PasswordEnv(app)) and database when absent.
	CreateMissing bool
}

// PasswordEnv is the environment variable the script reads app's password from with CreateMissing.
func PasswordEnv(app string) string { return "DBSETUP_PASSWORD_" + strings.ToUpper(app) }

// Script renders the psql script for spec. It holds no secret: passwords are
// read from the environment by psql's \getenv.
func Script(spec Spec) (string, error) {
	if len(spec.Apps) == 0 {
		return "", fmt.Errorf("dbsetup: Apps must name at least one app")
	}
	type app struct{ Name, PasswordEnv string }
	data := struct {
		Apps          []app
		CreateMissing bool
	}{CreateMissing: spec.CreateMissing}
	for _, a := range spec.Apps {
		if !appNameRe.MatchString(a) {
			return "", fmt.Errorf("dbsetup: app %q: allowed: a lowercase SQL name (letters, digits, underscores; a letter first; at most 63)", a)
		}
		data.Apps = append(data.Apps, app{Name: a, PasswordEnv: PasswordEnv(a)})
	}
	var b bytes.Buffer
	if err := scriptTmpl.Execute(&b, data); err != nil {
		return "", err
	}
	b.WriteString("\n")
	return b.String(), nil
}

// Admin is how the Job connects: as the admin user, to the admin's own database.
type Admin struct {
	// Host and Port reach the server from inside the cluster (required).
	Host pulumi.StringInput
	Port pulumi.IntInput
	// User and Password are the admin's credentials (required; Password secret).
	User     pulumi.StringInput
	Password pulumi.StringInput
	// Database is the database the admin first connects to (required).
	Database pulumi.StringInput
	// SSLMode is libpq's sslmode (optional; default "require").
	SSLMode string
}

// Args configures the set-up.
type Args struct {
	// Namespace is where the Job runs; the admin's credentials live there (required).
	Namespace string
	// Image has psql 15 or later (\getenv), e.g. the postgres image (required).
	Image string
	// Apps name each app's database and user (required).
	Apps []string
	// Admin is the connection as the admin user (required).
	Admin Admin
	// CreateMissing creates absent users and databases (optional; for the in-cluster stand-in).
	CreateMissing bool
	// Passwords are each app's password (required with CreateMissing, one per app; secret).
	Passwords map[string]pulumi.StringInput
	// EgressTo are the database server's peers, for the Job's NetworkPolicy (required).
	EgressTo []netpol.Peer
	// RunAsUser is the image's unprivileged UID (optional; default 999, the postgres image's).
	RunAsUser int
}

// Setup is the database set-up Job.
type Setup struct {
	pulumi.ResourceState

	// JobName is the generated name of the Job.
	JobName pulumi.StringOutput `pulumi:"jobName"`
	// Done is the Job: depend on it to start after the set-up succeeded.
	Done pulumi.Resource
}

// New declares the script's ConfigMap, the admin's Secret and the Job.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Setup, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	script, err := Script(Spec{Apps: args.Apps, CreateMissing: args.CreateMissing})
	if err != nil {
		return nil, err
	}
	s := &Setup{}
	if err := ctx.RegisterComponentResource("datafruits:dbsetup:Setup", name, s, opts...); err != nil {
		return nil, err
	}
	sslMode := args.Admin.SSLMode
	if sslMode == "" {
		sslMode = "require"
	}
	// libpq reads the connection from PG* variables, so no credential is
	// ever on a command line; \connect reuses them for each app's database.
	secretEnv := pulumi.StringMap{
		"PGHOST": args.Admin.Host, "PGPORT": pulumi.Sprintf("%d", args.Admin.Port),
		"PGUSER": args.Admin.User, "PGPASSWORD": args.Admin.Password, "PGDATABASE": args.Admin.Database,
	}
	for app, p := range args.Passwords {
		secretEnv[PasswordEnv(app)] = p
	}
	uid := args.RunAsUser
	if uid == 0 {
		uid = 999
	}
	j, err := job.New(ctx, name, &job.Args{
		Namespace: args.Namespace, Image: args.Image,
		Command: []string{"psql", "--no-psqlrc", "--file=" + ScriptDir + "/" + ScriptFile},
		Env: map[string]string{
			"PGSSLMODE": sslMode, "PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "datafruits-dbsetup", "HOME": "/tmp",
		},
		SecretEnv: secretEnv,
		Files:     map[string]string{ScriptFile: script}, FilesPath: ScriptDir,
		RunAsUser: uid, EgressTo: args.EgressTo,
	}, pulumi.Parent(s))
	if err != nil {
		return nil, err
	}
	s.JobName = j.Name
	s.Done = j.Done
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{"jobName": s.JobName})
}

func (a *Args) validate(name string) error {
	switch {
	case a == nil || a.Namespace == "" || a.Image == "" || len(a.Apps) == 0:
		return fmt.Errorf("dbsetup %s: Namespace, Image and Apps are required", name)
	case a.Admin.Host == nil || a.Admin.Port == nil || a.Admin.User == nil || a.Admin.Password == nil || a.Admin.Database == nil:
		return fmt.Errorf("dbsetup %s: Admin's Host, Port, User, Password and Database are required", name)
	case len(a.EgressTo) == 0:
		return fmt.Errorf("dbsetup %s: EgressTo must name the database server's peers", name)
	case !a.CreateMissing && len(a.Passwords) > 0:
		return fmt.Errorf("dbsetup %s: Passwords are only used with CreateMissing", name)
	}
	if a.CreateMissing {
		for _, app := range a.Apps {
			if a.Passwords[app] == nil {
				return fmt.Errorf("dbsetup %s: Passwords[%q] is required with CreateMissing", name, app)
			}
		}
		for app := range a.Passwords {
			if !slices.Contains(a.Apps, app) {
				return fmt.Errorf("dbsetup %s: Passwords[%q] names no app in Apps %v", name, app, a.Apps)
			}
		}
	}
	return nil
}
