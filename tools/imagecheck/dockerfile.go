package imagecheck

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Image is what a Dockerfile says about the container it builds, each fact
// with the line it comes from.
type Image struct {
	// Path is the Dockerfile's path, as errors name it.
	Path string
	// User is the final stage's USER; UserLine is 0 when the stage sets none.
	User     string
	UserLine int
	// Exposed are the final stage's EXPOSEd ports, with their lines.
	Exposed map[int]int
	// Bases are every FROM that pulls an image (not a stage of this file, not scratch).
	Bases []Base
	// Settings are every ENV and ARG of every stage.
	Settings []Setting
}

// Base is one FROM of a registry image, its ARGs resolved.
type Base struct {
	Ref  string
	Line int
}

// Setting is one ENV or ARG.
type Setting struct {
	Instruction string // "ENV" or "ARG"
	Name, Value string
	HasValue    bool
	Line        int
}

// ParseDockerfile reads a Dockerfile with BuildKit's own parser.
func ParseDockerfile(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	img := &Image{Path: path, Exposed: map[int]int{}}
	globalArgs := map[string]string{}
	stages := map[string]bool{}
	// userOf is each stage's last USER, so a final stage that inherits one
	// from an earlier stage of this file still has it.
	type stageUser struct {
		user string
		line int
	}
	userOf := map[string]stageUser{}
	inStage := false
	var current string
	var user stageUser
	var exposed map[int]int
	for _, n := range res.AST.Children {
		args := nodeArgs(n)
		switch strings.ToLower(n.Value) {
		case "from":
			if inStage && current != "" {
				userOf[current] = user
			}
			inStage = true
			if len(args) == 0 {
				return nil, fmt.Errorf("%s:%d: FROM without an image", path, n.StartLine)
			}
			ref := os.Expand(args[0], func(k string) string { return globalArgs[k] })
			current = ""
			if len(args) == 3 && strings.EqualFold(args[1], "as") {
				current = strings.ToLower(args[2])
			}
			user, exposed = stageUser{}, map[int]int{}
			if inherited, ok := userOf[strings.ToLower(ref)]; ok && stages[strings.ToLower(ref)] {
				user = inherited
			}
			if !stages[strings.ToLower(ref)] && ref != "scratch" {
				img.Bases = append(img.Bases, Base{Ref: ref, Line: n.StartLine})
			}
			if current != "" {
				stages[current] = true
			}
		case "user":
			if len(args) > 0 {
				user = stageUser{user: args[0], line: n.StartLine}
			}
		case "expose":
			for _, a := range args {
				port, err := strconv.Atoi(strings.TrimSuffix(a, "/tcp"))
				if err != nil {
					return nil, fmt.Errorf("%s:%d: EXPOSE %s: a literal TCP port number is needed to check it against the pod", path, n.StartLine, a)
				}
				exposed[port] = n.StartLine
			}
		case "env":
			// BuildKit's parser gives each pair as key, value, separator ("=" or "").
			for i := 0; i+1 < len(args); i += 3 {
				img.Settings = append(img.Settings, Setting{Instruction: "ENV", Name: args[i], Value: args[i+1], HasValue: true, Line: n.StartLine})
			}
		case "arg":
			for _, a := range args {
				name, value, has := strings.Cut(a, "=")
				img.Settings = append(img.Settings, Setting{Instruction: "ARG", Name: name, Value: value, HasValue: has, Line: n.StartLine})
				if !inStage {
					globalArgs[name] = value
				}
			}
		}
	}
	if !inStage {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	img.User, img.UserLine, img.Exposed = user.user, user.line, exposed
	return img, nil
}

func nodeArgs(n *parser.Node) []string {
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	return args
}

// UID returns the numeric user and group of the final USER ("65532:65532",
// "1000"); ok is false when the user is a name or unset.
func (img *Image) UID() (uid, gid int, hasGID, ok bool) {
	u, g, hasGID := strings.Cut(img.User, ":")
	uid, err := strconv.Atoi(u)
	if err != nil || img.User == "" {
		return 0, 0, false, false
	}
	if hasGID {
		if gid, err = strconv.Atoi(g); err != nil {
			return 0, 0, false, false
		}
	}
	return uid, gid, hasGID, true
}

var (
	digestRe = regexp.MustCompile(`@sha256:[a-f0-9]{64}$`)
	// exactTagRe: a tag that names a release (x.y.z) or a dated build (bookworm-20250113).
	exactTagRe = regexp.MustCompile(`(^|[^0-9.])v?[0-9]+\.[0-9]+\.[0-9]+([^0-9.]|$)|(^|[^0-9])20[0-9]{6}([^0-9]|$)`)
	// secretNameRe: settings whose name says they carry a secret; build args
	// and ENV values stay in the image's history and config for anyone who pulls it.
	secretNameRe = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL|COOKIE)`)
)

// ExactBase reports whether a FROM reference pins an exact version: a digest,
// or a tag naming a release or a dated build, never latest.
func ExactBase(ref string) bool {
	if digestRe.MatchString(ref) {
		return true
	}
	name := ref
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "latest" && exactTagRe.MatchString(tag)
}

// SecretLooking reports whether a setting's name says it carries a secret.
func SecretLooking(name string) bool { return secretNameRe.MatchString(name) }

// ReadWrites reads the WRITES file beside a Dockerfile: one absolute path per
// line that the image's process writes at run time, '#' starts a comment.
func ReadWrites(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var paths []string
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		text, _, _ := strings.Cut(s.Text(), "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if !strings.HasPrefix(text, "/") {
			return nil, fmt.Errorf("%s:%d: %q is not an absolute path", path, line, text)
		}
		paths = append(paths, strings.TrimSuffix(text, "/"))
	}
	return paths, s.Err()
}

// Source is images/<app>/SOURCE: the upstream repository and commit the image
// is built from (REPO, COMMIT) or the Debian package it installs (PACKAGE), and
// the version that starts its tag (VERSION).
type Source struct {
	Repo, Commit, Package, Version string
}

var (
	commitRe  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	repoRe    = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	versionRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._]{0,60}$`)
)

