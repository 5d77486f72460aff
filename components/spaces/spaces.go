// Package spaces declares the station's object storage on DigitalOcean Spaces:
// static assets and media behind the CDN on the station's own subdomains,
// private logs that expire, private versioned backups, and one access key per
// consumer with access to its own buckets only.
package spaces

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-digitalocean/sdk/v4/go/digitalocean"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the buckets.
type Args struct {
	// Region is the Spaces region slug (required).
	Region string
	// BucketPrefix prefixes each bucket's name (required; no dots, since a CDN fronts them: TF #993).
	BucketPrefix string
	// Domain is the station's domain; the CDNs serve static.<Domain> and media.<Domain> (required).
	Domain string
	// Zone is the DigitalOcean DNS zone of Domain; managed CDN certificates need it (required).
	Zone pulumi.Resource
	// CORSOrigins are the origins whose pages may fetch static assets and media (required).
	CORSOrigins []string
	// LogRetentionDays is how long log objects live (optional; default 30).
	LogRetentionDays int
	// NoncurrentVersionDays is how long overwritten media and backup versions live (optional; default 90).
	NoncurrentVersionDays int
	// Protect refuses deletion of the buckets (optional; set in prod).
	Protect bool
}

// Key is an access key pair for the Spaces S3 API.
type Key struct {
	// AccessKeyID is the key's ID.
	AccessKeyID pulumi.StringOutput
	// SecretAccessKey is the key's secret (secret).
	SecretAccessKey pulumi.StringOutput
}

// Spaces is the station's buckets, CDNs and access keys.
type Spaces struct {
	pulumi.ResourceState

	// Endpoint is the S3 endpoint URL for the region (path-style clients).
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// StaticBucket holds the site's static assets.
	StaticBucket pulumi.StringOutput `pulumi:"staticBucket"`
	// MediaBucket holds past broadcasts and podcasts.
	MediaBucket pulumi.StringOutput `pulumi:"mediaBucket"`
	// LogsBucket holds Loki's chunks; objects expire.
	LogsBucket pulumi.StringOutput `pulumi:"logsBucket"`
	// BackupsBucket holds backups; versioned and private.
	BackupsBucket pulumi.StringOutput `pulumi:"backupsBucket"`
	// StaticURL is the CDN URL of the static bucket (https://static.<domain>).
	StaticURL pulumi.StringOutput `pulumi:"staticUrl"`
	// MediaURL is the CDN URL of the media bucket (https://media.<domain>).
	MediaURL pulumi.StringOutput `pulumi:"mediaUrl"`
	// StaticCDNEndpoint and MediaCDNEndpoint are DigitalOcean's own CDN host names.
	StaticCDNEndpoint pulumi.StringOutput `pulumi:"staticCdnEndpoint"`
	MediaCDNEndpoint  pulumi.StringOutput `pulumi:"mediaCdnEndpoint"`

	// AppsKey reads and writes the static and media buckets (API, archiver).
	AppsKey Key
	// LogsKey reads and writes the logs bucket (Loki).
	LogsKey Key
	// BackupsKey reads and writes the backups bucket and reads the media bucket (the nightly backup).
	BackupsKey Key
}

