package workflowpolicy

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestRepositoryWorkflows runs the rules over the real .github/workflows/.
func TestRepositoryWorkflows(t *testing.T) {
	r, err := CheckDir(filepath.Join("..", "..", ".github", "workflows"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) == 0 {
		t.Fatal("no workflow files found in .github/workflows")
	}
	for _, v := range r.Violations {
		t.Errorf("%s", v)
	}
	// The deploys must be recognised, or the concurrency rules above checked nothing.
	for _, want := range []string{"deploy.yml/staging", "deploy.yml/prod"} {
		if !contains(r.DeployJobs, want) {
			t.Errorf("job %s is not recognised as a deploy; recognised: %v", want, r.DeployJobs)
		}
	}
	t.Logf("checked %d workflows; deploy jobs: %v", len(r.Files), r.DeployJobs)
}

// TestFixtures runs the rules over testdata/*.yml. Each fixture lists the
// violations it must produce in `# want: <rule> job=<job>` lines, or
// `# want: nothing`; it must produce exactly those.
func TestFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no fixtures in testdata/")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := wantedViolations(t, data)
			r, err := Check(filepath.Base(path), data)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range r.Violations {
				key := v.Rule + " job=" + v.Job
				if !contains(got, key) {
					got = append(got, key)
				}
				if !strings.Contains(v.String(), filepath.Base(path)) || !strings.Contains(v.String(), v.Rule) {
					t.Errorf("message %q does not name the file and the rule", v)
				}
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("violations:\n got  %q\n want %q\nmessages:\n%s", got, want, messages(r.Violations))
			}
		})
	}
}

func wantedViolations(t *testing.T, data []byte) []string {
	t.Helper()
	var want []string
	declared := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "# want: ")
		if !ok {
			continue
		}
		declared = true
		if line != "nothing" {
			want = append(want, line)
		}
	}
	if !declared {
		t.Fatal("fixture has no `# want:` line")
	}
	sort.Strings(want)
	return want
}

func TestPulumiCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd, sub, stack string
		ok              bool
	}{
		{"pulumi up --yes --stack staging", "up", "staging", true},
		{"pulumi --cwd infra destroy -s=prod", "destroy", "prod", true},
		{"/usr/local/bin/pulumi -C . refresh --stack=org/prod --yes", "refresh", "org/prod", true},
		{"pulumi preview --refresh --stack staging --expect-no-changes", "preview", "staging", true},
		{`pulumi up -s "${STACK}"`, "up", "${STACK}", true},
		{"echo pulumi", "", "", false},
		{"go test ./...", "", "", false},
	} {
		sub, stack, ok := pulumiCommand(tc.cmd)
		if sub != tc.sub || stack != tc.stack || ok != tc.ok {
			t.Errorf("pulumiCommand(%q) = %q, %q, %v; want %q, %q, %v", tc.cmd, sub, stack, ok, tc.sub, tc.stack, tc.ok)
		}
	}
}

func TestNamesStack(t *testing.T) {
	for _, tc := range []struct {
		group, stack string
		want         bool
	}{
		{"pulumi-staging", "staging", true},
		{"pulumi-${{matrix.stack}}", "${{ matrix.stack }}", true},
		{"pulumi-prod", "datafruits/prod", true},
		{"pulumi-prod", "staging", false},
		{"deploy-${{ github.ref }}", "${{ matrix.stack }}", false},
		{"", "staging", false},
	} {
		if got := namesStack(tc.group, tc.stack); got != tc.want {
			t.Errorf("namesStack(%q, %q) = %v, want %v", tc.group, tc.stack, got, tc.want)
		}
	}
}

func TestInstallsDoctl(t *testing.T) {
	for _, tc := range []struct {
		step string
		want bool
	}{
		{"uses: digitalocean/action-doctl@3cb3953159719656269e044e0e24ca16dd2a690f", true},
		{"run: sudo snap install doctl", true},
		{"run: brew install doctl", true},
		{"run: go install github.com/digitalocean/doctl/cmd/doctl@v1.2.3", true},
		{"run: curl -fsSL https://github.com/digitalocean/doctl/releases/download/v1.2.3/doctl-1.2.3-linux-amd64.tar.gz | tar -xz", true},
		{"run: doctl kubernetes cluster kubeconfig save datafruits", false},
		{"run: doctl install something", false},
		{"run: sudo apt-get install -y jq", false},
		{"uses: pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d", false},
	} {
		var step yaml.Node
		if err := yaml.Unmarshal([]byte(tc.step), &step); err != nil {
			t.Fatal(err)
		}
		if got := installsDoctl(step.Content[0]); got != tc.want {
			t.Errorf("installsDoctl(%q) = %v, want %v", tc.step, got, tc.want)
		}
	}
}

func TestResolveStack(t *testing.T) {
	var doc yaml.Node
	src := `
env: {TOP: prod}
jobs:
  j:
    env:
      JOB: ${{ matrix.stack }}
      INPUT: ${{ inputs.stack }}
    strategy:
      matrix:
        stack: [staging, dev]
        include: [{stack: prod}]
    steps:
      - env: {STEP: $TOP}
`
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	job := lookup(lookup(top, "jobs"), "j")
	step := lookup(job, "steps").Content[0]
	for _, tc := range []struct {
		stack string
		want  string // stacks joined by ",", or "?" when unknown
	}{
		{"staging", "staging"},
		{"org/prod", "org/prod"},
		{"${{ matrix.stack }}", "staging,dev,prod"},
		{`"$JOB"`, "staging,dev,prod"},
		{"${STEP}", "prod"},
		{"${{ env.TOP }}", "prod"},
		{"$INPUT", "?"},
		{"$NOWHERE", "?"},
		{"${{ matrix.other }}", "?"},
		{"", "?"},
	} {
		stacks, known := resolveStack(tc.stack, step, job, top)
		got := strings.Join(stacks, ",")
		if !known {
			got = "?"
		}
		if got != tc.want {
			t.Errorf("resolveStack(%q) = %q, want %q", tc.stack, got, tc.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func messages(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString("  " + v.String() + "\n")
	}
	return b.String()
}
