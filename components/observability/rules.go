package observability

import (
	"fmt"
	"strings"

	"github.com/datafruits/infra/components/backup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Metric names the station's own services export and the rules read.
const (
	// MetricSourceConnected is onair's 1/0 per mount: a source is connected (apps/onair).
	MetricSourceConnected = "onair_source_connected"
	// MetricListeners is onair's listener count per mount (apps/onair).
	MetricListeners = "onair_listeners"
	// MetricIcecastUp is onair's 1/0: its last read of Icecast's status worked (apps/onair).
	MetricIcecastUp = "onair_icecast_up"
	// MetricDeadAir is 1 while a station is on air but silent (Liquidsoap's
	// blank detection, or a fallback playing silence), else 0; label station.
	// The radio component exports it (issue 15).
	MetricDeadAir = "datafruits_dead_air"
	// MetricBackupLastSuccess is the Unix time of a backup's last successful
	// run, label backup (postgres, media): recorded from kube-state-metrics'
	// series of the nightly backup CronJobs (see Recordings; issue 17).
	MetricBackupLastSuccess = "datafruits_backup_last_success_timestamp_seconds"
	// MetricArchiverFailures counts failed archiving attempts (apps/archiver).
	MetricArchiverFailures = "archiver_failures_total"
	// MetricArchiverOldestAge is the age of the oldest unarchived recording (apps/archiver).
	MetricArchiverOldestAge = "archiver_oldest_unarchived_age_seconds"
)

// RelayMaxListeners is how many listeners one relay accepts: the radio
// component's ICECAST_MAX_CLIENTS for relays (infra's tests keep them equal).
const RelayMaxListeners = 500

// RunbookURL is where every alert's runbook section lives: docs/runbook.md,
// one "## <AlertName>" heading per alert.
const RunbookURL = "https://github.com/datafruits/infra/blob/main/docs/runbook.md"

// Rule is one alert: what it watches, when it fires and what the volunteer
// reads in Discord.
type Rule struct {
	// Name is the alert's name and its runbook heading.
	Name string
	// Expr is the PromQL condition.
	Expr string
	// For is how long Expr must hold before the alert fires (empty: at once).
	For string
	// Severity is "critical" (listeners or DJs affected now) or "warning".
	Severity string
	// Summary is the one line a volunteer reads (Go template over $labels and $value).
	Summary string
	// Threshold says in words when it fires, for the runbook and reviews.
	Threshold string
}

// RunbookAnchor is the fragment of the rule's runbook section (GitHub lowercases headings).
func (r Rule) RunbookAnchor() string { return strings.ToLower(r.Name) }

// stationFromNamespace gives kube-state-metrics and kubelet series the
// station label the station's own metrics carry: its namespace is radio-<station>.
func stationFromNamespace(expr string) string {
	return fmt.Sprintf(`label_replace(%s, "station", "$1", "namespace", "radio-(.+)")`, expr)
}

// watchedNamespaces are the namespaces whose pods a crash loop is an incident in.
const watchedNamespaces = `station|radio-.+|observability|platform`

// Rules are the alerts that matter for a radio. hours is the UTC window
// [start, end) in which a silent stream is an incident rather than the
// night's quiet.
func Rules(hours [2]int) []Rule {
	return []Rule{
		{
			Name: "StreamOffAir",
			// Only while Icecast answers: an unreachable Icecast is its own alert.
			Expr: fmt.Sprintf("max by (station, mount) (%s) == 0 and on(station) max by (station) (%s) == 1 and on() (hour() >= %d and hour() < %d)",
				MetricSourceConnected, MetricIcecastUp, hours[0], hours[1]),
			For: "10m", Severity: "critical",
			Summary:   "{{ $labels.station }} {{ $labels.mount }} has had no source for 10 minutes during scheduled hours: the station is off air",
			Threshold: fmt.Sprintf("no source on a mount for 10 min between %02d:00 and %02d:00 UTC while Icecast answers", hours[0], hours[1]),
		},
		{
			Name: "DeadAir",
			Expr: fmt.Sprintf("max by (station) (%s) == 1", MetricDeadAir),
			For:  "2m", Severity: "critical",
			Summary:   "{{ $labels.station }} is on air but silent (dead air) for 2 minutes",
			Threshold: MetricDeadAir + " = 1 for 2 min",
		},
		{
			Name: "IcecastUnreachable",
			Expr: fmt.Sprintf("max by (station) (%s) == 0", MetricIcecastUp),
			For:  "2m", Severity: "critical",
			Summary:   "onair cannot read Icecast's status on {{ $labels.station }} for 2 minutes: listeners are probably cut off",
			Threshold: MetricIcecastUp + " = 0 for 2 min",
		},
		{
			Name: "OnairDown",
			Expr: fmt.Sprintf("absent(%s)", MetricIcecastUp),
			For:  "10m", Severity: "warning",
			Summary:   "No onair watcher has reported for 10 minutes: the stream alerts are blind",
			Threshold: MetricIcecastUp + " absent for 10 min",
		},
		{
			Name: "RelaysDown",
			Expr: stationFromNamespace(`max by (namespace, deployment) (kube_deployment_status_replicas_available{namespace=~"radio-.+", deployment=~".+-relay"})`) + " == 0",
			For:  "2m", Severity: "critical",
			Summary:   "No listener relay of {{ $labels.station }} is available for 2 minutes: listeners cannot connect",
			Threshold: "0 available relay pods for 2 min",
		},
		{
			Name: "RelayUnavailable",
			Expr: stationFromNamespace(`max by (namespace, deployment) (kube_deployment_status_replicas_unavailable{namespace=~"radio-.+", deployment=~".+-relay"})`) + " > 0",
			For:  "10m", Severity: "warning",
			Summary:   "{{ $value }} listener relay(s) of {{ $labels.station }} unavailable for 10 minutes",
			Threshold: "at least 1 unavailable relay pod for 10 min",
		},
		{
			Name: "RelaysNearCapacity",
			// onair counts the listeners over all relays (issue 15); each
			// relay takes RelayMaxListeners.
			Expr: fmt.Sprintf(`sum by (station) (%s) / on(station) (%d * sum by (station) (%s)) > 0.8`,
				MetricListeners, RelayMaxListeners, stationFromNamespace(`kube_deployment_status_replicas_available{namespace=~"radio-.+", deployment=~".+-relay"}`)),
			For: "5m", Severity: "warning",
			Summary:   "{{ $labels.station }}'s listeners fill {{ $value | humanizePercentage }} of the running relays' capacity",
			Threshold: fmt.Sprintf("listeners over 80 %% of available relays × %d for 5 min", RelayMaxListeners),
		},
		{
			Name: "RelaysAtMaximum",
			// The autoscaler adds relays on CPU: at its maximum, nothing more can come.
			// on() keeps only the matched labels: station is added to the result.
			Expr: stationFromNamespace(`max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{namespace=~"radio-.+", horizontalpodautoscaler=~".+-relay"})` +
				` >= on(namespace, horizontalpodautoscaler) max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_spec_max_replicas{namespace=~"radio-.+", horizontalpodautoscaler=~".+-relay"})`),
			For: "15m", Severity: "warning",
			Summary:   "{{ $labels.station }}'s listener relays have run at their maximum count for 15 minutes: new listeners may be refused",
			Threshold: "relay autoscaler at its maximum replicas for 15 min",
		},
		{
			Name:      "ArchiverFailing",
			Expr:      stationFromNamespace(fmt.Sprintf(`sum by (namespace) (increase(%s[30m]))`, MetricArchiverFailures)) + " >= 3",
			Severity:  "warning",
			Summary:   "The archiver of {{ $labels.station }} failed {{ $value }} times in 30 minutes: shows are not reaching the archive",
			Threshold: "3 or more archiving failures within 30 min",
		},
		{
			Name: "ArchiverBacklog",
			Expr: stationFromNamespace(fmt.Sprintf(`max by (namespace) (%s)`, MetricArchiverOldestAge)) + " > 3600",
			For:  "15m", Severity: "warning",
			Summary:   "A finished recording of {{ $labels.station }} has waited over an hour to be archived",
			Threshold: "oldest unarchived recording older than 1 h, for 15 min",
		},
		{
			Name: "RecordingsVolumeFilling",
			Expr: stationFromNamespace(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{persistentvolumeclaim=~".+-recordings"} / kubelet_volume_stats_capacity_bytes{persistentvolumeclaim=~".+-recordings"})`) + " > 0.8",
			For:  "10m", Severity: "warning",
			Summary:   "The recordings volume of {{ $labels.station }} is {{ $value | humanizePercentage }} full",
			Threshold: "recordings volume more than 80 % full for 10 min",
		},
		{
			Name: "HighErrorRate",
			// Quiet hours see a request a minute: one error there is not an incident.
			Expr: `sum by (service) (rate(traefik_service_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(traefik_service_requests_total[5m])) > 0.05` +
				` and on(service) sum by (service) (rate(traefik_service_requests_total[5m])) > 0.1`,
			For: "10m", Severity: "warning",
			Summary:   "{{ $labels.service }} answers {{ $value | humanizePercentage }} of requests with 5xx",
			Threshold: "over 5 % of a service's requests are 5xx for 10 min, at over 0.1 request/s",
		},
		{
			Name: "CertificateExpiresSoon",
			Expr: `certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 24 * 3600`,
			For:  "1h", Severity: "warning",
			Summary:   "Certificate {{ $labels.namespace }}/{{ $labels.name }} expires in under 14 days: renewal is failing",
			Threshold: "certificate expires in under 14 days, for 1 h",
		},
		{
			Name: "DatabaseConnectionsNearLimit",
			Expr: `sum by (instance) (pg_stat_activity_count) / max by (instance) (pg_settings_max_connections) > 0.8`,
			For:  "10m", Severity: "warning",
			Summary:   "Postgres {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its connection limit",
			Threshold: "over 80 % of max_connections in use for 10 min",
		},
		{
			Name: "BackupTooOld",
			Expr: fmt.Sprintf("time() - max by (backup) (%s) > 26 * 3600", MetricBackupLastSuccess),
			For:  "5m", Severity: "critical",
			Summary:   "The last successful {{ $labels.backup }} backup is over 26 hours old",
			Threshold: "last successful backup older than 26 h",
		},
		{
			Name: "NodeMemoryPressure",
			Expr: `kube_node_status_condition{condition="MemoryPressure", status="true"} == 1`,
			For:  "5m", Severity: "critical",
			Summary:   "Node {{ $labels.node }} is under memory pressure: pods are being evicted",
			Threshold: "MemoryPressure condition true for 5 min",
		},
		{
			Name: "WorkloadCrashLooping",
			Expr: fmt.Sprintf(`increase(kube_pod_container_status_restarts_total{namespace=~"%s"}[15m]) > 3`, watchedNamespaces),
			For:  "5m", Severity: "critical",
			Summary:   "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) restarted more than 3 times in 15 minutes",
			Threshold: "more than 3 restarts in 15 min, for 5 min",
		},
		{
			Name: "AlertmanagerFailingToSend",
			Expr: `sum by (integration) (rate(alertmanager_notifications_failed_total[10m])) > 0`,
			For:  "10m", Severity: "critical",
			Summary:   "Alertmanager fails to send {{ $labels.integration }} notifications: alerts are not reaching Discord",
			Threshold: "any failed notification, sustained for 10 min",
		},
		{
			Name: "PrometheusFailingToSend",
			Expr: `sum by (pod) (rate(prometheus_notifications_errors_total[10m])) > 0 or max by (pod) (prometheus_notifications_alertmanagers_discovered) < 1`,
			For:  "10m", Severity: "critical",
			Summary:   "Prometheus cannot hand alerts to Alertmanager: no alert reaches Discord",
			Threshold: "any error sending to Alertmanager, or no Alertmanager discovered, for 10 min",
		},
	}
}

// Recording is a recording rule: Prometheus stores Expr's result as the series Record.
type Recording struct {
	Record, Expr string
}

// BackupCronJobs matches the nightly backups' CronJobs (components/backup names
// them backup-<backup>).
const BackupCronJobs = `cronjob=~"` + backup.CronJobPrefix + `.+"`

// Recordings are the series the program derives from others'. The nightly
// backups are CronJobs: a run lives for minutes and exports nothing itself;
// kube-state-metrics (which kube-prometheus-stack runs) exports each
// CronJob's status.lastSuccessfulTime, which the CronJob controller sets when
// a Job succeeds, and movein succeeds only when every dump and copy was written
// and verified. A CronJob that never succeeded counts from its creation, so
// BackupTooOld also fires 26 h after a backup that never worked was deployed.
func Recordings() []Recording {
	return []Recording{{
		Record: MetricBackupLastSuccess,
		Expr: fmt.Sprintf(`max by (backup) (label_replace(kube_cronjob_status_last_successful_time{%s} or kube_cronjob_created{%s}, "backup", "$1", "cronjob", "%s(.+)"))`,
			BackupCronJobs, BackupCronJobs, backup.CronJobPrefix),
	}}
}

// RecordingRules is the recording rule group as Helm values for
// kube-prometheus-stack's additionalPrometheusRulesMap.
func RecordingRules() pulumi.Map {
	var rules pulumi.Array
	for _, r := range Recordings() {
		rules = append(rules, pulumi.Map{"record": pulumi.String(r.Record), "expr": pulumi.String(r.Expr)})
	}
	return pulumi.Map{"name": pulumi.String("datafruits-recorded"), "rules": rules}
}

// AlertRules is the rule group as Helm values for kube-prometheus-stack's
// additionalPrometheusRulesMap.
func AlertRules(hours [2]int) pulumi.Map {
	var rules pulumi.Array
	for _, r := range Rules(hours) {
		rule := pulumi.Map{
			"alert":  pulumi.String(r.Name),
			"expr":   pulumi.String(r.Expr),
			"labels": pulumi.StringMap{"severity": pulumi.String(r.Severity)},
			"annotations": pulumi.StringMap{
				"summary":     pulumi.String(r.Summary),
				"runbook_url": pulumi.String(RunbookURL + "#" + r.RunbookAnchor()),
			},
		}
		if r.For != "" {
			rule["for"] = pulumi.String(r.For)
		}
		rules = append(rules, rule)
	}
	return pulumi.Map{"name": pulumi.String("datafruits"), "rules": rules}
}
