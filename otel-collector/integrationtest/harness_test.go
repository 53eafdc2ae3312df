package integrationtest

// Harness: runs the REAL Collector binary built by ../build.sh against the
// REAL Elasticsearch started by ../../elastic/es.sh. Nothing is mocked; a
// missing binary or an unreachable Elasticsearch fails the run.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

var (
	repoRoot     = mustAbs("../..")
	collectorBin = envOr("OTELCOL_BIN", filepath.Join(repoRoot, ".stack/otelcol-alertingscout/otelcol-alertingscout"))
	esURL        = strings.TrimRight(envOr("ES_URL", "http://127.0.0.1:9200"), "/")
	esScript     = envOr("ES_SCRIPT", filepath.Join(repoRoot, "elastic/es.sh"))
	httpClient   = &http.Client{Timeout: 60 * time.Second}
	// Elasticsearch runs with security on (docs/security.md): the harness reads
	// and cleans up as elastic-admin; the Collectors it starts write as admin
	// too unless a test names a user (TestAuthenticatedWriter).
	esAdmin = esUser("elastic-admin")
)

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// credentials of a file-realm user: ES_PASSWORD_<USER> (as elastic/es.sh reads
// it), else the secret es.sh / cargo xtask made in $STACK_DIR/secrets/<user>.
type credentials struct{ user, password string }

func esUser(user string) credentials {
	env := "ES_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
	if p := os.Getenv(env); p != "" {
		return credentials{user, p}
	}
	stack := envOr("STACK_DIR", filepath.Join(repoRoot, ".stack"))
	b, err := os.ReadFile(filepath.Join(stack, "secrets", user))
	if err != nil {
		return credentials{user: user}
	}
	return credentials{user, strings.TrimSpace(string(b))}
}

func (c credentials) authorize(req *http.Request) {
	if c.password != "" {
		req.SetBasicAuth(c.user, c.password)
	}
}

func TestMain(m *testing.M) {
	var problems []string
	if st, err := os.Stat(collectorBin); err != nil || st.Mode()&0o111 == 0 {
		problems = append(problems, fmt.Sprintf("collector binary %s missing (run otel-collector/build.sh): %v", collectorBin, err))
	}
	// ES_CLUSTER_DRILL=only (or full) runs the cluster drill alone: it starts
	// its own cluster, so the shared Elasticsearch is neither needed nor checked
	// (the other tests are not selected rather than run against nothing).
	clusterOnly := os.Getenv("ES_CLUSTER_DRILL") == "only" || os.Getenv("ES_CLUSTER_DRILL") == "full"
	if clusterOnly {
		flag.Parse()
		if err := flag.Set("test.run", "^TestElasticsearchClusterNodeKill$"); err != nil {
			problems = append(problems, err.Error())
		}
	} else if err := esHealthy(); err != nil {
		problems = append(problems, fmt.Sprintf("Elasticsearch at %s unreachable (run elastic/es.sh start): %v", esURL, err))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "integration tests cannot run:", p)
		}
		fmt.Println("FAIL")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// ---------------------------------------------------------------- Elasticsearch

func esHealthy() error {
	c := &http.Client{Timeout: 3 * time.Second}
	req, err := http.NewRequest("GET", esURL+"/_cluster/health", nil)
	if err != nil {
		return err
	}
	esAdmin.authorize(req)
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("GET /_cluster/health: HTTP %d", res.StatusCode)
	}
	return nil
}

// esServer is an Elasticsearch the harness talks to: the shared one of
// $ES_URL (esShared, what esDo and esCount use) or a drill's own cluster.
type esServer struct {
	url   string
	admin credentials
}

var esShared = esServer{url: esURL, admin: esAdmin}

func esDo(method, path string, body any) (int, []byte, error) {
	return esShared.do(method, path, body)
}

