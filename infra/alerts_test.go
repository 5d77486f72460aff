package main

import (
	"strconv"
	"testing"

	"github.com/datafruits/infra/components/observability"
)

// TestRelayCapacityMatchesTheAlert: the RelaysNearCapacity rule counts
// observability.RelayMaxListeners per relay; the relays must accept exactly that.
func TestRelayCapacityMatchesTheAlert(t *testing.T) {
	mocks := runProd(t, nil)
	relay, ok := mocks.Find("kubernetes:apps/v1:Deployment", "radio-datafruits-relay")
	if !ok {
		t.Fatal("no relay Deployment")
	}
	got := envOf(mocks, container(relay, 0))["ICECAST_MAX_CLIENTS"]
	if got != strconv.Itoa(observability.RelayMaxListeners) {
		t.Errorf("relays accept ICECAST_MAX_CLIENTS=%q listeners; the capacity alert assumes %d", got, observability.RelayMaxListeners)
	}
}