// ReadSource reads and checks a SOURCE file: a repository needs a full commit
// (a branch or short SHA could move), and every image a tag version.
func ReadSource(path string) (*Source, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	src := &Source{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("%s:%d: want KEY=value, got %q", path, i+1, line)
		case key == "REPO":
			src.Repo = value
		case key == "COMMIT":
			src.Commit = value
		case key == "PACKAGE":
			src.Package = value
		case key == "VERSION":
			src.Version = value
		case key == "FACTS":
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %s; allowed: REPO, COMMIT, PACKAGE, VERSION, FACTS", path, i+1, key)
		}
	}
	switch {
	case src.Repo == "" && src.Package == "":
		return nil, fmt.Errorf("%s: names neither REPO (with COMMIT) nor PACKAGE", path)
	case src.Repo != "" && !repoRe.MatchString(src.Repo):
		return nil, fmt.Errorf("%s: REPO %q; allowed: owner/name of a GitHub repository", path, src.Repo)
	case src.Repo != "" && !commitRe.MatchString(src.Commit):
		return nil, fmt.Errorf("%s: COMMIT %q; allowed: a full 40-hex commit of %s (a branch or short SHA can move)", path, src.Commit, src.Repo)
	case !versionRe.MatchString(src.Version):
		return nil, fmt.Errorf("%s: VERSION %q; allowed: letters, digits, '.' and '_' (it starts the image tag, before -<commit>)", path, src.Version)
	}
	return src, nil
}

// UsesSourceContext reports whether the Dockerfile copies from the named build
// context "source", the upstream checkout.
func UsesSourceContext(path string) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	return regexp.MustCompile(`(?m)^\s*(COPY|ADD)\s+(--[a-z]+=\S+\s+)*--from=source\s`).Match(b), nil
}
