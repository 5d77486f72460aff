package backup_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/datafruits/infra/components/backup"
	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	databaseURL  = "postgresql://api:db-password-123@private-db:25060/api?sslmode=require"
	backupSecret = "backups-secret-key-456"
	offSecret    = "offsite-secret-key-789"
)

func args(offsite bool) *backup.Args {
	a := &backup.Args{
		Namespace: "station", Image: "ghcr.io/datafruits/datafruits-movein:0.1.0",
		Databases: map[string]pulumi.StringInput{
			"chat": pulumi.ToSecret(pulumi.String("postgresql://chat:x@private-db:25060/chat")).(pulumi.StringOutput),
			"api":  pulumi.ToSecret(pulumi.String(databaseURL)).(pulumi.StringOutput),
		},
		MediaBucket: pulumi.String("datafruits-prod-media"),
		To: backup.Bucket{
			Endpoint: pulumi.String("https://nyc3.digitaloceanspaces.com"), Name: pulumi.String("datafruits-prod-backups"),
			KeyID: pulumi.String("BACKUPSKEYID"), Secret: pulumi.ToSecret(pulumi.String(backupSecret)).(pulumi.StringOutput),
		},
		KeepCount: 5, KeepDays: 14,
		DatabaseEgress:    []netpol.Peer{{CIDR: "10.110.0.0/20", Ports: []int{25060}}},
		ObjectStoreEgress: []netpol.Peer{netpol.Internet(443)},
	}
	if offsite {
		a.Offsite = &backup.Bucket{
			Endpoint: pulumi.String("https://s3.eu-central-003.backblazeb2.com"), Name: pulumi.String("datafruits-offsite"),
			KeyID: pulumi.String("OFFSITEKEYID"), Secret: pulumi.ToSecret(pulumi.String(offSecret)).(pulumi.StringOutput),
		}
	}
	return a
}

