package elasticsearchexporter

import (
	"crypto/sha256"
	"encoding/base64"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The document _id must be the same every time the same record is exported,
// so that a replay (retried bulk, persistent queue after a crash) ends in a
// 409 on `create` instead of a second document.

// logDocumentID returns the explicit id (logs_dynamic_id) or a content hash.
// The hash covers the encoded document, which holds the record's trace and
// span ids, record and observed timestamps, severity, body, all record and
// resource attributes and the scope name; the map keys are sorted by
// encoding/json so the bytes are stable.
func logDocumentID(lr plog.LogRecord, doc []byte, dynamicID bool) string {
	if dynamicID {
		if v, ok := lr.Attributes().Get(documentIDAttribute); ok && v.AsString() != "" {
			return v.AsString()
		}
	}
	return contentID(doc)
}

// spanDocumentID is the trace id and span id, which identify a span; a hash
// of the document if either is missing.
func spanDocumentID(span ptrace.Span, doc []byte) string {
	if span.TraceID().IsEmpty() || span.SpanID().IsEmpty() {
		return contentID(doc)
	}
	return span.TraceID().String() + span.SpanID().String()
}

// contentID is 128 bits of SHA-256 in URL-safe base64 (22 characters).
func contentID(doc []byte) string {
	sum := sha256.Sum256(doc)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}
