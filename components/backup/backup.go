// Package backup declares the station's nightly backups: Kubernetes CronJobs
// running apps/movein's `backup` command, one for the app databases and one
// for the media bucket, each into its own prefix of the backups bucket (and,
// when configured, of a second bucket at another provider), with retention by
// count and age.
//
// The time of each one's last success reaches Prometheus through
// kube-state-metrics, which kube-prometheus-stack runs: the CronJob
// controller sets status.lastSuccessfulTime when a Job completes, and a Job
// completes only when movein exited 0, that is when every dump and copy was
// written and checked. The observability component's recording rule turns
// kube_cronjob_status_last_successful_time of the CronJobs named here into
// datafruits_backup_last_success_timestamp_seconds{backup}, which the
// BackupTooOld alert reads. Nothing has to be pushed or scraped from a pod
// that lives for minutes (no Pushgateway is deployed).
package backup

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/datafruits/infra/components/netpol"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Backup names: each is a CronJob "backup-<name>" and the value of the
// metric's backup label.
const (
	Postgres = "postgres"
	Media    = "media"
)

// CronJobPrefix starts every backup CronJob's name; the rest is the backup's name.
const CronJobPrefix = "backup-"

// RunAsUser is the movein image's numeric non-root user (apps/movein/Dockerfile).
const RunAsUser = 65532

// Bucket is an S3-compatible bucket and the keys that open it.
type Bucket struct {
	// Endpoint is the S3 endpoint URL, scheme included (required).
	Endpoint pulumi.StringInput
	// Name is the bucket's name (required).
	Name pulumi.StringInput
	// KeyID and Secret are its access key pair (required; Secret is kept secret).
	KeyID, Secret pulumi.StringInput
}

// Args configures the backups.
type Args struct {
	// Namespace is where the CronJobs run (required).
	Namespace string
	// Image is apps/movein's image with a pinned tag (required).
	Image string
	// Schedule is when both run, in cron syntax, UTC (optional; default "30 3 * * *", after
	// the night's shows and before DOKS' maintenance window).
	Schedule string
	// Databases maps each app to its database URL (secret); each app's own user owns and so
	// can dump its database (optional, but Databases or MediaBucket is required).
	Databases map[string]pulumi.StringInput
	// MediaBucket is the media bucket's name, read with To's keys (optional).
	MediaBucket pulumi.StringInput
	// To is the backups bucket; its keys also read MediaBucket (required).
	To Bucket
	// Offsite is a second bucket at another provider kept equal to To (optional).
	Offsite *Bucket
	// KeepCount is how many runs of each backup are always kept (optional; default 7).
	KeepCount int
	// KeepDays keeps every run younger than this many days as well (optional; default 30).
	KeepDays int
	// DatabaseEgress are the database's network peers (required with Databases); only the
	// database backup may reach them.
	DatabaseEgress []netpol.Peer
	// ObjectStoreEgress are the object store's network peers (required).
	ObjectStoreEgress []netpol.Peer
	// Memory is each pod's memory request and limit (optional; default "256Mi").
	Memory string
	// ScratchSize bounds the /tmp emptyDir holding a dump or an object in flight (optional; default "20Gi").
	ScratchSize string
}

// Backups are the backup CronJobs.
type Backups struct {
	pulumi.ResourceState

	// CronJobs are the CronJobs' names by backup name.
	CronJobs pulumi.StringMapOutput `pulumi:"cronJobs"`
}

var cronFieldRe = regexp.MustCompile(`^[0-9*/,-]+$`)

// New declares the CronJobs, their Secrets and their network policies. Pass
// the Kubernetes provider with pulumi.Providers.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Backups, error) {
	a, err := args.withDefaults(name)
	if err != nil {
		return nil, err
	}
	b := &Backups{}
	if err := ctx.RegisterComponentResource("datafruits:backup:Backups", name, b, opts...); err != nil {
		return nil, err
	}
	names := pulumi.StringMap{}
	if len(a.Databases) > 0 {
		apps := make([]string, 0, len(a.Databases))
		env := pulumi.StringMap{}
		for app, url := range a.Databases {
			apps = append(apps, app)
			env["MOVEIN_DATABASE_URL_"+strings.ToUpper(strings.ReplaceAll(app, "-", "_"))] = url
		}
		slices.Sort(apps)
		n, err := b.cronJob(ctx, name, a, Postgres, []string{"--databases", strings.Join(apps, ",")}, nil, env, append(a.DatabaseEgress, a.ObjectStoreEgress...))
		if err != nil {
			return nil, err
		}
		names[Postgres] = n
	}
	if a.MediaBucket != nil {
		media := pulumi.Sprintf("media=%s/%s", a.To.Endpoint, a.MediaBucket)
		env := pulumi.StringMap{"MOVEIN_MEDIA_S3_KEY": a.To.KeyID, "MOVEIN_MEDIA_S3_SECRET": a.To.Secret}
		n, err := b.cronJob(ctx, name, a, Media, []string{"--media"}, media, env, a.ObjectStoreEgress)
		if err != nil {
			return nil, err
		}
		names[Media] = n
	}
	b.CronJobs = names.ToStringMapOutput()
	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{"cronJobs": b.CronJobs})
}

