package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
)

var updateReadme = flag.Bool("update", false, "rewrite the README's cost table (make diagram)")

// TestReadmeShowsTheCurrentEstimate keeps the README's side-by-side table
// equal to what `make cost` prints for the committed stacks.
func TestReadmeShowsTheCurrentEstimate(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, ""); err != nil {
		t.Fatal(err)
	}
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const open, closing = "<!-- cost -->\n", "<!-- /cost -->"
	doc := string(readme)
	start, end := strings.Index(doc, open), strings.Index(doc, closing)
	if start < 0 || end < start {
		t.Fatalf("README.md has no %q … %q markers", strings.TrimSpace(open), closing)
	}
	want := doc[:start+len(open)] + out.String() + doc[end:]
	if *updateReadme {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if doc != want {
		t.Errorf("README.md's cost table differs from `make cost`: run `make diagram` and commit the result")
	}
}
