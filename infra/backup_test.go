package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
)

// TestNightlyBackupsCoverEveryDatabaseAndTheMedia: the committed stacks back
// up every app database the foundation creates and the media bucket, with the
// movein image of the stack file, into the backups bucket, credentials only
// in Secrets; the offsite copy is wired when a stack sets one.
func TestNightlyBackupsCoverEveryDatabaseAndTheMedia(t *testing.T) {
	for _, stack := range []string{"prod", "local"} {
		t.Run(stack, func(t *testing.T) {
			cfg, _, err := pulumitest.StackConfig(stack)
			if err != nil {
				t.Fatal(err)
			}
			mocks, err := pulumitest.RunStack(stack, run, nil)
			if err != nil {
				t.Fatal(err)
			}
			var images map[string]string
			if err := json.Unmarshal([]byte(cfg["datafruits:images"]), &images); err != nil {
				t.Fatal(err)
			}
			wantImage := images["movein"]
			pod := "spec.jobTemplate.spec.template.spec."
			for _, name := range []string{"backup-postgres", "backup-media"} {
				cj, ok := mocks.Find("kubernetes:batch/v1:CronJob", "backup-"+strings.TrimPrefix(name, "backup-"))
				if !ok {
					t.Fatalf("no CronJob %s", name)
				}
				if ns := pulumitest.GetString(cj.Inputs, "metadata.namespace"); ns != stationNamespace {
					t.Errorf("%s runs in %q, want the station's namespace", name, ns)
				}
				if img := pulumitest.GetString(cj.Inputs, pod+"containers[0].image"); img != wantImage || img == "" {
					t.Errorf("%s runs image %q, want the stack's images.movein %q", name, img, wantImage)
				}
				args := strings.Join(stringsOf(pulumitest.Get(cj.Inputs, pod+"containers[0].args")), " ")
				if !strings.Contains(args, "--to ") || !strings.Contains(args, "-backups/"+strings.TrimPrefix(name, "backup-")) {
					t.Errorf("%s runs %q: not into the backups bucket's %s prefix", name, args, strings.TrimPrefix(name, "backup-"))
				}
				if strings.Contains(pulumitest.PlainOutsideSecrets(cj.Inputs), "test-secret") || strings.Contains(pulumitest.PlainOutsideSecrets(cj.Inputs), "postgresql://") {
					t.Errorf("%s: a credential is in its spec", name)
				}
			}
			cj, _ := mocks.Find("kubernetes:batch/v1:CronJob", "backup-postgres")
			args := stringsOf(pulumitest.Get(cj.Inputs, pod+"containers[0].args"))
			i := slices.Index(args, "--databases")
			if i < 0 {
				t.Fatalf("backup-postgres runs %v: no --databases", args)
			}
			got := strings.Split(args[i+1], ",")
			want := slices.Clone(databases)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("backup-postgres dumps %v, want every app database %v", got, want)
			}
			secret, ok := mocks.Find("kubernetes:core/v1:Secret", "backup-postgres-env")
			if !ok {
				t.Fatal("no Secret for backup-postgres")
			}
			plain := pulumitest.Plain(secret.Inputs)
			for _, app := range databases {
				if !strings.Contains(plain, "MOVEIN_DATABASE_URL_"+strings.ToUpper(app)) {
					t.Errorf("backup-postgres' Secret has no URL for %s", app)
				}
			}
		})
	}
}

// TestOffsiteBackupCopy: a stack with backupOffsite copies both backups there,
// with the offsite keys in the Secrets and HTTPS out in the policies.
func TestOffsiteBackupCopy(t *testing.T) {
	mocks, err := pulumitest.RunStack("prod", run, map[string]string{
		"datafruits:backupOffsite":       "https://s3.eu-central-003.backblazeb2.com/datafruits-offsite",
		"datafruits:backupOffsiteKeyId":  "offsite-key-id",
		"datafruits:backupOffsiteSecret": "offsite-secret-value",
	}, "datafruits:backupOffsiteKeyId", "datafruits:backupOffsiteSecret")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"postgres", "media"} {
		cj, _ := mocks.Find("kubernetes:batch/v1:CronJob", "backup-"+b)
		args := strings.Join(stringsOf(pulumitest.Get(cj.Inputs, "spec.jobTemplate.spec.template.spec.containers[0].args")), " ")
		if !strings.Contains(args, "--copy-to https://s3.eu-central-003.backblazeb2.com/datafruits-offsite/"+b) {
			t.Errorf("backup-%s runs %q: no copy to the offsite bucket", b, args)
		}
		secret, _ := mocks.Find("kubernetes:core/v1:Secret", "backup-"+b+"-env")
		if !strings.Contains(pulumitest.Plain(secret.Inputs), "offsite-secret-value") || !pulumitest.IsSecret(secret.Inputs, "stringData") {
			t.Errorf("backup-%s: the offsite secret key is not in its (secret) Secret", b)
		}
		if strings.Contains(pulumitest.PlainOutsideSecrets(cj.Inputs), "offsite-secret-value") {
			t.Errorf("backup-%s: the offsite secret key is in the CronJob's spec", b)
		}
	}
}
