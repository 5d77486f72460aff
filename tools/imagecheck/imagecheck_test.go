package imagecheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stationImages are the images of stacks.StationImages, each with the folder
// of its build definition. The test fails when a stack's images hold a station
// image this table lacks, so a new one cannot go unchecked.
var stationImages = map[string]string{
	"site": "images/site", "admin": "images/admin", "api": "images/api", "chat": "images/chat",
	"video": "images/video", "icecast": "images/icecast", "liquidsoap": "images/liquidsoap",
	"archiver": "apps/archiver", "onair": "apps/onair", "movein": "apps/movein",
}

// thirdParty are the images the program runs that upstream builds and
// maintains at the pinned default tag (stacks.DefaultImages); their pods are
// written to fit them and they are not built here.
var thirdParty = []string{"analytics", "statuspage", "postgres", "valkey", "minio", "minioClient", "postgresExporter"}

// checkStack holds every station image's Dockerfile against every container
// that runs it in one stack, and returns the problems.
func checkStack(t *testing.T, repo, stack string, s StackExport, defs map[string]string) []string {
	t.Helper()
	var problems []string
	containers := Containers(s)
	for key, image := range s.Images {
		dir, ok := defs[key]
		if !ok {
			if !slices.Contains(thirdParty, key) {
				problems = append(problems, stack+": images."+key+" has no build definition known to tools/imagecheck (stationImages)")
			}
			continue
		}
		img, err := ParseDockerfile(filepath.Join(repo, dir, "Dockerfile"))
		if err != nil {
			problems = append(problems, stack+": "+key+": "+err.Error())
			continue
		}
		img.Path = filepath.Join(dir, "Dockerfile")
		writes, err := ReadWrites(filepath.Join(repo, dir, "WRITES"))
		if err != nil {
			problems = append(problems, stack+": "+key+": "+err.Error()+" (declare what the image writes next to its Dockerfile)")
			continue
		}
		if strings.HasPrefix(dir, "images/") {
			problems = append(problems, checkSource(repo, stack, key, dir)...)
		}
		for _, p := range CheckImage(key, img) {
			problems = append(problems, stack+": "+p)
		}
		runs := 0
		for _, c := range containers {
			if c.Image != image {
				continue
			}
			runs++
			for _, p := range CheckPod(key, img, writes, c) {
				problems = append(problems, stack+": "+p)
			}
		}
		if runs == 0 {
			problems = append(problems, stack+": images."+key+" ("+image+"): no container of the program runs it")
		}
		t.Logf("%s: %s (%s) checked against %d containers", stack, key, dir, runs)
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}

// TestStationImagesFitTheirPods reads what the program declared under mocks
// for every committed stack (infra's TestExportWorkloads, $IMAGECHECK_EXPORT)
// and holds each station image's Dockerfile against the pods that run it.
func TestStationImagesFitTheirPods(t *testing.T) {
	exportPath, repo := os.Getenv("IMAGECHECK_EXPORT"), os.Getenv("IMAGECHECK_REPO")
	if exportPath == "" || repo == "" {
		t.Skip("IMAGECHECK_EXPORT and IMAGECHECK_REPO are set by scripts/test/images.sh")
	}
	export, err := ReadExport(exportPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(export) == 0 {
		t.Fatal("the export holds no stack")
	}
	for _, stack := range sortedStacks(export) {
		s := export[stack]
		for key := range stationImages {
			if _, ok := s.Images[key]; !ok {
				t.Errorf("%s: the program resolved no images.%s", stack, key)
			}
		}
		for _, p := range checkStack(t, repo, stack, s, stationImages) {
			t.Error(p)
		}
	}
}

// checkSource checks images/<app>/SOURCE, and that the Dockerfile builds from
// the upstream checkout exactly when SOURCE names a repository.
func checkSource(repo, stack, key, dir string) []string {
	src, err := ReadSource(filepath.Join(repo, dir, "SOURCE"))
	if err != nil {
		return []string{stack + ": " + key + ": " + strings.TrimPrefix(err.Error(), repo+string(filepath.Separator))}
	}
	uses, err := UsesSourceContext(filepath.Join(repo, dir, "Dockerfile"))
	if err != nil {
		return []string{stack + ": " + key + ": " + err.Error()}
	}
	switch {
	case src.Repo != "" && !uses:
		return []string{stack + ": " + key + ": " + dir + "/SOURCE names " + src.Repo + ", but the Dockerfile copies nothing --from=source (the checkout at COMMIT)"}
	case src.Repo == "" && uses:
		return []string{stack + ": " + key + ": " + dir + "/Dockerfile copies --from=source, but SOURCE names no REPO to check out"}
	}
	return nil
}

func sortedStacks(e Export) []string {
	var names []string
	for n := range e {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TestEachCheckFails runs the fixture pod of testdata/pod.json against
// testdata/good (which must pass) and against each one-line change of it in
// testdata/<case>, which must fail naming the Dockerfile line and the field.
func TestEachCheckFails(t *testing.T) {
	export, err := ReadExport("testdata/export.json")
	if err != nil {
		t.Fatal(err)
	}
	s := export["fixture"]
	if got := checkStack(t, "testdata", "fixture", s, map[string]string{"fixture": "good"}); len(got) != 0 {
		t.Fatalf("the good fixture must pass, got:\n%s", strings.Join(got, "\n"))
	}
	cases := []struct {
		dir  string
		want []string
	}{
		{"root-user", []string{"root-user/Dockerfile:10 USER 0", "runs as root"}},
		{"named-user", []string{"Dockerfile:10 USER fixture", "not numeric"}},
		{"no-user", []string{"no-user/Dockerfile", "sets no USER"}},
		{"other-uid", []string{"Dockerfile:10 USER 1001:1001", "Deployment fixture spec.template.spec.securityContext.runAsUser is 1000"}},
		{"other-gid", []string{"Dockerfile:10 USER 1000:0", "runAsGroup is 1000"}},
		{"routed-port-not-exposed", []string{"port 8080 is reached through Deployment fixture Service fixture spec.ports[0].targetPort", "does not EXPOSE it"}},
		{"probed-port-not-exposed", []string{"port 9100 is reached through Deployment fixture spec.template.spec.containers[0].startupProbe.tcpSocket.port"}},
		{"exposed-port-not-declared", []string{"Dockerfile:11 EXPOSE 22", "spec.template.spec.containers[0].ports declares no such port"}},
		{"secret-env", []string{"Dockerfile:5 ENV DISCORD_TOKEN", "from a Secret"}},
		{"secret-arg", []string{"Dockerfile:4 ARG DATABASE_PASSWORD"}},
		{"latest-base", []string{"Dockerfile:8 FROM debian:latest", "not an exact version"}},
		{"untagged-base", []string{"Dockerfile:8 FROM debian:", "not an exact version"}},
		{"floating-base", []string{"Dockerfile:3 FROM golang:1.26-bookworm", "not an exact version"}},
		{"unmounted-write", []string{"writes /var/cache/fixture", "readOnlyRootFilesystem is true"}},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			got := checkStack(t, "testdata", "fixture", s, map[string]string{"fixture": tc.dir})
			if len(got) == 0 {
				t.Fatalf("testdata/%s passed; it must fail with %q", tc.dir, tc.want)
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("testdata/%s: the error does not say %q:\n%s", tc.dir, w, all)
				}
			}
			t.Logf("testdata/%s refused: %s", tc.dir, all)
		})
	}
}

// TestSourceFilesAreRefusedWhenTheyCouldMove: a SOURCE must pin a full commit.
func TestSourceFilesAreRefusedWhenTheyCouldMove(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct{ body, want string }{
		"good":         {"REPO=datafruits/viz\nCOMMIT=5583108262ba34c6c501b256080c853044870d23\nVERSION=5583108\n", ""},
		"package":      {"PACKAGE=icecast2\nVERSION=2.4.4\n", ""},
		"branch":       {"REPO=datafruits/viz\nCOMMIT=main\nVERSION=1\n", `COMMIT "main"`},
		"short commit": {"REPO=datafruits/viz\nCOMMIT=5583108\nVERSION=1\n", "full 40-hex commit"},
		"no version":   {"REPO=datafruits/viz\nCOMMIT=5583108262ba34c6c501b256080c853044870d23\n", `VERSION ""`},
		"nothing":      {"VERSION=1\n", "neither REPO"},
		"unknown key":  {"REPOSITORY=datafruits/viz\n", "unknown key REPOSITORY"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadSource(path)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: want an error saying %q, got %v", name, tc.want, err)
		}
	}
}
