package observability

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Metric names the onair service exports (apps/onair) and the rules read.
const (
	MetricSourceConnected = "onair_source_connected"
	MetricListeners       = "onair_listeners"
	MetricIcecastUp       = "onair_icecast_up"
)

// AlertRules are the rules that matter for a radio. hours is the UTC window
// in which a silent stream is an incident rather than the night's quiet.
func AlertRules(hours [2]int) pulumi.Map {
	rule := func(name, expr, forDuration, severity, summary string) pulumi.Map {
		return pulumi.Map{
			"alert":       pulumi.String(name),
			"expr":        pulumi.String(expr),
			"for":         pulumi.String(forDuration),
			"labels":      pulumi.StringMap{"severity": pulumi.String(severity)},
			"annotations": pulumi.StringMap{"summary": pulumi.String(summary)},
		}
	}
	return pulumi.Map{
		"name": pulumi.String("datafruits"),
		"rules": pulumi.Array{
			rule("StreamSourceGone",
				// Only when Icecast answers: an unreachable Icecast is its own alert.
				fmt.Sprintf("max by (station, mount) (%s) == 0 and on(station) max by (station) (%s) == 1 and on() (hour() >= %d and hour() < %d)",
					MetricSourceConnected, MetricIcecastUp, hours[0], hours[1]),
				"10m", "critical", "No source on {{ $labels.station }} {{ $labels.mount }} for 10 minutes during the day"),
			rule("IcecastUnreachable",
				fmt.Sprintf("%s == 0", MetricIcecastUp),
				"2m", "critical", "onair cannot read Icecast's status on {{ $labels.station }}: listeners are probably cut off"),
			rule("OnairDown",
				fmt.Sprintf("absent(%s)", MetricIcecastUp),
				"10m", "warning", "No onair watcher is reporting: stream alerts are blind"),
			rule("WorkloadCrashLooping",
				`increase(kube_pod_container_status_restarts_total{namespace=~"station|radio-.*|observability|platform"}[15m]) > 3`,
				"5m", "critical", "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) restarted more than 3 times in 15 minutes"),
			rule("CertificateExpiresSoon",
				`certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 24 * 3600`,
				"1h", "warning", "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in under 14 days: renewal is failing"),
			rule("NodeMemoryPressure",
				`kube_node_status_condition{condition="MemoryPressure",status="true"} == 1`,
				"5m", "critical", "Node {{ $labels.node }} is under memory pressure"),
		},
	}
}
