package elasticsearchexporter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter/internal/metadata"
	"github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter/internal/metadatatest"
)

// fakeES answers _bulk requests; unit tests only (the integration tests in
// ../integrationtest use a real Elasticsearch).
type fakeES struct {
	mu       sync.Mutex
	requests [][]bulkAction // actions per request
	// respond returns the HTTP status and the per-item statuses (nil: whole-request error body).
	respond func(call int, actions []bulkAction) (int, []int)
}

type bulkAction struct {
	Index, ID string
	Doc       map[string]any
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasSuffix(r.URL.Path, "/_bulk") {
		w.WriteHeader(404)
		return
	}
	var actions []bulkAction
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var meta map[string]struct {
			Index string `json:"_index"`
			ID    string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &meta); err != nil {
			w.WriteHeader(400)
			return
		}
		c, ok := meta["create"]
		if !ok {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"only create is expected"}`)
			return
		}
		sc.Scan()
		var doc map[string]any
		_ = json.Unmarshal(sc.Bytes(), &doc)
		actions = append(actions, bulkAction{Index: c.Index, ID: c.ID, Doc: doc})
	}
	f.mu.Lock()
	call := len(f.requests)
	f.requests = append(f.requests, actions)
	f.mu.Unlock()
	status, items := f.respond(call, actions)
	w.WriteHeader(status)
	if items == nil {
		fmt.Fprint(w, `{"error":{"type":"es_rejected_execution_exception","reason":"busy"},"status":`+fmt.Sprint(status)+`}`)
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"errors":true,"items":[`)
	for i, st := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		errPart := ""
		switch {
		case st == 409:
			errPart = `,"error":{"type":"version_conflict_engine_exception","reason":"document already exists"}`
		case st >= 400:
			errPart = `,"error":{"type":"document_parsing_exception","reason":"failed to parse field [user.id] of type [long]","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"abc\""}}`
		}
		fmt.Fprintf(&b, `{"create":{"_index":%q,"_id":%q,"status":%d%s}}`, actions[i].Index, actions[i].ID, st, errPart)
	}
	b.WriteString(`]}`)
	_, _ = io.Copy(w, &b)
}

func (f *fakeES) calls() [][]bulkAction {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]bulkAction(nil), f.requests...)
}

func makeLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "alertingscout")
	sl := rl.ScopeLogs().AppendEmpty()
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(testTime.Add(time.Duration(i) * time.Millisecond)))
		lr.Body().SetStr(fmt.Sprintf("record %d", i))
		lr.Attributes().PutInt("seq", int64(i))
	}
	return ld
}

type testExporter struct {
	exp  *esExporter
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
}

func newTestExporter(t *testing.T, url string, sig signal) *testExporter {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{url}
	cfg.LogsIndex = "logs-alertingscout"
	cfg.LogstashFormat.Enabled = true
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	core, logs := observer.New(zap.InfoLevel)
	set := metadatatest.NewSettings(tel) // component id "elasticsearch", telemetry into tel
	set.Logger = zap.New(core)
	exp, err := newExporter(cfg, set, sig)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exp.shutdown(context.Background()) })
	return &testExporter{exp: exp, tel: tel, logs: logs}
}

// docCounts reads otelcol_elasticsearch_docs_processed by outcome.
func (te *testExporter) docCounts(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := te.tel.GetMetric("otelcol_elasticsearch_docs_processed")
	if err != nil {
		return out
	}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		o, _ := dp.Attributes.Value("outcome")
		out[o.AsString()] += dp.Value
	}
	return out
}

func TestPushLogsItemOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		items       []int // per-item status; nil = whole-request error
		connRefused bool
		wantErr     string // "", "retryable", "permanent"
		wantRetry   []int64
		wantCounts  map[string]int64
	}{
		{name: "all indexed", status: 200, items: []int{201, 201, 201, 201, 201},
			wantCounts: map[string]int64{"indexed": 5}},
		{name: "mixed outcomes", status: 200, items: []int{201, 409, 429, 503, 400},
			wantErr: "retryable", wantRetry: []int64{2, 3},
			wantCounts: map[string]int64{"indexed": 1, "duplicate": 1, "retried": 2, "failed": 1}},
		{name: "mapping conflict only one", status: 200, items: []int{201, 201, 400, 201, 201},
			wantCounts: map[string]int64{"indexed": 4, "failed": 1}},
		{name: "all rejected", status: 200, items: []int{400, 400, 404, 400, 400},
			wantErr: "permanent", wantCounts: map[string]int64{"failed": 5}},
		{name: "replay all duplicates", status: 200, items: []int{409, 409, 409, 409, 409},
			wantCounts: map[string]int64{"duplicate": 5}},
		{name: "whole request 429", status: 429, wantErr: "retryable", wantCounts: map[string]int64{"retried": 5}},
		{name: "whole request 503", status: 503, wantErr: "retryable", wantCounts: map[string]int64{"retried": 5}},
		{name: "whole request 400", status: 400, wantErr: "permanent", wantCounts: map[string]int64{"failed": 5}},
		{name: "connection refused", connRefused: true, wantErr: "retryable", wantCounts: map[string]int64{"retried": 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeES{respond: func(int, []bulkAction) (int, []int) { return tt.status, tt.items }}
			srv := httptest.NewServer(f)
			url := srv.URL
			if tt.connRefused {
				srv.Close()
			} else {
				defer srv.Close()
			}
			te := newTestExporter(t, url, signalLogs)
			err := te.exp.pushLogs(context.Background(), makeLogs(5))

			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
			case "permanent":
				if !consumererror.IsPermanent(err) {
					t.Fatalf("want permanent error, got %v", err)
				}
			case "retryable":
				if err == nil || consumererror.IsPermanent(err) {
					t.Fatalf("want retryable error, got %v", err)
				}
			}
			if tt.wantRetry != nil {
				var le consumererror.Logs
				if !errors.As(err, &le) {
					t.Fatalf("want consumererror.Logs with the retryable records, got %T %v", err, err)
				}
				var got []int64
				rec := le.Data().ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < rec.Len(); i++ {
					v, _ := rec.At(i).Attributes().Get("seq")
					got = append(got, v.Int())
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.wantRetry) {
					t.Errorf("retried records %v, want %v", got, tt.wantRetry)
				}
			}
			if got := te.docCounts(t); fmt.Sprint(got) != fmt.Sprint(tt.wantCounts) {
				t.Errorf("docs_processed %v, want %v", got, tt.wantCounts)
			}
			if tt.wantCounts["failed"] > 0 && tt.items != nil {
				found := false
				for _, e := range te.logs.FilterMessageSnippet("rejected a document").All() {
					if strings.Contains(e.ContextMap()["reason"].(string), "document_parsing_exception") {
						found = true
					}
				}
				if !found {
					t.Errorf("a rejected document must be logged with Elasticsearch's reason; logs: %v", te.logs.All())
				}
			}
			if !tt.connRefused {
				calls := f.calls()
				if len(calls) != 1 || len(calls[0]) != 5 {
					t.Fatalf("want one _bulk with 5 documents, got %d requests", len(calls))
				}
				for _, a := range calls[0] {
					if a.Index != "logs-alertingscout-2026.11.28" || len(a.ID) != 22 {
						t.Errorf("action index %q id %q", a.Index, a.ID)
					}
				}
			}
		})
	}
}

// TestRetryOnlyFailedItems runs the exporter through exporterhelper: the
// second _bulk must carry only the item that got a 429.
func TestRetryOnlyFailedItems(t *testing.T) {
	f := &fakeES{respond: func(call int, a []bulkAction) (int, []int) {
		st := make([]int, len(a))
		for i := range st {
			st[i] = 201
		}
		if call == 0 {
			st[1] = 429
		}
		return 200, st
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoints = []string{srv.URL}
	cfg.QueueBatchConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.InitialInterval = 10 * time.Millisecond
	cfg.BackOffConfig.MaxInterval = 10 * time.Millisecond
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = exp.Shutdown(context.Background()) }()
	if err := exp.ConsumeLogs(context.Background(), makeLogs(3)); err != nil {
		t.Fatal(err)
	}
	calls := f.calls()
	if len(calls) != 2 || len(calls[0]) != 3 || len(calls[1]) != 1 {
		t.Fatalf("want bulks of 3 then 1 documents, got %d requests", len(calls))
	}
	if calls[1][0].ID != calls[0][1].ID {
		t.Errorf("the retried document must keep its _id")
	}
}

func TestPushTraces(t *testing.T) {
	f := &fakeES{respond: func(_ int, a []bulkAction) (int, []int) { return 200, []int{201, 503} }}
	srv := httptest.NewServer(f)
	defer srv.Close()
	te := newTestExporter(t, srv.URL, signalTraces)
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < 2; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(testTraceID)
		s.SetSpanID(pcommon.SpanID{byte(i + 1)})
		s.SetName(fmt.Sprintf("span %d", i))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(testTime))
	}
	err := te.exp.pushTraces(context.Background(), td)
	var te2 consumererror.Traces
	if !errors.As(err, &te2) || te2.Data().SpanCount() != 1 {
		t.Fatalf("want the 503 span back for retry, got %v", err)
	}
	if name := te2.Data().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name(); name != "span 1" {
		t.Errorf("retried span %q", name)
	}
	a := f.calls()[0]
	if a[0].Index != "traces-generic-default-2026.11.28" || a[0].ID != testTraceID.String()+"0100000000000000" {
		t.Errorf("span action %+v", a[0])
	}
}
