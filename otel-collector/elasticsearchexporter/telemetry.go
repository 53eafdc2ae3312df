package elasticsearchexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Self-telemetry instrument names, exposed under these exact names by the
// Collector's Prometheus reader (v0.165 adds no _total or unit suffix).
const (
	metricDocsProcessed = "otelcol_elasticsearch_docs_processed"
	metricBulkRequests  = "otelcol_elasticsearch_bulk_requests"
	metricBulkDuration  = "otelcol_elasticsearch_bulk_duration"
	scopeName           = "github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter"
)

type telemetry struct {
	docs     metric.Int64Counter
	requests metric.Int64Counter
	duration metric.Float64Histogram
	outcomes map[outcome]metric.MeasurementOption
	base     []attribute.KeyValue // exporter id and signal on every point
}

func newTelemetry(set component.TelemetrySettings, id component.ID, signal string) (*telemetry, error) {
	m := set.MeterProvider.Meter(scopeName)
	t := &telemetry{
		outcomes: map[outcome]metric.MeasurementOption{},
		base:     []attribute.KeyValue{attribute.String("exporter", id.String()), attribute.String("signal", signal)},
	}
	var err error
	if t.docs, err = m.Int64Counter(metricDocsProcessed,
		metric.WithDescription("Documents processed by the elasticsearch exporter, by outcome (indexed, duplicate, retried, failed)."),
		metric.WithUnit("{document}")); err != nil {
		return nil, err
	}
	if t.requests, err = m.Int64Counter(metricBulkRequests,
		metric.WithDescription("_bulk requests sent, by outcome (success: HTTP 2xx read; error: transport error or HTTP error status)."),
		metric.WithUnit("{request}")); err != nil {
		return nil, err
	}
	if t.duration, err = m.Float64Histogram(metricBulkDuration,
		metric.WithDescription("Latency of _bulk requests, from send until the response was read."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)); err != nil {
		return nil, err
	}
	for _, o := range []outcome{outcomeIndexed, outcomeDuplicate, outcomeRetried, outcomeFailed} {
		t.outcomes[o] = metric.WithAttributeSet(attribute.NewSet(append([]attribute.KeyValue{attribute.String("outcome", string(o))}, t.base...)...))
	}
	return t, nil
}

func (t *telemetry) addDocs(ctx context.Context, o outcome, n int) {
	if n > 0 {
		t.docs.Add(ctx, int64(n), t.outcomes[o])
	}
}

func (t *telemetry) addFailedDoc(ctx context.Context, errType string) {
	t.docs.Add(ctx, 1, metric.WithAttributes(append([]attribute.KeyValue{attribute.String("outcome", string(outcomeFailed)), attribute.String("error.type", errType)}, t.base...)...))
}

func (t *telemetry) recordBulk(ctx context.Context, ok bool, took time.Duration) {
	o := "success"
	if !ok {
		o = "error"
	}
	attrs := metric.WithAttributes(append([]attribute.KeyValue{attribute.String("outcome", o)}, t.base...)...)
	t.requests.Add(ctx, 1, attrs)
	t.duration.Record(ctx, took.Seconds(), attrs)
}
