package elasticsearchexporter

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeBulkBody(t *testing.T) {
	items := []bulkItem{
		{index: "logs-alertingscout-2026.11.28", id: "AAAAAAAAAAAAAAAAAAAAAA", doc: []byte(`{"message":"one"}`)},
		{index: "traces-generic-default", id: `quote"d`, doc: []byte(`{"name":"two"}`)},
	}
	got := encodeBulkBody(items)
	path := filepath.Join("testdata", "bulk_body.ndjson")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("bulk body differs from %s:\n got: %s\nwant: %s", path, got, want)
	}
	if len(encodeBulkBody(nil)) != 0 {
		t.Errorf("an empty batch must encode to an empty body")
	}
}

func TestReadBulkResponse(t *testing.T) {
	items := []bulkItem{{id: "a", pos: 0}, {id: "b", pos: 1}, {id: "c", pos: 2}}
	tests := []struct {
		name       string
		body       string
		wantErr    string
		want       []outcome
		wantReason []string // substring per item; "" = no reason
	}{
		{name: "every item answered",
			body:       `{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},{"create":{"status":400,"error":{"type":"document_parsing_exception","reason":"bad","caused_by":{"type":"illegal_argument_exception","reason":"For input"}}}}]}`,
			want:       []outcome{outcomeIndexed, outcomeDuplicate, outcomeFailed},
			wantReason: []string{"", "version_conflict_engine_exception: exists", "document_parsing_exception: bad (caused by illegal_argument_exception: For input)"}},
		{name: "missing items are retried, never dropped",
			body:       `{"errors":false,"items":[{"create":{"status":201}}]}`,
			want:       []outcome{outcomeIndexed, outcomeRetried, outcomeRetried},
			wantReason: []string{"", "no result for this item", "no result for this item"}},
		{name: "unreadable", body: `<html>`, wantErr: "decoding _bulk response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readBulkResponse(strings.NewReader(tt.body), items)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(items) {
				t.Fatalf("%d results for %d items", len(got), len(items))
			}
			for i, r := range got {
				if r.item.id != items[i].id || r.outcome != tt.want[i] {
					t.Errorf("item %d: id %q outcome %q, want %q %q", i, r.item.id, r.outcome, items[i].id, tt.want[i])
				}
				if (tt.wantReason[i] == "") != (r.reason == "") || !strings.Contains(r.reason, tt.wantReason[i]) {
					t.Errorf("item %d: reason %q, want %q", i, r.reason, tt.wantReason[i])
				}
			}
		})
	}
}
