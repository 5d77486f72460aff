package recording

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Duration reads how long a recording plays from its headers (MP3 with or without
// a Xing/Info/VBRI header, Ogg Vorbis and Opus, FLAC, WAV). It reads at most a few
// hundred KiB and reports false when the format is unknown or the headers do not say.
func Duration(path string) (time.Duration, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false
	}
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mp3":
		return mp3Duration(f, head, st.Size())
	case ".ogg", ".oga", ".opus":
		return oggDuration(f, head, st.Size())
	case ".flac":
		return flacDuration(head)
	case ".wav":
		return wavDuration(head)
	}
	return 0, false
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

var mp3Bitrates = [2][16]int{ // kbit/s, layer III; [0] MPEG-1, [1] MPEG-2/2.5
	{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},
	{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
}
var mp3Rates = map[byte][3]int{3: {44100, 48000, 32000}, 2: {22050, 24000, 16000}, 0: {11025, 12000, 8000}}

func mp3Duration(f *os.File, head []byte, size int64) (time.Duration, bool) {
	start := int64(0)
	if len(head) >= 10 && string(head[:3]) == "ID3" {
		tagSize := int64(head[6])<<21 | int64(head[7])<<14 | int64(head[8])<<7 | int64(head[9])
		start = 10 + tagSize
		buf := make([]byte, 16<<10)
		n, _ := f.ReadAt(buf, start)
		head = buf[:n]
	}
	for i := 0; i+4 <= len(head); i++ {
		h := head[i:]
		if h[0] != 0xFF || h[1]&0xE0 != 0xE0 {
			continue
		}
		version, layer := (h[1]>>3)&3, (h[1]>>1)&3
		bitrateIndex, rateIndex := h[2]>>4, (h[2]>>2)&3
		rates, ok := mp3Rates[version]
		if version == 1 || layer != 1 || !ok || rateIndex == 3 || bitrateIndex == 0 || bitrateIndex == 15 {
			continue
		}
		mpeg1 := version == 3
		table, samplesPerFrame := 1, 576.0
		if mpeg1 {
			table, samplesPerFrame = 0, 1152
		}
		rate := float64(rates[rateIndex])
		mono := h[3]>>6 == 3
		side := map[[2]bool]int{{true, false}: 32, {true, true}: 17, {false, false}: 17, {false, true}: 9}[[2]bool{mpeg1, mono}]
		if x := 4 + side; i+x+12 <= len(head) {
			if tag := string(head[i+x : i+x+4]); (tag == "Xing" || tag == "Info") && head[i+x+7]&1 == 1 {
				frames := binary.BigEndian.Uint32(head[i+x+8:])
				return seconds(float64(frames) * samplesPerFrame / rate), frames > 0
			}
		}
		if i+36+18 <= len(head) && string(head[i+36:i+40]) == "VBRI" {
			frames := binary.BigEndian.Uint32(head[i+36+14:])
			return seconds(float64(frames) * samplesPerFrame / rate), frames > 0
		}
		bitrate := float64(mp3Bitrates[table][bitrateIndex]) * 1000
		audioBytes := size - start - int64(i)
		return seconds(float64(audioBytes) * 8 / bitrate), audioBytes > 0
	}
	return 0, false
}

func oggDuration(f *os.File, head []byte, size int64) (time.Duration, bool) {
	if len(head) < 64 || string(head[:4]) != "OggS" {
		return 0, false
	}
	var rate float64
	var preSkip int64
	switch body := head[28:]; {
	case bytes.HasPrefix(body, []byte("\x01vorbis")) && len(body) >= 16:
		rate = float64(binary.LittleEndian.Uint32(body[12:]))
	case bytes.HasPrefix(body, []byte("OpusHead")) && len(body) >= 12:
		rate, preSkip = 48000, int64(binary.LittleEndian.Uint16(body[10:]))
	default:
		return 0, false
	}
	tailSize := min(size, 64<<10)
	tail := make([]byte, tailSize)
	if _, err := f.ReadAt(tail, size-tailSize); err != nil && err != io.EOF {
		return 0, false
	}
	last := bytes.LastIndex(tail, []byte("OggS"))
	if last < 0 || last+14 > len(tail) || rate == 0 {
		return 0, false
	}
	granule := int64(binary.LittleEndian.Uint64(tail[last+6:])) - preSkip
	return seconds(float64(granule) / rate), granule > 0
}

func flacDuration(head []byte) (time.Duration, bool) {
	if len(head) < 42 || string(head[:4]) != "fLaC" || head[4]&0x7F != 0 {
		return 0, false
	}
	info := head[8:]
	rate := uint64(info[10])<<12 | uint64(info[11])<<4 | uint64(info[12])>>4
	samples := uint64(info[13]&0x0F)<<32 | uint64(binary.BigEndian.Uint32(info[14:]))
	if rate == 0 || samples == 0 {
		return 0, false
	}
	return seconds(float64(samples) / float64(rate)), true
}

func wavDuration(head []byte) (time.Duration, bool) {
	if len(head) < 12 || string(head[:4]) != "RIFF" || string(head[8:12]) != "WAVE" {
		return 0, false
	}
	var byteRate uint32
	for p := 12; p+8 <= len(head); {
		id, n := string(head[p:p+4]), int(binary.LittleEndian.Uint32(head[p+4:]))
		switch {
		case id == "fmt " && p+20 <= len(head):
			byteRate = binary.LittleEndian.Uint32(head[p+16:])
		case id == "data" && byteRate > 0:
			return seconds(float64(n) / float64(byteRate)), n > 0
		}
		p += 8 + n + n%2
	}
	return 0, false
}
