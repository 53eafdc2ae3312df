package elasticsearchexporter

import (
	"context"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter/internal/metadatatest"
)

// TestTelemetryNamesAndAttributes pins the self-metrics as dashboards and
// alert rules see them: the generated assertions check the instrument names
// (otelcol_elasticsearch_docs_processed, _bulk_requests, _bulk_duration),
// units and kinds; the data points check every attribute set.
func TestTelemetryNamesAndAttributes(t *testing.T) {
	type points struct {
		docs     []metricdata.DataPoint[int64]
		requests []metricdata.DataPoint[int64]
	}
	attrs := func(signal string, kv ...attribute.KeyValue) attribute.Set {
		return attribute.NewSet(append(kv, attribute.String("exporter", "elasticsearch"), attribute.String("signal", signal))...)
	}
	outcome := func(o string) attribute.KeyValue { return attribute.String("outcome", o) }
	errType := func(e string) attribute.KeyValue { return attribute.String("error.type", e) }

	tests := []struct {
		name   string
		signal string
		status int
		items  []int
		want   points
	}{
		{name: "logs, every item outcome", signal: "logs", status: 200, items: []int{201, 409, 429, 503, 400},
			want: points{
				docs: []metricdata.DataPoint[int64]{
					{Attributes: attrs("logs", outcome("indexed")), Value: 1},
					{Attributes: attrs("logs", outcome("duplicate")), Value: 1},
					{Attributes: attrs("logs", outcome("retried")), Value: 2},
					{Attributes: attrs("logs", outcome("failed"), errType("document_parsing_exception")), Value: 1},
				},
				requests: []metricdata.DataPoint[int64]{{Attributes: attrs("logs", outcome("success")), Value: 1}},
			}},
		{name: "logs, whole request rejected", signal: "logs", status: 403,
			want: points{
				docs:     []metricdata.DataPoint[int64]{{Attributes: attrs("logs", outcome("failed"), errType("http_403")), Value: 5}},
				requests: []metricdata.DataPoint[int64]{{Attributes: attrs("logs", outcome("error")), Value: 1}},
			}},
		{name: "logs, credentials refused (retried, never dropped)", signal: "logs", status: 401,
			want: points{
				docs:     []metricdata.DataPoint[int64]{{Attributes: attrs("logs", outcome("retried")), Value: 5}},
				requests: []metricdata.DataPoint[int64]{{Attributes: attrs("logs", outcome("error")), Value: 1}},
			}},
		{name: "traces", signal: "traces", status: 200, items: []int{201, 201},
			want: points{
				docs:     []metricdata.DataPoint[int64]{{Attributes: attrs("traces", outcome("indexed")), Value: 2}},
				requests: []metricdata.DataPoint[int64]{{Attributes: attrs("traces", outcome("success")), Value: 1}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&fakeES{respond: func(int, []bulkAction) (int, []int) { return tt.status, tt.items }})
			defer srv.Close()
			te := newTestExporter(t, srv.URL, signalFor(tt.signal))
			if tt.signal == "traces" {
				_ = te.exp.pushTraces(context.Background(), makeSpans(len(tt.items)))
			} else {
				_ = te.exp.pushLogs(context.Background(), makeLogs(5))
			}
			metadatatest.AssertEqualElasticsearchDocsProcessed(t, te.tel, tt.want.docs, metricdatatest.IgnoreTimestamp())
			metadatatest.AssertEqualElasticsearchBulkRequests(t, te.tel, tt.want.requests, metricdatatest.IgnoreTimestamp())
			durations := make([]metricdata.HistogramDataPoint[float64], len(tt.want.requests))
			for i, p := range tt.want.requests {
				durations[i] = metricdata.HistogramDataPoint[float64]{Attributes: p.Attributes, Count: 1,
					Bounds: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}}
			}
			metadatatest.AssertEqualElasticsearchBulkDuration(t, te.tel, durations,
				metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreValue())
		})
	}
}

func signalFor(name string) signal {
	if name == "traces" {
		return signalTraces
	}
	return signalLogs
}

func makeSpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(testTraceID)
		s.SetSpanID(pcommon.SpanID{byte(i + 1)})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(testTime))
	}
	return td
}
