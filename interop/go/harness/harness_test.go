package harness

import (
	"bytes"
	"testing"
)

func TestParseListeningAddress(t *testing.T) {
	cases := map[string]string{
		"The Name Server boot success. serializeType=JSON, listening on 127.0.0.1:40123": "127.0.0.1:40123",
		"listening on 127.0.0.1:9876 (apache-V4_9_7)":                                    "127.0.0.1:9876",
		"listening on 127.0.0.1:9876.":                                                   "127.0.0.1:9876",
		"booting":                                                                        "",
		"listening on nowhere":                                                           "",
	}
	for line, want := range cases {
		if got := ParseListeningAddress(line); got != want {
			t.Errorf("ParseListeningAddress(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	in := &Command{Code: 105, Language: "JAVA", Version: 409, Opaque: 7, ExtFields: map[string]string{"topic": "T"}, Body: []byte("xyz")}
	frame, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ReadFrame(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	if out.Code != 105 || out.Opaque != 7 || out.ExtFields["topic"] != "T" || string(out.Body) != "xyz" {
		t.Fatalf("round trip changed the command: %+v", out)
	}
}

func TestBinaryHeaderDecode(t *testing.T) {
	// code 0, language JAVA, version 409, opaque 3, flag 1, remark "ok", one ext entry k=v
	h := []byte{0, 0, 0, 0x01, 0x99, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 'o', 'k', 0, 0, 0, 8, 0, 1, 'k', 0, 0, 0, 1, 'v'}
	frame := []byte{0, 0, 0, byte(4 + len(h)), 1, 0, 0, byte(len(h))}
	frame = append(frame, h...)
	c, err := ReadFrame(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 409 || c.Opaque != 3 || !c.IsResponse() || c.Remark != "ok" || c.ExtFields["k"] != "v" {
		t.Fatalf("bad decode: %+v", c)
	}
}
