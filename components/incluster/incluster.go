// Package incluster declares the in-cluster stand-ins for DigitalOcean's
// managed services, for the `local` stack: PostgreSQL, Valkey and MinIO as
// single-replica StatefulSets with their data on volumes and generated,
// secret credentials. Same interfaces as the foundation: a URL per app, a
// Redis address, an S3 endpoint with buckets.
package incluster

import (
	"fmt"
	"sort"
	"strings"

	"github.com/datafruits/infra/components/netpol"
	"github.com/datafruits/infra/components/workload"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures the in-cluster data services.
type Args struct {
	// Namespace is where they run (required).
	Namespace string
	// Images are the images by role: postgres, valkey, minio (required).
	Images map[string]string
	// StorageClass backs their volumes (required).
	StorageClass string
	// Databases are the apps that get their own database and user (required).
	Databases []string
	// Buckets are the bucket names to create (required).
	Buckets []string
	// PublicBuckets may be read anonymously, like the CDN-fronted Spaces buckets (optional).
	PublicBuckets []string
	// Platform names the ingress and monitoring namespaces (required).
	Platform workload.PlatformRefs
}

// Data is PostgreSQL, Valkey and MinIO in the cluster.
type Data struct {
	pulumi.ResourceState

	// URLs maps each app to its connection URL (secret).
	URLs pulumi.StringMapOutput `pulumi:"urls"`
	// RedisHost, RedisPort and RedisPassword reach Valkey (password secret).
	RedisHost     pulumi.StringOutput `pulumi:"redisHost"`
	RedisPort     pulumi.IntOutput    `pulumi:"redisPort"`
	RedisPassword pulumi.StringOutput `pulumi:"redisPassword"`
	// RedisURL is Valkey's redis:// URL with credentials (secret).
	RedisURL pulumi.StringOutput `pulumi:"redisUrl"`
	// S3Endpoint is MinIO's in-cluster URL.
	S3Endpoint pulumi.StringOutput `pulumi:"s3Endpoint"`
	// S3AccessKeyID and S3SecretAccessKey are MinIO's credentials (secret key).
	S3AccessKeyID     pulumi.StringOutput `pulumi:"s3AccessKeyId"`
	S3SecretAccessKey pulumi.StringOutput `pulumi:"s3SecretAccessKey"`

	// Peers are the network peers of each service ("postgres", "valkey", "s3"), for the clients' policies.
	Peers map[string]netpol.Peer
	// PostgresHost is PostgreSQL's in-cluster host name; PostgresAdminUser its superuser.
	PostgresHost, PostgresAdminUser string
	// PostgresAdminPassword is the superuser's password (secret).
	PostgresAdminPassword pulumi.StringOutput
	// AppPasswords are each app's database password (secret). The users and
	// databases do not exist until the database set-up Job creates them.
	AppPasswords map[string]pulumi.StringOutput
}

// Ports of the data services.
const (
	PostgresPort = 5432
	ValkeyPort   = 6379
	MinioPort    = 9000
)

// New declares the services.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Data, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	d := &Data{}
	if err := ctx.RegisterComponentResource("datafruits:incluster:Data", name, d, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(d)
	password := func(role string) (pulumi.StringOutput, error) {
		p, err := random.NewRandomPassword(ctx, name+"-"+role+"-password", &random.RandomPasswordArgs{Length: pulumi.Int(32), Special: pulumi.Bool(false)}, parent)
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		return p.Result, nil
	}
	d.Peers = map[string]netpol.Peer{
		"postgres": {Namespace: args.Namespace, PodLabels: map[string]string{"app.kubernetes.io/name": name + "-postgres"}, Ports: []int{PostgresPort}},
		"valkey":   {Namespace: args.Namespace, PodLabels: map[string]string{"app.kubernetes.io/name": name + "-valkey"}, Ports: []int{ValkeyPort}},
		"s3":       {Namespace: args.Namespace, PodLabels: map[string]string{"app.kubernetes.io/name": name + "-minio"}, Ports: []int{MinioPort}},
	}

	// PostgreSQL: one superuser. Like a managed cluster's admin, it creates
	// the apps' users and databases (the database set-up Job, dbsetup): the
	// image's init scripts would run on the first start only, so an app added
	// later would never get its database.
	superuser, err := password("postgres")
	if err != nil {
		return nil, err
	}
	d.PostgresHost = fmt.Sprintf("postgres.%s.svc", args.Namespace)
	d.PostgresAdminUser = "postgres"
	d.PostgresAdminPassword = pulumi.ToSecret(superuser).(pulumi.StringOutput)
	d.AppPasswords = map[string]pulumi.StringOutput{}
	urls := pulumi.StringMap{}
	for _, app := range args.Databases {
		p, err := password("postgres-" + app)
		if err != nil {
			return nil, err
		}
		d.AppPasswords[app] = pulumi.ToSecret(p).(pulumi.StringOutput)
		urls[app] = pulumi.Sprintf("postgresql://%s:%s@%s:%d/%s?sslmode=disable", app, p, d.PostgresHost, PostgresPort, app)
	}
	if _, err := workload.New(ctx, name+"-postgres", &workload.Args{
		Namespace: args.Namespace, ServiceName: "postgres", Image: args.Images["postgres"], StatefulSet: true,
		Ports:     []workload.Port{{Name: "postgres", Number: PostgresPort}},
		Env:       map[string]string{"POSTGRES_USER": "postgres", "PGDATA": "/var/lib/postgresql/data/pgdata"},
		SecretEnv: pulumi.StringMap{"POSTGRES_PASSWORD": superuser}, SecretEnvKeys: []string{"POSTGRES_PASSWORD"},
		Probe: &workload.Probe{Port: "postgres"}, Resources: workload.Resources{CPU: "100m", Memory: "256Mi"},
		Volume:       &workload.Volume{Name: "data", MountPath: "/var/lib/postgresql/data", Size: "5Gi", StorageClass: args.StorageClass},
		ScratchPaths: []string{"/tmp", "/var/run/postgresql"}, RunAsUser: 999,
		IngressFrom: fromAnyNamespace(PostgresPort), Platform: args.Platform,
	}, parent); err != nil {
		return nil, err
	}

	valkeyPassword, err := password("valkey")
	if err != nil {
		return nil, err
	}
	if _, err := workload.New(ctx, name+"-valkey", &workload.Args{
		Namespace: args.Namespace, ServiceName: "valkey", Image: args.Images["valkey"], StatefulSet: true,
		Command:     []string{"valkey-server"},
		CommandArgs: []string{"--requirepass", "$(VALKEY_PASSWORD)", "--appendonly", "yes", "--dir", "/data", "--maxmemory-policy", "noeviction"},
		Ports:       []workload.Port{{Name: "redis", Number: ValkeyPort}},
		SecretEnv:   pulumi.StringMap{"VALKEY_PASSWORD": valkeyPassword}, SecretEnvKeys: []string{"VALKEY_PASSWORD"},
		Probe: &workload.Probe{Port: "redis"}, Resources: workload.Resources{CPU: "50m", Memory: "128Mi"},
		Volume:    &workload.Volume{Name: "data", MountPath: "/data", Size: "1Gi", StorageClass: args.StorageClass},
		RunAsUser: 999, IngressFrom: fromAnyNamespace(ValkeyPort), Platform: args.Platform,
	}, parent); err != nil {
		return nil, err
	}

	minioPassword, err := password("minio")
	if err != nil {
		return nil, err
	}
	minioUser := "datafruits"
	minioSecrets := pulumi.StringMap{"MINIO_ROOT_PASSWORD": minioPassword}
	if _, err := workload.New(ctx, name+"-minio", &workload.Args{
		Namespace: args.Namespace, ServiceName: "minio", Image: args.Images["minio"], StatefulSet: true,
		CommandArgs: []string{"server", "/data"},
		Ports:       []workload.Port{{Name: "s3", Number: MinioPort}},
		Env:         map[string]string{"MINIO_ROOT_USER": minioUser},
		SecretEnv:   minioSecrets, SecretEnvKeys: []string{"MINIO_ROOT_PASSWORD"},
		Probe: &workload.Probe{HTTPPath: "/minio/health/live", Port: "s3"}, Resources: workload.Resources{CPU: "100m", Memory: "256Mi"},
		Volume:       &workload.Volume{Name: "data", MountPath: "/data", Size: "10Gi", StorageClass: args.StorageClass},
		ScratchPaths: []string{"/tmp", "/.minio"}, RunAsUser: 1000,
		IngressFrom: fromAnyNamespace(MinioPort), Platform: args.Platform,
	}, parent); err != nil {
		return nil, err
	}
	if err := d.createBuckets(ctx, name, args, minioUser, minioPassword); err != nil {
		return nil, err
	}

	d.URLs = pulumi.ToSecret(urls.ToStringMapOutput()).(pulumi.StringMapOutput)
	d.RedisHost = pulumi.Sprintf("valkey.%s.svc", args.Namespace)
	d.RedisPort = pulumi.Int(ValkeyPort).ToIntOutput()
	d.RedisPassword = pulumi.ToSecret(valkeyPassword).(pulumi.StringOutput)
	d.RedisURL = pulumi.ToSecret(pulumi.Sprintf("redis://default:%s@valkey.%s.svc:%d", valkeyPassword, args.Namespace, ValkeyPort)).(pulumi.StringOutput)
	d.S3Endpoint = pulumi.Sprintf("http://minio.%s.svc:%d", args.Namespace, MinioPort)
	d.S3AccessKeyID = pulumi.String(minioUser).ToStringOutput()
	d.S3SecretAccessKey = pulumi.ToSecret(minioPassword).(pulumi.StringOutput)
	return d, ctx.RegisterResourceOutputs(d, pulumi.Map{
		"urls": d.URLs, "redisHost": d.RedisHost, "redisPort": d.RedisPort, "redisPassword": d.RedisPassword,
		"redisUrl": d.RedisURL, "s3Endpoint": d.S3Endpoint, "s3AccessKeyId": d.S3AccessKeyID, "s3SecretAccessKey": d.S3SecretAccessKey,
	})
}

// createBuckets runs a one-off Job with MinIO's client that creates the
// buckets and opens the public ones for anonymous reads, as the CDN does.
func (d *Data) createBuckets(ctx *pulumi.Context, name string, args *Args, user string, password pulumi.StringOutput) error {
	parent := pulumi.Parent(d)
	secret, err := corev1.NewSecret(ctx, name+"-minio-client", &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Namespace: pulumi.String(args.Namespace)},
		StringData: pulumi.ToSecret(pulumi.StringMap{"MINIO_ROOT_USER": pulumi.String(user), "MINIO_ROOT_PASSWORD": password}).(pulumi.StringMapOutput),
	}, parent)
	if err != nil {
		return err
	}
	script := []string{
		"set -eu",
		fmt.Sprintf(`until mc alias set local http://minio:%d "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"; do sleep 2; done`, MinioPort),
	}
	buckets := append([]string(nil), args.Buckets...)
	sort.Strings(buckets)
	for _, b := range buckets {
		script = append(script, "mc mb --ignore-existing local/"+b)
	}
	for _, b := range args.PublicBuckets {
		script = append(script, "mc anonymous set download local/"+b)
	}
	labels := pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(name + "-minio-buckets"), "app.kubernetes.io/part-of": pulumi.String("datafruits")}
	_, err = batchv1.NewJob(ctx, name+"-minio-buckets", &batchv1.JobArgs{
		Metadata: &metav1.ObjectMetaArgs{Namespace: pulumi.String(args.Namespace), Labels: labels},
		Spec: &batchv1.JobSpecArgs{
			BackoffLimit:            pulumi.Int(6),
			TtlSecondsAfterFinished: pulumi.Int(3600),
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &corev1.PodSpecArgs{
					RestartPolicy:                pulumi.String("OnFailure"),
					AutomountServiceAccountToken: pulumi.Bool(false),
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot: pulumi.Bool(true), RunAsUser: pulumi.Int(1000),
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:    pulumi.String("mc"),
						Image:   pulumi.String(args.Images["minioClient"]),
						Command: pulumi.ToStringArray([]string{"/bin/sh", "-c", strings.Join(script, "\n")}),
						Env:     corev1.EnvVarArray{&corev1.EnvVarArgs{Name: pulumi.String("HOME"), Value: pulumi.String("/tmp")}},
						EnvFrom: corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: secret.Metadata.Name()}}},
						SecurityContext: &corev1.SecurityContextArgs{
							AllowPrivilegeEscalation: pulumi.Bool(false), ReadOnlyRootFilesystem: pulumi.Bool(true),
							Capabilities: &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
						},
						VolumeMounts: corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}},
					}},
					Volumes: corev1.VolumeArray{&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}},
				},
			},
		},
	}, parent)
	return err
}

// fromAnyNamespace admits clients from every namespace on one port: the
// station's and the platform's pods all use the data services.
func fromAnyNamespace(port int) []netpol.Peer {
	return []netpol.Peer{{AnyNamespace: true, Ports: []int{port}}}
}

func (a *Args) validate(name string) error {
	if a == nil || a.Namespace == "" || a.StorageClass == "" || len(a.Databases) == 0 || len(a.Buckets) == 0 {
		return fmt.Errorf("incluster %s: Namespace, StorageClass, Databases and Buckets are required", name)
	}
	for _, role := range []string{"postgres", "valkey", "minio", "minioClient"} {
		if a.Images[role] == "" {
			return fmt.Errorf("incluster %s: Images[%q] is required", name, role)
		}
	}
	return nil
}
