package integrationtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/alertingscout/alertingscout/otel-collector/integrationtest/collectorconfig"
)

// What the redaction test sends besides the corpus: values masked because of
// their key (blocked_key_patterns) or their type (redact_all_types), and our
// ids, which must survive untouched.
const (
	redactRequestID = "0192f0a4-7c1e-7b3a-9f1d-2b6c8e4a1d3f"
	redactUserID    = "u_4f1c2a9e0b7d3c5a8e6f1b2c3d4e5f60"
	redactPath      = "/projects/123/todos"
	redactRoute     = "/projects/{id}/todos"
	redactAuthValue = "Basic YWxpY2U6Y29ycmVjdC1ob3JzZQ=="
	redactOwner     = "ops-team@example.org"
	redactCardInt   = int64(4111111111111111)
	redactDuration  = 3.4567891234567891
	redactSliceMail = "carol@example.net"
)

// redactionAttrs fills a record's or span's attributes: corpus.N = the N-th
// secret value, plain.N = the N-th plain value, and the keyed/typed cases.
func redactionAttrs(a pcommon.Map) {
	a.PutInt("seq", 0)
	for i, v := range collectorconfig.SecretValues {
		a.PutStr(fmt.Sprintf("corpus.%d", i), v.In)
	}
	for i, v := range collectorconfig.PlainValues {
		a.PutStr(fmt.Sprintf("plain.%d", i), v.In)
	}
	a.PutStr("request_id", redactRequestID)
	a.PutStr("user.id", redactUserID)
	a.PutStr("url.path", redactPath)
	a.PutStr("http.route", redactRoute)
	a.PutStr("http.request.method", "POST")
	a.PutInt("http.response.status_code", 201)
	a.PutStr("error.type", "validation")
	a.PutStr("http.request.header.authorization", redactAuthValue)
	a.PutInt("project.id", redactCardInt) // a user-controlled path id, an int
	a.PutInt("todo.id", 42)
	a.PutDouble("duration_ms", redactDuration)
	tags := a.PutEmptySlice("tags")
	tags.AppendEmpty().SetStr("ok")
	tags.AppendEmpty().SetStr(redactSliceMail)
}

func redactionResource(r pcommon.Resource) {
	r.Attributes().PutStr("service.name", "alertingscout")
	r.Attributes().PutStr("service.instance.id", "it-redaction")
	r.Attributes().PutStr("deployment.owner", redactOwner)
}

// allSecrets are the raw values that must appear nowhere in a document.
func allSecrets() []string {
	out := []string{redactAuthValue, redactOwner, fmt.Sprint(redactCardInt), redactSliceMail}
	for _, v := range collectorconfig.SecretValues {
		out = append(out, v.SecretParts()...)
	}
	return out
}

// stringsOf walks a decoded document and returns its string values by field
// (nested values under dotted paths), after JSON decoding, so escapes such
// as \u0026 do not hide a raw secret.
func stringsOf(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case string:
		out[prefix] = x
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			stringsOf(p, e, out)
		}
	case []any:
		for i, e := range x {
			stringsOf(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	case float64, bool, nil:
		out[prefix] = fmt.Sprint(x)
	}
}

