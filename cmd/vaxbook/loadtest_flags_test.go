package main

import (
	"io"
	"strings"
	"testing"
)

func TestLoadtestFlags_RemoteTargetNeedsAllowRemote(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"listppv", "--url", "http://127.0.0.1:8080"}, ""},
		{[]string{"listppv", "--url", "http://localhost:8080"}, ""},
		{[]string{"listppv", "--url", "http://[::1]:8080"}, ""},
		{[]string{"listppv", "--url", "https://api.example.run.app"}, "--allow-remote"},
		{[]string{"listppv", "--url", "https://api.example.run.app", "--allow-remote"}, ""},
		{[]string{"listppv", "--url", "ftp://127.0.0.1"}, "http(s)"},
		{[]string{"listppv", "--duration", "0s"}, "bound the run"},
		{[]string{"surge", "--cancel-share", "0.1"}, ""},
		{[]string{"surge", "--cancel-share", "1.5"}, "--cancel-share"},
		{[]string{"surge", "--cancel-share", "-0.1"}, "--cancel-share"},
		{[]string{"flood"}, "unknown scenario"},
		{[]string{"--rate", "5"}, "usage"},
	} {
		_, err := parseLoadtestFlags(tc.args, func(string) string { return "" }, io.Discard)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: got %v, want no error", tc.args, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: got %v, want an error mentioning %q", tc.args, err, tc.wantErr)
		}
	}
}

func TestLoadtestFlags_DefaultsBoundEveryRun(t *testing.T) {
	f, err := parseLoadtestFlags([]string{"surge", "--max-requests", "500"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if f.people != 500 || f.duration <= 0 || f.workers != 1000 || f.cancelShare != 0 {
		t.Errorf("got people %d, duration %s, workers %d, cancel share %g; want 500 people, a duration, 1000 in flight, no cancellations",
			f.people, f.duration, f.workers, f.cancelShare)
	}
	f, _ = parseLoadtestFlags([]string{"listppv", "--rate", "0"}, func(string) string { return "" }, io.Discard)
	if f.workers != 64 {
		t.Errorf("closed loop workers: got %d, want 64", f.workers)
	}
}
