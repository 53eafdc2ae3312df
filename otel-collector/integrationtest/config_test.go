package integrationtest

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
