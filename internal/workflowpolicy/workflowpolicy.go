// Package workflowpolicy checks the GitHub Actions workflows of this
// repository against the delivery rules that actionlint cannot know:
// deploys are serialised per stack and never cancelled midway, jobs that
// talk to a DigitalOcean stack install doctl first, every third-party action
// is pinned to a commit, and every workflow says which token permissions it
// needs.
package workflowpolicy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The rules a workflow can break. Each Violation names one of them.
const (
	// RuleDeployConcurrency: a job that changes a stack (pulumi up, destroy or
	// refresh) runs in a concurrency group, job- or workflow-level, whose name
	// contains the stack, so two runs never update the same stack at once.
	RuleDeployConcurrency = "deploy-concurrency"
	// RuleDeployNoCancel: nothing may cancel a running deploy. Cancelling
	// `pulumi up` midway leaves cloud resources that the state does not know
	// about, and a pending operation that blocks the next update.
	RuleDeployNoCancel = "deploy-no-cancel-in-progress"
	// RulePinnedActions: every action or reusable workflow from another
	// repository is referenced by a full 40-hex commit SHA with a version
	// comment (`@<sha> # v1.2.3`), because tags can be moved to other code.
	RulePinnedActions = "pinned-actions"
	// RulePermissions: the workflow declares `permissions` (at the top, or on
	// every job) and never asks for write-all, so the GITHUB_TOKEN gets only
	// what the jobs use.
	RulePermissions = "permissions"
	// RuleDoctl: a job that previews or changes a DigitalOcean stack (pulumi
	// preview, up, refresh or destroy on staging or prod) installs doctl in
	// an earlier step. The stacks' kubeconfig holds no token: the Kubernetes
	// provider runs `doctl kubernetes cluster kubeconfig exec-credential` to
	// mint one, so without doctl every Kubernetes resource fails.
	RuleDoctl = "doctl-installed"
)

// doStacks are the stacks that run on DigitalOcean, by their last name part.
var doStacks = map[string]bool{"staging": true, "prod": true}

// Violation is one broken rule, located by file and job.
type Violation struct {
	File   string // file name of the workflow, e.g. deploy.yml
	Job    string // job id, or "" for a workflow-level problem
	Line   int    // line in the file, 0 when unknown
	Rule   string // one of the Rule* constants
	Detail string // what is wrong and how to fix it
}

// String formats the violation as `file:line: job id: [rule] detail`.
func (v Violation) String() string {
	where := v.File
	if v.Line > 0 {
		where = fmt.Sprintf("%s:%d", v.File, v.Line)
	}
	job := "(workflow)"
	if v.Job != "" {
		job = "job " + v.Job
	}
	return fmt.Sprintf("%s: %s: [%s] %s", where, job, v.Rule, v.Detail)
}

// Result is what checking one or more workflow files found.
type Result struct {
	Files      []string    // the files checked
	DeployJobs []string    // "file/job" of every job recognised as a deploy
	Violations []Violation // sorted by file, line, job, rule
}

// CheckDir checks every *.yml and *.yaml file directly in dir.
func CheckDir(dir string) (Result, error) {
	var paths []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		matches, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return Result{}, err
		}
		paths = append(paths, matches...)
	}
	sort.Strings(paths)
	var all Result
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return Result{}, err
		}
		r, err := Check(filepath.Base(path), data)
		if err != nil {
			return Result{}, err
		}
		all.Files = append(all.Files, r.Files...)
		all.DeployJobs = append(all.DeployJobs, r.DeployJobs...)
		all.Violations = append(all.Violations, r.Violations...)
	}
	return all, nil
}

