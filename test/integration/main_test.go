//go:build integration

// Package integration runs the local stack through the real Pulumi engine
// against the embedded Kubernetes control plane (scripts/controlplane): up
// until every workload is Ready, a second run that changes nothing, a
// rollback by git revert, the exported state without plaintext secrets, and
// a destroy that leaves nothing behind.
//
// Run it with `make integration` (scripts/test/integration.sh starts the
// control plane). It needs the Pulumi CLI and the provider plugins
// (scripts/prereqs.sh); without them every test skips with the reason.
//
// The tests share one stack, deployed once: each test brings it up if no
// earlier test did, so any one of them also runs alone (-run). Everything
// happens in a copy of the project in a temporary directory, with its own
// file backend, passphrase and git repository; the checkout is never written.
package integration

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/datafruits/infra/internal/pulumitest"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// stackName is the stack the tests deploy: the committed Pulumi.local.yaml
// is its configuration.
const stackName = "local"

var (
	repoRoot string
	// toolsReason is why no test can run here: the Pulumi CLI or plugins
	// are missing ("" when they are present).
	toolsReason string
	// clusterReason is why the tests that deploy cannot run: no API server
	// answers ("" when one does).
	clusterReason string
	kubeconfig    string
	shared        *localStack
	sharedErr     error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	root, err := pulumitest.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	kubeconfig = embeddedKubeconfig()
	toolsReason, clusterReason = prerequisites()
	code := m.Run()
	if projectDir != "" && os.Getenv("INTEGRATION_WORKDIR") == "" {
		defer os.RemoveAll(filepath.Dir(projectDir))
	}
	if shared != nil {
		if err := shared.teardown(); err != nil {
			fmt.Fprintln(os.Stderr, "teardown:", err)
			code = 1
		}
	}
	return code
}

var (
	projectOnce sync.Once
	projectDir  string
	projectErr  error
)

// project is the one copy of the project (the work tree's files, committed
// or not) every test works in: the previews read it with stack files of
// their own, the local stack's tests commit to and revert its Pulumi.local.yaml
// in a git repository of its own. One copy at one path, so the engine's
// `go run` compiles the project's packages once per run; with
// INTEGRATION_WORKDIR (scripts/test/integration.sh sets a folder under .state)
// the path stays the same from run to run and Go's build cache keeps them.
func project() (string, error) {
	projectOnce.Do(func() {
		base := os.Getenv("INTEGRATION_WORKDIR")
		if base == "" {
			if base, projectErr = os.MkdirTemp("", "datafruits-integration-"); projectErr != nil {
				return
			}
		}
		projectDir = filepath.Join(base, "project")
		if projectErr = os.RemoveAll(projectDir); projectErr == nil {
			projectErr = copyProject(repoRoot, projectDir)
		}
	})
	return projectDir, projectErr
}

// embeddedKubeconfig is the admin kubeconfig scripts/controlplane/start.sh
// writes, unless INTEGRATION_KUBECONFIG names another throwaway cluster.
func embeddedKubeconfig() string {
	if p := os.Getenv("INTEGRATION_KUBECONFIG"); p != "" {
		return p
	}
	state := os.Getenv("DATAFRUITS_STATE")
	if state == "" {
		state = filepath.Join(repoRoot, ".state")
	}
	return filepath.Join(state, "controlplane", "admin.kubeconfig")
}