// cronJob declares one backup: its Secret, CronJob and NetworkPolicy. extra
// and, when set, last are movein's arguments for what it backs up; peers are
// what it may reach.
func (b *Backups) cronJob(ctx *pulumi.Context, name string, a *Args, backup string, extra []string, last pulumi.StringInput, secretEnv pulumi.StringMap, peers []netpol.Peer) (pulumi.StringOutput, error) {
	parent := pulumi.Parent(b)
	role := name + "-" + backup
	jobName := CronJobPrefix + backup
	labels := pulumi.StringMap{
		"app.kubernetes.io/name":       pulumi.String(jobName),
		"app.kubernetes.io/part-of":    pulumi.String("datafruits"),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
	ns := pulumi.String(a.Namespace)
	secretEnv["MOVEIN_TO_S3_KEY"], secretEnv["MOVEIN_TO_S3_SECRET"] = a.To.KeyID, a.To.Secret
	cmd := pulumi.StringArray{pulumi.String("backup"),
		// Each backup in its own prefix: retention counts one backup's runs, never the other's.
		pulumi.String("--to"), pulumi.Sprintf("%s/%s/%s", a.To.Endpoint, a.To.Name, backup),
		pulumi.String("--keep-count"), pulumi.String(strconv.Itoa(a.KeepCount)),
		pulumi.String("--keep-age"), pulumi.String(fmt.Sprintf("%dh", a.KeepDays*24)),
	}
	if a.Offsite != nil {
		cmd = append(cmd, pulumi.String("--copy-to"), pulumi.Sprintf("%s/%s/%s", a.Offsite.Endpoint, a.Offsite.Name, backup))
		secretEnv["MOVEIN_COPY_S3_KEY"], secretEnv["MOVEIN_COPY_S3_SECRET"] = a.Offsite.KeyID, a.Offsite.Secret
	}
	cmd = append(cmd, pulumi.ToStringArray(extra)...)
	if last != nil {
		cmd = append(cmd, last)
	}
	// Credentials reach the pod only through this Secret (envFrom), never its spec or a ConfigMap.
	secret, err := corev1.NewSecret(ctx, role+"-env", &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Namespace: ns, Labels: labels},
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.ToSecret(secretEnv).(pulumi.StringMapOutput),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	cj, err := batchv1.NewCronJob(ctx, role, &batchv1.CronJobArgs{
		// A fixed name: the recording rule and the runbook find it by name.
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(jobName), Namespace: ns, Labels: labels},
		Spec: &batchv1.CronJobSpecArgs{
			Schedule: pulumi.String(a.Schedule),
			TimeZone: pulumi.String("Etc/UTC"),
			// A run still going when the next is due is left to finish; two runs would prune each other.
			ConcurrencyPolicy: pulumi.String("Forbid"),
			// A run missed by up to 6 h (a controller restart, an upgrade) still starts.
			StartingDeadlineSeconds:    pulumi.Int(6 * 3600),
			SuccessfulJobsHistoryLimit: pulumi.Int(3),
			FailedJobsHistoryLimit:     pulumi.Int(3),
			JobTemplate: &batchv1.JobTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &batchv1.JobSpecArgs{
					// Two retries ride out a database failover; a backup that cannot finish in
					// 6 h is stopped and alerts (BackupTooOld) instead of overlapping the next.
					BackoffLimit:          pulumi.Int(2),
					ActiveDeadlineSeconds: pulumi.Int(6 * 3600),
					Template: &corev1.PodTemplateSpecArgs{
						Metadata: &metav1.ObjectMetaArgs{Labels: labels},
						Spec: &corev1.PodSpecArgs{
							RestartPolicy:                pulumi.String("Never"),
							AutomountServiceAccountToken: pulumi.Bool(false),
							EnableServiceLinks:           pulumi.Bool(false),
							SecurityContext: &corev1.PodSecurityContextArgs{
								RunAsNonRoot: pulumi.Bool(true), RunAsUser: pulumi.Int(RunAsUser), RunAsGroup: pulumi.Int(RunAsUser), FsGroup: pulumi.Int(RunAsUser),
								SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
							},
							Containers: corev1.ContainerArray{&corev1.ContainerArgs{
								Name:            pulumi.String("backup"),
								Image:           pulumi.String(a.Image),
								ImagePullPolicy: pulumi.String("IfNotPresent"),
								Args:            cmd,
								EnvFrom:         corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: secret.Metadata.Name()}}},
								Env:             corev1.EnvVarArray{&corev1.EnvVarArgs{Name: pulumi.String("TMPDIR"), Value: pulumi.String("/tmp")}},
								VolumeMounts:    corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}},
								Resources: &corev1.ResourceRequirementsArgs{
									Requests: pulumi.StringMap{"cpu": pulumi.String("100m"), "memory": pulumi.String(a.Memory), "ephemeral-storage": pulumi.String("1Gi")},
									Limits:   pulumi.StringMap{"memory": pulumi.String(a.Memory), "ephemeral-storage": pulumi.String(a.ScratchSize)},
								},
								SecurityContext: &corev1.SecurityContextArgs{
									AllowPrivilegeEscalation: pulumi.Bool(false),
									ReadOnlyRootFilesystem:   pulumi.Bool(true),
									RunAsNonRoot:             pulumi.Bool(true),
									Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
									SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
								},
							}},
							Volumes: corev1.VolumeArray{&corev1.VolumeArgs{
								Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String(a.ScratchSize)},
							}},
						},
					},
				},
			},
		},
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	var egress networkingv1.NetworkPolicyEgressRuleArray
	for _, p := range peers {
		egress = append(egress, netpol.Egress(p, a.Namespace))
	}
	if a.Offsite != nil {
		egress = append(egress, netpol.Egress(netpol.Internet(443), a.Namespace))
	}
	// The namespace denies everything by default and allows DNS; this lets the
	// backup reach its databases and buckets, and nothing reach it.
	if _, err := networkingv1.NewNetworkPolicy(ctx, role, &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(jobName), Namespace: ns, Labels: labels},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(jobName)}},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Egress:      egress,
		},
	}, parent); err != nil {
		return pulumi.StringOutput{}, err
	}
	return cj.Metadata.Name().Elem(), nil
}

