package main

import (
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
)

// BenchmarkProgram runs the whole program under mocks per stack and reports
// how many resources it registers; `make bench` prints both.
func BenchmarkProgram(b *testing.B) {
	for _, stack := range []string{"staging", "prod", "local"} {
		b.Run(stack, func(b *testing.B) {
			var resources int
			for i := 0; i < b.N; i++ {
				mocks, err := pulumitest.RunStack(stack, run, nil)
				if err != nil {
					b.Fatal(err)
				}
				resources = len(mocks.Resources())
			}
			b.ReportMetric(float64(resources), "resources")
		})
	}
}