// New declares the buckets, their policies, CDNs, certificates and keys.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Spaces, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	s := &Spaces{}
	if err := ctx.RegisterComponentResource("datafruits:spaces:Spaces", name, s, opts...); err != nil {
		return nil, err
	}
	region := pulumi.String(args.Region)
	// Buckets hold the station's media and backups: protected where the stack asks.
	bucket := func(role string, b *digitalocean.SpacesBucketArgs) (*digitalocean.SpacesBucket, error) {
		b.Name = pulumi.String(args.BucketPrefix + "-" + role)
		b.Region = region
		b.Acl = pulumi.String("private")
		return digitalocean.NewSpacesBucket(ctx, name+"-"+role, b, pulumi.Parent(s), pulumi.Protect(args.Protect))
	}
	versionsExpire := digitalocean.SpacesBucketLifecycleRuleArray{&digitalocean.SpacesBucketLifecycleRuleArgs{
		Id:                                 pulumi.String("expire-old-versions"),
		Enabled:                            pulumi.Bool(true),
		AbortIncompleteMultipartUploadDays: pulumi.Int(7),
		NoncurrentVersionExpiration: &digitalocean.SpacesBucketLifecycleRuleNoncurrentVersionExpirationArgs{
			Days: pulumi.Int(args.NoncurrentVersionDays),
		},
	}}

	static, err := bucket("static", &digitalocean.SpacesBucketArgs{})
	if err != nil {
		return nil, err
	}
	media, err := bucket("media", &digitalocean.SpacesBucketArgs{
		Versioning:     &digitalocean.SpacesBucketVersioningArgs{Enabled: pulumi.Bool(true)},
		LifecycleRules: versionsExpire,
	})
	if err != nil {
		return nil, err
	}
	logs, err := bucket("logs", &digitalocean.SpacesBucketArgs{
		// Lifecycle rules on Spaces can only expire objects (TF PR #411): that is all logs need.
		LifecycleRules: digitalocean.SpacesBucketLifecycleRuleArray{&digitalocean.SpacesBucketLifecycleRuleArgs{
			Id:                                 pulumi.String("expire-logs"),
			Enabled:                            pulumi.Bool(true),
			AbortIncompleteMultipartUploadDays: pulumi.Int(1),
			Expiration:                         &digitalocean.SpacesBucketLifecycleRuleExpirationArgs{Days: pulumi.Int(args.LogRetentionDays)},
		}},
	})
	if err != nil {
		return nil, err
	}
	backups, err := bucket("backups", &digitalocean.SpacesBucketArgs{
		Versioning:     &digitalocean.SpacesBucketVersioningArgs{Enabled: pulumi.Bool(true)},
		LifecycleRules: versionsExpire,
	})
	if err != nil {
		return nil, err
	}

	// Static assets and media are public through the CDN: anyone may read an
	// object, nobody may list the bucket (a public-read ACL would allow that).
	for role, b := range map[string]*digitalocean.SpacesBucket{"static": static, "media": media} {
		if _, err := digitalocean.NewSpacesBucketPolicy(ctx, name+"-"+role+"-public-read", &digitalocean.SpacesBucketPolicyArgs{
			Bucket: b.Name,
			Region: region,
			Policy: b.Name.ApplyT(publicReadPolicy).(pulumi.StringOutput),
		}, pulumi.Parent(s)); err != nil {
			return nil, err
		}
		if _, err := digitalocean.NewSpacesBucketCorsConfiguration(ctx, name+"-"+role+"-cors", &digitalocean.SpacesBucketCorsConfigurationArgs{
			Bucket: b.Name,
			Region: region,
			CorsRules: digitalocean.SpacesBucketCorsConfigurationCorsRuleArray{&digitalocean.SpacesBucketCorsConfigurationCorsRuleArgs{
				AllowedOrigins: pulumi.ToStringArray(args.CORSOrigins),
				AllowedMethods: pulumi.ToStringArray([]string{"GET", "HEAD"}),
				AllowedHeaders: pulumi.ToStringArray([]string{"*"}),
				MaxAgeSeconds:  pulumi.Int(3600),
			}},
		}, pulumi.Parent(s)); err != nil {
			return nil, err
		}
	}

	staticCDN, err := s.cdn(ctx, name, "static", static, args)
	if err != nil {
		return nil, err
	}
	mediaCDN, err := s.cdn(ctx, name, "media", media, args)
	if err != nil {
		return nil, err
	}

	key := func(role string, readWrite []*digitalocean.SpacesBucket, readOnly ...*digitalocean.SpacesBucket) (Key, error) {
		g := digitalocean.SpacesKeyGrantArray{}
		for _, b := range readWrite {
			g = append(g, &digitalocean.SpacesKeyGrantArgs{Bucket: b.Name, Permission: pulumi.String("readwrite")})
		}
		for _, b := range readOnly {
			g = append(g, &digitalocean.SpacesKeyGrantArgs{Bucket: b.Name, Permission: pulumi.String("read")})
		}
		k, err := digitalocean.NewSpacesKey(ctx, name+"-"+role+"-key", &digitalocean.SpacesKeyArgs{
			Name:   pulumi.String(args.BucketPrefix + "-" + role),
			Grants: g,
		}, pulumi.Parent(s))
		if err != nil {
			return Key{}, err
		}
		return Key{AccessKeyID: k.AccessKey, SecretAccessKey: pulumi.ToSecret(k.SecretKey).(pulumi.StringOutput)}, nil
	}
	if s.AppsKey, err = key("apps", []*digitalocean.SpacesBucket{static, media}); err != nil {
		return nil, err
	}
	if s.LogsKey, err = key("logs", []*digitalocean.SpacesBucket{logs}); err != nil {
		return nil, err
	}
	// The nightly backup reads the media it copies and may not change it.
	if s.BackupsKey, err = key("backups", []*digitalocean.SpacesBucket{backups}, media); err != nil {
		return nil, err
	}

	s.Endpoint = pulumi.Sprintf("https://%s.digitaloceanspaces.com", args.Region)
	s.StaticBucket, s.MediaBucket, s.LogsBucket, s.BackupsBucket = static.Name, media.Name, logs.Name, backups.Name
	s.StaticURL = pulumi.Sprintf("https://static.%s", args.Domain)
	s.MediaURL = pulumi.Sprintf("https://media.%s", args.Domain)
	s.StaticCDNEndpoint, s.MediaCDNEndpoint = staticCDN.Endpoint, mediaCDN.Endpoint
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"endpoint": s.Endpoint, "staticBucket": s.StaticBucket, "mediaBucket": s.MediaBucket,
		"logsBucket": s.LogsBucket, "backupsBucket": s.BackupsBucket, "staticUrl": s.StaticURL,
		"mediaUrl": s.MediaURL, "staticCdnEndpoint": s.StaticCDNEndpoint, "mediaCdnEndpoint": s.MediaCDNEndpoint,
	})
}

