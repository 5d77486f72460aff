package observability

import (
	"encoding/json"
	"fmt"
)

// StationDashboard is the Grafana dashboard a volunteer reads at a glance:
// the top row answers "are we on air, and is it audible?", the next ones
// listeners, relays, the archive, errors, certificates and backups; CPU and
// memory per workload last. Built in code so the metric names stay in one
// place with the alert rules.
func StationDashboard() string {
	type target struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
		RefID        string `json:"refId"`
	}
	type panel struct {
		ID          int            `json:"id"`
		Title       string         `json:"title"`
		Description string         `json:"description,omitempty"`
		Type        string         `json:"type"`
		GridPos     map[string]int `json:"gridPos"`
		Datasource  map[string]any `json:"datasource"`
		Targets     []target       `json:"targets"`
		FieldConfig map[string]any `json:"fieldConfig,omitempty"`
	}
	prom := map[string]any{"type": "prometheus", "uid": "prometheus"}
	panels := []panel{}
	x, y := 0, 0
	add := func(title, description, kind string, width int, expr, legend string, fieldConfig map[string]any) {
		if x+width > 24 {
			x, y = 0, y+8
		}
		panels = append(panels, panel{
			ID: len(panels) + 1, Title: title, Description: description, Type: kind, Datasource: prom,
			GridPos: map[string]int{"h": 8, "w": width, "x": x, "y": y},
			Targets: []target{{Expr: expr, LegendFormat: legend, RefID: "A"}}, FieldConfig: fieldConfig,
		})
		x += width
	}
	// states maps 1/0 series to words and colours a volunteer reads without a legend.
	states := func(one, oneColor, zero, zeroColor string) map[string]any {
		return map[string]any{"defaults": map[string]any{"mappings": []any{map[string]any{
			"type": "value", "options": map[string]any{
				"1": map[string]any{"text": one, "color": oneColor},
				"0": map[string]any{"text": zero, "color": zeroColor},
			},
		}}}}
	}
	unit := func(u string, thresholds ...any) map[string]any {
		d := map[string]any{"unit": u}
		if len(thresholds) > 0 {
			d["thresholds"] = map[string]any{"mode": "absolute", "steps": thresholds}
		}
		return map[string]any{"defaults": d}
	}
	step := func(color string, value any) map[string]any { return map[string]any{"color": color, "value": value} }

	add("On air", "A source is connected to the mount (a DJ or the playlist).", "stat", 6,
		fmt.Sprintf("max by (station, mount) (%s)", MetricSourceConnected), "{{station}} {{mount}}", states("ON AIR", "green", "OFF AIR", "red"))
	add("On air for", "Time since the current source connected.", "stat", 6,
		"max by (station, mount) (onair_source_connected_seconds)", "{{station}} {{mount}}", unit("s"))
	add("Dead air", "On air but silent (see the DeadAir runbook).", "stat", 6,
		fmt.Sprintf("max by (station) (%s)", MetricDeadAir), "{{station}}", states("SILENT", "red", "AUDIBLE", "green"))
	add("Icecast reachable", "onair can read Icecast's status.", "stat", 6,
		fmt.Sprintf("max by (station) (%s)", MetricIcecastUp), "{{station}}", states("UP", "green", "DOWN", "red"))
	add("Listeners per mount", "", "timeseries", 12,
		fmt.Sprintf("sum by (station, mount) (%s)", MetricListeners), "{{station}} {{mount}}", nil)
	add("Relay saturation", "Listener relays running, as a share of the autoscaler's maximum (each relay takes 500 listeners).", "timeseries", 12,
		`max by (namespace) (kube_horizontalpodautoscaler_status_current_replicas{horizontalpodautoscaler=~".+-relay"}) / max by (namespace) (kube_horizontalpodautoscaler_spec_max_replicas{horizontalpodautoscaler=~".+-relay"})`,
		"{{namespace}}", unit("percentunit", step("green", nil), step("orange", 0.8), step("red", 1)))
	add("Recordings archived (24 h)", "", "stat", 6,
		`sum by (namespace) (increase(archiver_recordings_archived_total[24h]))`, "{{namespace}}", nil)
	add("Archiver failures (24 h)", "", "stat", 6,
		fmt.Sprintf(`sum by (namespace) (increase(%s[24h]))`, MetricArchiverFailures), "{{namespace}}", unit("none", step("green", nil), step("red", 1)))
	add("Recordings waiting", "Recordings not yet archived, including the one being written.", "stat", 6,
		`max by (namespace) (archiver_backlog_recordings)`, "{{namespace}}", nil)
	add("Recordings volume used", "", "gauge", 6,
		`max by (namespace) (kubelet_volume_stats_used_bytes{persistentvolumeclaim=~".+-recordings"} / kubelet_volume_stats_capacity_bytes{persistentvolumeclaim=~".+-recordings"})`,
		"{{namespace}}", unit("percentunit", step("green", nil), step("orange", 0.8), step("red", 0.9)))
	add("Errors (5xx) per host", "Share of each router's requests answered with 5xx.", "timeseries", 12,
		`sum by (router) (rate(traefik_router_requests_total{code=~"5.."}[5m])) / sum by (router) (rate(traefik_router_requests_total[5m]))`,
		"{{router}}", unit("percentunit"))
	add("Requests per second per host", "", "timeseries", 12,
		`sum by (router) (rate(traefik_router_requests_total[5m]))`, "{{router}}", unit("reqps"))
	add("Certificate days left", "", "stat", 12,
		`min by (namespace, name) ((certmanager_certificate_expiration_timestamp_seconds - time()) / 86400)`,
		"{{namespace}}/{{name}}", unit("d", step("red", nil), step("orange", 14), step("green", 30)))
	add("Hours since last backup", "", "stat", 12,
		fmt.Sprintf(`(time() - max by (backup) (%s)) / 3600`, MetricBackupLastSuccess), "{{backup}}", unit("h", step("green", nil), step("red", 26)))
	add("CPU per workload (cores)", "", "timeseries", 12,
		`sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace=~"station|radio-.*",container!=""}[5m]))`, "{{namespace}}/{{pod}}", nil)
	add("Memory per workload", "", "timeseries", 12,
		`sum by (namespace, pod) (container_memory_working_set_bytes{namespace=~"station|radio-.*",container!=""})`, "{{namespace}}/{{pod}}", unit("bytes"))
	b, err := json.MarshalIndent(map[string]any{
		"title": "datafruits station", "uid": "datafruits-station", "schemaVersion": 39,
		"time": map[string]string{"from": "now-24h", "to": "now"}, "refresh": "1m",
		"panels": panels,
	}, "", "  ")
	if err != nil {
		panic(err) // static data: cannot fail
	}
	return string(b)
}
