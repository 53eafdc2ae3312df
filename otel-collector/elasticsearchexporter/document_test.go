package elasticsearchexporter

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	testTraceID = pcommon.TraceID([16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36})
	testSpanID  = pcommon.SpanID([8]byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7})
	testParent  = pcommon.SpanID([8]byte{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8})
	testTime    = time.Date(2026, 11, 28, 21, 30, 15, 123456789, time.UTC)
)

func testResource() pcommon.Resource {
	r := pcommon.NewResource()
	r.Attributes().PutStr("service.name", "alertingscout")
	r.Attributes().PutStr("service.version", "0.4.0")
	r.Attributes().PutStr("service.instance.id", "web-1")
	r.Attributes().PutStr("host.name", "box-7")
	r.Attributes().PutStr("deployment.environment.name", "prod")
	r.Attributes().PutStr("telemetry.sdk.name", "opentelemetry")
	r.Attributes().PutStr("telemetry.sdk.language", "rust")
	r.Attributes().PutStr("telemetry.sdk.version", "0.33.1")
	r.Attributes().PutStr("k8s.pod.name", "web-7d9f")
	return r
}

func testScope() pcommon.InstrumentationScope {
	s := pcommon.NewInstrumentationScope()
	s.SetName("alertingscout::http")
	return s
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, pretty.Bytes(), want)
	}
}

func TestLogDocumentGolden(t *testing.T) {
	tests := []struct {
		name  string
		build func(lr plog.LogRecord)
	}{
		{"log_request.json", func(lr plog.LogRecord) {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(testTime))
			lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(testTime.Add(time.Millisecond)))
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			lr.Body().SetStr("request finished")
			lr.SetTraceID(testTraceID)
			lr.SetSpanID(testSpanID)
			a := lr.Attributes()
			a.PutStr("request_id", "3f1d0a4e-7c1b-4f7e-9a59-2b9f4a1c9e11")
			a.PutStr("user.id", "u-42")
			a.PutStr("project.id", "p-7")
			a.PutStr("todo.id", "t-1001")
			a.PutStr("http.request.method", "POST")
			a.PutStr("http.route", "/projects/{id}/todos")
			a.PutInt("http.response.status_code", 201)
			a.PutDouble("http.server.duration_ms", 3.25)
			a.PutBool("cache.hit", false)
		}},
		{"log_exception_observed_time.json", func(lr plog.LogRecord) {
			// No record time (as the Rust tracing bridge sends): @timestamp is the observed time.
			lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(testTime))
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.Body().SetStr("database write failed")
			a := lr.Attributes()
			a.PutStr("exception.type", "sqlx::Error")
			a.PutStr("exception.message", "database is locked")
			a.PutStr("exception.stacktrace", "at store::insert\nat handlers::create")
			a.PutStr("event.name", "db.write")
			a.PutDouble("weird", math.Inf(1))
			s := a.PutEmptySlice("tags")
			s.AppendEmpty().SetStr("a")
			s.AppendEmpty().SetInt(2)
			m := a.PutEmptyMap("http.request.header")
			m.PutStr("user-agent", "curl/8")
			a.PutEmptyBytes("blob").FromRaw([]byte{1, 2, 3})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := plog.NewLogRecord()
			tt.build(lr)
			doc, err := encodeLog(testResource(), testScope(), lr, false)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name, doc)
		})
	}
}

func TestSpanDocumentGolden(t *testing.T) {
	span := ptrace.NewSpan()
	span.SetTraceID(testTraceID)
	span.SetSpanID(testSpanID)
	span.SetParentSpanID(testParent)
	span.SetName("POST /projects/{id}/todos")
	span.SetKind(ptrace.SpanKindServer)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(testTime))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(testTime.Add(3250 * time.Microsecond)))
	span.Status().SetCode(ptrace.StatusCodeError)
	span.Status().SetMessage("constraint violated")
	span.Attributes().PutStr("request_id", "3f1d0a4e-7c1b-4f7e-9a59-2b9f4a1c9e11")
	span.Attributes().PutInt("http.response.status_code", 500)
	span.Events().AppendEmpty().SetName("exception")
	doc, err := encodeSpan(testResource(), testScope(), span)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "span_server.json", doc)
	if id := spanDocumentID(span, doc); id != testTraceID.String()+testSpanID.String() {
		t.Errorf("span _id %q", id)
	}
}
