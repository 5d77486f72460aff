package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/datafruits/infra/components/observability"
	"github.com/datafruits/infra/internal/pulumitest"
)

// TestRelayCapacityMatchesTheAlert: the RelaysNearCapacity rule counts
// observability.RelayMaxListeners per relay; the relays' rendered Icecast
// configuration must accept exactly that many clients.
func TestRelayCapacityMatchesTheAlert(t *testing.T) {
	mocks := runProd(t, nil)
	want := fmt.Sprintf("<clients>%d</clients>", observability.RelayMaxListeners)
	found := false
	for _, cm := range mocks.ByType("kubernetes:core/v1:ConfigMap") {
		if !strings.Contains(cm.Name, "relay") {
			continue
		}
		for key, v := range pulumitest.Get(cm.Inputs, "data").ObjectValue() {
			if !strings.HasSuffix(string(key), ".xml") {
				continue
			}
			found = true
			if !strings.Contains(v.StringValue(), want) {
				t.Errorf("%s %s does not set %s: the capacity alert assumes %d listeners per relay", cm.Name, key, want, observability.RelayMaxListeners)
			}
		}
	}
	if !found {
		t.Fatal("no relay icecast.xml in a ConfigMap: the relays' capacity cannot be checked")
	}
}
