package workload

import (
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// containerSpec is what the main container and the sidecars have in common.
type containerSpec struct {
	image         string
	command, args []string
	ports         []Port
	env           map[string]string
	secretEnv     pulumi.StringMapInput
	secretEnvKeys []string
	fieldEnv      map[string]string
	inlineEnv     map[string]string
	secretFiles   *SecretFiles
	configFiles   *ConfigFiles
	probe         *Probe
	resources     Resources
	writableRoot  bool
	scratch       []string
	volume        *Volume
	mountPath     string
}

type builtContainer struct {
	container *corev1.ContainerArgs
	volumes   []corev1.VolumeInput
}

// container builds one container, with its plain settings in a ConfigMap and
// its secret settings in a Secret, both referenced by name: nothing secret is
// ever an env value in the pod spec.
func (w *Workload) container(ctx *pulumi.Context, workloadName, containerName string, spec containerSpec, autoMeta func() *metav1.ObjectMetaArgs) (*builtContainer, error) {
	prefix := workloadName
	if containerName != workloadName {
		prefix = workloadName + "-" + containerName
	}
	var envFrom corev1.EnvFromSourceArray
	if len(spec.env) > 0 {
		data := pulumi.StringMap{}
		for k, v := range spec.env {
			data[k] = pulumi.String(v)
		}
		cm, err := corev1.NewConfigMap(ctx, prefix+"-env", &corev1.ConfigMapArgs{Metadata: contentMeta(autoMeta(), prefix+"-env", data), Data: data}, pulumi.Parent(w))
		if err != nil {
			return nil, err
		}
		envFrom = append(envFrom, &corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: cm.Metadata.Name()}})
	}
	if spec.secretEnv != nil {
		secret, err := corev1.NewSecret(ctx, prefix+"-secret-env", &corev1.SecretArgs{
			Metadata:   contentMeta(autoMeta(), prefix+"-secret-env", spec.secretEnv),
			Type:       pulumi.String("Opaque"),
			StringData: pulumi.ToSecret(spec.secretEnv).(pulumi.StringMapOutput),
		}, pulumi.Parent(w))
		if err != nil {
			return nil, err
		}
		envFrom = append(envFrom, &corev1.EnvFromSourceArgs{SecretRef: &corev1.SecretEnvSourceArgs{Name: secret.Metadata.Name()}})
	}
	var env corev1.EnvVarArray
	for _, k := range sortedKeys(spec.fieldEnv) {
		env = append(env, &corev1.EnvVarArgs{
			Name:      pulumi.String(k),
			ValueFrom: &corev1.EnvVarSourceArgs{FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String(spec.fieldEnv[k])}},
		})
	}

	// Inline values come after the field refs they may reference as $(NAME).
	for _, k := range sortedKeys(spec.inlineEnv) {
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String(k), Value: pulumi.String(spec.inlineEnv[k])})
	}

	var ports corev1.ContainerPortArray
	for _, p := range spec.ports {
		ports = append(ports, &corev1.ContainerPortArgs{Name: pulumi.String(p.Name), ContainerPort: pulumi.Int(p.Number), Protocol: pulumi.String("TCP")})
	}

	var mounts corev1.VolumeMountArray
	var volumes []corev1.VolumeInput
	for i, path := range spec.scratch {
		volName := containerName + "-scratch-" + strconv.Itoa(i)
		volumes = append(volumes, &corev1.VolumeArgs{Name: pulumi.String(volName), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}})
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String(volName), MountPath: pulumi.String(path)})
	}
	if f := spec.secretFiles; f != nil {
		files, err := corev1.NewSecret(ctx, prefix+"-files", &corev1.SecretArgs{
			Metadata:   contentMeta(autoMeta(), prefix+"-files", f.Files),
			Type:       pulumi.String("Opaque"),
			StringData: pulumi.ToSecret(f.Files).(pulumi.StringMapOutput),
		}, pulumi.Parent(w))
		if err != nil {
			return nil, err
		}
		volName := containerName + "-files"
		volumes = append(volumes, &corev1.VolumeArgs{Name: pulumi.String(volName), Secret: &corev1.SecretVolumeSourceArgs{
			SecretName: files.Metadata.Name(), DefaultMode: pulumi.Int(0o440),
		}})
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String(volName), MountPath: pulumi.String(f.MountPath), ReadOnly: pulumi.Bool(true)})
	}
	if f := spec.configFiles; f != nil {
		data := pulumi.StringMap{}
		for k, v := range f.Files {
			data[k] = pulumi.String(v)
		}
		cm, err := corev1.NewConfigMap(ctx, prefix+"-config", &corev1.ConfigMapArgs{Metadata: contentMeta(autoMeta(), prefix+"-config", data), Data: data}, pulumi.Parent(w))
		if err != nil {
			return nil, err
		}
		volName := containerName + "-config"
		volumes = append(volumes, &corev1.VolumeArgs{Name: pulumi.String(volName), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{
			Name: cm.Metadata.Name(), DefaultMode: pulumi.Int(0o444),
		}})
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String(volName), MountPath: pulumi.String(f.MountPath), ReadOnly: pulumi.Bool(true)})
	}
	if spec.volume != nil && spec.mountPath != "" {
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String(spec.volume.Name), MountPath: pulumi.String(spec.mountPath)})
	}

	c := &corev1.ContainerArgs{
		Name:            pulumi.String(containerName),
		Image:           pulumi.String(spec.image),
		ImagePullPolicy: pulumi.String("IfNotPresent"),
		Ports:           ports,
		EnvFrom:         envFrom,
		Env:             env,
		VolumeMounts:    mounts,
		Resources: &corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String(spec.resources.CPU), "memory": pulumi.String(spec.resources.Memory)},
			Limits:   pulumi.StringMap{"memory": pulumi.String(spec.resources.Memory)},
		},
		SecurityContext: &corev1.SecurityContextArgs{
			AllowPrivilegeEscalation: pulumi.Bool(false),
			ReadOnlyRootFilesystem:   pulumi.Bool(!spec.writableRoot),
			RunAsNonRoot:             pulumi.Bool(true),
			Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.ToStringArray([]string{"ALL"})},
			SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
	}
	if len(spec.command) > 0 {
		c.Command = pulumi.ToStringArray(spec.command)
	}
	if len(spec.args) > 0 {
		c.Args = pulumi.ToStringArray(spec.args)
	}
	if spec.probe != nil {
		c.ReadinessProbe = probeArgs(spec.probe, 10, 3)
		c.LivenessProbe = probeArgs(spec.probe, 20, 3)
		// A slow start (Rails, the BEAM) must not count against liveness.
		c.StartupProbe = probeArgs(spec.probe, 5, (spec.probe.StartupSeconds+4)/5)
	}
	return &builtContainer{container: c, volumes: volumes}, nil
}

func probeArgs(p *Probe, period, failures int) *corev1.ProbeArgs {
	probe := &corev1.ProbeArgs{PeriodSeconds: pulumi.Int(period), FailureThreshold: pulumi.Int(failures), TimeoutSeconds: pulumi.Int(3)}
	if p.HTTPPath != "" {
		probe.HttpGet = &corev1.HTTPGetActionArgs{Path: pulumi.String(p.HTTPPath), Port: pulumi.String(p.Port)}
	} else {
		probe.TcpSocket = &corev1.TCPSocketActionArgs{Port: pulumi.String(p.Port)}
	}
	return probe
}
