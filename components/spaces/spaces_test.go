package spaces_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/datafruits/infra/components/spaces"
	"github.com/datafruits/infra/internal/pulumitest"
	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var origins = []string{"https://datafruits.fm", "https://admin.datafruits.fm"}

func run(t *testing.T, protect bool) (*pulumitest.Mocks, *spaces.Spaces) {
	t.Helper()
	var s *spaces.Spaces
	mocks, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		zone, err := digitalocean.NewDomain(ctx, "zone", &digitalocean.DomainArgs{Name: pulumi.String("datafruits.fm")})
		if err != nil {
			return err
		}
		s, err = spaces.New(ctx, "spaces", &spaces.Args{
			Region: "nyc3", BucketPrefix: "datafruits-prod", Domain: "datafruits.fm", Zone: zone,
			CORSOrigins: origins, LogRetentionDays: 30, Protect: protect,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return mocks, s
}

func TestBucketsACLsLifecycleAndVersioning(t *testing.T) {
	mocks, _ := run(t, true)
	buckets := map[string]pulumitest.Resource{}
	for _, b := range mocks.ByType("digitalocean:index/spacesBucket:SpacesBucket") {
		name := pulumitest.GetString(b.Inputs, "name")
		if strings.Contains(name, ".") {
			t.Errorf("bucket %q has a dot: the CDN's certificate would not cover it", name)
		}
		if acl := pulumitest.GetString(b.Inputs, "acl"); acl != "private" {
			t.Errorf("bucket %s ACL = %q, want private (public reads go through a bucket policy that allows no listing)", name, acl)
		}
		if !b.Protect {
			t.Errorf("bucket %s not protected", name)
		}
		buckets[strings.TrimPrefix(name, "datafruits-prod-")] = b
	}
	if len(buckets) != 4 {
		t.Fatalf("want static, media, logs, backups; got %v", buckets)
	}
	for _, role := range []string{"media", "backups"} {
		if pulumitest.GetString(buckets[role].Inputs, "versioning.enabled") != "true" {
			t.Errorf("%s bucket must be versioned", role)
		}
	}
	if days := pulumitest.GetNumber(buckets["logs"].Inputs, "lifecycleRules[0].expiration.days"); days != 30 {
		t.Errorf("logs must expire after 30 days, got %v", days)
	}
	policies := mocks.ByType("digitalocean:index/spacesBucketPolicy:SpacesBucketPolicy")
	public := map[string]bool{}
	for _, p := range policies {
		public[strings.TrimPrefix(pulumitest.GetString(p.Inputs, "bucket"), "datafruits-prod-")] = true
		policy := pulumitest.GetString(p.Inputs, "policy")
		if !strings.Contains(policy, `"s3:GetObject"`) || strings.Contains(policy, "ListBucket") {
			t.Errorf("public policy must allow GetObject only: %s", policy)
		}
	}
	if len(public) != 2 || !public["static"] || !public["media"] {
		t.Errorf("only static and media may be public, got %v", public)
	}
	for _, c := range mocks.ByType("digitalocean:index/spacesBucketCorsConfiguration:SpacesBucketCorsConfiguration") {
		got := pulumitest.Get(c.Inputs, "corsRules[0].allowedOrigins").ArrayValue()
		if len(got) != len(origins) || got[0].StringValue() != origins[0] || got[1].StringValue() != origins[1] {
			t.Errorf("CORS origins = %v, want exactly the station's own %v", got, origins)
		}
	}
}

func TestCDNsUseManagedCertificatesOnTheStationDomain(t *testing.T) {
	mocks, _ := run(t, false)
	cdns := mocks.ByType("digitalocean:index/cdn:Cdn")
	if len(cdns) != 2 {
		t.Fatalf("want CDNs for static and media, got %d", len(cdns))
	}
	hosts := map[string]bool{}
	for _, c := range cdns {
		hosts[pulumitest.GetString(c.Inputs, "customDomain")] = true
		if pulumitest.GetString(c.Inputs, "certificateName") == "" {
			t.Errorf("CDN %s has no certificate", c.Name)
		}
	}
	if !hosts["static.datafruits.fm"] || !hosts["media.datafruits.fm"] {
		t.Errorf("CDN hosts = %v", hosts)
	}
	for _, c := range mocks.ByType("digitalocean:index/certificate:Certificate") {
		if pulumitest.GetString(c.Inputs, "type") != "lets_encrypt" {
			t.Errorf("certificate %s must be DigitalOcean-managed (lets_encrypt)", c.Name)
		}
	}
}

func TestKeysAreScopedAndSecret(t *testing.T) {
	mocks, s := run(t, false)
	grants := map[string]int{}
	for _, k := range mocks.ByType("digitalocean:index/spacesKey:SpacesKey") {
		grants[pulumitest.GetString(k.Inputs, "name")] = len(pulumitest.Get(k.Inputs, "grants").ArrayValue())
	}
	if grants["datafruits-prod-apps"] != 2 || grants["datafruits-prod-logs"] != 1 || grants["datafruits-prod-backups"] != 2 {
		t.Errorf("keys and their bucket grants = %v", grants)
	}
	for _, k := range mocks.ByType("digitalocean:index/spacesKey:SpacesKey") {
		if pulumitest.GetString(k.Inputs, "name") != "datafruits-prod-backups" {
			continue
		}
		perms := map[string]string{}
		for i := range pulumitest.Get(k.Inputs, "grants").ArrayValue() {
			perms[pulumitest.GetString(k.Inputs, fmt.Sprintf("grants[%d].bucket", i))] = pulumitest.GetString(k.Inputs, fmt.Sprintf("grants[%d].permission", i))
		}
		if perms["datafruits-prod-backups"] != "readwrite" || perms["datafruits-prod-media"] != "read" {
			t.Errorf("the backups key's grants = %v; want readwrite on backups and read (never write) on media", perms)
		}
	}
	for name, out := range map[string]pulumi.StringOutput{"apps": s.AppsKey.SecretAccessKey, "logs": s.LogsKey.SecretAccessKey, "backups": s.BackupsKey.SecretAccessKey} {
		if !pulumi.IsSecret(out) {
			t.Errorf("%s secret key is not a secret output", name)
		}
	}
}

func TestRejectsDottedPrefix(t *testing.T) {
	_, err := pulumitest.RunComponent(func(ctx *pulumi.Context) error {
		zone, _ := digitalocean.NewDomain(ctx, "zone", &digitalocean.DomainArgs{Name: pulumi.String("d.fm")})
		_, err := spaces.New(ctx, "spaces", &spaces.Args{Region: "nyc3", BucketPrefix: "d.fm", Domain: "d.fm", Zone: zone, CORSOrigins: origins})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "dots") {
		t.Errorf("want an error about dots, got %v", err)
	}
}
