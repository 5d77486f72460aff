//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datafruits/infra/internal/doapi"
)

// previewStack is a staging or prod preview through the real engine and
// plugins: a copy of the project, a file backend of its own, the committed
// stack file plus the settings a machine without DigitalOcean needs (the
// stand-in API's address, a placeholder token; the chart mirror when one is
// given), kept in a generated config file so the copy's stack file stays as
// committed.
type previewStack struct {
	stack, dir, configFile string
	env                    []string
	api                    *doapi.Server
}

func newPreviewStack(t *testing.T, stack string) *previewStack {
	t.Helper()
	if toolsReason != "" {
		t.Skipf("skipped: %s", toolsReason)
	}
	api := &doapi.Server{Versions: doapi.DefaultVersions()}
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	tmp := t.TempDir()
	dir, err := project()
	if err != nil {
		t.Fatal(err)
	}
	p := &previewStack{stack: stack, dir: dir, api: api}
	backend := filepath.Join(tmp, "backend")
	if err := os.MkdirAll(backend, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	p.env = append(os.Environ(),
		"PULUMI_BACKEND_URL=file://"+backend,
		"PULUMI_CONFIG_PASSPHRASE="+hex.EncodeToString(secret),
		"PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		// The provider refuses to start without a token; the stand-in only
		// checks that one is sent.
		"DIGITALOCEAN_TOKEN=preview-stand-in-token",
		"SPACES_ACCESS_KEY_ID=preview-stand-in", "SPACES_SECRET_ACCESS_KEY=preview-stand-in",
	)
	// `stack init` would write the passphrase salt into the stack file: make
	// the stack in a scratch copy of Pulumi.yaml and keep the salt aside.
	scratch := filepath.Join(tmp, "init")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(filepath.Join(p.dir, "Pulumi.yaml"), filepath.Join(scratch, "Pulumi.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := p.run(context.Background(), scratch, "stack", "init", stack, "--secrets-provider", "passphrase"); err != nil {
		t.Fatal(err)
	}
	scratchFile, err := os.ReadFile(filepath.Join(scratch, "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(p.dir, "Pulumi."+stack+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p.configFile = filepath.Join(tmp, "Pulumi."+stack+".yaml")
	if err := os.WriteFile(p.configFile, append(scratchFile, committed[bytes.Index(committed, []byte("config:")):]...), 0o600); err != nil {
		t.Fatal(err)
	}
	p.set(t, "digitalocean:apiEndpoint", api.URL())
	if mirror := os.Getenv("DATAFRUITS_MIRROR"); mirror != "" {
		p.set(t, "datafruits:chartMirror", filepath.Join(mirror, "charts"))
	}
	return p
}

func (p *previewStack) run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "pulumi", append(args, "--non-interactive", "--color", "never")...)
	cmd.Dir = dir
	cmd.Env = p.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("pulumi %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 40))
	}
	return out.String(), nil
}

func (p *previewStack) set(t *testing.T, key, value string) {
	t.Helper()
	if _, err := p.run(context.Background(), p.dir, "config", "set", "--stack", p.stack, "--config-file", p.configFile, key, value); err != nil {
		t.Fatal(err)
	}
}

func (p *previewStack) preview(ctx context.Context) (string, error) {
	return p.run(ctx, p.dir, "preview", "--stack", p.stack, "--config-file", p.configFile)
}

// TestPreviewStagingAndProd previews both cloud stacks from their committed
// stack files with the real engine and plugins, DigitalOcean's API stood in
// for on 127.0.0.1: the preview must succeed, plan the cluster, and have made
// exactly the reads the stand-in implements.
func TestPreviewStagingAndProd(t *testing.T) {
	for _, stack := range []string{"staging", "prod"} {
		t.Run(stack, func(t *testing.T) {
			p := newPreviewStack(t, stack)
			start := time.Now()
			out, err := p.preview(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("figure: pulumi preview of %s (new stack) took %.1fs", stack, time.Since(start).Seconds())
			// The CLI shows types shortened: digitalocean:index/kubernetesCluster:KubernetesCluster
			// reads digitalocean:index:KubernetesCluster.
			for _, want := range []string{"digitalocean:index:KubernetesCluster", "kubernetes:helm.sh/v3:Release", "to create"} {
				if !strings.Contains(out, want) {
					t.Errorf("the preview does not mention %q:\n%s", want, tail(out, 30))
				}
			}
			if got := p.api.Unexpected(); len(got) > 0 {
				t.Errorf("the preview made DigitalOcean calls the stand-in does not implement: %v", got)
			}
			if !contains(p.api.Requests(), "GET /v2/kubernetes/options") {
				t.Errorf("the preview never asked DigitalOcean for its Kubernetes versions (requests: %v): is digitalocean:apiEndpoint honoured?", p.api.Requests())
			}
			t.Logf("%s: %s", stack, summaryLine(out))
		})
	}
}

// TestPreviewRefusesBadStackValues: a bad value in a stack file fails the
// preview before anything is planned, naming the key, what was given and
// what is allowed.
func TestPreviewRefusesBadStackValues(t *testing.T) {
	p := newPreviewStack(t, "staging")
	p.set(t, "datafruits:workloadMinNodes", "5")
	out, err := p.preview(context.Background())
	if err == nil {
		t.Fatalf("the preview succeeded with workloadMinNodes 5 > workloadMaxNodes 2:\n%s", tail(out, 20))
	}
	for _, want := range []string{"datafruits:workloadMinNodes", `got "5"`, "allowed"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed preview does not say %q:\n%s", want, tail(out, 20))
		}
	}
	if strings.Contains(out, "KubernetesCluster") {
		t.Errorf("the preview planned resources before refusing the configuration:\n%s", tail(out, 20))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// summaryLine is the preview's "Resources:" figure, for the log.
func summaryLine(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "Resources:" && i+1 < len(lines) {
			return strings.TrimSpace(lines[i+1])
		}
	}
	return "(no summary)"
}