// Check checks one workflow file; name is used in messages.
func Check(name string, data []byte) (Result, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Result{}, fmt.Errorf("%s: %w", name, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return Result{}, fmt.Errorf("%s: not a workflow (the top level is not a mapping)", name)
	}
	top := doc.Content[0]
	r := Result{Files: []string{name}}
	add := func(job string, line int, rule, format string, args ...any) {
		r.Violations = append(r.Violations, Violation{File: name, Job: job, Line: line, Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}

	wfPermissions := lookup(top, "permissions")
	wfConcurrency, err := parseConcurrency(lookup(top, "concurrency"))
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", name, err)
	}
	if wfPermissions != nil {
		checkPermissions(wfPermissions, "", add)
	}

	jobs := lookup(top, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return Result{}, fmt.Errorf("%s: no jobs mapping", name)
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		jobID, job := jobs.Content[i].Value, jobs.Content[i+1]
		jobLine := jobs.Content[i].Line

		jobPermissions := lookup(job, "permissions")
		if jobPermissions != nil {
			checkPermissions(jobPermissions, jobID, add)
		} else if wfPermissions == nil {
			add(jobID, jobLine, RulePermissions, "no `permissions` on the job or the workflow; the token would get the repository default (often write to everything). Declare what the job needs, e.g. `permissions: {contents: read}`")
		}

		// A reusable workflow from another repository is pinned like an action.
		if uses := lookup(job, "uses"); uses != nil {
			checkPinned(uses, jobID, add)
		}

		var deploys []deployStep
		doctlInstalled, doctlReported := false, false
		if steps := lookup(job, "steps"); steps != nil {
			for _, step := range steps.Content {
				if uses := lookup(step, "uses"); uses != nil {
					checkPinned(uses, jobID, add)
				}
				cmds := findStackCommands(step)
				for _, c := range cmds {
					if c.changes {
						deploys = append(deploys, c)
					}
					if doctlInstalled || doctlReported {
						continue
					}
					if stacks, known := resolveStack(c.stack, step, job, top); !known || anyDOStack(stacks) {
						doctlReported = true
						on := "DigitalOcean stack " + strings.Join(stacks, "/")
						if !known {
							on = "a stack that cannot be resolved here (" + quoteOrNone(c.stack) + "; it may be staging or prod)"
						}
						add(jobID, c.line, RuleDoctl, "runs %s on %s but no earlier step installs doctl; the kubeconfig's credential comes from `doctl kubernetes cluster kubeconfig exec-credential`. Add `uses: digitalocean/action-doctl@<sha> # vX.Y.Z` with `token: ${{ secrets.DIGITALOCEAN_TOKEN }}` before it, and set DIGITALOCEAN_ACCESS_TOKEN in the pulumi step's env", c.what, on)
					}
				}
				// Only a later step may rely on it: the install has to have run.
				if installsDoctl(step) {
					doctlInstalled = true
				}
			}
		}
		if len(deploys) == 0 {
			continue
		}
		r.DeployJobs = append(r.DeployJobs, name+"/"+jobID)

		jobConcurrency, err := parseConcurrency(lookup(job, "concurrency"))
		if err != nil {
			return Result{}, fmt.Errorf("%s: job %s: %w", name, jobID, err)
		}
		effective := jobConcurrency
		if effective == nil {
			effective = wfConcurrency
		}
		if effective == nil {
			add(jobID, jobLine, RuleDeployConcurrency, "runs %s but has no concurrency group (job or workflow); add `concurrency: {group: pulumi-<stack>, cancel-in-progress: false}`", deploys[0].what)
		} else {
			for _, d := range deploys {
				switch {
				case d.stack == "":
					add(jobID, d.line, RuleDeployConcurrency, "runs %s without naming the stack (`--stack`/`stack-name`), so the concurrency group cannot be checked against it", d.what)
				case !namesStack(effective.group, d.stack):
					add(jobID, d.line, RuleDeployConcurrency, "runs %s on stack %q but its concurrency group %q does not name that stack; two runs could update it at once", d.what, d.stack, effective.group)
				}
			}
		}
		// Both levels count: a workflow-level cancel-in-progress cancels the
		// whole run, deploy job included, even when the job has its own group.
		for _, c := range []*concurrency{jobConcurrency, wfConcurrency} {
			if c != nil && c.mayCancel {
				add(jobID, c.line, RuleDeployNoCancel, "runs %s under a concurrency group with `cancel-in-progress: %s`; a cancelled `pulumi up` orphans cloud resources. Use `cancel-in-progress: false` (a newer run then waits)", deploys[0].what, c.cancelValue)
			}
		}
	}

	sort.SliceStable(r.Violations, func(i, j int) bool {
		a, b := r.Violations[i], r.Violations[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Job != b.Job {
			return a.Job < b.Job
		}
		return a.Rule < b.Rule
	})
	return r, nil
}

type addFunc func(job string, line int, rule, format string, args ...any)

// lookup returns the value node of key in a mapping node, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func checkPermissions(p *yaml.Node, job string, add addFunc) {
	if p.Kind == yaml.ScalarNode && p.Value == "write-all" {
		add(job, p.Line, RulePermissions, "`permissions: write-all` gives the token every scope; list the scopes the job needs")
	}
}

var (
	fullSHA      = regexp.MustCompile(`^[0-9a-f]{40}$`)
	imageDigest  = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	versionNoted = regexp.MustCompile(`^#\s*v?\d+(\.\d+)*\S*`)
)

func checkPinned(uses *yaml.Node, job string, add addFunc) {
	ref := strings.TrimSpace(uses.Value)
	switch {
	case strings.HasPrefix(ref, "./"):
		return // an action or workflow of this repository, at this commit
	case strings.HasPrefix(ref, "docker://"):
		if !imageDigest.MatchString(ref) {
			add(job, uses.Line, RulePinnedActions, "%q is a container image by tag; pin it by digest (@sha256:...)", ref)
		}
		return
	}
	at := strings.LastIndex(ref, "@")
	if at < 0 {
		add(job, uses.Line, RulePinnedActions, "%q has no ref; pin it to a full commit SHA with a version comment", ref)
		return
	}
	if version := ref[at+1:]; !fullSHA.MatchString(version) {
		add(job, uses.Line, RulePinnedActions, "%q references %q, a tag or branch that can move; pin it to the full 40-hex commit SHA of that tag, with the tag in a comment (`@<sha> # v1.2.3`)", ref, version)
		return
	}
	if !versionNoted.MatchString(strings.TrimSpace(uses.LineComment)) {
		add(job, uses.Line, RulePinnedActions, "%q is pinned but has no version comment; add `# vX.Y.Z` so reviewers and update tools can read it", ref)
	}
}

type concurrency struct {
	group       string
	mayCancel   bool   // cancel-in-progress is true or an expression that may be
	cancelValue string // as written
	line        int
}

func parseConcurrency(n *yaml.Node) (*concurrency, error) {
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return &concurrency{group: n.Value, line: n.Line}, nil
	case yaml.MappingNode:
		c := &concurrency{line: n.Line}
		if g := lookup(n, "group"); g != nil {
			c.group = g.Value
		}
		if cancel := lookup(n, "cancel-in-progress"); cancel != nil {
			c.cancelValue = cancel.Value
			c.mayCancel = cancel.Value != "false"
			c.line = cancel.Line
		}
		return c, nil
	}
	return nil, fmt.Errorf("line %d: concurrency is neither a group name nor a mapping", n.Line)
}

