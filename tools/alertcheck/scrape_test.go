package alertcheck

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
	// Registers kubernetes_sd_configs with the configuration loader, as Prometheus' main does.
	_ "github.com/prometheus/prometheus/discovery/kubernetes"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/util/strutil"
	"sigs.k8s.io/yaml"
)

// scrapeConfigs are the extra scrape jobs the chart gives Prometheus (its
// additionalScrapeConfigs Secret, rendered from the program's values),
// parsed by Prometheus' configuration loader (module v0.301.0, see go.mod).
func scrapeConfigs(t *testing.T, objects []map[string]any) []*promconfig.ScrapeConfig {
	t.Helper()
	secret := findObject(t, objects, "Secret", "monitoring-prometheus-scrape-confg")
	data, _ := secret["data"].(map[string]any)
	encoded, _ := data["additional-scrape-configs.yaml"].(string)
	raw, err := decodeBase64(encoded)
	if err != nil || len(raw) == 0 {
		t.Fatalf("the chart's scrape config Secret holds no additional-scrape-configs.yaml (%v)", err)
	}
	var jobs []any
	if err := yaml.Unmarshal(raw, &jobs); err != nil {
		t.Fatal(err)
	}
	doc, err := yaml.Marshal(map[string]any{"scrape_configs": jobs})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := promconfig.Load(string(doc), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("Prometheus refuses the additional scrape configs: %v\n%s", err, raw)
	}
	return cfg.ScrapeConfigs
}

// endpointTarget is the target Prometheus' Kubernetes service discovery
// (role endpoints, discovery/kubernetes/endpoints.go) makes for one port of
// one pod behind a Service: the address and the __meta_* labels the
// relabelling sees, service annotations sanitized as that code does.
func endpointTarget(t *testing.T, svc map[string]any, podIP, podName string, portIndex int) labels.Labels {
	t.Helper()
	ports, _ := get(svc, "spec.ports").([]any)
	if portIndex >= len(ports) {
		t.Fatalf("Service %s has no port %d", get(svc, "metadata.name"), portIndex)
	}
	port := ports[portIndex].(map[string]any)
	// The Endpoints carry the container port; the charts name it by the
	// Service's targetPort and listen where the Service port says.
	number := int(port["port"].(float64))
	b := labels.NewBuilder(labels.EmptyLabels())
	b.Set("__address__", podIP+":"+strconv.Itoa(number))
	b.Set("__meta_kubernetes_namespace", get(svc, "metadata.namespace").(string))
	b.Set("__meta_kubernetes_service_name", get(svc, "metadata.name").(string))
	b.Set("__meta_kubernetes_pod_name", podName)
	b.Set("__meta_kubernetes_pod_ip", podIP)
	if name, ok := port["name"].(string); ok {
		b.Set("__meta_kubernetes_endpoint_port_name", name)
	}
	annotations, _ := get(svc, "metadata.annotations").(map[string]any)
	for k, v := range annotations {
		name := strutil.SanitizeLabelName(k)
		b.Set("__meta_kubernetes_service_annotation_"+name, fmt.Sprint(v))
		b.Set("__meta_kubernetes_service_annotationpresent_"+name, "true")
	}
	return b.Labels()
}

// scraped runs the target through every additional job's relabelling and
// returns the job that keeps it and the address it scrapes.
func scraped(jobs []*promconfig.ScrapeConfig, target labels.Labels) (job, address string) {
	for _, j := range jobs {
		if out, keep := relabel.Process(target, j.RelabelConfigs...); keep {
			return j.JobName, out.Get("__address__")
		}
	}
	return "", ""
}

// TestScrapeSelectsCertManagerAndTraefik renders the cert-manager and
// Traefik charts with the program's values, turns their metrics Services into
// the targets Kubernetes service discovery makes, and runs them through the
// scrape jobs the program gives Prometheus: both must be kept and scraped on
// their metrics port, or the certificate-expiry and 5xx alerts see nothing.
func TestScrapeSelectsCertManagerAndTraefik(t *testing.T) {
	kps := renderChart(t, "kube-prometheus-stack-70.0.0.tgz", "monitoring", "observability", releaseValues(t, "observability-monitoring"))
	jobs := scrapeConfigs(t, kps)

	certManager := renderChart(t, "cert-manager-v1.18.2.tgz", "cert-manager", "platform", releaseValues(t, "tls-cert-manager"))
	traefik := renderChart(t, "traefik-39.0.2.tgz", "traefik", "platform", releaseValues(t, "ingress-traefik"))
	for _, c := range []struct {
		what    string
		svc     map[string]any
		address string
	}{
		{"cert-manager's controller metrics", findObject(t, certManager, "Service", "cert-manager"), "10.244.0.7:9402"},
		{"Traefik's metrics", findObject(t, traefik, "Service", "traefik-metrics"), "10.244.0.8:9100"},
	} {
		podIP := c.address[:len(c.address)-5]
		target := endpointTarget(t, c.svc, podIP, "pod-0", 0)
		job, address := scraped(jobs, target)
		if job == "" {
			t.Errorf("%s (Service %s, annotations %v) is not selected by any scrape job: its alerts can never fire",
				c.what, get(c.svc, "metadata.name"), get(c.svc, "metadata.annotations"))
			continue
		}
		if address != c.address {
			t.Errorf("%s: job %s scrapes %s, want %s", c.what, job, address, c.address)
		}
		t.Logf("%s: scraped by job %s at %s", c.what, job, address)
	}
	// A Service without the annotations stays unscraped (the job is not a catch-all).
	webhook := findObject(t, certManager, "Service", "cert-manager-webhook")
	if job, _ := scraped(jobs, endpointTarget(t, webhook, "10.244.0.9", "pod-1", 0)); job != "" {
		t.Errorf("cert-manager's webhook Service is scraped by %s although it asks for nothing", job)
	}
}

// TestScrapeSelectsTheStationsOwnMetrics runs the Services the program itself
// declares for the radio's metrics through the same jobs: the dead-air gauge
// (Liquidsoap) and the archiver's figures, or the dead-air and archiver
// alerts see nothing.
func TestScrapeSelectsTheStationsOwnMetrics(t *testing.T) {
	kps := renderChart(t, "kube-prometheus-stack-70.0.0.tgz", "monitoring", "observability", releaseValues(t, "observability-monitoring"))
	jobs := scrapeConfigs(t, kps)
	for _, c := range []struct{ what, service, address string }{
		{"Liquidsoap's dead-air gauge", "radio-datafruits-liquidsoap-metrics", "10.244.1.7:9100"},
		{"the archiver's metrics", "radio-datafruits-liquidsoap", "10.244.1.7:8080"},
	} {
		svc := declared(t, "kubernetes:core/v1:Service", c.service)
		target := endpointTarget(t, svc, "10.244.1.7", "pod-0", 0)
		job, address := scraped(jobs, target)
		if job == "" || address != c.address {
			t.Errorf("%s (Service %s, annotations %v): scraped by %q at %q, want %s", c.what, c.service, get(svc, "metadata.annotations"), job, address, c.address)
			continue
		}
		t.Logf("%s: scraped by job %s at %s", c.what, job, address)
	}
}
