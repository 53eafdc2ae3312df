package integrationtest

import (
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