// cdn fronts a bucket with DigitalOcean's CDN on <role>.<domain>. A custom
// domain needs a DigitalOcean-managed certificate, which needs the domain in
// DigitalOcean DNS (TF #1135); DigitalOcean then adds the CNAME itself.
func (s *Spaces) cdn(ctx *pulumi.Context, name, role string, b *digitalocean.SpacesBucket, args *Args) (*digitalocean.Cdn, error) {
	host := role + "." + args.Domain
	cert, err := digitalocean.NewCertificate(ctx, name+"-"+role+"-cert", &digitalocean.CertificateArgs{
		Name:    pulumi.String(args.BucketPrefix + "-" + role),
		Type:    pulumi.String("lets_encrypt"),
		Domains: pulumi.StringArray{pulumi.String(host)},
	}, pulumi.Parent(s), pulumi.DependsOn([]pulumi.Resource{args.Zone}))
	if err != nil {
		return nil, err
	}
	return digitalocean.NewCdn(ctx, name+"-"+role+"-cdn", &digitalocean.CdnArgs{
		Origin:          b.BucketDomainName,
		CustomDomain:    pulumi.String(host),
		CertificateName: cert.Name,
		Ttl:             pulumi.Int(3600),
	}, pulumi.Parent(s))
}

// publicReadPolicy lets anyone get objects of a bucket, and nothing else.
func publicReadPolicy(bucket string) (string, error) {
	policy := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Sid":       "PublicReadObjects",
			"Effect":    "Allow",
			"Principal": "*",
			"Action":    []string{"s3:GetObject"},
			"Resource":  []string{"arn:aws:s3:::" + bucket + "/*"},
		}},
	}
	b, err := json.Marshal(policy)
	return string(b), err
}

func (a *Args) validate(name string) error {
	switch {
	case a == nil:
		return fmt.Errorf("spaces %s: args are required", name)
	case a.Region == "" || a.BucketPrefix == "" || a.Domain == "" || a.Zone == nil:
		return fmt.Errorf("spaces %s: Region, BucketPrefix, Domain and Zone are required", name)
	case len(a.CORSOrigins) == 0:
		return fmt.Errorf("spaces %s: CORSOrigins must name at least one origin", name)
	}
	for _, c := range a.BucketPrefix {
		if c == '.' {
			return fmt.Errorf("spaces %s: BucketPrefix %q must not contain dots: the CDN's certificate does not cover dotted bucket names (TF #993)", name, a.BucketPrefix)
		}
	}
	if a.LogRetentionDays == 0 {
		a.LogRetentionDays = 30
	}
	if a.NoncurrentVersionDays == 0 {
		a.NoncurrentVersionDays = 90
	}
	return nil
}
