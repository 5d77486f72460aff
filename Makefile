# The commands a volunteer runs. Each target is a thin wrapper over scripts/.
SHELL := /usr/bin/env bash
export GONOSUMDB ?= github.com/pulumi/pulumi-kubernetes/sdk/v4

.PHONY: help up down test test-unit integration bench diagram cost rollback migrate restore controlplane-up controlplane-down

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 20

up: ## Bring the whole station up as the `local` stack (current kube context, or the embedded control plane).
	@scripts/local-up.sh

down: ## Destroy the `local` stack and stop the embedded control plane.
	@scripts/local-down.sh

test: ## Run the whole test suite (what CI runs).
	@scripts/test.sh

test-unit: ## Run only the mock-based unit tests of the program.
	@scripts/test.sh unit

integration: ## Run the real-engine integration tests (needs the Pulumi CLI and provider plugins).
	@scripts/test.sh integration

bench: ## Print figures: program run time per stack under mocks, cost, the services' benchmarks, the real engine (up, previews).
	@scripts/bench.sh

diagram: ## Regenerate the architecture diagrams (docs/, README) from the prod stack under mocks, and the README's cost table.
	@go test ./infra -run '^TestDiagrams$$' -count=1 -update
	@go test ./cmd/cost -run '^TestReadmeShowsTheCurrentEstimate$$' -count=1 -update

cost: ## Print the monthly cost estimate of staging and prod beside the RFC baseline (STACK=prod for one stack).
	@go run ./cmd/cost $(if $(STACK),-stack $(STACK))

rollback: ## Revert a merged commit (COMMIT=sha) and apply the previous state to STACK (default staging).
	@scripts/rollback.sh "$(COMMIT)" "$(or $(STACK),staging)"

migrate: ## Copy today's data into the stack: make migrate ARGS='migrate-db --from URL --to URL' (or copy-bucket, import-zone; apps/movein/README.md)
	@case "$(word 1,$(ARGS))" in migrate-db|copy-bucket|import-zone) ;; *) echo "make migrate: ARGS must start with migrate-db, copy-bucket or import-zone (apps/movein/README.md)" >&2; exit 2 ;; esac
	@scripts/movein.sh $(ARGS)

restore: ## Restore a backup and verify it: make restore ARGS='--from URL --database api --to-db URL' (apps/movein/README.md)
	@scripts/movein.sh restore $(ARGS)

controlplane-up: ## Start the embedded Kubernetes control plane (builds it once).
	@scripts/controlplane/start.sh

controlplane-down: ## Stop the embedded Kubernetes control plane.
	@scripts/controlplane/stop.sh
