package elasticsearchexporter

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The retry batch keeps exactly the records at the given positions, across
// resources and scopes, and drops the containers left empty.
func TestSelectForRetry(t *testing.T) {
	// Batch layout (positions): resource A {scope 1: 0 1, scope 2: 2}, resource B {scope 3: 3 4}.
	layout := [][]int{{2, 1}, {2}}
	ld := plog.NewLogs()
	td := ptrace.NewTraces()
	pos := 0
	for _, scopes := range layout {
		rl := ld.ResourceLogs().AppendEmpty()
		rs := td.ResourceSpans().AppendEmpty()
		for _, n := range scopes {
			sl := rl.ScopeLogs().AppendEmpty()
			ss := rs.ScopeSpans().AppendEmpty()
			for i := 0; i < n; i++ {
				sl.LogRecords().AppendEmpty().Body().SetStr(fmt.Sprint(pos))
				ss.Spans().AppendEmpty().SetName(fmt.Sprint(pos))
				pos++
			}
		}
	}
	tests := []struct {
		name          string
		keep          []int
		wantResources int
	}{
		{"none", nil, 0},
		{"first", []int{0}, 1},
		{"across resources", []int{1, 3}, 2},
		{"a whole scope", []int{2}, 1},
		{"all", []int{0, 1, 2, 3, 4}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep := map[int]struct{}{}
			for _, p := range tt.keep {
				keep[p] = struct{}{}
			}
			var gotLogs, gotSpans []string
			logs := selectLogs(ld, keep)
			for _, rl := range logs.ResourceLogs().All() {
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						gotLogs = append(gotLogs, lr.Body().Str())
					}
				}
			}
			traces := selectTraces(td, keep)
			for _, rs := range traces.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, s := range ss.Spans().All() {
						gotSpans = append(gotSpans, s.Name())
					}
				}
			}
			want := fmt.Sprint(tt.keep)
			if tt.keep == nil {
				want = "[]"
			}
			if fmt.Sprint(gotLogs) != want || fmt.Sprint(gotSpans) != want {
				t.Errorf("kept logs %v spans %v, want %s", gotLogs, gotSpans, want)
			}
			if logs.ResourceLogs().Len() != tt.wantResources || traces.ResourceSpans().Len() != tt.wantResources {
				t.Errorf("resources: logs %d spans %d, want %d", logs.ResourceLogs().Len(), traces.ResourceSpans().Len(), tt.wantResources)
			}
			if ld.LogRecordCount() != 5 || td.SpanCount() != 5 {
				t.Errorf("the original batch must stay untouched")
			}
		})
	}
}
