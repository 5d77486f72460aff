// Package pulumitest runs Pulumi programs and components under pulumi.WithMocks
// and records every resource they register, so tests can assert on the inputs
// that matter and the contract test can replay the Kubernetes objects against a
// real API server.
//
// The mocks answer the provider calls the program makes (Kubernetes versions,
// cluster look-ups) and give each resource type the outputs its consumers read
// (hosts, URIs, passwords), so the whole program runs without a cloud account.
package pulumitest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one resource the program registered, as the engine saw it.
type Resource struct {
	// Type is the resource's type token, for example "kubernetes:apps/v1:Deployment".
	Type string
	// Name is the resource's logical (Pulumi) name.
	Name string
	// URN is the URN the mock engine gave it.
	URN string
	// Parent is the URN of the parent resource, empty for the stack's direct children.
	Parent string
	// Custom is true for provider-managed resources, false for components.
	Custom bool
	// Protect is true when the resource was registered with pulumi.Protect(true).
	Protect bool
	// Provider is the provider reference the resource uses, empty for the default provider.
	Provider string
	// Inputs are the resolved inputs, with secrets still marked secret.
	Inputs resource.PropertyMap
	// Outputs are what the mock returned as the resource's state.
	Outputs resource.PropertyMap
	// Dependencies are the URNs the resource explicitly depends on.
	Dependencies []string
}

// OutputFunc computes extra outputs for a resource of one type from its inputs.
type OutputFunc func(name string, inputs resource.PropertyMap) resource.PropertyMap

// Mocks records resources and answers provider calls. The zero value is not
// ready to use: call NewMocks.
type Mocks struct {
	mu        sync.Mutex
	stack     string
	resources []Resource
	calls     []pulumi.MockCallArgs
	outputs   map[string]OutputFunc
	callFuncs map[string]func(args resource.PropertyMap) resource.PropertyMap
}

// NewMocks returns mocks that know the outputs of the resource types this
// project uses (see outputs.go).
func NewMocks() *Mocks {
	return &Mocks{outputs: defaultOutputs(), callFuncs: defaultCalls()}
}

// SetOutputs overrides the outputs a resource type returns.
func (m *Mocks) SetOutputs(typeToken string, f OutputFunc) { m.outputs[typeToken] = f }

// SetCall overrides the result of a provider function.
func (m *Mocks) SetCall(token string, f func(args resource.PropertyMap) resource.PropertyMap) {
	m.callFuncs[token] = f
}

// NewResource implements pulumi.MockResourceMonitor.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	outputs := args.Inputs.Copy()
	if args.Custom {
		autoName(args.TypeToken, args.Name, outputs)
	}
	if f, ok := m.outputs[args.TypeToken]; ok {
		for k, v := range f(args.Name, args.Inputs) {
			outputs[k] = v
		}
	}
	id := args.Name + "-id"
	if args.ID != "" {
		id = args.ID
	}
	r := Resource{
		Type:     args.TypeToken,
		Name:     args.Name,
		Custom:   args.Custom,
		Provider: args.Provider,
		Inputs:   args.Inputs,
		Outputs:  outputs,
	}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		r.Protect = rpc.GetProtect()
		r.Dependencies = rpc.GetDependencies()
		r.URN = m.urnOf(rpc.GetParent(), args.TypeToken, args.Name)
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()
	return id, outputs, nil
}

// Call implements pulumi.MockResourceMonitor.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.calls = append(m.calls, args)
	m.mu.Unlock()
	if f, ok := m.callFuncs[args.Token]; ok {
		return f(args.Args), nil
	}
	return nil, fmt.Errorf("pulumitest: no mock for provider function %s", args.Token)
}

// AutoName is the name the Kubernetes provider would give an object that
// sets no metadata.name: the logical name, a dash and eight characters. The
// provider picks them at random; tests derive them from the logical name so
// that runs are repeatable.
func AutoName(logicalName string) string {
	sum := sha1.Sum([]byte(logicalName))
	return logicalName + "-" + hex.EncodeToString(sum[:])[:8]
}

// autoName sets metadata.name on a Kubernetes object's outputs when its
// inputs leave it to the provider, as the real provider does.
func autoName(typeToken, name string, outputs resource.PropertyMap) {
	if !strings.HasPrefix(typeToken, "kubernetes:") || strings.HasPrefix(typeToken, "kubernetes:helm.sh") {
		return
	}
	meta := resource.PropertyMap{}
	if v, ok := outputs["metadata"]; ok && v.IsObject() {
		meta = v.ObjectValue().Copy()
	}
	if n, ok := meta["name"]; ok && n.IsString() && n.StringValue() != "" {
		return
	}
	meta["name"] = resource.NewProperty(AutoName(name))
	outputs["metadata"] = resource.NewProperty(meta)
}

// Resources returns every registered resource, ordered by type then name so
// that output built from it is stable.
func (m *Mocks) Resources() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]Resource(nil), m.resources...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Calls returns every provider function call the program made.
func (m *Mocks) Calls() []pulumi.MockCallArgs {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]pulumi.MockCallArgs(nil), m.calls...)
}

// ByType returns the registered resources of one type token.
func (m *Mocks) ByType(typeToken string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Type == typeToken {
			out = append(out, r)
		}
	}
	return out
}

// Find returns the resource with this type and logical name.
func (m *Mocks) Find(typeToken, name string) (Resource, bool) {
	for _, r := range m.Resources() {
		if r.Type == typeToken && r.Name == name {
			return r, true
		}
	}
	return Resource{}, false
}

// Count returns how many resources of each type were registered.
func (m *Mocks) Count() map[string]int {
	counts := map[string]int{}
	for _, r := range m.Resources() {
		counts[r.Type]++
	}
	return counts
}

// ChildrenOf returns the resources whose parent is the given URN.
func (m *Mocks) ChildrenOf(parentURN string) []Resource {
	var out []Resource
	for _, r := range m.Resources() {
		if r.Parent == parentURN {
			out = append(out, r)
		}
	}
	return out
}

// urnOf builds the URN the mock engine assigns, the same way the SDK does, so
// that Parent fields can be matched against it.
func (m *Mocks) urnOf(parentURN, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parentURN); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.stack), "datafruits", parentType, tokens.Type(typ), name))
}

// Run runs a program under these mocks with the given configuration (keys like
// "datafruits:region"; values are strings, objects as JSON) and secret keys.
func (m *Mocks) Run(stack string, cfg map[string]string, secretKeys []string, program pulumi.RunFunc) error {
	m.stack = stack
	withConfig := func(info *pulumi.RunInfo) {
		info.Config = cfg
		info.ConfigSecretKeys = secretKeys
	}
	return pulumi.RunErr(program, pulumi.WithMocks("datafruits", stack, m), withConfig)
}

// RunComponent runs a function that builds one component with no stack
// configuration, for component tests.
func RunComponent(program pulumi.RunFunc) (*Mocks, error) {
	m := NewMocks()
	err := m.Run("test", nil, nil, program)
	return m, err
}
