package contract

import (
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/datafruits/infra/internal/pulumitest"
)

// fixtureSecret is the value of the fixture's Secret; reports must never show it.
const fixtureSecret = "fixture-password-value"

// fixture describes a small program with one of each kind the contract test
// checks; its fields break it on purpose for the negative tests.
type fixture struct {
	// namespace the fixture's objects live in (each test uses its own).
	namespace string
	// webSelector overrides the web Service's selector.
	webSelector map[string]string
	// webTargetPort overrides the web Service's targetPort (default "http").
	webTargetPort string
	// routePort overrides the port the Traefik route sends to (default 80).
	routePort int
}

func (f fixture) program(ctx *pulumi.Context) error {
	ns := f.namespace
	md := func(name string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: pulumi.String(ns)}
	}
	webLabels := pulumi.StringMap{"app": pulumi.String("web")}
	dbLabels := pulumi.StringMap{"app": pulumi.String("db")}
	selector := webLabels
	if f.webSelector != nil {
		selector = pulumi.ToStringMap(f.webSelector)
	}
	targetPort := "http"
	if f.webTargetPort != "" {
		targetPort = f.webTargetPort
	}
	routePort := 80
	if f.routePort != 0 {
		routePort = f.routePort
	}

	if _, err := corev1.NewNamespace(ctx, ns, &corev1.NamespaceArgs{Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ns)}}); err != nil {
		return err
	}
	if _, err := corev1.NewConfigMap(ctx, "web-config", &corev1.ConfigMapArgs{
		Metadata: md("web-config"), Data: pulumi.StringMap{"GREETING": pulumi.String("hello")},
	}); err != nil {
		return err
	}
	if _, err := corev1.NewSecret(ctx, "web-secret", &corev1.SecretArgs{
		Metadata: md("web-secret"), StringData: pulumi.StringMap{"PASSWORD": pulumi.ToSecret(pulumi.String(fixtureSecret)).(pulumi.StringOutput)},
	}); err != nil {
		return err
	}
	// No replicas: the autoscaler owns them (pulumi-kubernetes #2491).
	web, err := appsv1.NewDeployment(ctx, "web", &appsv1.DeploymentArgs{
		Metadata: md("web"),
		Spec: &appsv1.DeploymentSpecArgs{
			Selector: &metav1.LabelSelectorArgs{MatchLabels: webLabels},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: webLabels},
				Spec: &corev1.PodSpecArgs{Containers: corev1.ContainerArray{&corev1.ContainerArgs{
					Name: pulumi.String("web"), Image: pulumi.String("nginx:1.27"),
					Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(8080)}},
					Env: corev1.EnvVarArray{&corev1.EnvVarArgs{Name: pulumi.String("PASSWORD"), ValueFrom: &corev1.EnvVarSourceArgs{
						SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: pulumi.String("web-secret"), Key: pulumi.String("PASSWORD")},
					}}},
					EnvFrom: corev1.EnvFromSourceArray{&corev1.EnvFromSourceArgs{ConfigMapRef: &corev1.ConfigMapEnvSourceArgs{Name: pulumi.String("web-config")}}},
				}}},
			},
		},
	})
	if err != nil {
		return err
	}
	if _, err := corev1.NewService(ctx, "web", &corev1.ServiceArgs{
		Metadata: md("web"),
		Spec: &corev1.ServiceSpecArgs{
			Selector: selector,
			Ports:    corev1.ServicePortArray{&corev1.ServicePortArgs{Name: pulumi.String("http"), Port: pulumi.Int(80), TargetPort: pulumi.String(targetPort)}},
		},
	}); err != nil {
		return err
	}
	if _, err := networkingv1.NewIngress(ctx, "web", &networkingv1.IngressArgs{
		Metadata: md("web"),
		Spec: &networkingv1.IngressSpecArgs{Rules: networkingv1.IngressRuleArray{&networkingv1.IngressRuleArgs{
			Host: pulumi.String("web.example.test"),
			Http: &networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{&networkingv1.HTTPIngressPathArgs{
				Path: pulumi.String("/"), PathType: pulumi.String("Prefix"),
				Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
					Name: pulumi.String("web"), Port: &networkingv1.ServiceBackendPortArgs{Name: pulumi.String("http")},
				}},
			}}},
		}}},
	}); err != nil {
		return err
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, "web", &policyv1.PodDisruptionBudgetArgs{
		Metadata: md("web"),
		Spec:     &policyv1.PodDisruptionBudgetSpecArgs{MinAvailable: pulumi.Int(1), Selector: &metav1.LabelSelectorArgs{MatchLabels: webLabels}},
	}); err != nil {
		return err
	}
	if _, err := autoscalingv2.NewHorizontalPodAutoscaler(ctx, "web", &autoscalingv2.HorizontalPodAutoscalerArgs{
		Metadata: md("web"),
		Spec: &autoscalingv2.HorizontalPodAutoscalerSpecArgs{
			MinReplicas: pulumi.Int(2), MaxReplicas: pulumi.Int(4),
			ScaleTargetRef: &autoscalingv2.CrossVersionObjectReferenceArgs{
				ApiVersion: pulumi.String("apps/v1"), Kind: pulumi.String("Deployment"), Name: web.Metadata.Name().Elem(),
			},
		},
	}); err != nil {
		return err
	}
	if _, err := appsv1.NewStatefulSet(ctx, "db", &appsv1.StatefulSetArgs{
		Metadata: md("db"),
		Spec: &appsv1.StatefulSetSpecArgs{
			Replicas: pulumi.Int(1), ServiceName: pulumi.String("db"),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: dbLabels},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: dbLabels},
				Spec: &corev1.PodSpecArgs{Containers: corev1.ContainerArray{&corev1.ContainerArgs{
					Name: pulumi.String("db"), Image: pulumi.String("postgres:17"),
					Ports:        corev1.ContainerPortArray{&corev1.ContainerPortArgs{Name: pulumi.String("pg"), ContainerPort: pulumi.Int(5432)}},
					VolumeMounts: corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("data"), MountPath: pulumi.String("/var/lib/postgresql")}},
				}}},
			},
			VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{&corev1.PersistentVolumeClaimTypeArgs{
				Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("data")},
				Spec: &corev1.PersistentVolumeClaimSpecArgs{
					AccessModes:      pulumi.StringArray{pulumi.String("ReadWriteOnce")},
					StorageClassName: pulumi.String("standard"),
					Resources:        &corev1.VolumeResourceRequirementsArgs{Requests: pulumi.StringMap{"storage": pulumi.String("1Gi")}},
				},
			}},
		},
	}); err != nil {
		return err
	}
	if _, err := corev1.NewService(ctx, "db", &corev1.ServiceArgs{
		Metadata: md("db"),
		Spec: &corev1.ServiceSpecArgs{
			ClusterIP: pulumi.String("None"), Selector: dbLabels,
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{Name: pulumi.String("pg"), Port: pulumi.Int(5432), TargetPort: pulumi.String("pg")}},
		},
	}); err != nil {
		return err
	}
	// No metadata.name: the provider would name it worker-<random>.
	if _, err := appsv1.NewDeployment(ctx, "worker", &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{Namespace: pulumi.String(ns)},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(1),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app": pulumi.String("worker")}},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.StringMap{"app": pulumi.String("worker")}},
				Spec: &corev1.PodSpecArgs{Containers: corev1.ContainerArray{&corev1.ContainerArgs{
					Name: pulumi.String("worker"), Image: pulumi.String("busybox:1.37"),
				}}},
			},
		},
	}); err != nil {
		return err
	}
	// A chart and a custom resource whose definition would come with it: both skipped by name.
	if _, err := helmv3.NewRelease(ctx, "traefik", &helmv3.ReleaseArgs{
		Chart: pulumi.String("traefik"), Namespace: pulumi.String(ns),
		RepositoryOpts: &helmv3.RepositoryOptsArgs{Repo: pulumi.String("https://traefik.github.io/charts")},
	}); err != nil {
		return err
	}
	_, err = apiextensions.NewCustomResource(ctx, "web-route", &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String("traefik.io/v1alpha1"), Kind: pulumi.String("IngressRoute"),
		Metadata: md("web-route"),
		OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{
			"entryPoints": []string{"websecure"},
			"routes": []map[string]any{{
				"match": "Host(`web.example.test`)", "kind": "Rule",
				"services": []map[string]any{{"name": "web", "port": routePort}},
			}},
		}},
	})
	return err
}

// declare runs the fixture under mocks and converts what it declared.
func (f fixture) declare(t *testing.T) *Declared {
	t.Helper()
	m := pulumitest.NewMocks()
	if err := m.Run("fixture", nil, nil, f.program); err != nil {
		t.Fatalf("fixture program: %v", err)
	}
	d, err := FromResources("fixture", m.Resources())
	if err != nil {
		t.Fatalf("FromResources: %v", err)
	}
	return d
}
