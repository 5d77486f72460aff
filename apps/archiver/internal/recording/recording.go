// Package recording turns a recording's file name into its archive identity:
// start time, show, object key and content type.
package recording

import (
	"fmt"
	"hash/fnv"
	"mime"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Info is what a recording's name and file tell about it.
type Info struct {
	// Name is the file name as Liquidsoap wrote it.
	Name string
	// Show is the slug of the show, "unscheduled" when the name has none.
	Show string
	// DJ is the username in a name Liquidsoap gives live sets,
	// <station>-<dj>-<timestamp>.<ext>; empty for other names.
	DJ string
	// StartedAt is the broadcast start from the name, else the file's modification time less its duration.
	StartedAt time.Time
	// StartFromName says StartedAt came from the file name.
	StartFromName bool
	// Key is the object key: station/YYYY/MM/DD/show/file.
	Key string
	// ContentType is the MIME type served to listeners.
	ContentType string
}

// timestampPattern matches the strftime patterns Liquidsoap recordings are usually named with,
// like 2024-05-01-20-30-00, 20240501_203000 or 2024-05-01T20:30:00.
var timestampPattern = regexp.MustCompile(`(\d{4})-?(\d{2})-?(\d{2})[T_ -]?(\d{2})[-:h_]?(\d{2})[-:m_]?(\d{2})`)

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// audioTypes maps recording extensions to content types; mime's table depends on the host's files.
var audioTypes = map[string]string{
	".mp3":  "audio/mpeg",
	".ogg":  "audio/ogg",
	".oga":  "audio/ogg",
	".opus": "audio/ogg",
	".flac": "audio/flac",
	".wav":  "audio/wav",
	".m4a":  "audio/mp4",
	".aac":  "audio/aac",
	".webm": "audio/webm",
}

// IsCandidate says whether a directory entry name may be a recording: hidden files and
// names marking a file in progress (.part, .tmp) are never touched.
func IsCandidate(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	lower := strings.ToLower(name)
	return !strings.HasSuffix(lower, ".part") && !strings.HasSuffix(lower, ".tmp")
}

// Describe derives a recording's identity from its path relative to the watch directory,
// its modification time and, when known, its duration. A first directory level, if any, names the show.
func Describe(station, relPath string, modTime time.Time, duration time.Duration) Info {
	name := filepath.Base(relPath)
	ext := strings.ToLower(filepath.Ext(name))
	stem := strings.TrimSuffix(name, filepath.Ext(name))

	info := Info{Name: name, ContentType: ContentType(ext)}
	showSource := stem
	if dir := filepath.Dir(relPath); dir != "." {
		showSource = strings.Split(dir, string(filepath.Separator))[0]
	}
	if m := timestampPattern.FindStringSubmatchIndex(stem); m != nil {
		s := stem[m[0]:m[1]]
		digits := regexp.MustCompile(`\d+`).FindAllString(s, -1)
		joined := strings.Join(digits, "")
		if t, err := time.ParseInLocation("20060102150405", joined, time.UTC); err == nil {
			info.StartedAt, info.StartFromName = t, true
			if showSource == stem {
				showSource = stem[:m[0]] + " " + stem[m[1]:]
			}
			if prefix := station + "-"; m[0] > len(prefix)+1 && strings.HasPrefix(stem, prefix) && stem[m[0]-1] == '-' {
				info.DJ = stem[len(prefix) : m[0]-1]
			}
		}
	}
	if !info.StartFromName {
		info.StartedAt = modTime.Add(-duration).UTC().Truncate(time.Second)
	}
	info.Show = slug(strings.TrimPrefix(slug(showSource), station))
	if info.Show == "" {
		info.Show = "unscheduled"
	}
	info.Key = fmt.Sprintf("%s/%s/%s/%s%s", station, info.StartedAt.Format("2006/01/02"), info.Show, fileSlug(stem), extSlug(ext))
	return info
}

// ContentType returns the MIME type of a recording extension (".mp3").
func ContentType(ext string) string {
	if t, ok := audioTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

func slug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// fileSlug makes a key-safe file stem. When the slug lost characters of the name,
// a short hash of the original name keeps two odd names that slug alike apart.
func fileSlug(stem string) string {
	s := slug(stem)
	if s == stem && s != "" {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(stem))
	return strings.TrimPrefix(fmt.Sprintf("%s-%08x", s, h.Sum32()), "-")
}

func extSlug(ext string) string {
	s := slug(ext)
	if s == "" {
		return ""
	}
	return "." + s
}
