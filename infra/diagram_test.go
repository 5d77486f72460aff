package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datafruits/infra/internal/diagram"
	"github.com/datafruits/infra/internal/pulumitest"
)

var update = flag.Bool("update", false, "rewrite docs/diagrams/*.md, docs/architecture.md and the README from the program (make diagram)")

// diagramStack is the stack the committed diagrams show. The Discord webhook
// is a secret the stack file cannot hold; the diagrams show it set, as in
// production.
const diagramStack = "prod"

// layerOf places the program's namespaces in its layers.
func layerOf(namespace string) string {
	switch namespace {
	case platformNamespace, observabilityNamespace:
		return diagram.Platform
	case dataNamespace:
		return diagram.Foundation
	}
	return diagram.Station
}

// generateDiagrams runs the program for diagramStack and returns each
// diagram's Markdown by name: "stack" and one per user story.
func generateDiagrams(t *testing.T) map[string]string {
	t.Helper()
	mocks, err := pulumitest.RunStack(diagramStack, run,
		map[string]string{"datafruits:discordWebhookUrl": "https://discord.com/api/webhooks/0/diagram"}, "datafruits:discordWebhookUrl")
	if err != nil {
		t.Fatalf("program failed for %s: %v", diagramStack, err)
	}
	g, err := diagram.Build(mocks.Resources(), diagram.Options{LayerOf: layerOf})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"stack": diagram.Markdown(g.Mermaid())}
	for _, s := range diagram.Stories {
		out[s.Name] = diagram.Markdown(g.View(s).Mermaid())
	}
	return out
}

// TestDiagrams fails when the committed diagrams differ from what the
// program declares: regenerate them with `make diagram`.
func TestDiagrams(t *testing.T) {
	root, err := pulumitest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	generated := generateDiagrams(t)
	files := map[string]string{}
	for name, md := range generated {
		files[filepath.Join(root, "docs", "diagrams", name+".md")] = md
	}
	archPath := filepath.Join(root, "docs", "architecture.md")
	arch, err := os.ReadFile(archPath)
	if err != nil {
		t.Fatal(err)
	}
	spliced, err := diagram.Splice(string(arch), generated)
	if err != nil {
		t.Fatalf("%s: %v", archPath, err)
	}
	files[archPath] = spliced
	// The README embeds the same diagrams, so GitHub shows them on the front page.
	readmePath := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if files[readmePath], err = diagram.Splice(string(readme), generated); err != nil {
		t.Fatalf("%s: %v", readmePath, err)
	}

	paths := slices.Sorted(maps.Keys(files))
	for _, path := range paths {
		want := files[path]
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v: run `make diagram`", err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s differs from what the program declares (%s): run `make diagram` and commit the result", path, firstDifference(string(got), want))
		}
	}
}

// firstDifference names the first line where the committed text and the
// generated text differ.
func firstDifference(committed, generated string) string {
	c, g := strings.Split(committed, "\n"), strings.Split(generated, "\n")
	for i := 0; i < max(len(c), len(g)); i++ {
		var cl, gl string
		if i < len(c) {
			cl = c[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if cl != gl {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, cl, gl)
		}
	}
	return "same lines"
}
