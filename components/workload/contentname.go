package workload

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// contentMeta names a ConfigMap or Secret after its content, as kustomize's
// generators do: <base>-<first 10 hex digits of the SHA-256 of its data>.
//
// A changed content gets a new object (the pods roll, the old one is deleted
// after), and the same content always gets the same name. Pulumi's random
// auto-names broke the second half: reverting a commit gave back the old
// data under a new name, so the Deployment's pod template changed too and a
// rollback was not an exact return (issue 13, TestRollbackByRevert).
func contentMeta(meta *metav1.ObjectMetaArgs, base string, data pulumi.StringMapInput) *metav1.ObjectMetaArgs {
	name := data.ToStringMapOutput().ApplyT(func(m map[string]string) string {
		return base + "-" + contentHash(m)
	}).(pulumi.StringOutput)
	// The hash names the content without revealing it: keeping it secret
	// would mark every pod spec that mounts the object secret in the state.
	meta.Name = pulumi.Unsecret(name).(pulumi.StringOutput)
	return meta
}

// contentHash is a stable digest of a string map: keys sorted, each key and
// value length-prefixed so that no two different maps hash alike.
func contentHash(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		for _, s := range []string{k, m[k]} {
			var n [8]byte
			for i, l := 0, uint64(len(s)); i < 8; i, l = i+1, l>>8 {
				n[i] = byte(l)
			}
			h.Write(n[:])
			h.Write([]byte(s))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}
