package elasticsearchexporter

import (
	"errors"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status int
		want   outcome
	}{
		{200, outcomeIndexed}, {201, outcomeIndexed}, {299, outcomeIndexed},
		{409, outcomeDuplicate},
		{429, outcomeRetried}, {500, outcomeRetried}, {503, outcomeRetried},
		{400, outcomeFailed}, {403, outcomeFailed}, {404, outcomeFailed}, {0, outcomeFailed},
	}
	for _, tt := range tests {
		if got := classifyStatus(tt.status); got != tt.want {
			t.Errorf("status %d: %q, want %q", tt.status, got, tt.want)
		}
	}
}

func TestErrorType(t *testing.T) {
	tests := []struct{ reason, want string }{
		{"document_parsing_exception: failed to parse", "document_parsing_exception"},
		{"index_not_found_exception: no such index (caused by x: y)", "index_not_found_exception"},
		{"", "unknown"},
		{": no type", "unknown"},
	}
	for _, tt := range tests {
		if got := errorType(tt.reason); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.reason, got, tt.want)
		}
	}
}

func TestFinish(t *testing.T) {
	partial := errors.New("partial")
	tests := []struct {
		name         string
		sum          bulkSummary
		encodeFailed int
		want         string // "nil", "partial", "permanent"
	}{
		{"all indexed", bulkSummary{indexed: 3}, 0, "nil"},
		{"some failed, some indexed", bulkSummary{indexed: 2, failed: 1}, 0, "nil"},
		{"some unencodable, rest indexed", bulkSummary{indexed: 2}, 1, "nil"},
		{"retry wins over failures", bulkSummary{retryPos: map[int]struct{}{1: {}}, failed: 2}, 0, "partial"},
		{"all failed", bulkSummary{failed: 3, firstErr: "x: y"}, 0, "permanent"},
		{"failed and unencodable", bulkSummary{failed: 1}, 2, "permanent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := finish(tt.sum, tt.encodeFailed, 3, func(error) error { return partial })
			got := "nil"
			switch {
			case errors.Is(err, partial):
				got = "partial"
			case consumererror.IsPermanent(err):
				got = "permanent"
			case err != nil:
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
