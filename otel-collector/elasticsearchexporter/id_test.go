package elasticsearchexporter

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func baseRecord() plog.LogRecord {
	lr := plog.NewLogRecord()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(testTime))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(testTime))
	lr.SetSeverityText("INFO")
	lr.Body().SetStr("hello")
	lr.SetTraceID(testTraceID)
	lr.SetSpanID(testSpanID)
	lr.Attributes().PutStr("request_id", "r-1")
	lr.Attributes().PutStr("user.id", "u-1")
	return lr
}

func idOf(t *testing.T, lr plog.LogRecord, dynamic bool) string {
	t.Helper()
	doc, err := encodeLog(testResource(), testScope(), lr, dynamic)
	if err != nil {
		t.Fatal(err)
	}
	return logDocumentID(lr, doc, dynamic)
}

func TestLogDocumentIDStable(t *testing.T) {
	base := idOf(t, baseRecord(), false)
	if len(base) != 22 {
		t.Fatalf("id %q should be 22 characters", base)
	}
	// Same content, attributes inserted in another order: same id.
	lr := baseRecord()
	lr.Attributes().Clear()
	lr.Attributes().PutStr("user.id", "u-1")
	lr.Attributes().PutStr("request_id", "r-1")
	if got := idOf(t, lr, false); got != base {
		t.Errorf("attribute order changed the id: %s vs %s", got, base)
	}
	// Copy (as a replay from the persistent queue): same id.
	cp := plog.NewLogRecord()
	baseRecord().CopyTo(cp)
	if got := idOf(t, cp, false); got != base {
		t.Errorf("copy changed the id")
	}

	changes := []struct {
		name   string
		mutate func(lr plog.LogRecord)
	}{
		{"timestamp", func(lr plog.LogRecord) {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(testTime.Add(time.Nanosecond)))
		}},
		{"observed timestamp", func(lr plog.LogRecord) {
			lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(testTime.Add(time.Second)))
		}},
		{"severity", func(lr plog.LogRecord) { lr.SetSeverityText("WARN") }},
		{"body", func(lr plog.LogRecord) { lr.Body().SetStr("hello!") }},
		{"trace id", func(lr plog.LogRecord) { lr.SetTraceID(pcommon.TraceID{1}) }},
		{"span id", func(lr plog.LogRecord) { lr.SetSpanID(pcommon.SpanID{1}) }},
		{"attribute value", func(lr plog.LogRecord) { lr.Attributes().PutStr("request_id", "r-2") }},
		{"extra attribute", func(lr plog.LogRecord) { lr.Attributes().PutInt("seq", 1) }},
	}
	seen := map[string]string{base: "base"}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			lr := baseRecord()
			c.mutate(lr)
			id := idOf(t, lr, false)
			if prev, dup := seen[id]; dup {
				t.Errorf("changing the %s gave the same id as %s", c.name, prev)
			}
			seen[id] = c.name
		})
	}
}

func TestLogDynamicID(t *testing.T) {
	lr := baseRecord()
	lr.Attributes().PutStr(documentIDAttribute, "my-id-1")
	if got := idOf(t, lr, true); got != "my-id-1" {
		t.Errorf("dynamic id: got %q", got)
	}
	doc, _ := encodeLog(testResource(), testScope(), lr, true)
	if string(doc) == "" || contains(doc, documentIDAttribute) {
		t.Errorf("the id attribute must not be in the document: %s", doc)
	}
	// Disabled: the attribute is an ordinary field and the id is a hash.
	if got := idOf(t, lr, false); got == "my-id-1" || len(got) != 22 {
		t.Errorf("dynamic id disabled: got %q", got)
	}
	// Enabled but absent: hash.
	if got := idOf(t, baseRecord(), true); len(got) != 22 {
		t.Errorf("fallback id %q", got)
	}
}

func contains(b []byte, s string) bool {
	return len(s) > 0 && len(b) >= len(s) && (string(b) != "" && stringIndex(string(b), s) >= 0)
}

func stringIndex(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
