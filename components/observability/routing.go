package observability

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DiscordRoutingName is the AlertmanagerConfig that is Alertmanager's whole
// configuration when a Discord webhook is set.
const DiscordRoutingName = "discord-routing"

// Discord message templates (Alertmanager's Go templates over the
// notification's data): the title names the alert and the station, each line
// of the message is one alert's summary and its runbook.
const (
	discordTitle   = `[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}{{ with .CommonLabels.station }} · {{ . }}{{ end }}`
	discordMessage = `{{ range .Alerts }}{{ if eq .Status "resolved" }}Resolved: {{ end }}{{ .Annotations.summary }}
Runbook: {{ .Annotations.runbook_url }}
{{ end }}`
)

// DiscordRouting is the AlertmanagerConfig spec (monitoring.coreos.com/v1alpha1)
// that sends every alert to Discord, resolved ones too, except Watchdog, which
// fires always by design to prove the pipeline works. The webhook URL comes
// from the Secret secretName, key secretKey, in the same namespace.
func DiscordRouting(secretName, secretKey string) pulumi.Map {
	return pulumi.Map{
		"route": pulumi.Map{
			"receiver":       pulumi.String("discord"),
			"groupBy":        pulumi.ToStringArray([]string{"alertname", "station", "namespace"}),
			"groupWait":      pulumi.String("30s"),
			"groupInterval":  pulumi.String("5m"),
			"repeatInterval": pulumi.String("4h"),
			"routes": pulumi.Array{pulumi.Map{
				"matchers": pulumi.Array{pulumi.Map{"name": pulumi.String("alertname"), "matchType": pulumi.String("="), "value": pulumi.String("Watchdog")}},
				"receiver": pulumi.String("null"),
			}},
		},
		"receivers": pulumi.Array{
			pulumi.Map{"name": pulumi.String("null")},
			pulumi.Map{
				"name": pulumi.String("discord"),
				"discordConfigs": pulumi.Array{pulumi.Map{
					"apiURL":       pulumi.Map{"name": pulumi.String(secretName), "key": pulumi.String(secretKey)},
					"sendResolved": pulumi.Bool(true),
					"title":        pulumi.String(discordTitle),
					"message":      pulumi.String(discordMessage),
				}},
			},
		},
	}
}
