//go:build radio

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// TestWriteRadioRendered runs the program for the local stack under mocks and writes the
// radio's configuration files and secrets exactly as the program declared them (the
// ConfigMaps' and Secrets' data) to $RADIO_RENDERED_DIR, for scripts/test/radio.sh to run
// the real daemons on. Nothing here renders a file: it only copies recorded objects.
func TestWriteRadioRendered(t *testing.T) {
	dir := os.Getenv("RADIO_RENDERED_DIR")
	if dir == "" {
		t.Skip("RADIO_RENDERED_DIR is not set: scripts/test/radio.sh sets it")
	}
	mocks, err := pulumitest.RunStack("local", run, nil)
	if err != nil {
		t.Fatalf("the local stack fails under mocks: %v", err)
	}
	data := func(typ, name, field string) resource.PropertyMap {
		r, ok := mocks.Find(typ, name)
		if !ok {
			t.Fatalf("the program declares no %s %s", typ, name)
		}
		v := pulumitest.Get(r.Inputs, field)
		for v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			t.Fatalf("%s %s has no %s", typ, name, field)
		}
		return v.ObjectValue()
	}
	out := map[string]map[string]string{}
	take := func(as, typ, name, field string) {
		m := data(typ, name, field)
		files := map[string]string{}
		for k, v := range m {
			for v.IsSecret() {
				v = v.SecretValue().Element
			}
			if !v.IsString() {
				t.Fatalf("%s %s: %s[%s] is not a string", typ, name, field, k)
			}
			files[string(k)] = v.StringValue()
		}
		out[as] = files
	}
	const cm, secret = "kubernetes:core/v1:ConfigMap", "kubernetes:core/v1:Secret"
	take("icecast-config", cm, "radio-datafruits-icecast-config", "data")
	take("relay-config", cm, "radio-datafruits-relay-config", "data")
	take("icecast-env", cm, "radio-datafruits-icecast-env", "data")
	take("icecast-secrets", secret, "radio-datafruits-icecast-files", "stringData")
	take("relay-secrets", secret, "radio-datafruits-relay-files", "stringData")
	take("liquidsoap-config", cm, "radio-datafruits-liquidsoap-config", "data")
	take("liquidsoap-secret-env", secret, "radio-datafruits-liquidsoap-secret-env", "stringData")
	take("onair-env", cm, "radio-datafruits-onair-env", "data")
	take("archiver-env", cm, "radio-datafruits-liquidsoap-archiver-env", "data")
	take("archiver-secret-env", secret, "radio-datafruits-liquidsoap-archiver-secret-env", "stringData")
	take("video-config", cm, "video-config", "data")
	take("api-secret-env", secret, "api-secret-env", "stringData")
	for group, files := range out {
		sub := filepath.Join(dir, group)
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(sub, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	index, _ := json.Marshal(map[string]int{"groups": len(out)})
	t.Logf("wrote the radio's recorded configuration to %s (%s)", dir, index)
}
