package observability

import (
	"encoding/json"
	"fmt"
)

// StationDashboard is the Grafana dashboard for the station: listeners and
// stream state per mount, requests and errors per host, CPU and memory per
// workload. Built in code so the metric names stay in one place.
func StationDashboard() string {
	type target struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
		RefID        string `json:"refId"`
	}
	type panel struct {
		ID         int            `json:"id"`
		Title      string         `json:"title"`
		Type       string         `json:"type"`
		GridPos    map[string]int `json:"gridPos"`
		Datasource map[string]any `json:"datasource"`
		Targets    []target       `json:"targets"`
	}
	prom := map[string]any{"type": "prometheus", "uid": "prometheus"}
	panels := []panel{}
	add := func(title, kind, expr, legend string) {
		i := len(panels)
		panels = append(panels, panel{
			ID: i + 1, Title: title, Type: kind, Datasource: prom,
			GridPos: map[string]int{"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
			Targets: []target{{Expr: expr, LegendFormat: legend, RefID: "A"}},
		})
	}
	add("Listeners per mount", "timeseries", fmt.Sprintf("sum by (station, mount) (%s)", MetricListeners), "{{station}} {{mount}}")
	add("Stream up (1) / down (0)", "state-timeline", fmt.Sprintf("max by (station, mount) (%s)", MetricSourceConnected), "{{station}} {{mount}}")
	add("Requests per second per host", "timeseries", `sum by (router) (rate(traefik_router_requests_total[5m]))`, "{{router}}")
	add("Errors (5xx) per second per host", "timeseries", `sum by (router) (rate(traefik_router_requests_total{code=~"5.."}[5m]))`, "{{router}}")
	add("CPU per workload (cores)", "timeseries", `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{namespace=~"station|radio-.*",container!=""}[5m]))`, "{{namespace}}/{{pod}}")
	add("Memory per workload", "timeseries", `sum by (namespace, pod) (container_memory_working_set_bytes{namespace=~"station|radio-.*",container!=""})`, "{{namespace}}/{{pod}}")
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
