package integrationtest

import (
	"net/http"
	"testing"
	"time"
)

// The exporter's authenticated mode, against the real Elasticsearch with
// security on and the stack's file-realm users (elastic/users.txt): the
// Collector's writer indexes into its own pattern; outside it every item is
// refused and counted failed (security_exception), never retried; a wrong
// password keeps the documents for retry instead of dropping them.
func TestAuthenticatedWriter(t *testing.T) {
	if st := anonymousStatus(t); st != http.StatusUnauthorized {
		t.Fatalf("Elasticsearch at %s answers an anonymous request with HTTP %d, want 401: start it with security on (elastic/es.sh start)", esURL, st)
	}
	writer := esUser("collector-writer")
	if writer.password == "" {
		t.Fatalf("no password for collector-writer: run elastic/es.sh start (it makes .stack/secrets/collector-writer)")
	}
	wrong := credentials{writer.user, "not-the-password"}
	const sent = 50
	tests := []struct {
		name        string
		user        credentials
		kind        string   // index prefix: inside or outside the writer's pattern
		wantIndexed int      // documents in Elasticsearch at the end
		wantMetric  []string // labels of docs_processed that must count up
	}{
		{name: "the writer indexes into its own pattern", user: writer, kind: "logs-alertingscout",
			wantIndexed: sent, wantMetric: []string{`outcome="indexed"`}},
		{name: "outside its pattern every item is refused", user: writer, kind: "logs",
			wantIndexed: 0, wantMetric: []string{`outcome="failed"`, `error_type="security_exception"`}},
		{name: "a wrong password keeps the documents for retry", user: wrong, kind: "logs-alertingscout",
			wantIndexed: 0, wantMetric: []string{`outcome="retried"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := tt.user
			logsIdx := uniqueName(t, tt.kind, "auth")
			c := newCollector(t, collectorOpts{config: "collector.yaml", logsIndex: logsIdx,
				batchMin: 1, batchMax: 100, esUser: &user})
			c.start()
			if err := sendLogs(c.otlpPort, makeLogs("auth", 0, sent, time.Now().UTC().Add(-time.Minute))); err != nil {
				t.Fatalf("send: %v", err)
			}
			deadline := time.Now().Add(60 * time.Second)
			for metricSum(c.metrics(), "otelcol_elasticsearch_docs_processed", tt.wantMetric...) < 1 {
				if time.Now().After(deadline) {
					t.Fatalf("docs_processed{%v} did not count within 60 s; collector log:\n%s", tt.wantMetric, c.logs())
				}
				time.Sleep(250 * time.Millisecond)
			}
			n := 0
			if tt.wantIndexed > 0 {
				n = waitCount(t, logsIdx+"-*", tt.wantIndexed, 60*time.Second)
			} else {
				var err error
				if n, err = esCount(logsIdx + "-*"); err != nil {
					t.Fatalf("count: %v", err)
				}
			}
			if n != tt.wantIndexed {
				t.Fatalf("%d documents indexed, want %d", n, tt.wantIndexed)
			}
		})
	}
}

// anonymousStatus is the status of GET /_cluster/health without credentials.
func anonymousStatus(t *testing.T) int {
	t.Helper()
	res, err := httpClient.Get(esURL + "/_cluster/health")
	if err != nil {
		t.Fatalf("Elasticsearch at %s: %v", esURL, err)
	}
	defer res.Body.Close()
	return res.StatusCode
}
