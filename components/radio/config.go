package radio

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

// The configuration the station's daemons run: one template each, rendered by one pure
// function from typed values. The component puts the bytes in ConfigMaps; the radio
// suite (scripts/test/radio.sh) runs the real daemons on the bytes the program recorded.

//go:embed templates/*.tmpl templates/icecast-start.sh
var templateFS embed.FS

var templates = template.Must(template.New("radio").Option("missingkey=error").ParseFS(templateFS, "templates/*.tmpl"))

// IcecastStartScript fills Icecast's password placeholders from the mounted Secret files and
// starts Icecast (Icecast reads neither environment variables nor included files).
var IcecastStartScript = mustRead("templates/icecast-start.sh")

// LiquidsoapVersion is the Liquidsoap the script is tested with (Debian bookworm's package);
// the deployed image must carry the same minor version (see TestedLiquidsoapMinor).
const LiquidsoapVersion = "2.1.3"

// TestedLiquidsoapMinor is the minor version every Liquidsoap image tag must carry: the
// script's syntax changed in 2.2 (harbor auth, HTTP responses) and again in 2.4.
const TestedLiquidsoapMinor = "2.1"

// DeadAirMetric is the gauge Liquidsoap exports: 1 while the output has been silent for the
// dead-air window.
const DeadAirMetric = "datafruits_dead_air"

// Icecast is the typed configuration of one Icecast server.
type Icecast struct {
	// Station names the station (location, comments).
	Station string
	// Hostname is the public host in generated URLs.
	Hostname string
	// AdminEmail is shown on Icecast's status pages.
	AdminEmail string
	// BindAddress and Port are where Icecast listens.
	BindAddress string
	Port        int
	// MaxClients bounds listeners plus sources; MaxSources bounds mounts.
	MaxClients, MaxSources int
	// SourceTimeoutSeconds drops a silent source connection.
	SourceTimeoutSeconds int
	// BurstSize is what a new listener receives at once, in bytes.
	BurstSize int
	// ShareDir holds Icecast's web/ and admin/ (Debian and Ubuntu: /usr/share/icecast2).
	ShareDir string
	// LogDir is a writable folder (logs themselves go to standard error).
	LogDir string
	// Master is the source server a relay relays; nil for the source server.
	Master *IcecastMaster
}

// IcecastMaster is the source server a relay mirrors every mount of.
type IcecastMaster struct {
	// Host and Port reach the source server.
	Host string
	Port int
	// UpdateIntervalSeconds is how often the relay asks for the list of mounts.
	UpdateIntervalSeconds int
}

// Liquidsoap is the typed configuration of the station's Liquidsoap script.
type Liquidsoap struct {
	// Station names the mounts (<station>.mp3, <station>.ogg) and the harbor mount.
	Station string
	// LiquidsoapVersion is the version the script is written for (set by RenderLiquidsoap).
	LiquidsoapVersion string
	// BindAddress is where the harbor, the RTMP input and the metrics listen.
	BindAddress string
	// HarborPort takes DJs' source clients; HarborBufferSeconds/HarborMaxSeconds buffer them.
	HarborPort                            int
	HarborBufferSeconds, HarborMaxSeconds int
	// IcecastHost and IcecastPort reach the source Icecast.
	IcecastHost string
	IcecastPort int
	// APIURL is the API's in-cluster base URL; APIHost the Host header that selects the radio.
	APIURL, APIHost  string
	APITimeoutMillis int
	// RecordingsDir is where live sets are recorded (the archiver's watch folder).
	RecordingsDir string
	// ReconnectWindowSeconds: the same DJ back within it continues the set.
	ReconnectWindowSeconds int
	// RTMPPort, RTMPApp and RTMPStream are where the video server pushes the VJ's stream.
	RTMPPort            int
	RTMPApp, RTMPStream string
	// MetricsPort serves /metrics with the dead-air gauge.
	MetricsPort int
	// DeadAirSeconds of output below DeadAirThresholdDB raise DeadAirMetric.
	DeadAirSeconds, DeadAirThresholdDB int
	// DeadAirMetric is the gauge's name (set by RenderLiquidsoap).
	DeadAirMetric string
	// MP3Bitrate (kbit/s) and VorbisQuality (0-10 as a decimal) set the encoders.
	MP3Bitrate    int
	VorbisQuality string
}

// Video is the typed configuration of the video server's nginx-rtmp.
type Video struct {
	// BindAddress, RTMPPort and HTTPPort are where nginx listens.
	BindAddress        string
	RTMPPort, HTTPPort int
	// App is the RTMP application VJs publish to.
	App string
	// PublishAuthURL is called on every publish (the API's dj_login, stream key).
	PublishAuthURL string
	// RunDir is writable: pid, temp folders and the HLS segments under hls/.
	RunDir string
	// HLSFragmentSeconds and HLSPlaylistSeconds shape the HLS output.
	HLSFragmentSeconds, HLSPlaylistSeconds int
	// LiquidsoapHost, LiquidsoapRTMPPort, LiquidsoapApp and LiquidsoapStream are where the stream is pushed.
	LiquidsoapHost                  string
	LiquidsoapRTMPPort              int
	LiquidsoapApp, LiquidsoapStream string
}

// RenderIcecast renders icecast.xml for the source server or, with Master set, a relay.
func RenderIcecast(c Icecast) ([]byte, error) {
	if c.Port == 0 || c.BindAddress == "" || c.ShareDir == "" || c.LogDir == "" {
		return nil, fmt.Errorf("icecast: Port, BindAddress, ShareDir and LogDir are required")
	}
	return render("icecast.xml.tmpl", c)
}

// RenderLiquidsoap renders the station's Liquidsoap script.
func RenderLiquidsoap(c Liquidsoap) ([]byte, error) {
	c.LiquidsoapVersion, c.DeadAirMetric = LiquidsoapVersion, DeadAirMetric
	if c.Station == "" || c.APIURL == "" || c.APIHost == "" || c.RecordingsDir == "" {
		return nil, fmt.Errorf("liquidsoap: Station, APIURL, APIHost and RecordingsDir are required")
	}
	return render("radio.liq.tmpl", c)
}

// RenderVideo renders the video server's nginx.conf.
func RenderVideo(c Video) ([]byte, error) {
	if c.RunDir == "" || c.LiquidsoapHost == "" || c.PublishAuthURL == "" {
		return nil, fmt.Errorf("video: RunDir, LiquidsoapHost and PublishAuthURL are required")
	}
	return render("nginx.conf.tmpl", c)
}

func render(name string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

func mustRead(name string) string {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}
