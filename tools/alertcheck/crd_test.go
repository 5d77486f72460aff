package alertcheck

import (
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"sigs.k8s.io/yaml"
)

// TestAlertmanagerConfigFitsTheChartsCRD validates the program's
// AlertmanagerConfig against the CRD kube-prometheus-stack 70.0.0 installs,
// with the API server's own schema validation and pruning: a field the CRD
// does not know would be silently dropped by the API server, so it fails here.
func TestAlertmanagerConfigFitsTheChartsCRD(t *testing.T) {
	obj := declared(t, "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig", "observability-discord-routing")
	obj = jsonCopy(t, obj)
	// Pulumi's inputs carry the object without server-side metadata.
	if obj["apiVersion"] != "monitoring.coreos.com/v1alpha1" || obj["kind"] != "AlertmanagerConfig" {
		t.Fatalf("unexpected object %v/%v", obj["apiVersion"], obj["kind"])
	}

	chrt, err := loader.Load(filepath.Join(requireEnv(t, "ALERTCHECK_CHARTS", "the chart mirror"), "kube-prometheus-stack-70.0.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	var crd *apiextensionsv1.CustomResourceDefinition
	for _, f := range chrt.CRDObjects() {
		if strings.HasSuffix(f.Filename, "crd-alertmanagerconfigs.yaml") {
			crd = &apiextensionsv1.CustomResourceDefinition{}
			if err := yaml.Unmarshal(f.File.Data, crd); err != nil {
				t.Fatal(err)
			}
		}
	}
	if crd == nil {
		t.Fatal("kube-prometheus-stack 70.0.0 has no AlertmanagerConfig CRD")
	}
	var schema *apiextensionsv1.JSONSchemaProps
	for _, v := range crd.Spec.Versions {
		if v.Name == "v1alpha1" && v.Schema != nil {
			schema = v.Schema.OpenAPIV3Schema
		}
	}
	if schema == nil {
		t.Fatal("the CRD has no v1alpha1 schema")
	}
	internal := &apiextensionsinternal.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(schema, internal, nil); err != nil {
		t.Fatal(err)
	}
	validator, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		t.Fatal(err)
	}
	if errs := validation.ValidateCustomResource(nil, obj, validator); len(errs) > 0 {
		t.Errorf("the AlertmanagerConfig fails the CRD's schema: %v", errs.ToAggregate())
	}
	structural, err := structuralschema.NewStructural(internal)
	if err != nil {
		t.Fatal(err)
	}
	unknown := pruning.PruneWithOptions(obj, structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	if len(unknown) > 0 {
		t.Errorf("the API server would drop fields the CRD does not know: %v", unknown)
	}
}

func jsonCopy(t *testing.T, in map[string]any) map[string]any {
	t.Helper()
	b, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
