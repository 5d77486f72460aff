// Command cost prints the monthly cost estimate of the committed stacks side
// by side with the RFC's baseline, from each Pulumi.<stack>.yaml loaded the
// way the program loads it (under mocks: no cloud account, no Pulumi CLI).
//
//	go run ./cmd/cost              # staging and prod beside the baseline
//	go run ./cmd/cost -stack prod  # one stack, line by line
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/datafruits/infra/internal/cost"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/datafruits/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	stack := flag.String("stack", "", "print only this stack (default: staging and prod beside the RFC baseline)")
	flag.Parse()
	if err := run(os.Stdout, *stack); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, only string) error {
	names := []string{"staging", "prod"}
	if only != "" {
		names = []string{only}
	}
	var estimates []cost.Estimate
	for _, name := range names {
		cfg, err := load(name)
		if err != nil {
			return err
		}
		e, err := cost.For(cfg)
		if err != nil {
			return fmt.Errorf("stack %s: %w", name, err)
		}
		estimates = append(estimates, e)
	}
	if only == "" {
		estimates = append(estimates, cost.Baseline())
	}
	fmt.Fprintf(out, "Monthly cost estimate, USD (prices checked %s; rough prices from CONTEXT.md, check DigitalOcean's pricing pages)\n\n", cost.PricesChecked)
	fmt.Fprint(out, cost.Table(estimates...))
	fmt.Fprintln(out)
	for _, n := range estimates[0].Notes {
		fmt.Fprintln(out, "- "+n)
	}
	if only == "" {
		fmt.Fprintln(out, "- The RFC's baseline is \"running 3 droplets on digital ocean\"; their size is not given, s-2vcpu-4gb is assumed.")
	}
	for _, e := range estimates {
		fmt.Fprintf(out, "%s: %s per month\n", e.Stack, cost.USD(e.MonthlyUSD()))
	}
	return nil
}

// load reads Pulumi.<stack>.yaml and runs stacks.Load on it under mocks.
func load(stack string) (*stacks.Config, error) {
	values, secretKeys, err := pulumitest.StackConfig(stack)
	if err != nil {
		return nil, err
	}
	var cfg *stacks.Config
	var loadErr error
	err = pulumitest.NewMocks().Run(stack, values, secretKeys, func(ctx *pulumi.Context) error {
		cfg, loadErr = stacks.Load(ctx)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stack %s: running Load under mocks: %w", stack, err)
	}
	return cfg, loadErr
}