// namesStack tells whether a concurrency group name contains the stack, as a
// literal ("staging", or the last part of "org/staging") or as the same
// expression (`${{ matrix.stack }}`), ignoring spaces inside expressions.
func namesStack(group, stack string) bool {
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	g, s := squash(group), squash(stack)
	if g == "" || s == "" {
		return false
	}
	if strings.Contains(g, s) {
		return true
	}
	if i := strings.LastIndex(s, "/"); i >= 0 && !strings.Contains(s, "${{") {
		return strings.Contains(g, s[i+1:])
	}
	return false
}

// deployStep is one pulumi command in a step that works on a stack.
type deployStep struct {
	what    string // e.g. "`pulumi up`"
	stack   string // as written: a name or an expression; "" when not given
	line    int
	changes bool // the command writes to the stack (a deploy), not only a preview
}

// stackChangingCommands are the pulumi subcommands that write to a stack.
var stackChangingCommands = map[string]bool{"up": true, "update": true, "destroy": true, "refresh": true}

// stackCommands are the pulumi subcommands that talk to a stack's cloud: the
// ones that change it, and preview, which runs the program against it.
var stackCommands = map[string]bool{"preview": true, "up": true, "update": true, "destroy": true, "refresh": true}

// findDeploys returns the commands in step that change a stack.
func findDeploys(step *yaml.Node) []deployStep {
	var found []deployStep
	for _, c := range findStackCommands(step) {
		if c.changes {
			found = append(found, c)
		}
	}
	return found
}

