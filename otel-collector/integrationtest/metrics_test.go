package integrationtest

// The Collector's own metrics, read with the Prometheus project's text
// exposition parser (github.com/prometheus/common/expfmt).

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metrics scrapes the Collector's own Prometheus endpoint (text exposition
// format). The text is returned as is (for logs); it must parse.
func (c *collector) metrics() string {
	res, err := httpClient.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.metricPort))
	if err != nil {
		c.t.Fatalf("scraping collector metrics: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if _, err := parseExposition(string(b)); err != nil {
		c.t.Fatalf("collector metrics do not parse as Prometheus text: %v", err)
	}
	return string(b)
}

// parseExposition parses Prometheus text exposition with the Prometheus
// project's own parser.
func parseExposition(text string) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(text))
}

// metricSum adds the samples of a metric whose labels include every given
// label="value" pair. name is a counter, gauge or untyped family, or a
// histogram's name_count / name_sum. text comes from metrics(), which already
// checked that it parses.
func metricSum(text, name string, labels ...string) float64 {
	families, err := parseExposition(text)
	if err != nil {
		panic(fmt.Sprintf("metricSum: %v", err))
	}
	want := map[string]string{}
	for _, l := range labels {
		k, quoted, _ := strings.Cut(l, "=")
		v, err := strconv.Unquote(quoted)
		if err != nil {
			panic(fmt.Sprintf("metricSum: label matcher %q is not name=\"value\"", l))
		}
		want[k] = v
	}
	family, part := name, ""
	if _, ok := families[name]; !ok {
		for _, suffix := range []string{"_count", "_sum"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				family, part = base, suffix
			}
		}
	}
	sum := 0.0
outer:
	for _, m := range families[family].GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue outer
			}
		}
		switch {
		case m.Histogram != nil && part == "_count":
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Histogram != nil && part == "_sum":
			sum += m.GetHistogram().GetSampleSum()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// TestMetricSum reads a scrape of the Collector (testdata/collector-metrics.prom,
// trimmed from a real one) the way the integration tests do.
func TestMetricSum(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "collector-metrics.prom"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"otelcol_elasticsearch_docs_processed", nil, 5249 + 6815 + 3},
		{"otelcol_elasticsearch_docs_processed", []string{`outcome="indexed"`}, 5249 + 6815},
		{"otelcol_elasticsearch_docs_processed", []string{`outcome="indexed"`, `signal="traces"`}, 6815},
		{"otelcol_elasticsearch_docs_processed", []string{`outcome="failed"`, `error_type="document_parsing_exception"`}, 2},
		{"otelcol_elasticsearch_docs_processed", []string{`outcome="fail"`}, 0}, // exact values, not substrings
		{"otelcol_elasticsearch_docs_processed", []string{`outcome="retried"`}, 0},
		{"otelcol_elasticsearch_bulk_requests", nil, 228 + 227},
		{"otelcol_elasticsearch_bulk_duration_count", nil, 228 + 227},
		{"otelcol_elasticsearch_bulk_duration_count", []string{`signal="logs"`}, 228},
		{"otelcol_elasticsearch_bulk_duration_sum", []string{`signal="logs"`}, 8.5},
		{"otelcol_exporter_queue_size", []string{`exporter="elasticsearch"`}, 12},
		{"otelcol_not_there", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name+"{"+strings.Join(tt.labels, ",")+"}", func(t *testing.T) {
			if got := metricSum(text, tt.name, tt.labels...); got != tt.want {
				t.Errorf("metricSum(%s %v) = %v, want %v", tt.name, tt.labels, got, tt.want)
			}
		})
	}
	if _, err := parseExposition("otelcol_x{a=\"b\" 1\n"); err == nil {
		t.Errorf("a malformed scrape must not parse")
	}
}
