// Package job declares a one-off Kubernetes Job the way the workloads are
// declared: plain settings in a ConfigMap, secret ones in a Secret, files the
// program renders mounted read-only, a locked-down security context and a
// NetworkPolicy that lets the pod reach exactly what it needs. The program
// waits for the Job to complete (pulumi-kubernetes awaits Jobs), so whatever
// depends on it starts after it succeeded.
package job

import (
	"fmt"

	"github.com/datafruits/infra/components/netpol"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Args configures a Job.
type Args struct {
	// Namespace is where the Job runs (required).
	Namespace string
	// Image is the container image with a pinned tag (required).
	Image string
	// Command is the container's command (required).
	Command []string
	// Env are plain settings, in a ConfigMap (optional). Never secrets.
	Env map[string]string
	// SecretEnv are secret settings, in a Secret (optional).
	SecretEnv pulumi.StringMapInput
	// Files are files the program renders, mounted read-only at FilesPath from a ConfigMap (optional). Never secrets.
	Files map[string]string
	// FilesPath is where Files appear (required with Files).
	FilesPath string
	// RunAsUser is the UID the container runs as (optional; default 1000). Never 0.
	RunAsUser int
	// WritableRootFilesystem allows writes outside /tmp, for images that need it (optional; default false).
	WritableRootFilesystem bool
	// Memory is the memory request and limit (optional; default "128Mi").
	Memory string
	// EgressTo are the peers the pod may connect to, besides DNS (optional).
	EgressTo []netpol.Peer
}

// Job is a one-off Job and what it needs.
type Job struct {
	pulumi.ResourceState

	// Name is the Job's generated name.
	Name pulumi.StringOutput `pulumi:"name"`
	// Done is the Job itself: depend on it to start after it completed. (A
	// dependency on the component would be expanded to whichever children it
	// has registered at that moment.)
	Done pulumi.Resource
}

// New declares the Job. Pass the Kubernetes provider with pulumi.Providers.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Job, error) {
	if err := args.validate(name); err != nil {
		return nil, err
	}
	j := &Job{}
	if err := ctx.RegisterComponentResource("datafruits:job:Job", name, j, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(j)
	ns := pulumi.String(args.Namespace)
	labels := pulumi.StringMap{
		"app.kubernetes.io/name":       pulumi.String(name),
		"app.kubernetes.io/part-of":    pulumi.String("datafruits"),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
	}
	// Generated names: a changed ConfigMap or Secret gets a new name, which
	// changes the Job's pod template, which replaces the Job, which runs again.
	autoMeta := func() *metav1.ObjectMetaArgs { return &metav1.ObjectMetaArgs{Namespace: ns, Labels: labels} }

	var own corev1.EnvFromSourceArray
	if len(args.Env) > 0 {
		data := pulumi.StringMap{}
		for k, v := range args.Env {
			data[k] = pulumi.String(v)
		}
		cm, err := corev1.NewConfigMap(ctx, name+"-env", &corev1.ConfigMapArgs{Metadata: autoMeta(), Data: data}, parent)
		if err != nil {
			return nil, err
		}
		own = append(own, &corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: cm.Metadata.Name()}})
	}
	if args.SecretEnv != nil {
		secret, err := corev1.NewSecret(ctx, name+"-secret-env", &corev1.SecretArgs{
			Metadata: autoMeta(), Type: pulumi.String("Opaque"),
			StringData: pulumi.ToSecret(args.SecretEnv).(pulumi.StringMapOutput),
		}, parent)
		if err != nil {
			return nil, err
		}
		own = append(own, &corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: secret.Metadata.Name()}})
	}
	mounts := corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}}
	volumes := corev1.VolumeArray{&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}}
	if len(args.Files) > 0 {
		data := pulumi.StringMap{}
		for k, v := range args.Files {
			data[k] = pulumi.String(v)
		}
		files, err := corev1.NewConfigMap(ctx, name+"-files", &corev1.ConfigMapArgs{Metadata: autoMeta(), Data: data}, parent)
		if err != nil {
			return nil, err
		}
		volumes = append(volumes, &corev1.VolumeArgs{Name: pulumi.String("files"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{
			Name: files.Metadata.Name(), DefaultMode: pulumi.Int(0o444),
		}})
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String("files"), MountPath: pulumi.String(args.FilesPath), ReadOnly: pulumi.Bool(true)})
	}

	memory := args.Memory
	if memory == "" {
		memory = "128Mi"
	}
	uid := args.RunAsUser
	if uid == 0 {
		uid = 1000
	}
	job, err := batchv1.NewJob(ctx, name, &batchv1.JobArgs{
		Metadata: autoMeta(),
		Spec: &batchv1.JobSpecArgs{
			// Retries with back-off ride out a database that is still starting
			// or a firewall rule still being applied (about six minutes).
			BackoffLimit: pulumi.Int(6),
			// No ttlSecondsAfterFinished: a Job the cluster deletes by itself
			// would show as drift on every refresh.
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &corev1.PodSpecArgs{
					RestartPolicy:                pulumi.String("OnFailure"),
					AutomountServiceAccountToken: pulumi.Bool(false),
					EnableServiceLinks:           pulumi.Bool(false),
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot: pulumi.Bool(true), RunAsUser: pulumi.Int(uid), RunAsGroup: pulumi.Int(uid),
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:            pulumi.String(name),
						Image:           pulumi.String(args.Image),
						ImagePullPolicy: pulumi.String("IfNotPresent"),
						Command:         pulumi.ToStringArray(args.Command),
						EnvFrom:         own,
						VolumeMounts:    mounts,
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("50m"), "memory": pulumi.String(memory)},
							Limits:   pulumi.StringMap{"memory": pulumi.String(memory)},
						},
						SecurityContext: &corev1.SecurityContextArgs{
							AllowPrivilegeEscalation: pulumi.Bool(false),
							ReadOnlyRootFilesystem:   pulumi.Bool(!args.WritableRootFilesystem),
							RunAsNonRoot:             pulumi.Bool(true),
							Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
							SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
						},
					}},
					Volumes: volumes,
				},
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}

	var egress networkingv1.NetworkPolicyEgressRuleArray
	for _, p := range args.EgressTo {
		egress = append(egress, netpol.Egress(p, args.Namespace))
	}
	// The namespace denies everything by default and allows DNS; this admits
	// the Job's own connections and nothing into it.
	if _, err := networkingv1.NewNetworkPolicy(ctx, name, &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: ns, Labels: labels},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app.kubernetes.io/name": pulumi.String(name)}},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Egress:      egress,
		},
	}, parent); err != nil {
		return nil, err
	}

	j.Name = job.Metadata.Name().Elem()
	j.Done = job
	return j, ctx.RegisterResourceOutputs(j, pulumi.Map{"name": j.Name})
}

func (a *Args) validate(name string) error {
	switch {
	case a == nil || a.Namespace == "" || a.Image == "" || len(a.Command) == 0:
		return fmt.Errorf("job %s: Namespace, Image and Command are required", name)
	case len(a.Files) > 0 && a.FilesPath == "":
		return fmt.Errorf("job %s: FilesPath is required with Files", name)
	case a.RunAsUser < 0:
		return fmt.Errorf("job %s: RunAsUser %d must not be negative", name, a.RunAsUser)
	}
	return nil
}