// withDefaults validates args and returns a copy with the defaults filled in.
func (args *Args) withDefaults(name string) (*Args, error) {
	if args == nil {
		return nil, fmt.Errorf("backup %s: Args are required", name)
	}
	a := *args
	switch {
	case a.Namespace == "" || a.Image == "":
		return nil, fmt.Errorf("backup %s: Namespace and Image are required", name)
	case len(a.Databases) == 0 && a.MediaBucket == nil:
		return nil, fmt.Errorf("backup %s: nothing to back up: give Databases or MediaBucket", name)
	case a.To.Endpoint == nil || a.To.Name == nil || a.To.KeyID == nil || a.To.Secret == nil:
		return nil, fmt.Errorf("backup %s: To needs Endpoint, Name, KeyID and Secret", name)
	case a.Offsite != nil && (a.Offsite.Endpoint == nil || a.Offsite.Name == nil || a.Offsite.KeyID == nil || a.Offsite.Secret == nil):
		return nil, fmt.Errorf("backup %s: Offsite needs Endpoint, Name, KeyID and Secret", name)
	case len(a.ObjectStoreEgress) == 0:
		return nil, fmt.Errorf("backup %s: ObjectStoreEgress is required (the backups bucket's peers)", name)
	case len(a.Databases) > 0 && len(a.DatabaseEgress) == 0:
		return nil, fmt.Errorf("backup %s: DatabaseEgress is required with Databases", name)
	case a.KeepCount < 0 || a.KeepDays < 0:
		return nil, fmt.Errorf("backup %s: KeepCount %d and KeepDays %d must not be negative", name, a.KeepCount, a.KeepDays)
	}
	if a.Schedule == "" {
		a.Schedule = "30 3 * * *"
	}
	if fields := strings.Fields(a.Schedule); len(fields) != 5 || slices.ContainsFunc(fields, func(f string) bool { return !cronFieldRe.MatchString(f) }) {
		return nil, fmt.Errorf("backup %s: Schedule %q is not a five-field cron schedule", name, a.Schedule)
	}
	if a.KeepCount == 0 {
		a.KeepCount = 7
	}
	if a.KeepDays == 0 {
		a.KeepDays = 30
	}
	if a.Memory == "" {
		a.Memory = "256Mi"
	}
	if a.ScratchSize == "" {
		a.ScratchSize = "20Gi"
	}
	return &a, nil
}