// findStackCommands returns the pulumi preview/up/refresh/destroy commands in
// step, from pulumi/actions or from a run script.
func findStackCommands(step *yaml.Node) []deployStep {
	var found []deployStep
	if uses := lookup(step, "uses"); uses != nil && isPulumiAction(uses.Value) {
		with := lookup(step, "with")
		if cmd := lookup(with, "command"); cmd != nil {
			command := strings.TrimSpace(cmd.Value)
			// An expression could be any command: treat it as a deploy.
			expr := strings.Contains(command, "${{")
			if stackCommands[command] || expr {
				stack := ""
				if s := lookup(with, "stack-name"); s != nil {
					stack = s.Value
				}
				found = append(found, deployStep{what: "pulumi/actions `" + command + "`", stack: stack, line: cmd.Line, changes: stackChangingCommands[command] || expr})
			}
		}
	}
	if run := lookup(step, "run"); run != nil {
		for _, cmd := range shellCommands(run.Value) {
			if sub, stack, ok := pulumiCommand(cmd); ok && stackCommands[sub] {
				found = append(found, deployStep{what: "`pulumi " + sub + "`", stack: stack, line: run.Line, changes: stackChangingCommands[sub]})
			}
		}
	}
	return found
}

var (
	matrixExpr = regexp.MustCompile(`^\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}$`)
	envExpr    = regexp.MustCompile(`^\$\{\{\s*env\.([A-Za-z0-9_]+)\s*\}\}$`)
	shellVar   = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$`)
)

// resolveStack turns a stack as written into the stack names it can be: a
// literal is itself; `${{ matrix.x }}` is the job's matrix values for x;
// `${{ env.X }}`, `$X` and `${X}` are the value of X in the step's, the
// job's or the workflow's env, resolved in turn. known is false when the
// stack is not given or depends on something else (inputs, outputs, a
// `pulumi stack select` earlier, a computed matrix).
func resolveStack(stack string, step, job, top *yaml.Node) (stacks []string, known bool) {
	return resolveStackDepth(strings.Trim(strings.TrimSpace(stack), `"'`), step, job, top, 0)
}

func resolveStackDepth(stack string, step, job, top *yaml.Node, depth int) ([]string, bool) {
	if stack == "" || depth > 5 {
		return nil, false
	}
	if m := matrixExpr.FindStringSubmatch(stack); m != nil {
		return matrixValues(lookup(lookup(job, "strategy"), "matrix"), m[1])
	}
	name := ""
	if m := envExpr.FindStringSubmatch(stack); m != nil {
		name = m[1]
	} else if m := shellVar.FindStringSubmatch(stack); m != nil {
		name = m[1] + m[2]
	} else if strings.Contains(stack, "${{") || strings.Contains(stack, "$") {
		return nil, false
	} else {
		return []string{stack}, true
	}
	for _, scope := range []*yaml.Node{step, job, top} {
		if v := lookup(lookup(scope, "env"), name); v != nil && v.Kind == yaml.ScalarNode {
			return resolveStackDepth(strings.TrimSpace(v.Value), step, job, top, depth+1)
		}
	}
	return nil, false
}

// matrixValues lists the values a matrix key takes: its list and any
// `include` entries that set it. A matrix given as an expression is unknown.
func matrixValues(matrix *yaml.Node, key string) ([]string, bool) {
	if matrix == nil || matrix.Kind != yaml.MappingNode {
		return nil, false
	}
	var values []string
	found := false
	if list := lookup(matrix, key); list != nil {
		if list.Kind != yaml.SequenceNode {
			return nil, false
		}
		for _, v := range list.Content {
			if v.Kind != yaml.ScalarNode || strings.Contains(v.Value, "${{") {
				return nil, false
			}
			values = append(values, v.Value)
		}
		found = true
	}
	if include := lookup(matrix, "include"); include != nil {
		if include.Kind != yaml.SequenceNode {
			return nil, false
		}
		for _, entry := range include.Content {
			if v := lookup(entry, key); v != nil {
				if v.Kind != yaml.ScalarNode || strings.Contains(v.Value, "${{") {
					return nil, false
				}
				values = append(values, v.Value)
				found = true
			}
		}
	}
	return values, found
}

