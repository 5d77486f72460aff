package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestEveryCommittedStackHasAnEstimate fails when a stack file uses a size
// the price table does not know.
func TestEveryCommittedStackHasAnEstimate(t *testing.T) {
	for _, stack := range []string{"", "staging", "prod", "local"} {
		var out bytes.Buffer
		if err := run(&out, stack); err != nil {
			t.Errorf("stack %q: %v", stack, err)
			continue
		}
		if !strings.Contains(out.String(), "per month") {
			t.Errorf("stack %q: no total in\n%s", stack, out.String())
		}
	}
}
