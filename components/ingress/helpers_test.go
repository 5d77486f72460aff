package ingress_test

import "github.com/pulumi/pulumi/sdk/v3/go/common/resource"

func pulumiKey(k string) resource.PropertyKey { return resource.PropertyKey(k) }

func stringArray(vs []resource.PropertyValue) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.StringValue())
	}
	return out
}