func run(t *testing.T, a *backup.Args) *pulumitest.Mocks {
	t.Helper()
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		_, err := backup.New(ctx, "backup", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mocks
}

const cronJobType = "kubernetes:batch/v1:CronJob"

func containerArgs(t *testing.T, mocks *pulumitest.Mocks, name string) []string {
	t.Helper()
	cj, ok := mocks.Find(cronJobType, name)
	if !ok {
		t.Fatalf("no CronJob %s", name)
	}
	var out []string
	for _, v := range pulumitest.Array(cj.Inputs, "spec.jobTemplate.spec.template.spec.containers[0].args") {
		out = append(out, v.StringValue())
	}
	return out
}

func TestEachBackupIsANightlyCronJobIntoItsOwnPrefix(t *testing.T) {
	mocks := run(t, args(false))
	if n := len(mocks.ByType(cronJobType)); n != 2 {
		t.Fatalf("%d CronJobs, want 2 (postgres, media)", n)
	}
	for _, b := range []string{backup.Postgres, backup.Media} {
		cj, _ := mocks.Find(cronJobType, "backup-"+b)
		for path, want := range map[string]string{
			"metadata.name":          backup.CronJobPrefix + b,
			"spec.schedule":          "30 3 * * *",
			"spec.timeZone":          "Etc/UTC",
			"spec.concurrencyPolicy": "Forbid",
			"spec.jobTemplate.spec.template.spec.restartPolicy": "Never",
		} {
			if got := pulumitest.GetString(cj.Inputs, path); got != want {
				t.Errorf("CronJob %s: %s = %q, want %q", b, path, got, want)
			}
		}
		got := strings.Join(containerArgs(t, mocks, "backup-"+b), " ")
		want := fmt.Sprintf("backup --to https://nyc3.digitaloceanspaces.com/datafruits-prod-backups/%s --keep-count 5 --keep-age 336h", b)
		if !strings.HasPrefix(got, want) {
			t.Errorf("CronJob %s runs %q, want it to start with %q", b, got, want)
		}
	}
	if got := strings.Join(containerArgs(t, mocks, "backup-postgres"), " "); !strings.HasSuffix(got, "--databases api,chat") {
		t.Errorf("the database backup runs %q; want every app's database, sorted: --databases api,chat", got)
	}
	if got := strings.Join(containerArgs(t, mocks, "backup-media"), " "); !strings.HasSuffix(got, "--media media=https://nyc3.digitaloceanspaces.com/datafruits-prod-media") {
		t.Errorf("the media backup runs %q; want --media media=<endpoint>/<media bucket>", got)
	}
}

func TestCredentialsReachThePodsOnlyThroughSecrets(t *testing.T) {
	mocks := run(t, args(true))
	for _, cj := range mocks.ByType(cronJobType) {
		plain := pulumitest.PlainOutsideSecrets(cj.Inputs)
		for _, s := range []string{"db-password-123", backupSecret, offSecret, "BACKUPSKEYID"} {
			if strings.Contains(plain, s) {
				t.Errorf("CronJob %s: its spec holds a credential (%s)", cj.Name, s)
			}
		}
		ref := pulumitest.GetString(cj.Inputs, "spec.jobTemplate.spec.template.spec.containers[0].envFrom[0].secretRef.name")
		if ref == "" {
			t.Errorf("CronJob %s takes no Secret", cj.Name)
		}
	}
	secrets := mocks.ByType("kubernetes:core/v1:Secret")
	if len(secrets) != 2 {
		t.Fatalf("%d Secrets, want one per CronJob", len(secrets))
	}
	for _, s := range secrets {
		if !pulumitest.IsSecret(s.Inputs, "stringData") {
			t.Errorf("Secret %s holds plain values", s.Name)
		}
		plain := pulumitest.Plain(s.Inputs)
		for _, k := range []string{"MOVEIN_TO_S3_KEY", "MOVEIN_TO_S3_SECRET", "MOVEIN_COPY_S3_SECRET"} {
			if !strings.Contains(plain, k) {
				t.Errorf("Secret %s has no %s", s.Name, k)
			}
		}
	}
	pg, _ := mocks.Find("kubernetes:core/v1:Secret", "backup-postgres-env")
	if p := pulumitest.Plain(pg.Inputs); !strings.Contains(p, "MOVEIN_DATABASE_URL_API") || !strings.Contains(p, databaseURL) {
		t.Errorf("the database backup's Secret lacks MOVEIN_DATABASE_URL_API")
	}
	if got := strings.Join(containerArgs(t, mocks, "backup-media"), " "); !strings.Contains(got, "--copy-to https://s3.eu-central-003.backblazeb2.com/datafruits-offsite/media") {
		t.Errorf("with an offsite bucket the media backup runs %q; want --copy-to <offsite>/media", got)
	}
}

// TestPodsRunAsTheImagesUser checks the pod's UID against the USER the image
// declares, so that the two cannot drift apart.
func TestPodsRunAsTheImagesUser(t *testing.T) {
	dockerfile, err := os.ReadFile("../../apps/movein/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^USER ([0-9]+):([0-9]+)$`).FindSubmatch(dockerfile)
	if m == nil {
		t.Fatal("apps/movein/Dockerfile has no numeric USER uid:gid")
	}
	mocks := run(t, args(false))
	for _, cj := range mocks.ByType(cronJobType) {
		pod := "spec.jobTemplate.spec.template.spec."
		if uid := fmt.Sprint(pulumitest.GetNumber(cj.Inputs, pod+"securityContext.runAsUser")); uid != string(m[1]) {
			t.Errorf("CronJob %s runs as uid %s; the image's USER is %s", cj.Name, uid, m[1])
		}
		for path, want := range map[string]bool{
			pod + "securityContext.runAsNonRoot":                           true,
			pod + "containers[0].securityContext.readOnlyRootFilesystem":   true,
			pod + "containers[0].securityContext.allowPrivilegeEscalation": false,
			pod + "automountServiceAccountToken":                           false,
		} {
			if v := pulumitest.Get(cj.Inputs, path); !v.IsBool() || v.BoolValue() != want {
				t.Errorf("CronJob %s: %s = %v, want %v", cj.Name, path, v, want)
			}
		}
		if pulumitest.GetString(cj.Inputs, pod+"volumes[0].emptyDir.sizeLimit") == "" {
			t.Errorf("CronJob %s: its scratch space (dumps in flight) has no size limit", cj.Name)
		}
	}
}

func TestPoliciesLetTheBackupsOutAndNothingIn(t *testing.T) {
	mocks := run(t, args(false))
	for _, b := range []string{backup.Postgres, backup.Media} {
		np, ok := mocks.Find("kubernetes:networking.k8s.io/v1:NetworkPolicy", "backup-"+b)
		if !ok {
			t.Fatalf("no NetworkPolicy for backup-%s", b)
		}
		// Keys with dots: read the selector's map directly.
		sel := pulumitest.Get(np.Inputs, "spec.podSelector.matchLabels")
		if got := sel.ObjectValue()["app.kubernetes.io/name"]; !got.IsString() || got.StringValue() != "backup-"+b {
			t.Errorf("policy backup-%s selects %v, want the CronJob's pods (app.kubernetes.io/name=backup-%s)", b, got, b)
		}
		cj, _ := mocks.Find(cronJobType, "backup-"+b)
		podLabels := pulumitest.Get(cj.Inputs, "spec.jobTemplate.spec.template.metadata.labels").ObjectValue()
		if podLabels["app.kubernetes.io/name"] != sel.ObjectValue()["app.kubernetes.io/name"] {
			t.Errorf("policy backup-%s does not select the CronJob's pods (labels %v)", b, podLabels)
		}
		var peers []string
		for i := range pulumitest.Array(np.Inputs, "spec.egress") {
			peers = append(peers, fmt.Sprintf("%s:%s", pulumitest.GetString(np.Inputs, fmt.Sprintf("spec.egress[%d].to[0].ipBlock.cidr", i)),
				pulumitest.GetString(np.Inputs, fmt.Sprintf("spec.egress[%d].ports[0].port", i))))
		}
		want := map[string]string{backup.Postgres: "10.110.0.0/20:25060 0.0.0.0/0:443", backup.Media: "0.0.0.0/0:443"}[b]
		if got := strings.Join(peers, " "); got != want {
			t.Errorf("policy backup-%s lets the pods reach %q, want %q (only the database backup reaches the database)", b, got, want)
		}
		if len(pulumitest.Array(np.Inputs, "spec.ingress")) != 0 {
			t.Errorf("policy backup-%s admits connections in", b)
		}
	}
}

func TestBadArgsAreRefused(t *testing.T) {
	for name, mutate := range map[string]func(a *backup.Args){
		"nothing to back up": func(a *backup.Args) { a.Databases, a.MediaBucket = nil, nil },
		"Schedule":           func(a *backup.Args) { a.Schedule = "every night" },
		"ObjectStoreEgress":  func(a *backup.Args) { a.ObjectStoreEgress = nil },
		"DatabaseEgress":     func(a *backup.Args) { a.DatabaseEgress = nil },
		"Offsite":            func(a *backup.Args) { a.Offsite = &backup.Bucket{Endpoint: pulumi.String("https://x")} },
	} {
		a := args(false)
		mutate(a)
		_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
			_, err := backup.New(ctx, "backup", a)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v, want an error naming it", name, err)
		}
	}
}
