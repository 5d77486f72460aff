package pulumitest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"gopkg.in/yaml.v3"
)

// RepoRoot returns the repository root: the nearest directory above the
// working directory that holds Pulumi.yaml.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("pulumitest: no Pulumi.yaml above the working directory")
		}
		dir = parent
	}
}

// CommittedStacks lists the stacks that have a Pulumi.<stack>.yaml at the
// repository root, sorted.
func CommittedStacks() ([]string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(root, "Pulumi.*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("pulumitest: no Pulumi.<stack>.yaml in %s", root)
	}
	stacks := make([]string, 0, len(files))
	for _, f := range files {
		stacks = append(stacks, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml"))
	}
	sort.Strings(stacks)
	return stacks, nil
}

// FakeSecret is the value a test run gives to a secret key of a stack file,
// whose real value is encrypted and unknown to tests.
func FakeSecret(key string) string { return "test-secret-for-" + key }

// StackConfig reads Pulumi.<stack>.yaml from the repository root and returns
// its configuration the way the engine hands it to a program: every value a
// string (objects and lists as JSON), and the keys whose values are
// `secure:` ciphertexts, which get FakeSecret(key) as their value.
func StackConfig(stack string) (map[string]string, []string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(root, "Pulumi."+stack+".yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg := map[string]string{}
	var secretKeys []string
	for key, value := range file.Config {
		if m, ok := value.(map[string]any); ok {
			if _, isSecure := m["secure"]; isSecure && len(m) == 1 {
				cfg[key] = FakeSecret(key)
				secretKeys = append(secretKeys, key)
				continue
			}
		}
		switch v := value.(type) {
		case string:
			cfg[key] = v
		case nil:
			cfg[key] = ""
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: key %s: %w", path, key, err)
			}
			cfg[key] = string(b)
		}
	}
	sort.Strings(secretKeys)
	return cfg, secretKeys, nil
}

// RunStack runs a program under mocks with the configuration of a committed
// stack file. Entries in overrides replace or add keys (an empty value removes
// the key), and keys listed in extraSecrets are marked secret, so a test can
// model `pulumi config set` and `pulumi config rm` on top of the stack file.
func RunStack(stack string, program pulumi.RunFunc, overrides map[string]string, extraSecrets ...string) (*Mocks, error) {
	cfg, secretKeys, err := StackConfig(stack)
	if err != nil {
		return nil, err
	}
	for k, v := range overrides {
		if v == "" {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	secretKeys = append(secretKeys, extraSecrets...)
	m := NewMocks()
	return m, m.Run(stack, cfg, secretKeys, program)
}