// prerequisites returns why no test can run (the Pulumi tools), and why the
// tests that deploy cannot (the cluster), each in one line or "".
func prerequisites() (tools, cluster string) {
	out, err := exec.Command("bash", filepath.Join(repoRoot, "scripts", "prereqs.sh"), "--reason").CombinedOutput()
	if err != nil {
		if tools = strings.TrimSpace(string(out)); tools == "" {
			tools = "scripts/prereqs.sh: " + err.Error()
		}
	}
	if _, err := os.Stat(kubeconfig); err != nil {
		return tools, fmt.Sprintf("no kubeconfig at %s: start the embedded control plane (make controlplane-up) or run make integration", kubeconfig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := newKube(ctx, kubeconfig); err != nil {
		return tools, fmt.Sprintf("the API server of %s does not answer (%v): start the embedded control plane (make controlplane-up) or run make integration", kubeconfig, err)
	}
	return tools, ""
}

// localStack is the one deployment the tests share.
type localStack struct {
	tmp  string   // temporary directory: the work dir, the backend, the passphrase
	dir  string   // the work dir: a copy of the project in its own git repository
	env  []string // the CLI's environment: backend, passphrase, kubeconfig
	kube *kube
	// deployed is true from the first `pulumi up` on, until a destroy succeeds.
	deployed bool
	// upToDate is true after an up that succeeded from the committed configuration.
	upToDate   bool
	stopStatus context.CancelFunc
	failed     bool
}

// requireStack skips the test when the prerequisites are missing, and
// returns the shared stack, making it on first use.
func requireStack(t *testing.T) *localStack {
	t.Helper()
	if reason := cmp.Or(toolsReason, clusterReason); reason != "" {
		t.Skipf("skipped: %s", reason)
	}
	if shared == nil && sharedErr == nil {
		shared, sharedErr = newLocalStack(t)
	}
	if sharedErr != nil {
		t.Fatalf("setting up the local stack: %v", sharedErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			shared.failed = true
		}
	})
	return shared
}

func newLocalStack(t *testing.T) (*localStack, error) {
	ctx := context.Background()
	k, err := newKube(ctx, kubeconfig)
	if err != nil {
		return nil, err
	}
	namespaces, err := k.projectNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	if len(namespaces) > 0 {
		return nil, fmt.Errorf("the cluster of %s already has the station's namespaces %v: another deployment (make up?) uses it; run make down first", kubeconfig, namespaces)
	}
	if err := k.recycleVolumes(ctx); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "datafruits-integration-")
	if err != nil {
		return nil, err
	}
	dir, err := project()
	if err != nil {
		return nil, err
	}
	s := &localStack{tmp: tmp, dir: dir, kube: k}
	backend := filepath.Join(tmp, "backend")
	if err := os.MkdirAll(backend, 0o700); err != nil {
		return nil, err
	}
	// Kept in a file, so a stack left behind by a failed run can still be
	// destroyed by hand (PULUMI_CONFIG_PASSPHRASE_FILE).
	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	passphraseFile := filepath.Join(tmp, "passphrase")
	if err := os.WriteFile(passphraseFile, []byte(hex.EncodeToString(secret)), 0o600); err != nil {
		return nil, err
	}
	s.env = append(os.Environ(),
		"PULUMI_BACKEND_URL=file://"+backend,
		"PULUMI_CONFIG_PASSPHRASE_FILE="+passphraseFile,
		"KUBECONFIG="+kubeconfig,
		"PULUMI_SKIP_UPDATE_CHECK=true",
		// A missing plugin fails at once instead of attempting a download.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
	)
	if _, err := s.pulumi(ctx, nil, "stack", "select", "--create", stackName, "--secrets-provider", "passphrase"); err != nil {
		return nil, err
	}
	// The six charts come from the offline mirror when one is given (as
	// make up does); otherwise from their upstream repositories.
	// The embedded control plane runs no containers: metrics-server's
	// aggregated API would stay unavailable and block the destroy's namespace
	// deletions (stale discovery), as make up knows.
	if err := s.setConfig(ctx, "datafruits:metricsServer", "false", false); err != nil {
		return nil, err
	}
	baseline := "baseline: the local stack as committed, without metrics-server"
	if mirror := os.Getenv("DATAFRUITS_MIRROR"); mirror != "" {
		if err := s.setConfig(ctx, "datafruits:chartMirror", filepath.Join(mirror, "charts"), false); err != nil {
			return nil, err
		}
		baseline += ", charts from the mirror"
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", baseline}} {
		if err := git(s.dir, args...); err != nil {
			return nil, err
		}
	}
	statusCtx, cancel := context.WithCancel(context.Background())
	s.stopStatus = cancel
	go k.publishIngressStatus(statusCtx, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "integration: "+format+"\n", args...)
	})
	t.Logf("work dir %s, backend file://%s, kubeconfig %s", s.dir, backend, kubeconfig)
	return s, nil
}

