package pulumitest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Get follows a dotted path with [i] indexes, e.g.
// "spec.template.spec.containers[0].image", through a property map, looking
// through secrets. It returns a null value when any step is missing.
func Get(m resource.PropertyMap, path string) resource.PropertyValue {
	v := resource.NewProperty(m)
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if i := strings.Index(part, "["); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return resource.NewNullProperty()
			}
			idx = n
		}
		v = unwrap(v)
		if key != "" {
			if !v.IsObject() {
				return resource.NewNullProperty()
			}
			v = v.ObjectValue()[resource.PropertyKey(key)]
		}
		if idx >= 0 {
			v = unwrap(v)
			if !v.IsArray() || idx >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[idx]
		}
	}
	return v
}

// GetString is Get for a string, "" when missing.
func GetString(m resource.PropertyMap, path string) string {
	v := unwrap(Get(m, path))
	if v.IsString() {
		return v.StringValue()
	}
	if v.IsNumber() {
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)
	}
	if v.IsBool() {
		return strconv.FormatBool(v.BoolValue())
	}
	return ""
}

// Array is Get for a list, nil when missing.
func Array(m resource.PropertyMap, path string) []resource.PropertyValue {
	v := unwrap(Get(m, path))
	if v.IsArray() {
		return v.ArrayValue()
	}
	return nil
}

// GetNumber is Get for a number, -1 when missing.
func GetNumber(m resource.PropertyMap, path string) float64 {
	v := unwrap(Get(m, path))
	if v.IsNumber() {
		return v.NumberValue()
	}
	return -1
}

// IsSecret reports whether the value at path is marked secret, or sits inside a secret.
func IsSecret(m resource.PropertyMap, path string) bool {
	v := resource.NewProperty(m)
	for _, part := range strings.Split(path, ".") {
		if v.IsSecret() {
			return true
		}
		if !v.IsObject() {
			return false
		}
		v = v.ObjectValue()[resource.PropertyKey(part)]
	}
	return v.IsSecret()
}

// Plain renders a property value as plain data (secrets unwrapped) in a
// form fit for searching, e.g. for values that must never appear.
func Plain(m resource.PropertyMap) string {
	return fmt.Sprint(m.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		if v.IsSecret() {
			return fmt.Sprint(v.SecretValue().Element.MapRepl(nil, nil)), true
		}
		return nil, false
	}))
}

// PlainOutsideSecrets renders only the parts of a property map that are not
// marked secret: what would show in plain text in state or a diff.
func PlainOutsideSecrets(m resource.PropertyMap) string {
	return fmt.Sprint(m.MapRepl(nil, func(v resource.PropertyValue) (any, bool) {
		if v.IsSecret() {
			return "[secret]", true
		}
		return nil, false
	}))
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}