func (s esServer) do(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	s.admin.authorize(req)
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// esCount refreshes and counts the documents of an index pattern.
func esCount(pattern string) (int, error) { return esShared.count(pattern) }

func (s esServer) count(pattern string) (int, error) {
	if _, _, err := s.do("POST", "/"+pattern+"/_refresh?ignore_unavailable=true&allow_no_indices=true", nil); err != nil {
		return 0, err
	}
	st, b, err := s.do("GET", "/"+pattern+"/_count?ignore_unavailable=true&allow_no_indices=true", nil)
	if err != nil {
		return 0, err
	}
	if st != 200 {
		return 0, fmt.Errorf("_count: HTTP %d %s", st, b)
	}
	var r struct {
		Count int `json:"count"`
	}
	return r.Count, json.Unmarshal(b, &r)
}

// waitCount polls until the pattern holds want documents or timeout; it
// returns the last count (which may exceed want: the caller checks).
func waitCount(t *testing.T, pattern string, want int, timeout time.Duration) int {
	t.Helper()
	return waitCountOn(t, esShared, pattern, want, timeout)
}

// seqCounts returns how many documents carry each `seq` value (exact, paginated composite aggregation).
func seqCounts(t *testing.T, pattern string) map[int64]int {
	t.Helper()
	return esShared.seqCounts(t, pattern)
}

func (s esServer) seqCounts(t *testing.T, pattern string) map[int64]int {
	t.Helper()
	out := map[int64]int{}
	var after map[string]any
	for {
		comp := map[string]any{
			"size":    10000,
			"sources": []any{map[string]any{"seq": map[string]any{"terms": map[string]any{"field": "seq"}}}},
		}
		if after != nil {
			comp["after"] = after
		}
		st, b, err := s.do("POST", "/"+pattern+"/_search", map[string]any{
			"size": 0, "track_total_hits": true,
			"aggs": map[string]any{"s": map[string]any{"composite": comp}},
		})
		if err != nil || st != 200 {
			t.Fatalf("seq aggregation: %v HTTP %d %s", err, st, b)
		}
		var r struct {
			Aggs struct {
				S struct {
					AfterKey map[string]any `json:"after_key"`
					Buckets  []struct {
						Key      map[string]float64 `json:"key"`
						DocCount int                `json:"doc_count"`
					} `json:"buckets"`
				} `json:"s"`
			} `json:"aggregations"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		for _, bk := range r.Aggs.S.Buckets {
			out[int64(bk.Key["seq"])] += bk.DocCount
		}
		if len(r.Aggs.S.Buckets) == 0 || r.Aggs.S.AfterKey == nil {
			return out
		}
		after = r.Aggs.S.AfterKey
	}
}

// esHits returns up to 10,000 documents (with _id) of a pattern.
func esHits(t *testing.T, pattern string, size int) []map[string]any {
	t.Helper()
	st, b, err := esDo("POST", "/"+pattern+"/_search", map[string]any{"size": size, "sort": []any{map[string]any{"seq": "asc"}}})
	if err != nil || st != 200 {
		t.Fatalf("search: %v HTTP %d %s", err, st, b)
	}
	var r struct {
		Hits struct {
			Hits []struct {
				Index  string         `json:"_index"`
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		h.Source["_id"] = h.ID
		h.Source["_index"] = h.Index
		out = append(out, h.Source)
	}
	return out
}

func esScriptRun(t *testing.T, arg string) {
	t.Helper()
	cmd := exec.Command(esScript, arg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v", esScript, arg, err)
	}
}

// uniqueName gives a fresh lowercase index prefix per test run; its daily
// indices are deleted after the test unless it failed (kept for debugging).
func uniqueName(t *testing.T, kind, test string) string {
	name := fmt.Sprintf("%s-it-%s-%d", kind, strings.ToLower(test), time.Now().UnixNano()%1_000_000_000)
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("KEEP_INDICES") == "" {
			_, _, _ = esDo("DELETE", "/"+name+"-*?ignore_unavailable=true&allow_no_indices=true", nil)
		}
	})
	return name
}

// ---------------------------------------------------------------- Collector

type collector struct {
	t          *testing.T
	cfg        string
	extraCfgs  []string
	env        []string
	cmd        *exec.Cmd
	done       chan struct{}
	logPath    string
	logFile    *os.File
	otlpPort   int
	metricPort int
	healthPort int
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type collectorOpts struct {
	config       string   // file in testdata/
	extraConfigs []string // more --config files (absolute), merged over config
	logsIndex    string
	tracesIndex  string
	storageDir   string
	numConsumers int
	batchMin     int
	batchMax     int
	esUser       *credentials // who the exporter logs in as (default elastic-admin)
	esEndpoint   string       // ES_ENDPOINT (default $ES_URL); a comma-separated list for a cluster
}

func newCollector(t *testing.T, o collectorOpts) *collector {
	t.Helper()
	if o.numConsumers == 0 {
		o.numConsumers = 4
	}
	if o.batchMin == 0 {
		o.batchMin = 1000
	}
	if o.batchMax == 0 {
		o.batchMax = 5000
	}
	if o.tracesIndex == "" {
		o.tracesIndex = "traces-it-unused"
	}
	c := &collector{
		t: t, cfg: mustAbs(filepath.Join("testdata", o.config)), extraCfgs: o.extraConfigs,
		otlpPort: freePort(t), metricPort: freePort(t), healthPort: freePort(t),
		logPath: filepath.Join(t.TempDir(), "collector.log"),
	}
	user := esAdmin
	if o.esUser != nil {
		user = *o.esUser
	}
	endpoint := esURL
	if o.esEndpoint != "" {
		endpoint = o.esEndpoint
	}
	c.env = append(os.Environ(),
		"ES_ENDPOINT="+endpoint,
		"ES_USER="+user.user, "ES_PASSWORD="+user.password,
		"ELASTICSEARCH_USER="+user.user, "ELASTICSEARCH_PASSWORD="+user.password,
		"LOGS_INDEX="+o.logsIndex,
		"TRACES_INDEX="+o.tracesIndex,
		"STORAGE_DIR="+o.storageDir,
		"OTLP_HTTP_PORT="+strconv.Itoa(c.otlpPort),
		"METRICS_PORT="+strconv.Itoa(c.metricPort),
		"HEALTH_PORT="+strconv.Itoa(c.healthPort),
		"NUM_CONSUMERS="+strconv.Itoa(o.numConsumers),
		"BATCH_MIN="+strconv.Itoa(o.batchMin),
		"BATCH_MAX="+strconv.Itoa(o.batchMax),
	)
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			b, _ := os.ReadFile(c.logPath)
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("collector log (tail):\n%s", b)
		}
	})
	return c
}

func (c *collector) start() {
	c.t.Helper()
	f, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	c.logFile = f
	args := []string{"--config", c.cfg}
	for _, extra := range c.extraCfgs {
		args = append(args, "--config", extra)
	}
	c.cmd = exec.Command(collectorBin, args...)
	c.cmd.Env = c.env
	c.cmd.Stdout, c.cmd.Stderr = f, f
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("starting the collector: %v", err)
	}
	c.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(c.cmd, c.done)
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := (&http.Client{Timeout: time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", c.healthPort))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		select {
		case <-c.done:
			b, _ := os.ReadFile(c.logPath)
			c.t.Fatalf("the collector exited at start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the collector is not healthy after 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *collector) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM (graceful: the queue drains) and waits.
func (c *collector) stop() {
	if c.cmd == nil || c.done == nil {
		return
	}
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(60 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	c.cmd, c.done = nil, nil
	if c.logFile != nil {
		c.logFile.Close()
	}
}

// kill sends SIGKILL: no shutdown, no drain.
func (c *collector) kill() {
	if c.cmd == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	c.cmd, c.done = nil, nil
	c.logFile.Close()
}

func (c *collector) logs() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// ---------------------------------------------------------------- OTLP sender

// testRecord builds log record seq with distinct ids, attributes and times.
func fillRecord(lr plog.LogRecord, run string, seq int64, ts time.Time) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ts.Add(1500 * time.Microsecond)))
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	lr.Body().SetStr(fmt.Sprintf("request finished seq=%d", seq))
	lr.SetTraceID(traceIDFor(run, seq))
	lr.SetSpanID(spanIDFor(seq))
	a := lr.Attributes()
	a.PutInt("seq", seq)
	a.PutStr("request_id", fmt.Sprintf("%s-req-%07d", run, seq))
	a.PutStr("user.id", fmt.Sprintf("u-%d", seq%97))
	a.PutStr("project.id", fmt.Sprintf("p-%d", seq%13))
	a.PutStr("todo.id", fmt.Sprintf("t-%d", seq))
	a.PutStr("http.request.method", "POST")
	a.PutStr("http.route", "/projects/{id}/todos")
	a.PutInt("http.response.status_code", 201)
}

func traceIDFor(run string, seq int64) pcommon.TraceID {
	var id [16]byte
	copy(id[:8], []byte(run+"--------"))
	binary.BigEndian.PutUint64(id[8:], uint64(seq)+1)
	return pcommon.TraceID(id)
}

func spanIDFor(seq int64) pcommon.SpanID {
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], uint64(seq)+0x1000)
	return pcommon.SpanID(id)
}

// makeLogs builds records [from, from+n) of a run.
func makeLogs(run string, from, n int64, base time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	r := rl.Resource().Attributes()
	r.PutStr("service.name", "alertingscout")
	r.PutStr("service.version", "0.1.0")
	r.PutStr("service.instance.id", "it-1")
	r.PutStr("host.name", "it-host")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("alertingscout::it")
	sl.LogRecords().EnsureCapacity(int(n))
	for s := from; s < from+n; s++ {
		fillRecord(sl.LogRecords().AppendEmpty(), run, s, base.Add(time.Duration(s)*time.Microsecond*137))
	}
	return ld
}

var sendClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

// sendLogs posts OTLP/HTTP protobuf; nil means the Collector acknowledged.
func sendLogs(port int, ld plog.Logs) error {
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		return err
	}
	return post(fmt.Sprintf("http://127.0.0.1:%d/v1/logs", port), body)
}

func sendTraces(port int, td ptrace.Traces) error {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return err
	}
	return post(fmt.Sprintf("http://127.0.0.1:%d/v1/traces", port), body)
}

func post(url string, body []byte) error {
	res, err := sendClient.Post(url, "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("OTLP HTTP %d", res.StatusCode)
	}
	return nil
}

// ackSet records which seqs the Collector acknowledged.
type ackSet struct {
	mu  sync.Mutex
	ack map[int64]bool
}

func (a *ackSet) add(from, n int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ack == nil {
		a.ack = map[int64]bool{}
	}
	for s := from; s < from+n; s++ {
		a.ack[s] = true
	}
}

func (a *ackSet) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ack)
}

// checkExactlyOnce asserts that every acknowledged seq is indexed and no seq twice.
func checkExactlyOnce(t *testing.T, pattern string, acked map[int64]bool, sentMax int64) {
	t.Helper()
	counts := seqCounts(t, pattern)
	missing, dups := 0, 0
	for s := range acked {
		if counts[s] == 0 {
			missing++
		}
	}
	for s, n := range counts {
		if n > 1 {
			dups++
			if dups < 5 {
				t.Errorf("seq %d indexed %d times", s, n)
			}
		}
		if s < 0 || s >= sentMax {
			t.Errorf("unexpected seq %d", s)
		}
	}
	if missing > 0 {
		t.Errorf("%d acknowledged records are not indexed", missing)
	}
	if dups > 0 {
		t.Errorf("%d records were indexed more than once", dups)
	}
	t.Logf("%d acknowledged, %d distinct indexed, %d missing, %d duplicated", len(acked), len(counts), missing, dups)
}
