package pulumitest

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Fake values the mocks hand out. Tests use them to check that a value reached
// the right place, and that secrets stayed secret on the way.
const (
	FakeKubeconfig   = "apiVersion: v1\nkind: Config\nclusters: []\n"
	FakeClusterCA    = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="
	FakeClusterToken = "fake-cluster-token"
	FakeDBPassword   = "fake-db-password"
	FakeSpacesSecret = "fake-spaces-secret"
	FakeLBAddress    = "203.0.113.10"
	// LatestKubernetesVersion is what the mocked version look-up answers for any prefix.
	LatestKubernetesVersion = "1.35.4-do.0"
)

func str(s string) resource.PropertyValue    { return resource.NewProperty(s) }
func num(n float64) resource.PropertyValue   { return resource.NewProperty(n) }
func secret(s string) resource.PropertyValue { return resource.MakeSecret(resource.NewProperty(s)) }

func inputString(inputs resource.PropertyMap, key string) string {
	v, ok := inputs[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

// defaultOutputs gives each resource type the outputs its consumers read.
func defaultOutputs() map[string]OutputFunc {
	return map[string]OutputFunc{
		"digitalocean:index/vpc:Vpc": func(name string, in resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{"urn": str("do:vpc:" + name)}
		},
		"digitalocean:index/kubernetesCluster:KubernetesCluster": func(name string, in resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{
				"clusterUrn": str("do:kubernetes:" + name),
				"endpoint":   str("https://" + name + ".k8s.ondigitalocean.com"),
				"status":     str("running"),
				"kubeConfigs": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
					"rawConfig":            secret(FakeKubeconfig),
					"clusterCaCertificate": str(FakeClusterCA),
					"token":                secret(FakeClusterToken),
					"host":                 str("https://" + name + ".k8s.ondigitalocean.com"),
				})}),
			}
		},
		"digitalocean:index/databaseCluster:DatabaseCluster": func(name string, in resource.PropertyMap) resource.PropertyMap {
			host := name + ".db.ondigitalocean.com"
			return resource.PropertyMap{
				"clusterUrn":  str("do:dbaas:" + name),
				"host":        str(host),
				"privateHost": str("private-" + host),
				"port":        num(25060),
				"user":        str("doadmin"),
				"password":    secret(FakeDBPassword),
				"database":    str("defaultdb"),
				"uri":         secret("postgresql://doadmin:" + FakeDBPassword + "@" + host + ":25060/defaultdb?sslmode=require"),
				"privateUri":  secret("postgresql://doadmin:" + FakeDBPassword + "@private-" + host + ":25060/defaultdb?sslmode=require"),
			}
		},
		"digitalocean:index/databaseUser:DatabaseUser": func(name string, in resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{"password": secret(FakeDBPassword + "-" + inputString(in, "name"))}
		},
		"digitalocean:index/databaseConnectionPool:DatabaseConnectionPool": func(name string, in resource.PropertyMap) resource.PropertyMap {
			host := "pool-" + name + ".db.ondigitalocean.com"
			return resource.PropertyMap{
				"host":        str(host),
				"privateHost": str("private-" + host),
				"port":        num(25061),
				"password":    secret(FakeDBPassword),
				"uri":         secret("postgresql://u:" + FakeDBPassword + "@" + host + ":25061/" + inputString(in, "name")),
				"privateUri":  secret("postgresql://u:" + FakeDBPassword + "@private-" + host + ":25061/" + inputString(in, "name")),
			}
		},
		"digitalocean:index/spacesBucket:SpacesBucket": func(name string, in resource.PropertyMap) resource.PropertyMap {
			bucket := inputString(in, "name")
			region := inputString(in, "region")
			return resource.PropertyMap{
				"bucketDomainName": str(bucket + "." + region + ".digitaloceanspaces.com"),
				"endpoint":         str(region + ".digitaloceanspaces.com"),
				"urn":              str("do:space:" + bucket),
			}
		},
		"digitalocean:index/cdn:Cdn": func(name string, in resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{"endpoint": str(name + ".cdn.digitaloceanspaces.com")}
		},
		"digitalocean:index/spacesKey:SpacesKey": func(name string, in resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{"accessKey": str("FAKEACCESSKEY"), "secretKey": secret(FakeSpacesSecret)}
		},
		"digitalocean:index/certificate:Certificate": func(name string, in resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{"uuid": str(name + "-uuid")}
		},
		"digitalocean:index/domain:Domain": func(name string, in resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{"urn": str("do:domain:" + inputString(in, "name"))}
		},
		"random:index/randomPassword:RandomPassword": func(name string, in resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{"result": secret("generated-" + name)}
		},
		// As DigitalOcean's cloud controller does: with the
		// do-loadbalancer-hostname annotation the status carries only that
		// host name, otherwise the load balancer's IP.
		"kubernetes:core/v1:Service": func(name string, in resource.PropertyMap) resource.PropertyMap {
			entry := resource.PropertyMap{"ip": str(FakeLBAddress)}
			if meta, ok := in["metadata"]; ok && meta.IsObject() {
				if ann, ok := meta.ObjectValue()["annotations"]; ok && ann.IsObject() {
					if h := inputString(ann.ObjectValue(), "service.beta.kubernetes.io/do-loadbalancer-hostname"); h != "" {
						entry = resource.PropertyMap{"hostname": str(h)}
					}
				}
			}
			return resource.PropertyMap{"status": resource.NewProperty(resource.PropertyMap{
				"loadBalancer": resource.NewProperty(resource.PropertyMap{
					"ingress": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(entry)}),
				}),
			})}
		},
	}
}

// defaultCalls answers the provider functions the program calls.
func defaultCalls() map[string]func(args resource.PropertyMap) resource.PropertyMap {
	return map[string]func(args resource.PropertyMap) resource.PropertyMap{
		"digitalocean:index/getKubernetesVersions:getKubernetesVersions": func(args resource.PropertyMap) resource.PropertyMap {
			prefix := inputString(args, "versionPrefix")
			return resource.PropertyMap{
				"latestVersion": str(LatestKubernetesVersion),
				"validVersions": resource.NewProperty([]resource.PropertyValue{str(LatestKubernetesVersion)}),
				"versionPrefix": str(prefix),
			}
		},
		"digitalocean:index/getLoadBalancer:getLoadBalancer": func(args resource.PropertyMap) resource.PropertyMap {
			return resource.PropertyMap{"name": str(inputString(args, "name")), "ip": str(FakeLBAddress)}
		},
		"digitalocean:index/getKubernetesCluster:getKubernetesCluster": func(args resource.PropertyMap) resource.PropertyMap {
			name := inputString(args, "name")
			return resource.PropertyMap{
				"name":     str(name),
				"endpoint": str("https://" + name + ".k8s.ondigitalocean.com"),
				"kubeConfigs": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
					"rawConfig":            secret(FakeKubeconfig),
					"clusterCaCertificate": str(FakeClusterCA),
					"token":                secret(FakeClusterToken),
				})}),
			}
		},
	}
}
