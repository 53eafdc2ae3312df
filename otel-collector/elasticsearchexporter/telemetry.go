package elasticsearchexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter/internal/metadata"
)

// telemetry records the exporter's self-metrics, declared in metadata.yaml and
// built by the generated TelemetryBuilder. The Collector's Prometheus reader
// exposes them as otelcol_elasticsearch_docs_processed,
// otelcol_elasticsearch_bulk_requests and otelcol_elasticsearch_bulk_duration
// (dashboards and alert rules use these names). Every point carries the
// exporter's component id and its signal.
type telemetry struct {
	tb       *metadata.TelemetryBuilder
	outcomes map[outcome]metric.MeasurementOption // docs_processed, by outcome
	base     []attribute.KeyValue                 // exporter id and signal on every point
}

func newTelemetry(set component.TelemetrySettings, id component.ID, sig signal) (*telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	t := &telemetry{
		tb:       tb,
		outcomes: map[outcome]metric.MeasurementOption{},
		base:     []attribute.KeyValue{attribute.String("exporter", id.String()), attribute.String("signal", sig.name)},
	}
	for _, o := range []outcome{outcomeIndexed, outcomeDuplicate, outcomeRetried, outcomeFailed} {
		t.outcomes[o] = metric.WithAttributeSet(t.attrs(attribute.String("outcome", string(o))))
	}
	return t, nil
}

// attrs is the base attributes plus kv.
func (t *telemetry) attrs(kv ...attribute.KeyValue) attribute.Set {
	return attribute.NewSet(append(kv, t.base...)...)
}

func (t *telemetry) addDocs(ctx context.Context, o outcome, n int) {
	if n > 0 {
		t.tb.ElasticsearchDocsProcessed.Add(ctx, int64(n), t.outcomes[o])
	}
}

func (t *telemetry) addFailedDocs(ctx context.Context, errType string, n int) {
	if n > 0 {
		t.tb.ElasticsearchDocsProcessed.Add(ctx, int64(n), metric.WithAttributeSet(t.attrs(
			attribute.String("outcome", string(outcomeFailed)), attribute.String("error.type", errType))))
	}
}

func (t *telemetry) recordBulk(ctx context.Context, ok bool, took time.Duration) {
	o := "success"
	if !ok {
		o = "error"
	}
	attrs := metric.WithAttributeSet(t.attrs(attribute.String("outcome", o)))
	t.tb.ElasticsearchBulkRequests.Add(ctx, 1, attrs)
	t.tb.ElasticsearchBulkDuration.Record(ctx, took.Seconds(), attrs)
}

func (t *telemetry) shutdown() {
	t.tb.Shutdown()
}
