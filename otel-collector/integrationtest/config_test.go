package integrationtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alertingscout/alertingscout/otel-collector/integrationtest/collectorconfig"
)

// The built Collector lists our exporter and rejects an unknown key at start.
func TestCollectorConfigValidation(t *testing.T) {
	out, err := exec.Command(collectorBin, "components").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "name: elasticsearch") {
		t.Fatalf("`components` does not list the elasticsearch exporter: %v\n%s", err, out)
	}
	cfg := mustAbs(filepath.Join("testdata", "collector-unknown-key.yaml"))
	out, err = exec.Command(collectorBin, "validate", "--config", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("a config with an unknown key was accepted:\n%s", out)
	}
	if !strings.Contains(string(out), "invalid keys: index") {
		t.Errorf("unexpected error:\n%s", out)
	}
}

// The built Collector has the redaction processor and accepts both shipped
// configs (their structure and patterns: collectorconfig's tests).
func TestShippedConfigsValidate(t *testing.T) {
	out, err := exec.Command(collectorBin, "components").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "name: redaction") {
		t.Fatalf("`components` does not list the redaction processor: %v\n%s", err, out)
	}
	for _, name := range collectorconfig.Shipped {
		cfg := filepath.Join(collectorconfig.Dir(), name)
		if out, err := exec.Command(collectorBin, "validate", "--config", cfg).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}

// config.yaml's ELASTICSEARCH_ENDPOINT holds one URL or every node of a
// cluster, comma-separated (cargo xtask up --es-nodes; docs/scaling.md): the
// built Collector splits it into the exporter's endpoints list, which the
// exporter validates one by one (a bad second element is named).
func TestShippedConfigEndpointList(t *testing.T) {
	cfg := filepath.Join(collectorconfig.Dir(), "config.yaml")
	cases := []struct {
		name, endpoint string
		wantErr        string // "" = valid
	}{
		{"default single node", "", ""},
		{"one node", "http://127.0.0.1:9200", ""},
		{"three nodes", "http://127.0.0.1:9200,http://127.0.0.1:9201,http://127.0.0.1:9202", ""},
		{"second element split and checked", "http://127.0.0.1:9200,ftp://127.0.0.1:9201", `"ftp://127.0.0.1:9201" must use http or https`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(collectorBin, "validate", "--config", cfg)
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "ELASTICSEARCH_ENDPOINT=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			if tc.endpoint != "" { // unset: the config's default
				cmd.Env = append(cmd.Env, "ELASTICSEARCH_ENDPOINT="+tc.endpoint)
			}
			out, err := cmd.CombinedOutput()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("rejected: %v\n%s", err, out)
			case tc.wantErr != "" && (err == nil || !strings.Contains(string(out), tc.wantErr)):
				t.Errorf("want an error naming %s, got %v\n%s", tc.wantErr, err, out)
			}
		})
	}
}