// One log record and one span whose attributes (and log body, and resource)
// carry every secret of the corpus go through the real Collector, with the
// redaction processor exactly as config.yaml configures it, into the real
// Elasticsearch: the documents hold "****" and none of the raw secrets, while
// trace/span ids, request ids, routes and every plain value are untouched.
func TestRedactionEndToEnd(t *testing.T) {
	shipped, err := collectorconfig.Load("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	overlay, err := shipped.RedactionOverlay()
	if err != nil {
		t.Fatal(err)
	}
	overlayPath := filepath.Join(t.TempDir(), "redaction-from-config.yaml")
	if err := os.WriteFile(overlayPath, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	logsIdx := uniqueName(t, "logs", "redaction")
	tracesIdx := uniqueName(t, "traces", "redaction")
	c := newCollector(t, collectorOpts{
		config: "collector.yaml", extraConfigs: []string{overlayPath},
		logsIndex: logsIdx, tracesIndex: tracesIdx, batchMin: 1, batchMax: 100,
	})
	c.start()

	var body []string
	for _, v := range collectorconfig.SecretValues {
		body = append(body, v.In)
	}
	body = append(body, "request "+redactRequestID+" on "+redactPath+" finished")
	wantBody := strings.Join(body, " | ")
	now := time.Now().UTC().Add(-time.Second)
	traceID, spanID := traceIDFor("redact01", 0), spanIDFor(0)

	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	redactionResource(rl.Resource())
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	lr.SetSeverityText("WARN")
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetTraceID(traceID)
	lr.SetSpanID(spanID)
	lr.Body().SetStr(wantBody)
	redactionAttrs(lr.Attributes())
	if err := sendLogs(c.otlpPort, ld); err != nil {
		t.Fatal(err)
	}

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	redactionResource(rs.Resource())
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(traceID)
	sp.SetSpanID(spanID)
	sp.SetName("POST " + redactRoute)
	sp.SetKind(ptrace.SpanKindServer)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(3 * time.Millisecond)))
	redactionAttrs(sp.Attributes())
	// Known gap at v0.165.1 (README, docs/security.md): the status message is
	// not processed. Pinned below so a change upstream shows up here.
	const statusMsg = "lookup failed for status-gap@example.com"
	sp.Status().SetCode(ptrace.StatusCodeError)
	sp.Status().SetMessage(statusMsg)
	if err := sendTraces(c.otlpPort, td); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		signal, pattern string
	}{{"log", logsIdx + "-*"}, {"span", tracesIdx + "-*"}} {
		t.Run(tc.signal, func(t *testing.T) {
			if n := waitCount(t, tc.pattern, 1, 30*time.Second); n != 1 {
				t.Fatalf("%d documents in %s, want 1", n, tc.pattern)
			}
			doc := esHits(t, tc.pattern, 1)[0]
			raw, _ := json.Marshal(doc)
			t.Logf("document: %s", raw)

			// Our ids and routes survive untouched.
			exact := map[string]any{
				"trace.id": traceID.String(), "span.id": spanID.String(),
				"request_id": redactRequestID, "user.id": redactUserID, "url.path": redactPath,
				"http.route": redactRoute, "http.request.method": "POST",
				"http.response.status_code": float64(201), "error.type": "validation",
				"todo.id": float64(42), "duration_ms": redactDuration,
				"service.name": "alertingscout", "service.node.name": "it-redaction",
			}
			for i, v := range collectorconfig.PlainValues {
				exact[fmt.Sprintf("plain.%d", i)] = v.In
			}
			for k, want := range exact {
				if doc[k] != want {
					t.Errorf("%s = %#v, want %#v (untouched)", k, doc[k], want)
				}
			}

			// Each secret attribute is masked, by value, key or type.
			for i, v := range collectorconfig.SecretValues {
				k := fmt.Sprintf("corpus.%d", i)
				got, _ := doc[k].(string)
				if !strings.Contains(got, collectorconfig.Mask) {
					t.Errorf("%s (%s) = %q, not masked", k, v.Name, got)
				}
			}
			for k, want := range map[string]string{
				"http.request.header.authorization": collectorconfig.Mask, // key pattern
				"project.id":                        collectorconfig.Mask, // int, redact_all_types
				"deployment.owner":                  collectorconfig.Mask, // resource attribute
				"tags":                              `["ok","****"]`,      // slice, by its JSON form
			} {
				if doc[k] != want {
					t.Errorf("%s = %#v, want %q", k, doc[k], want)
				}
			}
			if tc.signal == "log" {
				msg, _ := doc["message"].(string)
				if !strings.Contains(msg, collectorconfig.Mask) || !strings.Contains(msg, redactRequestID) || !strings.Contains(msg, redactPath) {
					t.Errorf("message not masked, or ids lost: %q", msg)
				}
				if doc["redaction.body.masked.count"] != float64(1) {
					t.Errorf("redaction.body.masked.count = %#v, want 1", doc["redaction.body.masked.count"])
				}
			} else if doc["status.message"] != statusMsg {
				t.Errorf("status.message = %#v: the processor now touches span status messages; update README.md and docs/security.md", doc["status.message"])
			}
			// summary: info counts what was masked (every corpus value, plus
			// the key-, type- and slice-masked attributes).
			if want := float64(len(collectorconfig.SecretValues) + 3); doc["redaction.masked.count"] != want {
				t.Errorf("redaction.masked.count = %#v, want %v", doc["redaction.masked.count"], want)
			}

			// No raw secret anywhere in the document (plain.* hold look-alikes
			// on purpose and are checked for equality above).
			fields := map[string]string{}
			stringsOf("", doc, fields)
			keys := make([]string, 0, len(fields))
			for k := range fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if strings.HasPrefix(k, "plain.") || k == "status.message" {
					continue
				}
				for _, s := range allSecrets() {
					if strings.Contains(fields[k], s) {
						t.Errorf("%s still holds the raw %q: %q", k, s, fields[k])
					}
				}
			}
		})
	}
}
