package elasticsearchexporter

import (
	"encoding/json"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The document shape follows the ECS mode of the contrib exporter: fixed ECS
// fields, resource attributes renamed to ECS where ECS has a name for them,
// every other resource and record attribute at the document root under its
// own (dotted) name. Keys are written flat ("log.level"), which Elasticsearch
// maps exactly like nested objects.

// timestampLayout always writes nine fraction digits so documents (and
// therefore _ids) are byte-stable.
const timestampLayout = "2006-01-02T15:04:05.000000000Z"

// resourceECS renames resource attributes to their ECS fields (the names the
// contrib exporter's ECS mode uses).
var resourceECS = map[string]string{
	"service.instance.id":         "service.node.name",
	"deployment.environment":      "service.environment",
	"deployment.environment.name": "service.environment",
	"cloud.platform":              "cloud.service.name",
	"container.image.tags":        "container.image.tag",
	"host.arch":                   "host.architecture",
	"os.name":                     "host.os.name",
	"os.type":                     "host.os.platform",
	"os.description":              "host.os.full",
	"os.version":                  "host.os.version",
	"process.executable.path":     "process.executable",
	"process.runtime.name":        "service.runtime.name",
	"process.runtime.version":     "service.runtime.version",
	"k8s.deployment.name":         "kubernetes.deployment.name",
	"k8s.namespace.name":          "kubernetes.namespace",
	"k8s.node.name":               "kubernetes.node.name",
	"k8s.pod.name":                "kubernetes.pod.name",
	"k8s.pod.uid":                 "kubernetes.pod.uid",
	"k8s.container.name":          "kubernetes.container.name",
	"k8s.cluster.name":            "orchestrator.cluster.name",
}

// attributeECS renames record / span attributes to their ECS fields.
var attributeECS = map[string]string{
	"exception.type":       "error.type",
	"exception.message":    "error.message",
	"exception.stacktrace": "error.stack_trace",
	"exception.escaped":    "event.error.exception.handled",
	"event.name":           "event.action",
}

type document map[string]any

func formatTimestamp(ts pcommon.Timestamp) string {
	return ts.AsTime().UTC().Format(timestampLayout)
}

func addResource(doc document, res pcommon.Resource) {
	var sdkName, sdkLang, sdkVersion string
	res.Attributes().Range(func(k string, v pcommon.Value) bool {
		switch k {
		case "telemetry.sdk.name":
			sdkName = v.AsString()
			return true
		case "telemetry.sdk.language":
			sdkLang = v.AsString()
			return true
		case "telemetry.sdk.version":
			sdkVersion = v.AsString()
			return true
		case "host.name":
			// ECS has both; keep host.name and add host.hostname.
			doc["host.hostname"] = valueToJSON(v)
		}
		if ecs, ok := resourceECS[k]; ok {
			k = ecs
		}
		doc[k] = valueToJSON(v)
		return true
	})
	if sdkName != "" || sdkLang != "" {
		// agent.name is "<sdk>/<language>", "otlp" when the SDK is unnamed.
		name := sdkName
		if name == "" {
			name = "otlp"
		}
		if sdkLang != "" {
			name += "/" + sdkLang
		}
		doc["agent.name"] = name
	}
	if sdkVersion != "" {
		doc["agent.version"] = sdkVersion
	}
}

func addAttributes(doc document, attrs pcommon.Map, skip string) {
	attrs.Range(func(k string, v pcommon.Value) bool {
		if k == skip {
			return true
		}
		if ecs, ok := attributeECS[k]; ok {
			k = ecs
		}
		doc[k] = valueToJSON(v)
		return true
	})
}

// valueToJSON converts an attribute value to something encoding/json writes
// faithfully; non-finite floats (which JSON cannot carry) become strings.
func valueToJSON(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return v.AsString()
		}
		return f
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw() // base64 in JSON
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]any, s.Len())
		for i := 0; i < s.Len(); i++ {
			out[i] = valueToJSON(s.At(i))
		}
		return out
	case pcommon.ValueTypeMap:
		out := make(map[string]any, v.Map().Len())
		v.Map().Range(func(k string, mv pcommon.Value) bool {
			out[k] = valueToJSON(mv)
			return true
		})
		return out
	default:
		return nil
	}
}