// anyDOStack tells whether one of the stacks is staging or prod, alone or as
// the last part of "org/staging" or "org/project/prod".
func anyDOStack(stacks []string) bool {
	for _, s := range stacks {
		if doStacks[s[strings.LastIndex(s, "/")+1:]] {
			return true
		}
	}
	return false
}

func quoteOrNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "none named"
	}
	return "`" + s + "`"
}

// doctlDownload matches a download of a doctl release archive.
var doctlDownload = regexp.MustCompile(`github\.com/digitalocean/doctl/releases/`)

// installsDoctl tells whether a step installs doctl: the digitalocean/action-doctl
// action, or a run script with a command such as `snap install doctl`,
// `brew install doctl`, `go install github.com/digitalocean/doctl/cmd/doctl@...`
// or a download of a doctl release.
func installsDoctl(step *yaml.Node) bool {
	if uses := lookup(step, "uses"); uses != nil &&
		strings.HasPrefix(strings.ToLower(strings.TrimSpace(uses.Value)), "digitalocean/action-doctl@") {
		return true
	}
	run := lookup(step, "run")
	if run == nil {
		return false
	}
	for _, cmd := range shellCommands(run.Value) {
		if doctlDownload.MatchString(cmd) {
			return true
		}
		words := strings.Fields(cmd)
		hasInstall, hasDoctl := false, false
		for i, w := range words {
			// `doctl ...` itself uses doctl; it does not install it.
			if i == 0 && (w == "doctl" || strings.HasSuffix(w, "/doctl")) {
				break
			}
			if w == "install" {
				hasInstall = true
			}
			if hasInstall && strings.Contains(strings.ToLower(w), "doctl") {
				hasDoctl = true
			}
		}
		if hasInstall && hasDoctl {
			return true
		}
	}
	return false
}

func isPulumiAction(uses string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(uses)), "pulumi/actions@")
}

var commandSeparators = regexp.MustCompile(`&&|\|\||[;|\n]`)

// shellCommands splits a run script into simple commands: continuation lines
// are joined, then the text is cut at newlines, `;`, `&&`, `||` and `|`.
func shellCommands(script string) []string {
	joined := strings.ReplaceAll(script, "\\\n", " ")
	var cmds []string
	for _, c := range commandSeparators.Split(joined, -1) {
		if c = strings.TrimSpace(c); c != "" && !strings.HasPrefix(c, "#") {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// pulumiGlobalFlagsWithValue are the CLI's global flags that take a separate
// value, so the word after them is not the subcommand.
var pulumiGlobalFlagsWithValue = map[string]bool{
	"-C": true, "--cwd": true, "--color": true, "-v": true, "--verbose": true,
	"--tracing": true, "--profiling": true, "--memprofilerate": true,
}

// pulumiCommand finds a pulumi invocation in one simple command and returns
// its subcommand and the --stack/-s value.
func pulumiCommand(cmd string) (sub, stack string, ok bool) {
	words := strings.Fields(cmd)
	start := -1
	for i, w := range words {
		if w == "pulumi" || strings.HasSuffix(w, "/pulumi") {
			start = i
			break
		}
	}
	if start < 0 {
		return "", "", false
	}
	rest := words[start+1:]
	for i := 0; i < len(rest); i++ {
		w := rest[i]
		if strings.HasPrefix(w, "-") {
			if pulumiGlobalFlagsWithValue[w] {
				i++
			}
			continue
		}
		sub = w
		rest = rest[i+1:]
		break
	}
	for i, w := range rest {
		switch {
		case (w == "--stack" || w == "-s") && i+1 < len(rest):
			stack = rest[i+1]
		case strings.HasPrefix(w, "--stack="):
			stack = strings.TrimPrefix(w, "--stack=")
		case strings.HasPrefix(w, "-s="):
			stack = strings.TrimPrefix(w, "-s=")
		}
	}
	return sub, strings.Trim(stack, `"'`), sub != ""
}