// pulumi runs the Pulumi CLI in the work dir for the local stack's commands;
// progress goes to progress (nil: kept quiet), stdout is returned.
func (s *localStack) pulumi(ctx context.Context, progress io.Writer, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "pulumi", append(args, "--non-interactive", "--color", "never")...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if progress != nil {
		cmd.Stdout = io.MultiWriter(&stdout, progress)
		cmd.Stderr = io.MultiWriter(&stderr, progress)
	}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("pulumi %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 40))
	}
	return stdout.String(), nil
}

// setConfig is `pulumi config set [--path] key value --stack local`: it writes the work dir's stack file.
func (s *localStack) setConfig(ctx context.Context, key, value string, path bool) error {
	args := []string{"config", "set", "--stack", stackName}
	if path {
		args = append(args, "--path")
	}
	_, err := s.pulumi(ctx, nil, append(args, key, value)...)
	return err
}

// up runs `pulumi up --stack local`, streaming its progress.
func (s *localStack) up(t *testing.T, extra ...string) {
	t.Helper()
	s.deployed = true
	s.upToDate = false
	start := time.Now()
	if _, err := s.pulumi(context.Background(), os.Stdout, append([]string{"up", "--stack", stackName, "--yes"}, extra...)...); err != nil {
		t.Fatal(err)
	}
	t.Logf("figure: pulumi up %s took %.1fs", strings.Join(extra, " "), time.Since(start).Seconds())
}

// ensureUp deploys the committed configuration unless that is what runs.
func (s *localStack) ensureUp(t *testing.T) {
	t.Helper()
	if s.upToDate {
		return
	}
	s.up(t)
	s.upToDate = true
}

// previewNoChanges runs `pulumi preview --expect-no-changes`: it fails on any change.
func (s *localStack) previewNoChanges(t *testing.T) {
	t.Helper()
	start := time.Now()
	if _, err := s.pulumi(context.Background(), os.Stdout, "preview", "--stack", stackName, "--expect-no-changes", "--diff"); err != nil {
		t.Fatalf("the stack is not what the program declares: %v", err)
	}
	t.Logf("figure: no-op pulumi preview of local took %.1fs", time.Since(start).Seconds())
}

// exportState returns the stack's state with secrets decrypted
// (`pulumi stack export --show-secrets`).
func (s *localStack) exportState(ctx context.Context) (*apitype.DeploymentV3, error) {
	out, err := s.pulumi(ctx, nil, "stack", "export", "--stack", stackName, "--show-secrets")
	if err != nil {
		return nil, err
	}
	var raw apitype.UntypedDeployment
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return nil, fmt.Errorf("reading the exported state: %w", err)
	}
	var d apitype.DeploymentV3
	if len(raw.Deployment) > 0 {
		if err := json.Unmarshal(raw.Deployment, &d); err != nil {
			return nil, fmt.Errorf("reading the exported state: %w", err)
		}
	}
	return &d, nil
}

// declared lists the Kubernetes objects the stack's state records.
func (s *localStack) declared(t *testing.T) []objectRef {
	t.Helper()
	state, err := s.exportState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var refs []objectRef
	for _, r := range state.Resources {
		if ref, ok := refFromState(string(r.Type), string(r.ID)); ok {
			refs = append(refs, ref)
		}
	}
	return refs
}

// teardown destroys what the tests left deployed, removes the stack and
// recycles the volumes. The temporary directory is kept when anything failed.
func (s *localStack) teardown() error {
	ctx := context.Background()
	var errs []string
	if s.deployed {
		if _, err := s.pulumi(ctx, os.Stderr, "destroy", "--stack", stackName, "--yes"); err != nil {
			errs = append(errs, err.Error())
		} else {
			s.deployed = false
		}
	}
	if s.stopStatus != nil {
		s.stopStatus()
	}
	if !s.deployed {
		if _, err := s.pulumi(ctx, nil, "stack", "rm", "--yes", stackName); err != nil {
			errs = append(errs, err.Error())
		}
		if err := s.kube.recycleVolumes(ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) == 0 && !s.failed {
		os.RemoveAll(s.tmp)
	} else {
		fmt.Fprintf(os.Stderr, "integration: kept %s for inspection (work dir, file backend, passphrase)\n", s.tmp)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