// logTimestamp is the record time, else the observed time, else now.
func logTimestamp(lr plog.LogRecord) time.Time {
	if lr.Timestamp() != 0 {
		return lr.Timestamp().AsTime()
	}
	if lr.ObservedTimestamp() != 0 {
		return lr.ObservedTimestamp().AsTime()
	}
	return time.Now()
}

// encodeLog builds the ECS document of one log record.
func encodeLog(res pcommon.Resource, scope pcommon.InstrumentationScope, lr plog.LogRecord, dynamicID bool) ([]byte, error) {
	doc := make(document, 16+lr.Attributes().Len())
	addResource(doc, res)
	skip := ""
	if dynamicID {
		skip = documentIDAttribute
	}
	addAttributes(doc, lr.Attributes(), skip)

	if lr.Timestamp() != 0 {
		doc["@timestamp"] = formatTimestamp(lr.Timestamp())
	} else if lr.ObservedTimestamp() != 0 {
		doc["@timestamp"] = formatTimestamp(lr.ObservedTimestamp())
	}
	if lr.ObservedTimestamp() != 0 {
		doc["event.created"] = formatTimestamp(lr.ObservedTimestamp())
	}
	if body := lr.Body(); body.Type() != pcommon.ValueTypeEmpty {
		doc["message"] = body.AsString()
	}
	if lr.SeverityText() != "" {
		doc["log.level"] = lr.SeverityText()
	} else if lr.SeverityNumber() != plog.SeverityNumberUnspecified {
		doc["log.level"] = lr.SeverityNumber().String()
	}
	if lr.SeverityNumber() != plog.SeverityNumberUnspecified {
		doc["event.severity"] = int64(lr.SeverityNumber())
	}
	if tid := lr.TraceID(); !tid.IsEmpty() {
		doc["trace.id"] = tid.String()
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		doc["span.id"] = sid.String()
	}
	if scope.Name() != "" {
		doc["log.logger"] = scope.Name()
	}
	return json.Marshal(doc)
}

// encodeSpan builds the document of one span.
func encodeSpan(res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) ([]byte, error) {
	doc := make(document, 16+span.Attributes().Len())
	addResource(doc, res)
	addAttributes(doc, span.Attributes(), "")
	doc["@timestamp"] = formatTimestamp(span.StartTimestamp())
	doc["end_timestamp"] = formatTimestamp(span.EndTimestamp())
	if tid := span.TraceID(); !tid.IsEmpty() {
		doc["trace.id"] = tid.String()
	}
	if sid := span.SpanID(); !sid.IsEmpty() {
		doc["span.id"] = sid.String()
	}
	if pid := span.ParentSpanID(); !pid.IsEmpty() {
		doc["parent.id"] = pid.String()
	}
	doc["name"] = span.Name()
	doc["span.kind"] = span.Kind().String()
	dur := int64(0)
	if span.EndTimestamp() > span.StartTimestamp() {
		dur = int64(span.EndTimestamp() - span.StartTimestamp())
	}
	doc["duration"] = dur // nanoseconds
	doc["status.code"] = span.Status().Code().String()
	if msg := span.Status().Message(); msg != "" {
		doc["status.message"] = msg
	}
	if scope.Name() != "" {
		doc["span.scope.name"] = scope.Name()
	}
	if span.Events().Len() > 0 {
		doc["span.events.count"] = int64(span.Events().Len())
	}
	if span.Links().Len() > 0 {
		doc["span.links.count"] = int64(span.Links().Len())
	}
	return json.Marshal(doc)
}
